"""Integrity and upkeep across the layers: checks and their safe repairs, retention of
layer 2, and what the database needs to stay fast.

- :func:`check`: the cross-layer integrity checks of ``sql/maintenance/integrity.sql``
  (orphans of layers 2 and 3, lifecycle rows that disagree with layer 1, enrollments and
  submissions pointing at missing objects, history that goes backwards), each finding
  with a count, examples and a suggested repair. :func:`fix` applies the safe repairs
  (``repair.sql``) in one transaction: what would be removed is archived first.
- Retention (:func:`set_retention`, :func:`retention_policies`, :func:`run_retention`):
  history rows older than their table's policy go into the archive in small batches,
  each its own short transaction; :func:`export_archive` writes archived rows as CSV.
- :func:`optimize_report`: tables needing VACUUM or ANALYZE, unused and duplicate
  indexes, sizes; :func:`vacuum` runs VACUUM (ANALYZE) on request.

The same SQL files are scripts a DBA runs with psql (see each file's header).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

import psycopg
from psycopg.pq import TransactionStatus

from tracker import arguments, db
from tracker.errors import ConfigurationError, InvalidArgumentError, InvalidDataError
from tracker.kinds import HISTORY_TABLES
from tracker.sqlfiles import sql

log = logging.getLogger(__name__)

#: The most rows one retention batch archives (a batch is one transaction).
_MAX_BATCH = 2**31 - 1

#: Each history table's series, the rows that tell one story (retention keeps the newest
#: of each): its key columns and its time column, as ``archive_history_batch`` takes them.
HISTORY_SERIES: Mapping[str, Mapping[str, str]] = {
    "history.enrollment_grades": {"series": "enrollment_id", "subseries": "enrollment_id",
                                  "recorded_at": "recorded_at"},
    "history.submission_scores": {"series": "submission_id", "subseries": "submission_id",
                                  "recorded_at": "recorded_at"},
    "history.course_snapshots": {"series": "course_id", "subseries": "course_id",
                                 "recorded_at": "recorded_at"},
    "history.risk_assessments": {"series": "user_id", "subseries": "course_id",
                                 "recorded_at": "assessed_at"},
    "history.grade_changes": {"series": "assignment_id", "subseries": "student_id",
                              "recorded_at": "created_at"},
}
SCHEMAS = ("canvas", "history", "userdata", "lifecycle", "tracker", "archive")

#: The repair statements of each fixable check, in the order :func:`fix` runs them.
REPAIRS: Mapping[str, tuple[str, ...]] = {
    "submission_course": ("align_submission_course",),
    "lifecycle_scope": ("align_lifecycle_scope",),
    "object_without_lifecycle": ("track_untracked_objects",),
    "deleted_object_present": ("unmark_present_objects",),
    "orphan_history": ("archive_orphan_enrollment_grades", "archive_orphan_submission_scores",
                       "archive_orphan_course_snapshots", "archive_orphan_risk_assessments"),
    "orphan_userdata": ("archive_orphan_notes", "archive_orphan_custom_fields",
                        "archive_orphan_tag_links", "archive_orphan_curriculum_courses"),
}


# -- integrity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One integrity check's outcome: how many rows are at fault, examples, what to do."""

    check_name: str
    title: str
    found: int
    examples: list[str]
    repair: str
    fixable: bool  # `tracker check --fix` applies the repair on its own


@dataclass(frozen=True)
class CheckReport:
    """Every check's outcome, in the order of ``integrity.sql``."""

    checks: tuple[Finding, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The checks that found something."""
        return tuple(c for c in self.checks if c.found)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Repair:
    check_name: str
    rows: int  # rows repaired (archived and removed, added, or corrected)


@dataclass(frozen=True)
class FixReport:
    """What :func:`fix` repaired, the archive run holding what it removed, and the
    checks before and after."""

    repairs: tuple[Repair, ...]
    archive_run_id: int | None
    archived: Mapping[str, int]
    before: CheckReport
    after: CheckReport


def check(conn: psycopg.Connection[Any], *, examples: int = 5) -> CheckReport:
    """Run every integrity check (read-only) and report each, found or not."""
    with db.transaction(conn):
        findings = []
        for stmt in sql.file("maintenance/integrity.sql").values():
            row = stmt(conn, examples=examples).fetchone()
            assert row is not None  # each check answers with one row
            findings.append(Finding(*row))
    return CheckReport(tuple(findings))


def fix(conn: psycopg.Connection[Any], *, actor: str, examples: int = 5) -> FixReport:
    """Apply the safe repairs of the current findings in one transaction, then check again.

    Rows about objects found nowhere are archived whole (an archive run of kind
    ``repair``) before they are removed; lifecycle rows and submissions' courses are
    brought in line with layer 1. Findings that are not fixable are left for a person.
    """
    if not actor or not actor.strip():
        raise InvalidDataError("say who repairs (actor): the archive and the audit log record it")
    with db.transaction(conn):
        before = check(conn, examples=examples)
        found = {f.check_name for f in before.findings if f.fixable}
        repairs: list[Repair] = []
        statements = sql.file("maintenance/repair.sql")
        started = statements["start_repair_run"](conn, actor=actor).fetchone()
        assert started is not None
        run_id = started[0]
        statements["allow_history_archive"](conn)
        statements["set_repair_actor"](conn, actor=actor)
        for check_name, names in REPAIRS.items():
            if check_name in found:
                rows = sum(statements[name](conn).rowcount for name in names)
                repairs.append(Repair(check_name, rows))
        finished = statements["finish_repair_run"](conn).fetchone()
        assert finished is not None
        archived = finished[1]
        statements["drop_empty_repair_run"](conn)
        after = check(conn, examples=examples)
    log.info("repaired %s", ", ".join(f"{r.check_name}: {r.rows}" for r in repairs) or "nothing")
    return FixReport(repairs=tuple(repairs), archive_run_id=run_id if archived else None,
                     archived=archived, before=before, after=after)


# -- retention ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    relation: str
    keep: timedelta
    updated_by: str
    updated_at: datetime
    due: int  # rows retention would archive now


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run archived, per table, in how many batches."""

    run_id: int | None  # None when nothing was due
    archived: Mapping[str, int]
    batches: int
    lock_waits: int  # batches that gave way to a lock (retried)


def retention_policies(conn: psycopg.Connection[Any]) -> list[RetentionPolicy]:
    """Every policy, with how many rows are due now."""
    return [RetentionPolicy(*row) for row in sql.maintenance.retention_due(conn)]


def set_retention(conn: psycopg.Connection[Any], relation: str, keep: timedelta | str | None, *,
                  actor: str) -> list[RetentionPolicy]:
    """Keep ``relation``'s rows for ``keep`` (a timedelta or an interval such as
    ``"2 years"``); None removes the policy (rows are kept forever). Returns the policies."""
    if relation not in HISTORY_TABLES:
        raise InvalidDataError(f"{relation!r} has no retention: choose one of "
                               f"{', '.join(HISTORY_TABLES)}")
    if not actor or not actor.strip():
        raise InvalidDataError("say who sets the policy (actor)")
    text = None
    if isinstance(keep, timedelta):
        if keep <= timedelta(0):
            raise InvalidDataError("keep must be longer than nothing")
        text = f"{keep.total_seconds()} seconds"
    elif isinstance(keep, str) and keep.strip():
        text = keep.strip()
    elif keep is not None:
        raise InvalidDataError(f"keep: give an interval such as '2 years' (or a timedelta), or "
                               f"None to remove the policy; not {keep!r}")
    with db.transaction(conn):
        try:
            with db.transaction(conn):
                sql.maintenance.drop_retention_policy(conn, relation=relation, keep=text or "")
                sql.maintenance.put_retention_policy(conn, relation=relation, keep=text or "",
                                                     actor=actor)
        except (psycopg.errors.InvalidDatetimeFormat, psycopg.errors.CheckViolation,
                psycopg.errors.DatetimeFieldOverflow, psycopg.errors.IntervalFieldOverflow):
            raise InvalidDataError(f"keep {keep!r} is not a positive interval (e.g. '2 years', "
                                   "'18 months', '400 days')") from None
        return retention_policies(conn)


def run_retention(
    conn: psycopg.Connection[Any],
    *,
    actor: str,
    batch_size: int = 5000,
    max_batches: int | None = None,
    progress: Callable[[str, int], None] | None = None,
    lock_retries: int = 5,
) -> RetentionReport:
    """Archive the history rows older than their table's policy, ``batch_size`` at a time.

    Each batch is a transaction of its own that locks only its rows (skipping rows others
    hold) and waits at most 2 s for any lock, so a sync is never held up for long; a
    batch that times out is retried a little later. The connection must have no
    transaction open (batches commit as they go). ``progress(table, rows so far)``.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ConfigurationError("retention commits batch by batch: call it on a connection "
                                 "with no transaction open (autocommit, or between transactions)")
    actor = arguments.text("actor", actor)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not (
            1 <= batch_size <= _MAX_BATCH):
        raise InvalidArgumentError(f"batch_size: expected a whole number from 1 to {_MAX_BATCH:,}, "
                                   f"got {batch_size!r}")
    if max_batches is not None:
        max_batches = arguments.count("max_batches", max_batches, minimum=1)
    due = {p.relation: p.due for p in retention_policies(conn)}
    conn.commit()
    if not any(due.values()):
        return RetentionReport(run_id=None, archived={}, batches=0, lock_waits=0)
    with db.transaction(conn):
        started = sql.maintenance.start_retention_run(conn, actor=actor).fetchone()
        assert started is not None
        run_id = started[0]
    archived: dict[str, int] = {}
    batches = lock_waits = 0
    for relation in HISTORY_TABLES:
        if not due.get(relation):
            continue
        done = retries = 0
        while max_batches is None or batches < max_batches:
            try:
                with db.transaction(conn):
                    sql.maintenance.allow_retention_archive(conn)
                    columns = HISTORY_SERIES[relation]
                    n = sql.maintenance.archive_history_batch(
                        conn, table=relation.removeprefix("history."), series=columns["series"],
                        subseries=columns["subseries"], recorded_at=columns["recorded_at"],
                        run_id=str(run_id), batch_size=batch_size).rowcount
            except psycopg.errors.LockNotAvailable:
                lock_waits += 1
                retries += 1
                if retries > lock_retries:
                    log.warning("retention of %s gave way to locks %d times; the rest waits for "
                                "the next run", relation, retries)
                    break
                time.sleep(0.2 * retries)
                continue
            batches += 1
            done += n
            if progress:
                progress(relation, done)
            if n == 0:
                break
        if done:
            archived[relation] = done
    with db.transaction(conn):
        sql.maintenance.finish_retention_run(conn, run_id=str(run_id))
    log.info("retention run %d archived %s", run_id, archived or "nothing")
    return RetentionReport(run_id=run_id, archived=archived, batches=batches, lock_waits=lock_waits)


def export_archive(conn: psycopg.Connection[Any], out: IO[bytes], *, relation: str | None = None,
                   run_id: int | None = None) -> int:
    """Write archived rows (of one relation and/or run, or all) to ``out`` as CSV with a
    header; each row whole as JSON in the ``row_data`` column. Returns the rows written."""
    from tracker.lifecycle import RELATIONS
    from tracker.userdata import copy_out

    run_id = arguments.optional_id("run_id", run_id)
    if relation and relation not in (*RELATIONS, *HISTORY_TABLES):
        raise InvalidDataError(f"relation: {relation!r} is never archived; the archive holds "
                               f"rows of {', '.join(dict.fromkeys((*RELATIONS, *HISTORY_TABLES)))}")
    return copy_out(conn, sql.maintenance.export_archived_rows, out, json_lines=False,
                    relation=relation or "", run_id="" if run_id is None else str(run_id))


# -- optimization ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableHealth:
    table_name: str
    live_rows: int
    dead_rows: int
    modified_since_analyze: int
    last_vacuum: datetime | None
    last_analyze: datetime | None
    table_bytes: int
    index_bytes: int
    total_bytes: int
    needs_vacuum: bool
    needs_analyze: bool


@dataclass(frozen=True)
class UnusedIndex:
    index_name: str
    table_name: str
    index_bytes: int
    scans: int
    definition: str


@dataclass(frozen=True)
class DuplicateIndex:
    index_name: str
    covered_by: str
    table_name: str
    kind: str  # 'duplicate' or 'redundant prefix'
    index_bytes: int


@dataclass(frozen=True)
class OptimizeReport:
    tables: tuple[TableHealth, ...]
    unused_indexes: tuple[UnusedIndex, ...]
    duplicate_indexes: tuple[DuplicateIndex, ...]
    stats_since: datetime | None  # usage counts run since then

    @property
    def needing_vacuum_or_analyze(self) -> tuple[TableHealth, ...]:
        return tuple(t for t in self.tables if t.needs_vacuum or t.needs_analyze)


def optimize_report(conn: psycopg.Connection[Any]) -> OptimizeReport:
    """Tables that need VACUUM or ANALYZE, unused and duplicate indexes, and sizes."""
    with db.transaction(conn):
        tables = tuple(TableHealth(*r) for r in sql.maintenance.table_health(conn))
        unused = tuple(UnusedIndex(*r) for r in sql.maintenance.unused_indexes(conn))
        duplicates = tuple(DuplicateIndex(*r) for r in sql.maintenance.duplicate_indexes(conn))
        since = sql.maintenance.stats_since(conn).fetchone()
    return OptimizeReport(tables, unused, duplicates, since[0] if since else None)


def vacuum(conn: psycopg.Connection[Any], tables: Sequence[str] | None = None) -> list[str]:
    """VACUUM (ANALYZE) ``tables`` (``schema.table``), or every table that needs it.

    VACUUM cannot run in a transaction: the connection must have none open (it is put
    in autocommit for the while). Returns the tables vacuumed.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ConfigurationError("VACUUM cannot run inside a transaction: call it on a "
                                 "connection with no transaction open")
    if tables is None:
        tables = [t.table_name for t in optimize_report(conn).needing_vacuum_or_analyze]
        conn.commit()
    tables = arguments.names("tables", tables)
    statement = sql.maintenance.vacuum_analyze_table
    allowed = set(statement.identifiers["table"])
    targets = []
    for name in tables:
        schema, _, table = name.partition(".")
        if schema not in SCHEMAS or table not in allowed:
            raise InvalidDataError(f"{name!r} is not one of tracker's tables "
                                   "(tracker maintenance optimize lists them)")
        targets.append((schema, table))
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        for schema, table in targets:
            statement(conn, schema=schema, table=table)
    finally:
        conn.autocommit = autocommit
    return [f"{s}.{t}" for s, t in targets]
