"""Reads on a read replica (``TRACKER_READ_URL``): ``db.connect_read``, the read-only
commands, ``tracker db check``'s lag.

The tests marked ``replica`` read a real hot standby of the test server
(``TRACKER_TEST_REPLICA_URL``; ``.ci/replica`` makes one of the PostgreSQL 15 server).
The databases the tests create on the primary reach it by replication, so each test
waits until the replica has replayed them. The others run on any server: there the
"replica" is the test database itself, read through read-only transactions.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from bundles import ALGEBRA, ANA, tiny_institution, write_bundle
from command_line import tracker
from conftest import replica_caught_up

from tracker import analytics, db, replica, sync
from tracker.errors import ConfigurationError, SyncConflictError


def _dbname(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _closed_url() -> str:
    """A URL nothing answers: a command that reaches for the primary fails with it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/nowhere"


#: Every read-only command, with the arguments the data of :func:`_user_data` answers.
#: (``lifecycle pending``, ``lifecycle impact`` and ``risk evaluate`` read only too, but
#: through temporary tables, which a hot standby does not allow: they read the primary.)
READ_COMMANDS = [
    ("db", "stats"), ("db", "stats", "--format", "prometheus"),
    ("sync", "list"), ("sync", "report", "1"),
    ("report", "at_risk_students"), ("report", "course_statistics", "--course", str(ALGEBRA)),
    ("report", "missing_work"), ("report", "latest_risk"),
    ("notes", "show", "1"), ("notes", "list"), ("notes", "history", "1"),
    ("notes", "trail", f"user:{ANA}"), ("notes", "export"),
    ("fields", "get", f"user:{ANA}", "room"), ("fields", "list"),
    ("tags", "of", f"user:{ANA}"), ("tags", "with", "honors"), ("tags", "list"),
    ("tags", "synonyms"), ("tags", "suggest", f"user:{ANA}"), ("tags", "trend"),
    ("tags", "export"),
    ("curricula", "list"), ("curricula", "courses", "maths"), ("curricula", "students", "maths"),
    ("lifecycle", "cleanups"), ("risk", "models"),
    ("check",), ("maintenance", "policies"),
    ("maintenance", "export-archive", "--relation", "history.enrollment_grades"),
]


def _user_data(monkeypatch: pytest.MonkeyPatch, primary_url: str) -> None:
    """A note, a field, a tag and a curriculum, written on the primary."""
    monkeypatch.setenv("DATABASE_URL", primary_url)
    for args in [("notes", "add", f"user:{ANA}", "Needs a quiet room"),
                 ("fields", "set", f"user:{ANA}", "room", "B12"),
                 ("tags", "attach", f"user:{ANA}", "honors"),
                 ("curricula", "create", "maths"), ("curricula", "add", "maths", str(ALGEBRA))]:
        result = tracker(*args)
        assert result.exit_code == 0, result.output


def _read_everything(monkeypatch: pytest.MonkeyPatch, read_url: str) -> None:
    """Each read-only command succeeds with the primary out of reach."""
    monkeypatch.setenv("DATABASE_URL", _closed_url())
    monkeypatch.setenv("TRACKER_READ_URL", read_url)
    failed = {}
    for args in READ_COMMANDS:
        result = tracker(*args)
        if "error:" in result.stderr or result.exit_code not in (0, 1):
            failed[" ".join(args)] = (result.exit_code, result.stderr.strip()[:300])
    assert not failed, failed


# -- on any server -------------------------------------------------------------------------


def test_connect_read_goes_to_the_read_url_and_refuses_writes(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", _closed_url())
    monkeypatch.setenv("TRACKER_READ_URL", db_url)
    with db.connect_read() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == _dbname(db_url)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO userdata.tags (name) VALUES ('x')")


def test_connect_read_without_a_read_url_reads_the_primary(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TRACKER_READ_URL", raising=False)
    with db.connect_read() as conn:
        assert conn.read_only
        assert conn.execute("SELECT current_database()").fetchone()[0] == _dbname(db_url)


def test_an_unreachable_read_url_names_its_variable(monkeypatch):
    monkeypatch.setenv("TRACKER_READ_URL", _closed_url().replace("postgres@", "bob:s3cret@"))
    with pytest.raises(ConfigurationError, match=r"URL \(TRACKER_READ_URL\) is right") as caught:
        db.connect_read()
    assert "s3cret" not in str(caught.value)


def test_every_read_only_command_reads_the_read_url_only(synced_conn, db_url, monkeypatch):
    _user_data(monkeypatch, db_url)
    _read_everything(monkeypatch, db_url)


def test_db_check_says_when_the_read_url_is_no_replica(migrated_db, monkeypatch):
    monkeypatch.setenv("TRACKER_READ_URL", migrated_db)
    result = tracker("db", "check")
    assert result.exit_code == 0, result.output
    assert "replica lag:   none: TRACKER_READ_URL is not a replica (a primary)" in (
        result.stdout.splitlines())


def test_db_check_fails_when_the_replica_cannot_be_reached(migrated_db, monkeypatch):
    monkeypatch.setenv("TRACKER_READ_URL", _closed_url())
    result = tracker("db", "check", "--json")
    assert result.exit_code == 1, result.output
    health = json.loads(result.stdout)
    assert (health["healthy"], health["replica"]["connected"]) == (False, False)
    assert "TRACKER_READ_URL" in health["replica"]["error"]


def test_max_lag_defaults_to_five_minutes(monkeypatch):
    monkeypatch.delenv("TRACKER_MAX_LAG", raising=False)
    assert replica.max_lag_setting().total_seconds() == 300
    monkeypatch.setenv("TRACKER_MAX_LAG", "30s")
    assert replica.max_lag_setting().total_seconds() == 30


# -- on a real replica -----------------------------------------------------------------------


@pytest.fixture
def replica_url(replica, db_url) -> Iterator[str]:
    """This test's database on the replica, once replayed there."""
    url = replica.url_for(_dbname(db_url))
    replica_caught_up(db_url, url)
    yield url


@pytest.fixture
def paused(replica) -> Iterator[None]:
    """The replica's replay paused for the test (resumed afterwards, whatever happens)."""
    with psycopg.connect(replica.admin_url, autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            c.execute("SELECT pg_wal_replay_resume()")


@pytest.mark.replica
def test_every_read_only_command_reads_the_replica(synced_conn, db_url, replica, monkeypatch):
    _user_data(monkeypatch, db_url)
    url = replica.url_for(_dbname(db_url))
    replica_caught_up(db_url, url)
    with db.connect_read(url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    _read_everything(monkeypatch, url)


@pytest.mark.replica
def test_reads_see_what_the_replica_replayed_and_check_shows_its_lag(
        migrated_db, replica_url, replica, paused, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_READ_URL", replica_url)
    monkeypatch.setenv("TRACKER_MAX_LAG", "0")
    synced = tracker("sync", "--bundle", str(write_bundle(tmp_path / "b", tiny_institution())))
    assert synced.exit_code == 0, synced.output
    on_replica = tracker("sync", "list", "--format", "json")
    assert on_replica.exit_code == 0, on_replica.output
    assert json.loads(on_replica.stdout) == []  # the sync is not replayed yet

    lagging = tracker("db", "check", "--json")
    assert lagging.exit_code == 1, lagging.output
    lag = json.loads(lagging.stdout)["replica"]
    assert (lag["connected"], lag["in_recovery"], lag["healthy"]) == (True, True, False)
    assert lag["lag_bytes"] > 0 and lag["lag_seconds"] > 0
    assert "WARNING: the read replica" in lagging.stderr
    assert "more than TRACKER_MAX_LAG (0.0 s)" in lagging.stderr

    with psycopg.connect(replica.admin_url, autocommit=True) as c:
        c.execute("SELECT pg_wal_replay_resume()")
    replica_caught_up(migrated_db, replica_url)
    monkeypatch.setenv("TRACKER_MAX_LAG", "5m")
    assert [r["sync_id"] for r in json.loads(tracker("sync", "list", "--format", "json").stdout)
            ] == [1]
    caught_up = tracker("db", "check")
    assert caught_up.exit_code == 0, caught_up.output
    assert any(line.startswith("replica lag:") for line in caught_up.stdout.splitlines())


@pytest.mark.replica
def test_a_report_reads_the_replica_while_a_sync_holds_the_primary(
        synced_conn, db_url, replica_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")  # the tiny school's courses are small
    before = analytics.run_report(synced_conn, "course_statistics", course_id=ALGEBRA).rows
    changed = copy.deepcopy(tiny_institution())
    for e in changed["enrollments"]:
        if e["course_id"] == ALGEBRA and "grades" in e:
            e["grades"].update(current_score=12.0, final_score=12.0, current_grade="F",
                               final_grade="F", unposted_current_score=12.0,
                               unposted_final_score=12.0)
    path = write_bundle(tmp_path / "changed", changed)

    with psycopg.connect(db_url) as syncing:  # the sync's transaction stays open
        syncing.execute("SELECT 1")
        sync.sync_bundle(syncing, path)
        with psycopg.connect(db_url, autocommit=True) as other, pytest.raises(SyncConflictError):
            sync.sync_bundle(other, path)  # the course's lock is held
        after = analytics.run_report(syncing, "course_statistics", course_id=ALGEBRA).rows
        assert after != before

        with db.connect_read(replica_url) as reading:
            reading.execute("SET lock_timeout = '5s'")
            assert reading.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
            assert analytics.run_report(reading, "course_statistics",
                                        course_id=ALGEBRA).rows == before
        syncing.commit()

    replica_caught_up(db_url, replica_url)
    with db.connect_read(replica_url) as reading:
        assert analytics.run_report(reading, "course_statistics", course_id=ALGEBRA).rows == after
