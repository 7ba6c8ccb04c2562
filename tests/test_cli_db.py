"""``tracker db …`` on a real database: what each command prints and its exit code."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from command_line import tracker  # tests/ is on sys.path (rootdir conftest, no package)

from tracker import MIGRATIONS_DIR, migrate

#: The repository's migrations in order (their numbers order them), read from the folder
#: so that a new migration needs no change here.
ALL = sorted(
    p.stem
    for p in MIGRATIONS_DIR.iterdir()
    if p.suffix in (".sql", ".py") and not p.name.endswith(".rollback.sql")
)
LATEST, BEFORE_LATEST = ALL[-1], ALL[-2]
NEXT = f"{len(ALL) + 1:04d}"  # the number the next new migration gets


@pytest.fixture
def empty_db(empty_db_url, monkeypatch) -> str:
    """DATABASE_URL names a new database with no migrations applied."""
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    return empty_db_url


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


def server_line(url: str, pg) -> str:
    return f"PostgreSQL {pg.version.split()[0]} at {url} (from DATABASE_URL)"


# -- migrate -------------------------------------------------------------------------


def test_migrate_names_the_server_and_what_it_applied(empty_db, pg):
    result = tracker("db", "migrate")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{server_line(empty_db, pg)}\napplied {len(ALL)} migration(s): {', '.join(ALL)}\n"
    )
    assert result.stderr == ""


def test_migrate_with_nothing_pending_says_so(migrated_db, pg):
    result = tracker("db", "migrate")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{server_line(migrated_db, pg)}\nnothing to apply: the schema is current\n"
    )


def test_migrate_json_lists_what_it_applied(empty_db, pg):
    result = tracker("db", "migrate", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "server": server_line(empty_db, pg),
        "url": empty_db,
        "applied": ALL,
    }


def test_migrate_to_an_unreachable_server_exits_2_without_the_password(monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://alice:s3cret@127.0.0.1:{port}/school")
    result = tracker("db", "migrate")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"error: cannot connect to postgresql://alice:***@127.0.0.1:{port}/school: "
    )
    assert "s3cret" not in result.output


def test_with_no_database_url_migrate_uses_the_embedded_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TRACKER_HOME"] = str(tmp_path)
    script = Path(sys.executable).with_name("tracker")
    done = subprocess.run(
        [str(script), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("PostgreSQL ")
    assert first.endswith(f"(embedded server in {tmp_path / 'pgdata'})")
    assert second == f"applied {len(ALL)} migration(s): {', '.join(ALL)}"


# -- status --------------------------------------------------------------------------


def test_status_json_lists_every_migration(migrated_db):
    result = tracker("db", "status", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["applied"], r["changed"], r["changed_files"]) for r in rows] == [
        (i, True, False, []) for i in ALL
    ]
    assert all(r["applied_at"].endswith("+00:00") for r in rows)
    assert result.stderr == ""


def test_status_table_counts_applied_and_pending(empty_db):
    result = tracker("db", "status")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"0 applied, {len(ALL)} pending"
    assert all(i in result.stdout for i in ALL)


def test_status_csv_has_a_header_and_one_row_per_migration(migrated_db):
    result = tracker("db", "status", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id,applied,applied_at,changed,changed_files,file_missing"
    assert [line.split(",")[0] for line in lines[1:]] == ALL


def test_status_warns_about_a_changed_file_and_still_exits_0(empty_db, migrations_copy):
    migrate.apply(empty_db, directory=migrations_copy)
    with (migrations_copy / "0003_canvas.sql").open("a") as f:
        f.write("\n-- edited after it was applied\n")
    result = tracker("db", "status", "--format", "json", "--directory", str(migrations_copy))
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout) if r["changed"]] == ["0003_canvas"]
    assert result.stderr == (
        "WARNING: migration 0003_canvas was applied, and since then 0003_canvas.sql changed. "
        "The database has what the file said then: put the change in a new migration "
        "(tracker db new NAME) instead.\n"
    )


# -- url -----------------------------------------------------------------------------


def test_url_masks_the_password(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://alice:s3cret@db.example.org:5432/school")
    result = tracker("db", "url")
    assert result.exit_code == 0, result.output
    assert result.stdout == "postgresql://alice:***@db.example.org:5432/school\n"


# -- check ---------------------------------------------------------------------------


def test_check_exits_0_on_a_migrated_database(migrated_db, pg):
    result = tracker("db", "check", "--json")
    assert result.exit_code == 0, result.output
    health = json.loads(result.stdout)
    assert (health["healthy"], health["connected"], health["pending"], health["changed"]) == (
        True,
        True,
        [],
        [],
    )
    assert health["server_version"] == f"PostgreSQL {pg.version.split()[0]}"


def test_check_exits_1_with_pending_migrations(empty_db):
    result = tracker("db", "check")
    assert result.exit_code == 1, result.output
    assert f"pending:       {', '.join(ALL)}" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "healthy:       NO"


def test_check_exits_1_when_it_cannot_connect(monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://alice:s3cret@127.0.0.1:{port}/school")
    result = tracker("db", "check", "--json")
    assert result.exit_code == 1
    health = json.loads(result.stdout)
    assert (health["connected"], health["healthy"]) == (False, False)
    assert health["url"] == f"postgresql://alice:***@127.0.0.1:{port}/school"
    assert "s3cret" not in result.output


# -- rollback ------------------------------------------------------------------------


def test_rollback_with_yes_rolls_back_the_latest_migration(migrated_db, pg):
    result = tracker("db", "rollback", "--count", "1", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{server_line(migrated_db, pg)}\nrolled back 1 migration(s): {LATEST}\n"
    )
    assert [s.id for s in migrate.status(migrated_db) if not s.applied] == [LATEST]


def test_rollback_without_yes_off_a_terminal_is_a_usage_error(migrated_db):
    result = tracker("db", "rollback")
    assert result.exit_code == 2
    assert "confirm with --yes" in result.stderr
    assert all(s.applied for s in migrate.status(migrated_db))


def test_rollback_on_a_terminal_asks_first(migrated_db):
    declined = _on_terminal(["db", "rollback", "--count", "2"], answer="n")
    assert declined.returncode == 1
    assert f"Roll back {LATEST}, {BEFORE_LATEST}?" in declined.stdout
    assert all(s.applied for s in migrate.status(migrated_db))

    accepted = _on_terminal(["db", "rollback", "--count", "2"], answer="y")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.splitlines()[-1] == (
        f"rolled back 2 migration(s): {LATEST}, {BEFORE_LATEST}"
    )
    assert [s.id for s in migrate.status(migrated_db) if not s.applied] == ALL[-2:]


@pytest.mark.parametrize("count", ["0", "-1", "two"])
def test_rollback_count_must_be_a_positive_number(migrated_db, count):
    result = tracker("db", "rollback", "--count", count, "--yes")
    assert result.exit_code == 2
    assert "Invalid value for '--count' / '-n'" in result.stderr


# -- new -----------------------------------------------------------------------------


def test_new_creates_the_next_migration_and_its_rollback(migrations_copy):
    result = tracker("db", "new", "add_widgets", "--directory", str(migrations_copy))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"created {migrations_copy / f'{NEXT}_add_widgets.sql'}\n"
        f"created {migrations_copy / f'{NEXT}_add_widgets.rollback.sql'}\n"
    )
    assert f"-- depends: {LATEST}\n" in (migrations_copy / f"{NEXT}_add_widgets.sql").read_text()


def test_new_with_a_bad_name_is_a_usage_error(migrations_copy):
    result = tracker("db", "new", "Add-Widgets", "--directory", str(migrations_copy))
    assert result.exit_code == 2
    assert "migration name 'Add-Widgets' is not lowercase snake_case" in result.stderr
    assert not list(migrations_copy.glob(f"{NEXT}_*"))


def test_an_unknown_option_is_a_usage_error():
    result = tracker("db", "status", "--colour")
    assert result.exit_code == 2
    assert "No such option '--colour'" in result.stderr


# -- helpers -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _on_terminal(args: list[str], *, answer: str) -> subprocess.CompletedProcess[str]:
    """Run ``tracker ARGS`` with a terminal as stdin, the answer already typed."""
    primary, secondary = os.openpty()
    try:
        os.write(primary, answer.encode() + b"\n")
        return subprocess.run(
            [str(Path(sys.executable).with_name("tracker")), *args],
            stdin=secondary,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(primary)
        os.close(secondary)
