"""tracker.db: URLs and their masking, connecting, the pool, options and transactions."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors as pg_errors

from tracker import db
from tracker.errors import ConfigurationError, InvalidArgumentError

# -- URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://alice:s3cret@db.example.org:5432/school",
            "postgresql://alice:***@db.example.org:5432/school",
        ),
        ("postgresql://alice:p@ss:w0rd@db/school", "postgresql://alice:***@db/school"),
        (
            "postgresql://alice@db/school?sslmode=require&password=s3cret",
            "postgresql://alice@db/school?sslmode=require&password=***",
        ),
        ("postgresql://alice@db:5432/school", "postgresql://alice@db:5432/school"),
        (
            "postgresql://postgres:@/postgres?host=/tmp/pg",
            "postgresql://postgres:@/postgres?host=/tmp/pg",
        ),
        (
            "host=db user=alice password=s3cret dbname=school",
            "user=alice password=*** dbname=school host=db",
        ),
        ("postgresql://alice:s3cret@[db/school", "<unparseable database URL>"),
        ("not a url, not key=value", "<unparseable database URL>"),
    ],
    ids=[
        "user-and-password",
        "password-containing-@-and-:",
        "password-in-query",
        "no-password",
        "empty-password",
        "libpq-key-value",
        "unparseable-url",
        "unparseable-text",
    ],
)
def test_mask_url_hides_any_password(url, masked):
    assert db.mask_url(url) == masked


def test_with_database_changes_only_the_database_name():
    assert (
        db.with_database("postgresql://alice:s3cret@db:5432/postgres?sslmode=require", "school")
        == "postgresql://alice:s3cret@db:5432/school?sslmode=require"
    )
    assert (
        db.with_database("postgresql://postgres:@/postgres?host=/tmp/pg", "school")
        == "postgresql://postgres:@/school?host=/tmp/pg"
    )


def test_normalize_url_accepts_yoyo_and_sqlalchemy_schemes():
    assert db.normalize_url("postgresql+psycopg://u@h/d") == "postgresql://u@h/d"


def test_normalize_url_refuses_another_database():
    with pytest.raises(ConfigurationError, match="^unsupported database URL scheme 'mysql'"):
        db.normalize_url("mysql://u:s3cret@h/d")


# -- connecting ----------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connect_error_names_the_masked_url_and_never_the_password(closed_port):
    url = f"postgresql://alice:s3cret@127.0.0.1:{closed_port}/school"
    with pytest.raises(ConfigurationError) as caught:
        db.connect(url)
    message = str(caught.value)
    assert message.startswith(
        f"cannot connect to postgresql://alice:***@127.0.0.1:{closed_port}/school: "
    )
    assert message.endswith("Check that the server runs and the URL (DATABASE_URL) is right.")
    assert "s3cret" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_connect_uses_database_url_from_the_environment(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    with db.connect() as conn:
        row = conn.execute("SELECT current_database()").fetchone()
    assert row == (urlsplit(db_url).path.lstrip("/"),)


def test_the_pool_opens_and_serves_a_connection(db_url):
    with db.pool(db_url, min_size=1, max_size=2) as pool, pool.connection() as conn:
        row = conn.execute(
            "SELECT current_database(), current_setting('application_name')"
        ).fetchone()
    assert row == (urlsplit(db_url).path.lstrip("/"), "tracker")


POOL_ENV = {"TRACKER_POOL_MIN": "2", "TRACKER_POOL_MAX": "3", "TRACKER_POOL_TIMEOUT": "2.5",
            "TRACKER_POOL_MAX_LIFETIME": "120"}


def _sizes(pool: Any) -> tuple[Any, ...]:
    return pool.min_size, pool.max_size, pool.timeout, pool.max_lifetime


def test_the_pool_takes_its_sizes_and_times_from_the_environment(db_url, monkeypatch):
    for name in POOL_ENV:
        monkeypatch.delenv(name, raising=False)
    assert _sizes(db.pool(db_url)) == (1, 10, 30.0, 3600.0)
    for name, value in POOL_ENV.items():
        monkeypatch.setenv(name, value)
    assert _sizes(db.pool(db_url)) == (2, 3, 2.5, 120.0)
    assert _sizes(db.pool(db_url, max_size=5, timeout=1)) == (2, 5, 1.0, 120.0)  # given wins


@pytest.mark.parametrize(("env", "says"), [
    ({"TRACKER_POOL_MAX": "many"}, "TRACKER_POOL_MAX='many' is not a whole number of at least 1"),
    ({"TRACKER_POOL_MIN": "-1"}, "TRACKER_POOL_MIN='-1' is not a whole number of at least 0"),
    ({"TRACKER_POOL_TIMEOUT": "nan"}, "TRACKER_POOL_TIMEOUT='nan' is not a number of seconds"),
    ({"TRACKER_POOL_MIN": "5", "TRACKER_POOL_MAX": "2"},
     "max_size (2, TRACKER_POOL_MAX) is below its min_size (5, TRACKER_POOL_MIN)"),
])
def test_a_pool_setting_that_makes_no_sense_is_a_configuration_error(db_url, monkeypatch, env,
                                                                     says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        db.pool(db_url)


def test_a_pool_size_given_wrongly_is_an_invalid_argument(db_url):
    with pytest.raises(InvalidArgumentError, match="max_size must be a whole number of at least 1"):
        db.pool(db_url, max_size=0)


@pytest.mark.pooler
def test_the_pool_checks_a_connection_as_it_hands_it_out(db_url, pg, monkeypatch):
    monkeypatch.setenv("TRACKER_POOL_MIN", "1")
    monkeypatch.setenv("TRACKER_POOL_MAX", "1")
    with db.pool(db_url) as pool:
        with pool.connection() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        direct = pg.direct_url_for(urlsplit(db_url).path.lstrip("/"))  # not through a pooler
        with psycopg.connect(direct, autocommit=True) as killer:  # as a server restart would
            killer.execute("SELECT pg_terminate_backend(%s)", row)
        for _ in range(7):  # more than psycopg's prepare threshold, across transactions
            with pool.connection() as conn:
                assert conn.execute("SELECT 1 + %s", (1,)).fetchone() == (2,)
        stats = pool.get_stats()
    if db.behind_pooler():  # the pooler replaced its own server connection
        assert conn.prepare_threshold is None
    else:  # the pool found its connection dead on checkout and made a new one
        assert stats.get("connections_lost") == 1


def test_behind_a_transaction_pooler_nothing_is_prepared_and_no_session_setting_sent(
    db_url, monkeypatch
):
    monkeypatch.setenv("TRACKER_POOLER", "transaction")
    monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "5s")
    with db.connect(db_url) as conn:
        assert conn.prepare_threshold is None
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_without_a_pooler_statements_are_prepared_after_a_few_runs(db_url, monkeypatch):
    monkeypatch.delenv("TRACKER_POOLER", raising=False)
    with db.connect(db_url) as conn:
        assert conn.prepare_threshold == 5


def test_statement_timeout_applies_to_every_statement(db_url, monkeypatch):
    monkeypatch.delenv("TRACKER_POOLER", raising=False)
    monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "200ms")
    with db.connect(db_url) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("200ms",)
        with pytest.raises(pg_errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(2)")


# -- transactions --------------------------------------------------------------------


@pytest.fixture
def counter_url(db_url: str) -> str:
    """db_url with a table ``counter`` holding one row, n = 0."""
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
        c.execute("INSERT INTO counter VALUES (1, 0)")
    return db_url


def _counter(url: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute("SELECT n FROM counter WHERE id = 1").fetchone()
    assert row is not None
    return int(row[0])


def _increment_while_another_writes(other: psycopg.Connection[Any], conflicts: int):
    """Work that reads the counter, lets ``other`` commit a change to the same row for
    the first ``conflicts`` attempts, then writes: at SERIALIZABLE that write fails."""
    attempts: list[int] = []

    def work(conn: psycopg.Connection[Any]) -> int:
        attempts.append(len(attempts) + 1)
        row = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        assert row is not None
        if len(attempts) <= conflicts:
            other.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
        conn.execute("UPDATE counter SET n = %s WHERE id = 1", (row[0] + 1,))
        return int(row[0]) + 1

    return work, attempts


RETRY_LOG = re.compile(
    r"transaction failed with SerializationFailure \(attempt (\d) of (\d)\); retrying in [\d.]+ s"
)


def test_run_in_transaction_retries_a_serialization_failure(counter_url, caplog):
    with (
        psycopg.connect(counter_url) as conn,
        psycopg.connect(counter_url, autocommit=True) as other,
    ):
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        work, attempts = _increment_while_another_writes(other, conflicts=1)
        with caplog.at_level(logging.WARNING, logger="tracker.db"):
            result = db.run_in_transaction(conn, work, base_delay=0.001)

    assert attempts == [1, 2]
    assert result == 101
    assert _counter(counter_url) == 101
    logged = [RETRY_LOG.fullmatch(r.getMessage()) for r in caplog.records]
    assert [m.groups() if m else None for m in logged] == [("1", "5")]


def test_run_in_transaction_gives_up_after_its_attempts(counter_url, caplog):
    with (
        psycopg.connect(counter_url) as conn,
        psycopg.connect(counter_url, autocommit=True) as other,
    ):
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        work, attempts = _increment_while_another_writes(other, conflicts=99)
        with (
            caplog.at_level(logging.WARNING, logger="tracker.db"),
            pytest.raises(pg_errors.SerializationFailure),
        ):
            db.run_in_transaction(conn, work, attempts=3, base_delay=0.001)

    assert attempts == [1, 2, 3]
    assert _counter(counter_url) == 300  # only the other connection's writes landed
    logged = [RETRY_LOG.fullmatch(r.getMessage()) for r in caplog.records]
    assert [m.groups() if m else None for m in logged] == [("1", "3"), ("2", "3")]


def test_nested_transaction_blocks_are_savepoints(counter_url):
    with psycopg.connect(counter_url) as conn, conn.transaction():
        conn.execute("UPDATE counter SET n = 1 WHERE id = 1")
        with pytest.raises(pg_errors.UniqueViolation), conn.transaction():
            conn.execute("UPDATE counter SET n = 2 WHERE id = 1")
            conn.execute("INSERT INTO counter VALUES (1, 0)")
        conn.execute("INSERT INTO counter VALUES (2, 20)")  # the outer block goes on
    with psycopg.connect(counter_url) as c:
        rows = c.execute("SELECT id, n FROM counter ORDER BY id").fetchall()
    assert rows == [(1, 1), (2, 20)]


def test_server_version_names_postgresql_and_its_version(conn, pg):
    assert db.server_version(conn) == f"PostgreSQL {pg.version.split()[0]}"
