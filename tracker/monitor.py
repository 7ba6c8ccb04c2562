"""Query monitoring: every statement timed by its name, slow ones logged, and the
heaviest statements from ``pg_stat_statements``.

:func:`timed` measures one statement under its name (``canvas.upsert_users``: the SQL
folder and the statement's name). The SQL-file loader wraps each execution in it, so
every statement tracker runs is counted in :func:`timings` (per process), and one that
takes ``TRACKER_SLOW_MS`` milliseconds or more (default 5000; ``off`` to never log) is
logged as a warning on the ``tracker.monitor`` logger with its name and duration only:
never its parameter values, which may hold student data.

:func:`top` reads the server's own statistics (``pg_stat_statements``) and names each
statement tracker recognizes as its own; when the extension is not there it says, step
by step, how to enable it (:func:`stat_statements_status`).

This module imports nothing of tracker at load time: the loader imports it.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

SLOW_MS_ENV = "TRACKER_SLOW_MS"
DEFAULT_SLOW_MS = 5000.0


@dataclass(frozen=True)
class Timing:
    """What this process measured for one statement name."""

    name: str
    calls: int
    total_ms: float
    max_ms: float
    slow: int  # calls at or above the threshold

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class StatStatementsStatus:
    """Whether pg_stat_statements can report, and what to do when it cannot."""

    available: bool  # the server has the extension's files
    installed: bool  # CREATE EXTENSION was run in this database
    preloaded: bool  # shared_preload_libraries loads it at server start

    @property
    def ready(self) -> bool:
        return self.available and self.installed and self.preloaded

    def how_to_enable(self) -> str:
        """The steps still missing, for a person to follow."""
        steps = []
        if not self.available:
            steps.append("install PostgreSQL's contrib modules on the server (the "
                         "postgresql-contrib package, or your distribution's equivalent)")
        if not self.preloaded:
            steps.append("load it at server start: in postgresql.conf set shared_preload_libraries "
                         "= 'pg_stat_statements' (keep any library listed there already), or run "
                         "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' as a "
                         "superuser; then restart the server")
        if not self.installed:
            steps.append("in this database, as a superuser or its owner: CREATE EXTENSION "
                         "pg_stat_statements;")
        if not steps:
            return "pg_stat_statements is enabled"
        return "pg_stat_statements is not enabled. To enable it: " + "; ".join(
            f"({n}) {step}" for n, step in enumerate(steps, start=1))


@dataclass(frozen=True)
class TopStatement:
    """One statement of pg_stat_statements, with tracker's name for it when recognized."""

    name: str | None
    query: str
    calls: int
    total_ms: Decimal
    mean_ms: Decimal
    max_ms: Decimal
    rows: int
    blocks: int
    blocks_read: int


_lock = threading.Lock()
_stats: dict[str, list[float]] = {}  # name → [calls, total_ms, max_ms, slow]
_warned_bad_threshold: set[str] = set()


def slow_threshold_ms() -> float | None:
    """``TRACKER_SLOW_MS`` as milliseconds (default 5000); None when set to ``off``."""
    raw = os.environ.get(SLOW_MS_ENV, "").strip()
    if not raw:
        return DEFAULT_SLOW_MS
    if raw.lower() in ("off", "none", "never"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        if raw not in _warned_bad_threshold:
            _warned_bad_threshold.add(raw)
            log.warning("%s=%r is not a number of milliseconds (or off); using %s",
                        SLOW_MS_ENV, raw, DEFAULT_SLOW_MS)
        return DEFAULT_SLOW_MS
    return value


@dataclass(frozen=True)
class Execution:
    """One statement as :func:`watch` saw it run: its name, time and rows (the cursor's
    ``rowcount``: rows returned or written; None when not known)."""

    name: str
    ms: float
    rows: int | None


class _Rows:
    """What :func:`timed` yields: set ``rows`` to the statement's row count."""

    rows: int | None = None


_watchers: list[list[Execution]] = []


@contextmanager
def watch() -> Iterator[list[Execution]]:
    """Every statement this process runs while inside, in order, as :class:`Execution`
    records: ``with watch() as ran: sync_bundle(…)``. For a benchmark or a test that
    wants to see which statement took the time, not only the totals of :func:`timings`."""
    ran: list[Execution] = []
    with _lock:
        _watchers.append(ran)
    try:
        yield ran
    finally:
        with _lock:
            _watchers.remove(ran)


@contextmanager
def timed(name: str) -> Iterator[_Rows]:
    """Time what runs inside as the statement ``name``: ``with timed("userdata.add_note"): …``.

    Counted whether it succeeds or fails; logged as a warning when slow. The caller may
    set ``.rows`` on what it yields (``with timed(n) as t: …; t.rows = cur.rowcount``).
    """
    start = time.perf_counter()
    counted = _Rows()
    try:
        yield counted
    finally:
        record(name, (time.perf_counter() - start) * 1000.0, rows=counted.rows)


def statement_name(statement: Any) -> str:
    """The name a SQL-file statement is timed under: ``folder.statement`` (``canvas.insert_new``)."""
    return f"{statement.path.parent.name}.{statement.name}"


def timed_call(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, timed as the statement ``name``."""
    with timed(name):
        return fn(*args, **kwargs)


def record(name: str, elapsed_ms: float, *, rows: int | None = None) -> None:
    """Count one execution of ``name`` that took ``elapsed_ms``; log it if slow."""
    threshold = slow_threshold_ms()
    slow = threshold is not None and elapsed_ms >= threshold
    with _lock:
        entry = _stats.setdefault(name, [0, 0.0, 0.0, 0])
        entry[0] += 1
        entry[1] += elapsed_ms
        entry[2] = max(entry[2], elapsed_ms)
        entry[3] += slow
        for ran in _watchers:
            ran.append(Execution(name, elapsed_ms, rows))
    if slow:
        log.warning("slow statement %s: %.1f ms (%s=%s)", name, elapsed_ms, SLOW_MS_ENV,
                    f"{threshold:g}")
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("statement %s: %.1f ms", name, elapsed_ms)


def timings() -> list[Timing]:
    """What this process measured, per statement name, most total time first."""
    with _lock:
        items = [Timing(name, int(c), total, peak, int(s))
                 for name, (c, total, peak, s) in _stats.items()]
    return sorted(items, key=lambda t: (-t.total_ms, t.name))


def reset() -> None:
    """Forget what this process measured."""
    with _lock:
        _stats.clear()


# -- pg_stat_statements ------------------------------------------------------------------------


def stat_statements_status(conn: Any) -> StatStatementsStatus:
    """Whether pg_stat_statements is available, installed here and preloaded."""
    from tracker.sqlfiles import sql

    row = sql.maintenance.pg_stat_statements_status(conn).fetchone()
    assert row is not None
    return StatStatementsStatus(*row)


def top(conn: Any, *, limit: int = 10) -> list[TopStatement]:
    """The statements of this database with the most total execution time, from
    pg_stat_statements, each named when it is one of tracker's SQL files' statements.

    Raises NotFoundError, saying how to enable it, when the extension cannot report.
    """
    import psycopg

    from tracker.errors import NotFoundError
    from tracker.sqlfiles import sql

    status = stat_statements_status(conn)
    if not status.ready:
        raise NotFoundError(status.how_to_enable())
    try:
        with conn.transaction():
            rows = sql.maintenance.top_statements(conn, limit=limit).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # installed, not preloaded
        raise NotFoundError(StatStatementsStatus(True, True, False).how_to_enable()) from exc
    names = _known_statements()
    return [TopStatement(name=names.get(fingerprint(query)), query=query, calls=calls,
                         total_ms=total, mean_ms=mean, max_ms=peak, rows=nrows, blocks=blocks,
                         blocks_read=read)
            for _queryid, query, calls, total, mean, peak, nrows, blocks, read in rows]


_STRING = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDER = re.compile(r"\$\d+")
_NUMBER = re.compile(r"(?<![\w$])\d+(?:\.\d+)?(?![\w])")
_KEYWORD_CONSTANT = re.compile(r"\b(?:true|false|null)\b", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SPACE = re.compile(r"\s+")


def fingerprint(query: str) -> str:
    """A statement's text with values and layout taken out, to recognize it in
    pg_stat_statements (which replaces constants by $1, $2, …)."""
    text = _BLOCK_COMMENT.sub(" ", _LINE_COMMENT.sub(" ", query))
    text = _NUMBER.sub("?", _PLACEHOLDER.sub("?", _STRING.sub("?", text)))
    text = _KEYWORD_CONSTANT.sub("?", text)
    return _SPACE.sub(" ", text).strip().rstrip(";").strip().lower()


_known: dict[str, str] | None = None


def _known_statements() -> dict[str, str]:
    """fingerprint → ``folder.name`` for every statement of the project's SQL files
    (each allowed identifier combination, when there are few)."""
    global _known
    if _known is None:
        from tracker.sqlfiles import sql

        known: dict[str, str] = {}
        for folder in sql.folders():
            for stmt in folder:
                keys = list(stmt.identifiers)
                combos = list(itertools.islice(
                    itertools.product(*(stmt.identifiers[k] for k in keys)), 200))
                for combo in combos:
                    known.setdefault(fingerprint(stmt.numbered(**dict(zip(keys, combo, strict=True)))),
                                     f"{folder.name}.{stmt.name}")
        _known = known
    return _known
