"""The schema's migrations: yoyo SQL files in ``migrations/``, each with its rollback.

``tracker db migrate`` and a DBA's plain ``yoyo apply`` run the same files and keep
the same bookkeeping (yoyo's ``_yoyo_migration`` table); migrations are applied and
rolled back under yoyo's lock, so the two never run at once on one database.

yoyo does not notice when a migration's file is edited after it was applied. tracker
does: when it applies a migration it records a sha256 of the ``.sql`` and
``.rollback.sql`` files in a table of its own, ``_tracker_migration_hash``, next to
yoyo's tables (the first schema on the search path, normally ``public``; not in a
layer schema, so rolling every migration back leaves none of tracker's schemas
behind). A migration applied by plain ``yoyo apply`` has no recorded hash: its
``changed`` is ``None`` (unknown) until the next ``apply`` records its files as they
are then.

Migrations need a direct connection to the server, not a transaction-mode pooler: yoyo
keeps its own transactions and savepoints across statements sent one at a time, which
PgBouncer in transaction mode hands to different server connections (tried: "SAVEPOINT
can only be used in transaction blocks"). So behind ``TRACKER_POOLER=transaction``,
``apply`` and ``rollback`` run on ``TRACKER_MIGRATE_URL`` (or an explicit URL other than
``DATABASE_URL``), and refuse at once when there is none (``migration_url``).

Every function takes the database URL (``None``: the default server, see
``tracker.db.database_url``) and a migrations ``directory`` (default: the
repository's ``migrations/``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import class_row
from yoyo import exceptions as yoyo_exceptions
from yoyo import get_backend, read_migrations
from yoyo.connections import BadConnectionURI
from yoyo.migrations import (
    Migration,
    MigrationList,
    default_migration_table,
    topological_sort,
)

from tracker import MIGRATIONS_DIR, db
from tracker.errors import ConfigurationError, MigrationError

log = logging.getLogger(__name__)

#: yoyo's table of applied migrations, and tracker's table of their files' hashes.
YOYO_TABLE = default_migration_table
HASH_TABLE = "_tracker_migration_hash"

#: A migration's name as ``new`` accepts it: lowercase snake_case.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
NAME_MAX_LENGTH = 60

#: How many ``SELECT 1`` round trips ``check`` times.
PING_COUNT = 5


@dataclass(frozen=True)
class MigrationStatus:
    """One migration: applied or pending, and whether its files changed since it was applied."""

    id: str
    applied: bool
    applied_at: datetime | None  # UTC; None when pending
    #: True: the ``.sql`` or ``.rollback.sql`` differs from what was applied (or the file
    #: is gone); False: unchanged, or pending; None: applied without tracker, not recorded.
    changed: bool | None
    changed_files: tuple[str, ...] = ()  # names of the files that differ
    file_missing: bool = False  # applied, but the directory has no such migration


@dataclass(frozen=True)
class Health:
    """What ``check`` found: can tracker reach the server, and is the schema current."""

    url: str  # masked
    connected: bool
    server_version: str | None
    latency_ms: float | None  # median round trip of PING_COUNT ``SELECT 1``
    applied: tuple[str, ...]
    pending: tuple[str, ...]
    changed: tuple[str, ...]  # applied migrations whose files changed or are missing
    unrecorded: tuple[str, ...]  # applied without tracker: not known whether changed
    error: str | None
    current: bool  # every migration applied, none changed
    healthy: bool  # connected and current


@dataclass(frozen=True)
class _Applied:
    migration_id: str
    applied_at_utc: datetime
    sql_sha256: str | None
    rollback_sha256: str | None
    recorded: bool


# -- reading migrations ------------------------------------------------------------


def read(directory: Path = MIGRATIONS_DIR) -> MigrationList:
    """Every migration in ``directory``, loaded, in the order yoyo applies them."""
    if not directory.is_dir():
        raise MigrationError(
            f"no migrations folder at {directory}: give the folder that holds the NNNN_name.sql files"
        )
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".sql", ".py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    cached = _read(str(directory.resolve()), digest.hexdigest())
    return MigrationList(cached, cached.post_apply)


@functools.lru_cache(maxsize=8)
def _read(directory: str, digest: str) -> MigrationList:
    """Parsing is slow (sqlparse), so it is done once per directory content (``digest``)."""
    migrations = read_migrations(directory)
    for m in migrations:
        try:
            m.load()  # now, so that dependencies bind to this directory's migrations
        except yoyo_exceptions.BadMigration as exc:
            raise MigrationError(
                f"{m.path}: {exc}. Check its '-- depends:' line names migrations in {directory}."
            ) from exc
    return MigrationList(topological_sort(migrations), migrations.post_apply)


def file_hashes(migration: Migration) -> tuple[str, str | None]:
    """sha256 of a migration's file and of its ``.rollback.sql`` (None when it has none)."""
    path = Path(migration.path)
    rollback = _rollback_path(path)
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        hashlib.sha256(rollback.read_bytes()).hexdigest() if rollback.exists() else None,
    )


def _rollback_path(path: Path) -> Path:
    return path.with_name(path.stem + ".rollback.sql")


# -- connecting through yoyo --------------------------------------------------------


def yoyo_url(url: str) -> str:
    """``url`` in yoyo's form: ``postgresql+psycopg://`` (yoyo's psycopg 3 backend).

    A libpq ``key=value`` string becomes a URL with the same options.
    """
    if "://" in url:
        _, _, rest = url.partition("://")
        return f"postgresql+psycopg://{rest}"
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(
            f"cannot read the database URL {db.mask_url(url)}: {db.first_line(exc)}. "
            "Write it as postgresql://user@host:port/dbname."
        ) from None
    user = params.pop("user", None)
    password = params.pop("password", None)
    dbname = params.pop("dbname", "")
    userinfo = ""
    if user is not None or password is not None:
        userinfo = quote(str(user or ""), safe="")
        if password is not None:
            userinfo += ":" + quote(str(password), safe="")
        userinfo += "@"
    query = urlencode({k: str(v) for k, v in params.items()})
    return f"postgresql+psycopg://{userinfo}/{quote(str(dbname), safe='')}" + (
        f"?{query}" if query else ""
    )


@contextmanager
def _backend(url: str, lock_timeout: float) -> Iterator[Any]:
    """A yoyo backend for ``url``, holding yoyo's migration lock."""
    if lock_timeout <= 0:
        raise MigrationError(f"lock_timeout must be more than 0 seconds, not {lock_timeout}")
    try:
        backend = get_backend(yoyo_url(url))
    except psycopg.OperationalError as exc:
        raise db.connection_error(url, exc) from None
    except (ValueError, BadConnectionURI):
        raise ConfigurationError(
            f"cannot read the database URL {db.mask_url(url)}: "
            "write it as postgresql://user@host:port/dbname"
        ) from None
    try:
        try:
            with backend.lock(timeout=lock_timeout):
                yield backend
        except yoyo_exceptions.LockTimeout as exc:
            raise MigrationError(
                f"another migration holds yoyo's lock on {db.mask_url(url)} ({exc}). "
                f"Wait for it to finish; if none is running (a killed process left the lock), "
                "remove the lock with `yoyo break-lock --database <the URL>` and try again."
            ) from None
    finally:
        backend.connection.close()


def _bookkeeping_error(url: str, exc: psycopg.Error) -> MigrationError:
    return MigrationError(
        f"cannot read or write the migration bookkeeping at {db.mask_url(url)}: "
        f"{db.first_line(exc)}. The role needs to create tables in the first schema "
        "on its search_path (yoyo's tables and tracker's live there)."
    )


# -- applying and rolling back -------------------------------------------------------


def migration_url(url: str | None = None) -> str:
    """The server migrations run on: ``url``, else ``TRACKER_MIGRATE_URL``, else the
    default server (``db.database_url``).

    Behind a transaction-mode pooler (``TRACKER_POOLER=transaction``) a migration through
    ``DATABASE_URL`` would fail halfway, so it is refused before anything is sent
    (ConfigurationError): name the server itself with ``TRACKER_MIGRATE_URL`` or ``url``.
    """
    if not url and (direct := os.environ.get("TRACKER_MIGRATE_URL", "").strip()):
        return db.normalize_url(direct)
    pooled = os.environ.get("DATABASE_URL", "").strip()
    if db.behind_pooler() and (not url or (pooled and db.normalize_url(url) == db.normalize_url(pooled))):
        raise ConfigurationError(
            "TRACKER_POOLER=transaction says DATABASE_URL is a transaction-mode pooler, and "
            "migrations need a direct connection to the server (their transactions span "
            "statements the pooler would send to different server connections): set "
            "TRACKER_MIGRATE_URL to the server itself, or pass --database-url "
            "(e.g. postgresql://user@db-host:5432/dbname)")
    return db.database_url(url)


def apply(
    url: str | None = None,
    *,
    directory: Path = MIGRATIONS_DIR,
    lock_timeout: float = 10.0,
) -> list[str]:
    """Apply the pending migrations under yoyo's lock; return their ids in the order applied.

    Each migration runs in a transaction of its own: one that fails is rolled back and
    stops the run (those before it stay applied). The files of every applied migration
    with no recorded hash are recorded as they are now. The server is ``migration_url(url)``.
    """
    url = migration_url(url)
    migrations = read(directory)
    applied: list[str] = []
    with _backend(url, lock_timeout) as backend:
        try:
            pending = backend.to_apply(migrations)
            _create_hash_table(backend)
            _record_files(backend, migrations)  # the baseline of what plain yoyo applied
        except psycopg.Error as exc:
            raise _bookkeeping_error(url, exc) from exc
        for m in pending:
            try:
                backend.apply_one(m)
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {m.id} failed and was rolled back: {_server_message(exc)}. "
                    f"Fix {m.path} and run `tracker db migrate` again"
                    + (f" (applied before it: {', '.join(applied)})." if applied else ".")
                ) from exc
            try:
                _record_files(backend, [m])
            except psycopg.Error as exc:
                raise _bookkeeping_error(url, exc) from exc
            applied.append(m.id)
            log.info("applied migration %s", m.id)
        if pending:
            backend.run_post_apply(pending)
    return applied


def rollback(
    url: str | None = None,
    count: int = 1,
    *,
    directory: Path = MIGRATIONS_DIR,
    lock_timeout: float = 10.0,
    dry_run: bool = False,
) -> list[str]:
    """Roll back the ``count`` most recent applied migrations (all, if fewer are applied),
    under yoyo's lock; return their ids in the order rolled back.

    ``dry_run`` only returns what would be rolled back. Refuses when the database has
    applied migrations that ``directory`` does not hold (a newer version's): they may
    depend on the ones this would roll back. The server is ``migration_url(url)``.
    """
    if count < 1:
        raise MigrationError(f"count must be 1 or more, not {count}")
    url = migration_url(url)
    migrations = read(directory)
    done: list[str] = []
    with _backend(url, lock_timeout) as backend:
        try:
            known = {m.id for m in migrations}
            unknown = [i for i in _applied_ids(backend) if i not in known]
            targets = list(backend.to_rollback(migrations))[:count]
        except psycopg.Error as exc:
            raise _bookkeeping_error(url, exc) from exc
        if unknown:
            raise MigrationError(
                f"the database has migrations applied that {directory} does not hold: "
                f"{', '.join(unknown)}. Roll them back with the version of tracker that has "
                "them, then try again."
            )
        if dry_run:
            return [m.id for m in targets]
        for m in targets:
            try:
                backend.rollback_one(m)
            except psycopg.Error as exc:
                raise MigrationError(
                    f"rolling back {m.id} failed and was undone: {_server_message(exc)}. "
                    f"Fix {_rollback_path(Path(m.path))} and try again"
                    + (f" (rolled back before it: {', '.join(done)})." if done else ".")
                ) from exc
            try:
                _forget_files(backend, m.id)
            except psycopg.Error as exc:
                raise _bookkeeping_error(url, exc) from exc
            done.append(m.id)
            log.info("rolled back migration %s", m.id)
    return done


def _server_message(exc: psycopg.Error) -> str:
    message = db.first_line(exc)
    if hint := exc.diag.message_hint:
        message += f" (hint: {hint})"
    return message


# -- tracker's record of each applied migration's files -------------------------------


def _create_hash_table(backend: Any) -> None:
    exists = backend.connection.execute("SELECT to_regclass(%s)", (HASH_TABLE,)).fetchone()
    if exists is not None and exists[0] is not None:
        return
    with backend.transaction():
        backend.connection.execute(
            f"""
            CREATE TABLE {HASH_TABLE} (
                migration_id    text PRIMARY KEY,
                applied_at_utc  timestamp NOT NULL,
                sql_sha256      text NOT NULL,
                rollback_sha256 text,
                recorded_at     timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        backend.connection.execute(
            f"""
            COMMENT ON TABLE {HASH_TABLE} IS
                'tracker: sha256 of each applied migration''s .sql and .rollback.sql files '
                'when applied (applied_at_utc matches {YOYO_TABLE}), to notice later edits.'
            """
        )


def _record_files(backend: Any, migrations: Sequence[Migration]) -> None:
    """Record the files of those ``migrations`` that are applied and have no valid record.

    A record is valid while yoyo's ``applied_at_utc`` for the migration is the one it
    was made for; a migration rolled back and applied again outside tracker is
    recorded afresh. A valid record is never overwritten, so edits stay visible.
    """
    hashes = [(m.hash, *file_hashes(m)) for m in migrations]
    with backend.transaction():
        backend.connection.execute(
            f"""
            INSERT INTO {HASH_TABLE} (migration_id, applied_at_utc, sql_sha256, rollback_sha256)
            SELECT y.migration_id, y.applied_at_utc, f.sql_sha256, f.rollback_sha256
            FROM unnest(%s::text[], %s::text[], %s::text[])
                AS f (migration_hash, sql_sha256, rollback_sha256)
            JOIN {YOYO_TABLE} AS y ON y.migration_hash = f.migration_hash
            ON CONFLICT (migration_id) DO UPDATE
            SET applied_at_utc = EXCLUDED.applied_at_utc,
                sql_sha256 = EXCLUDED.sql_sha256,
                rollback_sha256 = EXCLUDED.rollback_sha256,
                recorded_at = now()
            WHERE {HASH_TABLE}.applied_at_utc IS DISTINCT FROM EXCLUDED.applied_at_utc
            """,
            ([h[0] for h in hashes], [h[1] for h in hashes], [h[2] for h in hashes]),
        )


def _forget_files(backend: Any, migration_id: str) -> None:
    with backend.transaction():
        backend.connection.execute(
            f"DELETE FROM {HASH_TABLE} WHERE migration_id = %s", (migration_id,)
        )


def _applied_ids(backend: Any) -> list[str]:
    backend.ensure_internal_schema_updated()
    rows = backend.connection.execute(
        f"SELECT migration_id FROM {YOYO_TABLE} ORDER BY applied_at_utc, migration_id"
    ).fetchall()
    return [r[0] for r in rows]


def _applied(conn: psycopg.Connection[Any]) -> list[_Applied]:
    """What yoyo says is applied, with tracker's valid record of each one's files (read only)."""
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
        (YOYO_TABLE, HASH_TABLE),
    ).fetchone()
    assert row is not None
    has_yoyo, has_hashes = row
    if not has_yoyo:
        return []
    recorded = (
        f"""
        SELECT y.migration_id, y.applied_at_utc, h.sql_sha256, h.rollback_sha256,
               h.migration_id IS NOT NULL AS recorded
        FROM {YOYO_TABLE} AS y
        LEFT JOIN {HASH_TABLE} AS h
            ON h.migration_id = y.migration_id
           AND h.applied_at_utc = y.applied_at_utc
        ORDER BY y.applied_at_utc, y.migration_id
        """
        if has_hashes
        else f"""
        SELECT y.migration_id, y.applied_at_utc, NULL AS sql_sha256, NULL AS rollback_sha256,
               false AS recorded
        FROM {YOYO_TABLE} AS y
        ORDER BY y.applied_at_utc, y.migration_id
        """
    )
    with conn.cursor(row_factory=class_row(_Applied)) as cur:
        return cur.execute(recorded).fetchall()


# -- status and health --------------------------------------------------------------


def status(url: str | None = None, *, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every migration in ``directory`` in order, applied or pending, then any applied
    migration the directory does not hold. Reads only; takes no lock."""
    migrations = read(directory)
    with db.connect(url, autocommit=True) as conn:
        return _status(conn, migrations)


def _status(
    conn: psycopg.Connection[Any], migrations: Sequence[Migration]
) -> list[MigrationStatus]:
    applied = {a.migration_id: a for a in _applied(conn)}
    result = []
    for m in migrations:
        a = applied.pop(m.id, None)
        if a is None:
            result.append(MigrationStatus(m.id, applied=False, applied_at=None, changed=False))
            continue
        changed: bool | None = None
        changed_files: tuple[str, ...] = ()
        if a.recorded:
            sql_sha, rollback_sha = file_hashes(m)
            path = Path(m.path)
            changed_files = tuple(
                name
                for name, differs in (
                    (path.name, sql_sha != a.sql_sha256),
                    (_rollback_path(path).name, rollback_sha != a.rollback_sha256),
                )
                if differs
            )
            changed = bool(changed_files)
        result.append(MigrationStatus(m.id, True, _utc(a.applied_at_utc), changed, changed_files))
    for a in applied.values():  # applied, but not in the directory
        result.append(
            MigrationStatus(a.migration_id, True, _utc(a.applied_at_utc), True, file_missing=True)
        )
    return result


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)  # yoyo stores UTC without a time zone


def check(url: str | None = None, *, directory: Path = MIGRATIONS_DIR) -> Health:
    """Connect, read the server's version, time ``SELECT 1`` and compare the applied
    migrations with ``directory``. Healthy: connected, nothing pending, nothing changed.

    A server that cannot be reached gives an unhealthy ``Health`` (with ``error``),
    not an exception.
    """
    migrations = read(directory)
    url = db.database_url(url)
    masked = db.mask_url(url)
    try:
        with db.connect(url, autocommit=True) as conn:
            version = db.server_version(conn)
            latency = _latency_ms(conn)
            statuses = _status(conn, migrations)
    except (ConfigurationError, psycopg.Error) as exc:
        message = str(exc) if isinstance(exc, ConfigurationError) else db.first_line(exc)
        return Health(
            url=masked,
            connected=False,
            server_version=None,
            latency_ms=None,
            applied=(),
            pending=(),
            changed=(),
            unrecorded=(),
            error=message,
            current=False,
            healthy=False,
        )
    applied = tuple(s.id for s in statuses if s.applied)
    pending = tuple(s.id for s in statuses if not s.applied)
    changed = tuple(s.id for s in statuses if s.changed)
    unrecorded = tuple(s.id for s in statuses if s.applied and s.changed is None)
    current = not pending and not changed
    return Health(
        url=masked,
        connected=True,
        server_version=version,
        latency_ms=latency,
        applied=applied,
        pending=pending,
        changed=changed,
        unrecorded=unrecorded,
        error=None,
        current=current,
        healthy=current,
    )


def _latency_ms(conn: psycopg.Connection[Any]) -> float:
    times = []
    for _ in range(PING_COUNT):
        start = time.perf_counter()
        conn.execute("SELECT 1").fetchone()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


# -- writing a new migration ---------------------------------------------------------


def check_name(name: str) -> None:
    """Raise ``MigrationError`` unless ``name`` is lowercase snake_case (``add_course_tags``)."""
    if len(name) > NAME_MAX_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise MigrationError(
            f"migration name {name!r} is not lowercase snake_case: use a-z, 0-9 and single "
            f"underscores, start with a letter, at most {NAME_MAX_LENGTH} characters "
            "(e.g. add_course_tags)"
        )


def new(name: str, *, directory: Path = MIGRATIONS_DIR) -> tuple[Path, Path]:
    """Create ``NNNN_name.sql`` (next number, ``-- depends:`` on the latest migration) and
    its ``NNNN_name.rollback.sql`` in ``directory``; return both paths."""
    check_name(name)
    if not directory.is_dir():
        raise MigrationError(f"no migrations folder at {directory}")
    numbered = sorted(
        (int(m.group(1)), path.stem)
        for path in directory.iterdir()
        if path.suffix in (".sql", ".py")  # a Python migration (0011_rules.py) counts too
        and not path.name.endswith(".rollback.sql")
        and (m := re.match(r"(\d+)_", path.name)) is not None
    )
    number = numbered[-1][0] + 1 if numbered else 1
    migration_id = f"{number:04d}_{name}"
    sql_path = directory / f"{migration_id}.sql"
    rollback_path = _rollback_path(sql_path)
    depends = f"-- depends: {numbered[-1][1]}\n" if numbered else ""
    for path in (sql_path, rollback_path):
        if path.exists():
            raise MigrationError(f"{path} exists already; choose another name")
    texts = {
        sql_path: f"-- {migration_id}: say what this migration changes, and why.\n{depends}\n",
        rollback_path: f"-- Undoes {migration_id}: drop what it creates, in reverse order.\n\n",
    }
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return sql_path, rollback_path
