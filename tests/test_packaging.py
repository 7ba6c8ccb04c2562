"""What a wheel carries: the command line, the SQL files and the migrations, found where
no repository is around the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import tracker


def test_a_wheel_carries_the_command_line_the_sql_and_the_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(tracker.ROOT)], check=True)
    (wheel,) = tmp_path.glob("tracker-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    files = [p.relative_to(tracker.ROOT).as_posix()
             for folder in ("sql", "migrations") for p in (tracker.ROOT / folder).rglob("*.sql")]
    assert len(files) > 40
    assert {f"tracker/{f}" for f in files} <= names
    assert {"tracker/cli/__init__.py", "tracker/cli/sync.py", "tracker/py.typed",
            "tracker/sample/__init__.py", "tracker/sample/school.py",
            "tracker/migrations/0011_rules.py", "tracker/sql/rules/risk.sql",
            "tracker/html.py"} <= names
    # --format html's templates, which tracker.html loads from the package
    templates = {f"tracker/templates/{p.name}"
                 for p in (tracker.ROOT / "tracker" / "templates").glob("*.html")}
    assert len(templates) >= 4 and templates <= names

    # Unpacked away from the repository, the package reads its own copies.
    found = subprocess.run(
        [sys.executable, "-c", ("import tracker, tracker.migrate as m; "
         "from tracker.sqlfiles import sql; "
         "print(tracker.SQL_DIR); print(len(m.read())); print(sql.reports.latest_risk.path); "
         "import jinja2; print(jinja2.PackageLoader('tracker', 'templates')"
         ".get_source(jinja2.Environment(), 'base.html')[1])")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True, text=True, check=True).stdout.splitlines()
    inside = tmp_path / "site" / "tracker"
    migrations = len([p for p in tracker.MIGRATIONS_DIR.iterdir()
                      if p.suffix in (".sql", ".py") and not p.name.endswith(".rollback.sql")])
    assert found == [str(inside / "sql"), str(migrations),
                     str(inside / "sql" / "reports" / "latest_risk.sql"),
                     str(inside / "templates" / "base.html")]
