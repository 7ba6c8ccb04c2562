"""Running behind a transaction-mode pooler (PgBouncer, ``TRACKER_POOLER=transaction``).

``.ci/run`` runs the tests marked ``pooler`` a third time through Debian's PgBouncer in
transaction mode (``.ci/pgbouncer``); the other runs connect directly and check the same
behaviour there. What a transaction pooler breaks: anything that outlives a transaction
on its server connection (session advisory locks, prepared statements, session
settings, yoyo's migrations).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from bundles import tiny_institution, write_bundle
from command_line import tracker

from tracker import ROOT, db, migrate, sync
from tracker.errors import ConfigurationError, SyncConflictError

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)

#: Every advisory lock function PostgreSQL has, session- or transaction-level.
ADVISORY = re.compile(r"pg_(?:try_)?advisory_(?:xact_)?(?:lock|unlock)\w*", re.IGNORECASE)


def test_the_pooler_run_goes_through_a_pooler(db_url: str) -> None:
    if not db.behind_pooler():
        pytest.skip("connected directly (TRACKER_POOLER is not transaction)")
    with db.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT inet_server_port()").fetchone()
    assert row is not None
    assert row[0] != urlsplit(db_url).port  # the server listens elsewhere than the URL


def test_every_advisory_lock_tracker_takes_ends_with_its_transaction() -> None:
    found: dict[str, list[str]] = {}
    for folder, pattern in (("sql", "*.sql"), ("migrations", "*.sql"), ("tracker", "*.py")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            for call in ADVISORY.findall(path.read_text(encoding="utf-8")):
                found.setdefault(call.lower(), []).append(str(path.relative_to(ROOT)))
    session_level = {call: paths for call, paths in found.items() if "_xact_" not in call}
    assert session_level == {}, "a session-level advisory lock outlives a pooled transaction"
    assert {"pg_try_advisory_xact_lock", "pg_advisory_xact_lock"} <= set(found)


def test_two_syncs_of_one_course_conflict_and_the_lock_ends_with_the_transaction(
    db_url: str, tmp_path: Path
) -> None:
    path = write_bundle(tmp_path / "bundle", tiny_institution())
    with db.connect(db_url) as first, db.connect(db_url, autocommit=True) as second:
        first.execute("SELECT 1")  # a transaction the first sync runs inside, left open
        held = sync.sync_bundle(first, path)
        with pytest.raises(SyncConflictError, match="another (process|session)"):
            sync.sync_bundle(second, path)  # its course, or (a first sync) its tables
        assert _advisory_locks(second) == len(held.scope_course_ids)

        first.commit()  # the first sync ends: its locks go with its transaction
        assert _advisory_locks(second) == 0
        again = sync.sync_bundle(second, path)

    assert again.scope_course_ids == held.scope_course_ids
    assert again.changed == 0  # the first sync's rows, found unchanged


def _advisory_locks(conn: Any) -> int:
    """Advisory locks held in this database by any session (any of the pooler's)."""
    row = conn.execute("""
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory'
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    """).fetchone()
    return int(row[0])


def test_migrations_behind_a_transaction_pooler_need_the_server_itself(
    db_url: str, pg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server itself; written apart from DATABASE_URL even in a run with no pooler.
    parts = urlsplit(pg.direct_url_for(urlsplit(db_url).path.lstrip("/")))
    direct = urlunsplit(parts._replace(query="&".join(filter(None, [parts.query,
                                                                    "connect_timeout=10"]))))
    monkeypatch.setenv("TRACKER_POOLER", "transaction")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TRACKER_MIGRATE_URL", raising=False)

    for attempt in (lambda: migrate.apply(), lambda: migrate.apply(db_url),
                    lambda: migrate.rollback(count=1)):
        with pytest.raises(ConfigurationError, match="set TRACKER_MIGRATE_URL .* --database-url"):
            attempt()
    refused = tracker("db", "migrate")
    assert refused.exit_code == 2
    assert "TRACKER_MIGRATE_URL" in refused.output and "Traceback" not in refused.output

    assert migrate.apply(direct) == []  # current already: the template was migrated
    given = tracker("db", "migrate", "--database-url", direct)
    assert given.exit_code == 0, given.output
    assert "from --database-url" in given.output
    monkeypatch.setenv("TRACKER_MIGRATE_URL", direct)
    assert migrate.apply() == []
    assert "from TRACKER_MIGRATE_URL" in tracker("db", "migrate").output
