"""Statistics and staleness: how big tracker's data is and how fresh each course is.

- :func:`collect`: each table's rows (estimated) and sizes (and each layer's, summed), the syncs by
  status, each course's last successful sync and its age, and the rows syncs appended to
  layer 2 a day (``sql/maintenance/stats.sql``, also a psql script).
- :func:`stale_courses`: the courses not synced successfully for ``stale_after``
  (``TRACKER_STALE_AFTER``, default 2 days; see :func:`stale_after_setting`).
- :func:`prometheus`: the statistics in Prometheus's text exposition format, for
  node_exporter's textfile collector.

Every statement is read-only: the statistics can come from a read replica.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from tracker import arguments, db
from tracker.sqlfiles import sql

#: How long a watched course may go without a successful sync, unless TRACKER_STALE_AFTER says.
DEFAULT_STALE_AFTER = timedelta(days=2)
#: How many days of layer 2's growth :func:`collect` reads by default.
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class TableStats:
    """One table: its live rows as the server's statistics count them (on a replica, the
    planner's estimate as of the last VACUUM or ANALYZE; None before any) and its sizes
    in bytes (heap with TOAST, indexes, both)."""

    schema_name: str
    table_name: str
    rows_estimated: int | None
    table_bytes: int
    index_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class LayerStats:
    """One schema (a layer, the journal or the archive): its tables' figures summed."""

    schema_name: str
    tables: int
    rows_estimated: int
    table_bytes: int
    index_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class SyncStatusCount:
    """How many runs of the journal have one status, and when the latest of them started."""

    status: str
    runs: int
    latest_started_at: datetime | None


@dataclass(frozen=True)
class CourseFreshness:
    """A course's last successful sync. ``watched``: it still exists in Canvas and is not
    concluded, so it is expected to be synced; ``stale``: watched, and not synced
    successfully within ``stale_after`` (or never)."""

    course_id: int
    course_name: str
    last_sync_id: int | None
    last_synced_at: datetime | None
    age_seconds: float | None
    watched: bool
    stale: bool


@dataclass(frozen=True)
class HistoryGrowth:
    """The layer 2 rows that one day's (UTC) successful syncs appended under one kind."""

    day: date
    kind: str
    rows_appended: int


@dataclass(frozen=True)
class Stats:
    """Everything :func:`collect` read, and the settings it read it with."""

    stale_after_seconds: float
    days: int
    layers: list[LayerStats]
    tables: list[TableStats]
    syncs: list[SyncStatusCount]
    courses: list[CourseFreshness]
    history_growth: list[HistoryGrowth]

    @property
    def stale(self) -> list[CourseFreshness]:
        return [c for c in self.courses if c.stale]


def stale_after_setting() -> timedelta:
    """``TRACKER_STALE_AFTER`` (``2d``, ``36h``, seconds…), else two days."""
    return db.duration_setting("TRACKER_STALE_AFTER", DEFAULT_STALE_AFTER)


def collect(conn: psycopg.Connection[Any], *, stale_after: timedelta | None = None,
            days: int = DEFAULT_DAYS) -> Stats:
    """Read the statistics (see the module docstring); ``stale_after`` defaults to
    :func:`stale_after_setting`'s, ``days`` is how many days of layer 2's growth to read."""
    limit = stale_after if stale_after is not None else stale_after_setting()
    days = arguments.count("days", days, minimum=1)
    with db.transaction(conn):
        tables = sql.maintenance.table_stats(conn, row_factory=class_row(TableStats)).fetchall()
        syncs = sql.maintenance.syncs_by_status(
            conn, row_factory=class_row(SyncStatusCount)).fetchall()
        courses = _freshness(conn, limit)
        growth = sql.maintenance.history_growth(
            conn, days=days, row_factory=class_row(HistoryGrowth)).fetchall()
    return Stats(stale_after_seconds=limit.total_seconds(), days=days,
                 layers=list(_layers(tables)), tables=tables, syncs=syncs, courses=courses,
                 history_growth=growth)


def stale_courses(conn: psycopg.Connection[Any], *, stale_after: timedelta) -> list[CourseFreshness]:
    """The watched courses not synced successfully within ``stale_after`` (or never)."""
    return [c for c in _freshness(conn, stale_after) if c.stale]


def _freshness(conn: psycopg.Connection[Any], limit: timedelta) -> list[CourseFreshness]:
    return sql.maintenance.course_freshness(
        conn, stale_after=limit, row_factory=class_row(CourseFreshness)).fetchall()


def _layers(tables: Sequence[TableStats]) -> Iterator[LayerStats]:
    for schema in sorted({t.schema_name for t in tables}):
        of = [t for t in tables if t.schema_name == schema]
        yield LayerStats(schema_name=schema, tables=len(of),
                         rows_estimated=sum(t.rows_estimated or 0 for t in of),
                         table_bytes=sum(t.table_bytes for t in of),
                         index_bytes=sum(t.index_bytes for t in of),
                         total_bytes=sum(t.total_bytes for t in of))


# -- Prometheus ----------------------------------------------------------------------------------


def prometheus(stats: Stats) -> str:
    """The statistics in Prometheus's text exposition format (version 0.0.4): every metric
    named ``tracker_…`` with its HELP and TYPE lines, labelled by ``schema`` and ``table``,
    ``status``, ``course`` or ``kind``. Write it to a ``.prom`` file of node_exporter's
    textfile collector directory (write to a temporary name and rename it there)."""
    out: list[str] = []

    def metric(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
            out.append(f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}")

    def table(t: TableStats) -> dict[str, str]:
        return {"schema": t.schema_name, "table": t.table_name}

    metric("tracker_table_rows_estimated",
           "Live rows of a table as the server's statistics count them (on a read replica: "
           "the planner's estimate as of the table's last VACUUM or ANALYZE).",
           [(table(t), t.rows_estimated) for t in stats.tables if t.rows_estimated is not None])
    metric("tracker_table_size_bytes", "Size of a table's heap and TOAST, in bytes.",
           [(table(t), t.table_bytes) for t in stats.tables])
    metric("tracker_table_index_size_bytes", "Size of a table's indexes, in bytes.",
           [(table(t), t.index_bytes) for t in stats.tables])
    metric("tracker_sync_runs", "Runs in the sync journal, by status.",
           [({"status": s.status}, s.runs) for s in stats.syncs])
    metric("tracker_course_last_sync_timestamp_seconds",
           "When the last successful sync of a course finished, in seconds since the epoch.",
           [({"course": str(c.course_id)}, c.last_synced_at.timestamp())
            for c in stats.courses if c.last_synced_at is not None])
    metric("tracker_course_last_sync_age_seconds",
           "Seconds since the last successful sync of a course finished.",
           [({"course": str(c.course_id)}, c.age_seconds)
            for c in stats.courses if c.age_seconds is not None])
    metric("tracker_course_stale",
           "1 when a course still active in Canvas was not synced successfully within "
           "TRACKER_STALE_AFTER (or never), else 0.",
           [({"course": str(c.course_id)}, int(c.stale)) for c in stats.courses if c.watched])
    metric("tracker_stale_after_seconds", "The staleness limit (TRACKER_STALE_AFTER), in seconds.",
           [({}, stats.stale_after_seconds)])
    per_kind: dict[str, int] = {}
    for g in stats.history_growth:
        per_kind[g.kind] = per_kind.get(g.kind, 0) + g.rows_appended
    metric("tracker_history_rows_appended_per_day",
           f"Layer 2 rows appended by successful syncs a day, averaged over the last "
           f"{stats.days} days, by the kind of object they were counted under.",
           [({"kind": kind}, n / stats.days) for kind, n in sorted(per_kind.items())])
    return "\n".join(out) + "\n"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))
