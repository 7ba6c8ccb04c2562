"""Query monitoring: every statement timed by its name, slow ones logged.

:func:`timed` measures one statement under its name (``canvas.upsert_users``: the SQL
folder and the statement's name). The SQL-file loader wraps each execution in it, so
every statement tracker runs is counted in :func:`timings` (per process), and one that
takes ``TRACKER_SLOW_MS`` milliseconds or more (default 5000; ``off`` to never log) is
logged as a warning on the ``tracker.monitor`` logger with its name and duration only:
never its parameter values, which may hold student data.

The server's own statistics, across processes, are :mod:`tracker.stat_statements`'.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    if slow or log.isEnabledFor(logging.DEBUG):
        fields = {"statement": name, "ms": round(elapsed_ms, 1), "rows": rows}
        if slow:
            log.warning("slow statement %s: %.1f ms (%s=%s)", name, elapsed_ms, SLOW_MS_ENV,
                        f"{threshold:g}", extra=fields)
        else:
            log.debug("statement %s: %.1f ms", name, elapsed_ms, extra=fields)


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
