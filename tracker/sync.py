"""Syncing Canvas data into layers 1, 2 and 0, the journal of syncs, undo and reports.

A sync is one transaction: the bundle's files are copied into temporary staging
tables (``COPY``), checked, typed, and written with set-based statements from
``sql/canvas``, ``sql/history`` and ``sql/lifecycle``: the checking path. The
submissions of courses that have none stored yet (a first sync: nearly all of its
rows) take the first-sight path instead (:mod:`tracker.first_sight`), typed here and
copied straight into layer 1; what that path does not take, the checking path does,
from the start. Only rows whose Canvas object changed are written; layer 2 gets a row only when grades or a score changed; a full
sync marks missing (never deletes) what its courses no longer have. The Grade Change
Log a bundle may hold (``grade_changes``, :data:`tracker.kinds.LOGS`) is appended to
layer 2, each event once, by its Canvas id. Each run is
journaled in ``tracker.sync_runs`` with the before-images of what it overwrote, so
that :func:`undo` can put everything back.

Two syncs of one course never interleave (an advisory lock per course, taken in
course-id order); syncs of different courses run side by side.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from tracker import analytics, arguments, bundle, canvas, copytext, db, first_sight
from tracker.ahead import ahead
from tracker.canvas_api import DEFAULT_CONCURRENCY
from tracker.canvas_fetch import DEFAULT_OVERLAP, FetchReport
from tracker.db import first_line
from tracker.errors import (
    InvalidDataError,
    NotFoundError,
    SyncConflictError,
    SyncError,
    TrackerError,
)
from tracker.kinds import (
    BY_FILE,
    BY_LIFECYCLE,
    BY_NAME,
    DELETE_ORDER,
    HISTORY_TABLES,
    KINDS,
    STAGE_ORDER,
)
from tracker.locks import lock_courses, share_loaded_tables
from tracker.sqlfiles import failed_statement, sql

log = logging.getLogger(__name__)

#: ``progress(step, done, total)``: called as the work advances (for a progress bar).
Progress = Callable[[str, int, int], None]

#: Memory for the staging tables of one sync, per session (PostgreSQL's default is 8MB).
TEMP_BUFFERS = "1GB"
#: Memory for each join or sort of one sync (PostgreSQL's default is 4MB).
WORK_MEM = "256MB"
#: Memory for each index a first sync builds in bulk (PostgreSQL's default is 64MB).
MAINTENANCE_WORK_MEM = "256MB"
#: Whether a first sync of a course copies its submissions by the first-sight path
#: (:mod:`tracker.first_sight`); the checking path alone when False.
FIRST_SIGHT = True


@dataclass(frozen=True)
class TableCounts:
    """What a sync did to one layer 1 table (and the layer 0 and 2 rows about it).

    ``history`` counts the layer 2 rows appended: a submission's scores; an enrollment's
    grades and its student's risk assessments; a course's snapshots. For a log
    (``grade_changes``, present when the bundle held its file) ``history`` counts the
    events appended and ``unchanged`` those stored before.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    reactivated: int = 0
    history: int = 0


@dataclass(frozen=True)
class SyncReport:
    """The outcome of one sync. ``sync_id`` is None for a dry run (nothing was written)."""

    sync_id: int | None
    kind: str
    source: str
    dry_run: bool
    scope_course_ids: tuple[int, ...]
    counts: dict[str, TableCounts]
    fetch: FetchReport | None = None
    """For a live sync: what the fetch from Canvas asked and took."""

    @property
    def changed(self) -> int:
        """Rows written in layers 0, 1 and 2, all tables together."""
        return sum(c.inserted + c.updated + c.missing + c.reactivated + c.history
                   for c in self.counts.values())


@dataclass(frozen=True)
class SyncRun:
    """One row of the journal."""

    sync_id: int
    kind: str
    source: str
    scope_course_ids: list[int]
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None
    undone_at: datetime | None


@dataclass(frozen=True)
class GradeChange:
    """A student's grade in a course as one sync recorded it, beside the one before."""

    user_id: int
    student: str
    course_id: int
    course: str
    score_before: Any
    score_after: Any
    change: Any
    grade_before: str | None
    grade_after: str | None


@dataclass(frozen=True)
class ChangeReport:
    """What one sync changed: its journal row and the grades that moved."""

    run: SyncRun
    grade_changes: list[GradeChange] = field(default_factory=list)


def sync_bundle(
    conn: psycopg.Connection[Any],
    path: str | os.PathLike[str],
    *,
    incremental: bool = False,
    courses: Iterable[int] | None = None,
    dry_run: bool = False,
    wait: bool = False,
    source: str | None = None,
    progress: Progress | None = None,
    error_limit: int = 50,
    watermarks: Mapping[int, datetime] | None = None,
) -> SyncReport:
    """Sync the bundle in ``path`` (a directory of Canvas API JSON files) in one transaction.

    A full sync (the default) covers the courses named in ``courses``, else every course
    the bundle speaks of, and marks missing what those courses no longer have;
    ``incremental`` writes only what is given. ``dry_run`` computes the same report and
    rolls everything back, journal included. ``wait`` waits for a sync holding one of
    the courses instead of failing at once. ``watermarks`` (a live sync's: per course,
    Canvas's clock when it was fetched) are kept in the journal with the run.

    Raises InvalidDataError (nothing written) when the bundle is wrong,
    SyncConflictError when another sync holds a course, InvalidArgumentError when
    ``courses`` is not a list of ids, and SyncError (nothing written; the server's error
    chained) when the server refused a statement or the connection was lost.
    """
    named_ids = None if courses is None else arguments.ids("courses", courses)
    error_limit = arguments.count("error_limit", error_limit, minimum=1)
    path = Path(path)
    files = bundle.find_files(path)
    kind = "incremental" if incremental else "full"
    source = source or str(path.resolve())
    started = datetime.now().astimezone()
    named = sorted(set(named_ids)) if named_ids else None
    scope: list[int] = list(named or [])  # the journal's, should the sync fail
    step = progress or (lambda what, done, total: None)

    def attempt(conn: psycopg.Connection[Any], first_sight: bool) -> SyncReport:
        nonlocal scope
        scope, fresh = _load(conn, files, named=named, step=step, limit=error_limit,
                             first_sight=first_sight, wait=wait)
        used["first_sight"] = fresh is not None
        result = _sync(conn, files, kind=kind, source=source, named=named, scope=scope,
                       dry_run=dry_run, wait=wait, step=step, limit=error_limit, fresh=fresh)
        if watermarks and result.sync_id is not None:
            kept = sorted((cid, at) for cid, at in watermarks.items() if cid in scope)
            sql.tracker.record_watermarks(conn, sync_id=result.sync_id,
                                          course_ids=[cid for cid, _ in kept],
                                          canvas_times=[at for _, at in kept])
        if dry_run:
            raise _DryRun(result)  # rolls the transaction back
        return result

    def run(first_sight: bool) -> SyncReport:
        # Syncs of different courses share users and terms: two may deadlock on them, and
        # the one PostgreSQL stops runs again from the start (db.run_in_transaction).
        try:
            return db.run_in_transaction(conn, functools.partial(attempt, first_sight=first_sight))
        except _DryRun as done:
            return done.report

    used = {"first_sight": False}
    try:
        try:
            result = run(first_sight=FIRST_SIGHT)
        except (first_sight.Refused, psycopg.DataError, psycopg.IntegrityError) as exc:
            if not isinstance(exc, first_sight.Refused) and not used["first_sight"]:
                raise
            # Rolled back: the checking path writes the same rows, or names what is wrong.
            log.info("the first-sight path did not take the submissions (%s): syncing by "
                     "the checking path", first_line(exc))
            result = run(first_sight=False)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        problems = _explain(files, error_limit)
        if problems:
            raise _invalid(files, problems) from None
        raise InvalidDataError(
            f"PostgreSQL refused the bundle in {path}; nothing was written: {first_line(exc)}"
        ) from exc
    except TrackerError:
        raise
    except psycopg.Error as exc:
        _record_failure(conn, kind=kind, source=source, scope=scope, started=started, exc=exc)
        error = _sync_error(scope, exc)
        log.error("sync of %s failed in %s", courses_text(scope),
                  error.statement or "tracker", extra={
                      "courses": list(scope), "kind": kind, "statement": error.statement,
                      "location": error.location, "sqlstate": exc.sqlstate})
        raise error from exc
    except Exception as exc:
        _record_failure(conn, kind=kind, source=source, scope=scope, started=started, exc=exc)
        raise
    log.info("sync %s of %s: %d row(s) written%s", result.sync_id,
             courses_text(result.scope_course_ids), result.changed,
             " (dry run, rolled back)" if dry_run else "", extra={
                 "sync_id": result.sync_id, "courses": list(result.scope_course_ids),
                 "kind": kind, "dry_run": dry_run, "changed": result.changed,
                 "counts": {name: vars(c) for name, c in result.counts.items()}})
    return result


def courses_text(courses: Sequence[int], *, listed: int = 10) -> str:
    """A sync's courses for people: ``course 42``, ``courses 42, 43``, and past ``listed``
    their number and range (a school's sync has thousands; the logs' JSON lists them)."""
    if not courses:
        return "no course"
    if len(courses) == 1:
        return f"course {courses[0]}"
    if len(courses) <= listed:
        return "courses " + ", ".join(map(str, courses))
    return f"{len(courses):,} courses, {min(courses)} to {max(courses)}"


def _sync_error(scope: Sequence[int], exc: psycopg.Error) -> SyncError:
    """The error of a sync the server stopped: which statement, where, and what it said."""
    failed = failed_statement(exc)
    at = f" in {failed[0]} ({failed[1]})" if failed else ""
    return SyncError(
        f"the sync of {courses_text(scope)} failed{at}: {first_line(exc)}. Nothing of it was "
        "kept: run it again once the cause is fixed.", statement=failed[0] if failed else None,
        location=failed[1] if failed else None)


class _DryRun(Exception):
    """Raised by a dry run once its report is made, so that its transaction rolls back."""

    def __init__(self, report: SyncReport) -> None:
        super().__init__("dry run")
        self.report = report


def sync_canvas(
    conn: psycopg.Connection[Any],
    base_url: str,
    token: str,
    *,
    course_ids: Sequence[int] | None = None,
    account_id: int | None = None,
    term_id: int | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    overlap: timedelta = DEFAULT_OVERLAP,
    resume: bool = False,
    fetch_dir: Path | None = None,
    **options: Any,
) -> SyncReport:
    """Fetch courses from a live Canvas into a bundle, then :func:`sync_bundle` it.

    ``options`` are those of :func:`sync_bundle`. A sync of named courses is a full sync
    of those courses; an account sync covers every course it fetched. Up to
    ``concurrency`` requests are in flight at once. With ``incremental``, a course that
    had a succeeded live sync from this Canvas is asked only for the submissions graded
    or submitted since that sync's watermark, less ``overlap``
    (:mod:`tracker.canvas_fetch`). The fetch is kept in ``fetch_dir`` (default: a folder
    of the user's cache, one per Canvas and scope) until it is complete; after a failure
    ``resume`` fetches only the courses it lacks. The result's ``fetch`` says what the
    fetch asked and took.
    """
    from tracker import canvas_api, canvas_fetch

    progress = options.get("progress")
    incremental = bool(options.get("incremental"))
    with canvas_api.CanvasClient(base_url, token, concurrency=concurrency) as client:
        since = _watermarks(conn, client.base_url) if incremental else None
        folder = fetch_dir or _fetch_folder(client.base_url, course_ids, account_id, term_id,
                                            incremental)
        with canvas_fetch.exclusive(folder):
            report = canvas_fetch.fetch_bundle(
                client, folder, course_ids=course_ids, account_id=account_id,
                term_id=term_id, since=since, overlap=overlap, resume=resume,
                progress=progress)
            try:
                options.setdefault("courses", course_ids)
                result = sync_bundle(conn, folder, source=client.base_url,
                                     watermarks=report.watermarks, **options)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    return dataclasses.replace(result, fetch=report)


def _watermarks(conn: psycopg.Connection[Any], source: str) -> dict[int, datetime]:
    """Per course, the watermark of the newest succeeded live sync from ``source``."""
    with db.transaction(conn):
        return dict(sql.tracker.watermarks(conn, source=source).fetchall())


def _fetch_folder(base_url: str, course_ids: Sequence[int] | None, account_id: int | None,
                  term_id: int | None, incremental: bool) -> Path:
    """Where a live fetch waits until complete: one folder per Canvas, scope and kind."""
    import platformdirs

    key = orjson.dumps([base_url, sorted(set(course_ids or ())), account_id, term_id,
                        incremental])
    folder = platformdirs.user_cache_path("tracker") / "canvas-fetch" / (
        hashlib.sha256(key).hexdigest()[:16])
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _load(conn: psycopg.Connection[Any], files: dict[str, Path], *, named: list[int] | None,
          step: Progress, limit: int, first_sight: bool, wait: bool
          ) -> tuple[list[int], first_sight.Fresh | None]:
    """Copy the bundle's files to the server and check them: the courses the sync covers,
    and the submissions file the first-sight path is to take, if any.

    The courses are ``named``, else every course the bundle speaks of. With
    ``first_sight``, the submissions of those courses that have none stored are left for
    :mod:`tracker.first_sight` instead of being staged. Raises
    InvalidDataError when a record lacks a required key or, with ``named``, the bundle
    holds records of other courses or a named course is nowhere, and SyncConflictError
    when a first sync of another process holds the tables (unless ``wait``)."""
    share_loaded_tables(conn, wait=wait)
    sql.canvas.widen_work_mem(conn, size=WORK_MEM)
    try:
        with db.transaction(conn):
            sql.canvas.widen_temp_buffers(conn, size=TEMP_BUFFERS)
    except psycopg.errors.InvalidParameterValue:
        log.debug("temp_buffers unchanged: this session already used temporary tables")
    sql.canvas.create_temp_stages(conn)
    if "grade_changes" in files:  # its events are never compared: each is sent
        sql.canvas.create_document_stages(conn)
        sql.canvas.create_grade_change_stages(conn)
    total_files = len(files)
    held = files.get("submissions") if first_sight else None
    for n, (name, file) in enumerate(files.items(), start=1):
        if file is not held:
            step(f"copying {file.name}", n - 1, total_files)
            _copy(conn, name, file)
    fresh = None
    if held:
        fresh = _first_sight(conn, held, named or _spoken_of(conn, files))
        if fresh is None or fresh.records is not None:
            step(f"copying {held.name}", total_files - 1, total_files)
            _copy(conn, "submissions", held, skip=fresh.records if fresh else None)
    step("checking", total_files, total_files)
    problems = _missing_keys(conn, files, limit)
    if problems:
        _refuse_if(fresh, "other files hold records at fault")
        raise _invalid(files, problems)

    spoken_of = _spoken_of(conn, files)
    if named:
        problems = _outside_named(conn, named, spoken_of)
        if problems:
            _refuse_if(fresh, "the courses named are not the bundle's")
            raise _invalid(files, problems)
    return named or spoken_of, fresh


def _sync(conn: psycopg.Connection[Any], files: dict[str, Path], *, kind: str, source: str,
          named: list[int] | None, scope: list[int], dry_run: bool, wait: bool,
          step: Progress, limit: int, fresh: first_sight.Fresh | None) -> SyncReport:
    """Type and write what :func:`_load` copied, and the submissions of ``fresh`` by the
    first-sight path, for the courses ``scope``; journal the run."""
    lock_courses(conn, scope, wait=wait)
    started = sql.tracker.start_run(conn, kind=kind, source=source,
                                    scope_course_ids=scope).fetchone()
    assert started is not None  # INSERT … RETURNING
    sync_id = started[0]

    if fresh:  # its submissions' history is appended with the staged ones'
        sql.canvas.create_document_stages(conn)
    staged = _documents_staged(conn)
    for name in (k.name for k in STAGE_ORDER if staged):
        step(f"typing {name}", 0, 0)
        getattr(sql.canvas, f"stage_{name}")(conn, sync_id=sync_id)
        sql.canvas.analyze_stage(conn, stage=f"pg_temp.stage_{name}")
    if "grade_changes" in files:
        step("typing grade_changes", 0, 0)
        sql.history.stage_grade_changes(conn, sync_id=sync_id)
    problems = _invalid_rows(conn, files, limit, staged=staged)
    if problems:
        _refuse_if(fresh, "other files hold records at fault")
        raise _invalid(files, problems)

    counts: dict[str, dict[str, int]] = {}
    for name, table in ((k.name, k.table) for k in KINDS):
        step(f"writing {name}", 0, 0)
        stage, known = f"pg_temp.stage_{name}", f"pg_temp.known_{name}"
        if not staged:
            row = sql.canvas.known_counts(conn, known=known, row_factory=dict_row).fetchone()
            counts[name] = dict(row or {})
            continue
        row = sql.canvas.stage_counts(conn, stage=stage, known=known,
                                      row_factory=dict_row).fetchone()
        counts[name] = dict(row or {})
        sql.canvas.save_before_images(conn, table=table, stage=stage, sync_id=sync_id, relation=table)
        getattr(sql.canvas, f"update_{name}")(conn, stage=stage)
        copied = 0
        with _loaded_in_bulk(conn, table, keys=True):
            inserted = sql.canvas.insert_new(conn, table=table, stage=stage).rowcount
            if name == "submissions" and fresh:
                copied = _copy_fresh(conn, fresh, sync_id=sync_id, step=step)
        # A row staged as new that a concurrent sync (of other courses: a shared user or
        # term) stored a moment before is that sync's: this one counts it as unchanged.
        counts[name]["unchanged"] += counts[name]["inserted"] - inserted
        counts[name]["inserted"] = inserted + copied
        written = counts[name]["inserted"] + counts[name]["updated"]
        _refresh_statistics(conn, table, written)

    step("recording history", 0, 0)
    fresh_course_ids = sorted(fresh.courses) if fresh else []
    for name, table, append in (
        ("enrollments", "history.enrollment_grades", sql.history.append_enrollment_grades),
        ("submissions", "history.submission_scores", functools.partial(
            sql.history.append_submission_scores, fresh_course_ids=fresh_course_ids)),
    ):
        if not staged:  # nothing is new or changed
            counts[name]["history"] = 0
            continue
        with _loaded_in_bulk(conn, table):
            counts[name]["history"] = appended = append(conn, sync_id=sync_id).rowcount
        # Its statistics too, when it grew much (a first sync): reading the past as of a
        # week (tracker risk evaluate) planned on none took 6.9 s instead of 0.6.
        _refresh_statistics(conn, table, appended)
    if "grade_changes" in files:
        counts["grade_changes"] = _append_grade_changes(conn)

    step("tracking lifecycle", 0, 0)
    for lifecycle_kind, tracked in BY_LIFECYCLE.items():
        stage = f"pg_temp.stage_{tracked.name}"
        if staged and tracked.shared:
            sql.lifecycle.collect_seen_shared(conn, kind=lifecycle_kind, stage=stage)
        elif staged and tracked.name == "courses":
            sql.lifecycle.collect_seen_courses(conn)
        elif staged:
            sql.lifecycle.collect_seen_in_courses(conn, kind=lifecycle_kind, stage=stage)
        sql.lifecycle.collect_seen_known(conn, kind=lifecycle_kind,
                                         known=f"pg_temp.known_{tracked.name}")
    # What follows joins lifecycle.objects with what this sync saw: both need statistics
    # of now. Without them a large course's anti-join (find_missing) was planned as a
    # nested loop over rows the planner believed were few: 10 s of a 16 s sync at 1,000
    # students a course on PostgreSQL 15.
    sql.canvas.analyze_stage(conn, stage="pg_temp.seen")
    with _loaded_in_bulk(conn, "lifecycle.objects"):
        first_seen = sql.lifecycle.record_first_seen(conn, sync_id=sync_id).rowcount
    _refresh_statistics(conn, "lifecycle.objects", first_seen)
    sql.lifecycle.find_returned(conn)
    if kind == "full":
        present = [BY_NAME[n].lifecycle for n in files if n in BY_NAME and BY_NAME[n].lifecycle]
        sql.lifecycle.find_missing(conn, kinds=present, courses_named=named is not None,
                                   scope_course_ids=scope)
    sql.lifecycle.save_lifecycle_before_images(conn, sync_id=sync_id)
    sql.lifecycle.apply_lifecycle_changes(conn, sync_id=sync_id)
    for lifecycle_kind, missing, reactivated in sql.lifecycle.lifecycle_counts(conn):
        counts[BY_LIFECYCLE[lifecycle_kind].name].update(missing=missing, reactivated=reactivated)

    step("recording course snapshots", 0, 0)
    changed = {r[0] for r in sql.lifecycle.courses_with_lifecycle_changes(conn)}
    if staged:
        changed.update(r[0] for r in sql.lifecycle.courses_with_changes(conn))
    touched = sorted(changed)
    counts["courses"]["history"] = analytics.record_course_snapshots(conn, sync_id, touched)
    step("assessing risk", 0, 0)
    counts["enrollments"]["history"] += analytics.record_sync_risk(conn, sync_id, touched)

    table_counts = {name: TableCounts(**c) for name, c in counts.items()}
    sql.tracker.finish_run(conn, sync_id=sync_id,
                           counts=orjson.dumps({k: vars(v) for k, v in table_counts.items()}).decode())
    step("done", 1, 1)
    return SyncReport(sync_id=None if dry_run else sync_id, kind=kind, source=source,
                      dry_run=dry_run, scope_course_ids=tuple(scope), counts=table_counts)


def _spoken_of(conn: psycopg.Connection[Any], files: dict[str, Path]) -> list[int]:
    """The courses the copied bundle speaks of, in order."""
    found = {r[0] for r in sql.canvas.known_course_ids(conn)}
    if _documents_staged(conn):
        found.update(r[0] for r in sql.canvas.sent_course_ids(conn))
    if "grade_changes" in files:
        found.update(r[0] for r in sql.history.grade_change_course_ids(conn))
    return sorted(found)


def _refuse_if(fresh: first_sight.Fresh | None, why: str) -> None:
    """Before reporting a bundle's faults: start again by the checking path if the
    first-sight path held submissions back, so that theirs are reported too."""
    if fresh:
        raise first_sight.Refused(why)


def _first_sight(conn: psycopg.Connection[Any], file: Path,
                 courses: list[int]) -> first_sight.Fresh | None:
    """Which submissions of ``file`` the first-sight path takes: those of ``courses``
    that have none stored (None: no course is new). When some courses have submissions
    stored, each record's course is found (through its assignment) to tell them apart."""
    stored = {r[0] for r in sql.canvas.courses_with_submissions(conn, course_ids=courses)}
    new = frozenset(courses) - stored
    if not new:
        return None
    if not stored:
        return first_sight.Fresh(file, new, None)
    sql.canvas.create_document_stages(conn)  # the assignments sent, if any: none else
    course_of = dict(sql.canvas.bundle_assignment_courses(conn, course_ids=courses).fetchall())
    return first_sight.Fresh(file, new, first_sight.records_of(file, course_of, new))


def _copy_fresh(conn: psycopg.Connection[Any], fresh: first_sight.Fresh, *, sync_id: int,
                step: Progress) -> int:
    """The first-sight path: the submissions ``fresh`` holds back, none of them stored,
    straight into layer 1 (:mod:`tracker.first_sight`); how many."""
    course_of = dict(sql.canvas.assignment_courses(
        conn, course_ids=sorted(fresh.courses)).fetchall())
    users = {r[0] for r in sql.canvas.user_ids(conn)}
    return first_sight.copy_submissions(
        conn, fresh, sync_id=sync_id, course_of=course_of, users=users,
        progress=lambda done: step("writing submissions", done, 0))


@contextmanager
def _loaded_in_bulk(conn: psycopg.Connection[Any], table: str, *,
                    keys: bool = False) -> Iterator[None]:
    """While the body fills ``table``: its secondary indexes dropped, then built once
    after, when it is empty and free (a school's first sync: a sort per index instead of
    a million inserts into each; migration 0021). With ``keys``, its foreign keys too,
    each checked by one join after instead of a lookup a row (0022): the tables they
    reference are then this transaction's alone until it ends, so only for the tables
    of layer 1, whose references stay within it, never the journal's. Otherwise the
    body runs as it is."""
    definitions = _value(sql.tracker.defer_indexes(conn, table=table))
    # None: the table has rows, is not ours or is in use, and so for its keys too (every
    # sync that stages anything comes here for each kind: no second round trip for them).
    foreign_keys = (_value(sql.tracker.defer_foreign_keys(conn, table=table))
                    if keys and definitions is not None else None)
    yield
    if definitions:
        sql.canvas.widen_maintenance_work_mem(conn, size=MAINTENANCE_WORK_MEM)
        sql.tracker.build_indexes(conn, definitions=definitions)
    if foreign_keys:
        sql.tracker.build_indexes(conn, definitions=foreign_keys)


def _documents_staged(conn: psycopg.Connection[Any]) -> bool:
    """Whether this sync sent any document (``canvas.create_document_stages``)."""
    return bool(_value(sql.canvas.documents_staged(conn)))


def _value(cursor: psycopg.Cursor[Any]) -> Any:
    """The one value a statement returned (None for no row)."""
    row = cursor.fetchone()
    return row[0] if row else None


def _append_grade_changes(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Append the staged grade changes not stored yet: how many were, and how many were
    stored before (by an earlier fetch whose window overlapped)."""
    row = sql.history.staged_grade_change_events(conn).fetchone()
    events = row[0] if row else 0
    appended = sql.history.append_grade_changes(conn).rowcount
    return {"unchanged": events - appended, "history": appended}


def _refresh_statistics(conn: psycopg.Connection[Any], table: str, written: int) -> None:
    """Refresh ``table``'s statistics if this sync wrote enough of it (autovacuum's rule,
    applied now, inside the sync's transaction) or the planner has none: the server
    decides (sql/canvas/write.sql, refresh_statistics). A sync that wrote nothing asks
    nothing."""
    if written:
        sql.canvas.refresh_statistics(conn, table=table, written=written)


def _outside_named(conn: psycopg.Connection[Any], named: list[int],
                   spoken_of: list[int]) -> list[str]:
    """What is wrong with the courses a sync names: records of courses it does not name
    (the lock and the journal would not cover them), or a named course that is neither
    in the bundle nor stored. A stored course the bundle no longer has is fine: a full
    sync of it marks what it had missing."""
    problems = []
    others = sorted(set(spoken_of) - set(named))
    if others:
        shown = ", ".join(map(str, others[:10])) + (", …" if len(others) > 10 else "")
        problems.append(f"the bundle holds records of {len(others)} course(s) not named "
                        f"({shown}): name them too, or name none to sync every course of "
                        f"the bundle")
    stored = {r[0] for r in sql.canvas.stored_courses(conn, course_ids=named)}
    for course_id in sorted(set(named) - set(spoken_of) - stored):
        problems.append(f"course {course_id} is named but is neither in the bundle nor "
                        f"stored: check the id")
    return problems


def _invalid(files: dict[str, Path], problems: list[str]) -> InvalidDataError:
    """The one error of a bundle that failed its checks, naming its folder."""
    folder = next(iter(files.values())).parent
    return InvalidDataError(f"the bundle in {folder} is not valid; nothing was written:", problems)


def _copy(conn: psycopg.Connection[Any], name: str, file: Path, *,
          skip: bytearray | None = None) -> None:
    """Send one file to the server: only the documents of new or changed records, and
    none of the records that ``skip`` marks (by record number: the first-sight path's).

    Unless the table is empty, a digest of every record goes first; records whose digest
    a stored row carries are unchanged (``pg_temp.known_<name>``) and are not sent again.
    The documents' tables are made for the first document sent: a sync of an unchanged
    bundle makes none (``canvas.create_document_stages``).
    """
    ranges: list[tuple[int, int]] | None = None  # None: send every record
    kind = BY_NAME.get(name)  # None: a log, whose events are stored once each, never compared
    empty = kind and sql.canvas.table_is_empty(conn, table=kind.table).fetchone()
    if kind and not (empty and empty[0]):
        table = kind.table
        hashes, known = f"pg_temp.hash_{name}", f"pg_temp.known_{name}"
        _send(sql.canvas.copy_hashes.copy(conn, hashes=hashes),
              (b"%d\t%s\n" % (n, copytext.digest(doc)) for n, doc in _records(file, skip)))
        sql.canvas.analyze_stage(conn, stage=hashes)
        if kind.shared:
            sql.canvas.find_known_global(conn, hashes=hashes, known=known, table=table)
        elif name == "courses":
            sql.canvas.find_known_courses(conn)
        else:
            sql.canvas.find_known_in_courses(conn, hashes=hashes, known=known, table=table)
        ranges = sql.canvas.records_to_send(conn, hashes=hashes, known=known).fetchall()
        if not ranges:
            return
    sql.canvas.create_document_stages(conn)
    wanted = _in_ranges(ranges)
    _send(sql.canvas.copy_documents.copy(conn, raw=f"pg_temp.raw_{name}"),
          (b"%d\t%s\t%s\n" % (n, copytext.digest(doc), copytext.document(doc))
           for n, doc in _records(file, skip) if wanted(n)))
    sql.canvas.analyze_stage(conn, stage=f"pg_temp.raw_{name}")


def _send(copy: AbstractContextManager[psycopg.Copy], lines: Iterable[bytes]) -> None:
    """Run ``copy`` with ``lines``, in chunks of about 1 MB made ahead by a thread of their
    own (:func:`tracker.ahead.ahead`) while this one sends those before them."""
    with copy as cp, ahead(copytext.batches(lines)) as chunks:
        for chunk in chunks:
            cp.write(chunk)


def _records(file: Path, skip: bytearray | None) -> Iterator[tuple[int, bytes]]:
    """The records of ``file`` with their numbers, but those ``skip`` marks."""
    numbered = enumerate(bundle.iter_documents(file), start=1)
    if skip is None:
        return numbered
    return ((n, doc) for n, doc in numbered if not skip[n])


def _in_ranges(ranges: list[tuple[int, int]] | None) -> Callable[[int], bool]:
    """A test of record numbers against sorted ``(first, last)`` ranges, asked in rising order."""
    if ranges is None:
        return lambda n: True
    pending = iter(ranges)
    current = next(pending, None)

    def wanted(n: int) -> bool:
        nonlocal current
        while current is not None and n > current[1]:
            current = next(pending, None)
        return current is not None and current[0] <= n

    return wanted


def _missing_keys(conn: psycopg.Connection[Any], files: dict[str, Path], limit: int) -> list[str]:
    problems: list[str] = []
    if not _documents_staged(conn):
        return problems
    for name, file in files.items():
        rows = sql.canvas.records_without_required_keys(
            conn, raw=f"pg_temp.raw_{name}", required=list(BY_FILE[name].required), limit=limit)
        for record_no, canvas_id, json_type, missing in rows:
            label = canvas.record_label(file, record_no, canvas_id)
            if json_type != "object":
                problems.append(f"{label}: expected a JSON object, got {json_type}")
            else:
                problems.append(f"{label}: {', '.join(missing)}: missing; Canvas always sends "
                                f"{'it' if len(missing) == 1 else 'them'} and tracker cannot store "
                                f"the record without")
    return problems[:limit]


def _invalid_rows(conn: psycopg.Connection[Any], files: dict[str, Path], limit: int, *,
                  staged: bool) -> list[str]:
    """Duplicate ids and references that are neither in the bundle nor in the database
    (when nothing was ``staged``, every record is stored already: only duplicates)."""
    problems: list[str] = []
    for name, file in ((n, f) for n, f in files.items() if n in BY_NAME):
        known = f"pg_temp.known_{name}"
        duplicates = (sql.canvas.duplicate_ids(conn, stage=f"pg_temp.stage_{name}", known=known,
                                               limit=limit) if staged
                      else sql.canvas.duplicate_known_ids(conn, known=known, limit=limit))
        for canvas_id, record_nos in duplicates:
            numbers = ", ".join(f"{n:,}" for n in record_nos)
            problems.append(f"{file.name} records {numbers}: id {canvas_id} occurs "
                            f"{len(record_nos)} times; each object may appear once")
    if not staged:
        return problems[:limit]
    dangling: set[tuple[str, int, str]] = set()  # (kind, record number, field)
    for name, fld, parent in ((k.name, r.field, r.parent) for k in KINDS for r in k.parents
                              if k.name in files):
        rows = sql.canvas.dangling_references(
            conn, stage=f"pg_temp.stage_{name}", field=fld, parent_stage=f"pg_temp.stage_{parent}",
            parent_table=BY_NAME[parent].table, limit=limit)
        for record_no, canvas_id, ref in rows:
            dangling.add((name, record_no, fld))
            problems.append(f"{canvas.record_label(files[name], record_no, canvas_id)}: {fld} {ref} "
                            f"is neither in this bundle nor in the database")
    if "submissions" in files:
        for record_no, canvas_id, ref in sql.canvas.submissions_without_course(conn, limit=limit):
            if ("submissions", record_no, "assignment_id") not in dangling:
                problems.append(f"{canvas.record_label(files['submissions'], record_no, canvas_id)}: "
                                f"assignment_id {ref}: its course is unknown")
    if "assignment_groups" in files:
        for record_no, canvas_id in sql.canvas.groups_without_course(conn, limit=limit):
            problems.append(f"{canvas.record_label(files['assignment_groups'], record_no, canvas_id)}: "
                            f"course_id: unknown; give the group a course_id or include its assignments")
    if "grade_changes" in files:
        for record_no, event_id, ref in sql.history.grade_changes_without_course(conn, limit=limit):
            label = canvas.record_label(files["grade_changes"], record_no, event_id)
            if ref is None:
                problems.append(f"{label}: links.course: missing; Canvas always sends it and "
                                f"tracker cannot store the event without it")
            else:
                problems.append(f"{label}: links.course {ref} is neither in this bundle nor in "
                                f"the database")
    return problems[:limit]


def _explain(files: dict[str, Path], limit: int) -> list[str]:
    """After PostgreSQL refused a document: find the records and fields at fault, in Python."""
    problems: list[str] = []
    for name, file in files.items():
        problems += bundle.json_errors(file, limit=limit - len(problems))
        if len(problems) < limit:
            problems += canvas.field_errors(name, file, limit=limit - len(problems))
        if len(problems) >= limit:
            break
    return problems[:limit]


def _record_failure(conn: psycopg.Connection[Any], *, kind: str, source: str, scope: list[int],
                    started: datetime, exc: BaseException) -> None:
    """Journal a failed run in a transaction of its own (the sync's was rolled back)."""
    if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
        return
    try:
        with db.transaction(conn):
            sql.tracker.record_failed_run(conn, kind=kind, source=source, scope_course_ids=scope,
                                          started_at=started, error=f"{type(exc).__name__}: {first_line(exc)}")
    except psycopg.Error:
        log.exception("could not journal the failed sync")


# -- the journal -------------------------------------------------------------------------------


def get_run(conn: psycopg.Connection[Any], sync_id: int | None = None) -> SyncRun:
    """One run of the journal: ``sync_id``, else the latest that succeeded.

    Raises NotFoundError when there is no such run."""
    sync_id = arguments.optional_id("sync_id", sync_id)
    if sync_id is None:
        row = sql.tracker.latest_succeeded_run(conn).fetchone()
        if row is None:
            raise NotFoundError("no sync has succeeded yet: run tracker sync first")
        sync_id = row[0]
    run = sql.tracker.get_run(conn, sync_id=sync_id, row_factory=_run_row).fetchone()
    if run is None:
        raise NotFoundError(f"there is no sync {sync_id}: tracker sync list shows the runs")
    return run


def list_runs(conn: psycopg.Connection[Any], *, limit: int = 20) -> list[SyncRun]:
    """The newest runs of the journal, newest first."""
    limit = arguments.count("limit", limit)
    return sql.tracker.list_runs(conn, limit=limit, row_factory=_run_row).fetchall()


def report(conn: psycopg.Connection[Any], sync_id: int | None = None, *, limit: int = 100) -> ChangeReport:
    """What one sync (default: the latest that succeeded) changed, per table and per student."""
    run = get_run(conn, sync_id)
    limit = arguments.count("limit", limit)
    changes = sql.tracker.grade_changes(conn, sync_id=run.sync_id, limit=limit,
                                        row_factory=_grade_row).fetchall()
    return ChangeReport(run=run, grade_changes=changes)


def undo(conn: psycopg.Connection[Any], sync_id: int | None = None) -> SyncRun:
    """Revert a sync (default: the latest that succeeded) in one transaction.

    Layers 1 and 0 return to their state before it and the layer 2 rows it appended are
    removed. Refused (SyncConflictError) when a later sync changed the same rows, when
    a cleanup or a retention run since removed rows it depends on, or when user data
    written since refers to objects the sync brought in.
    """
    with db.transaction(conn):
        run = get_run(conn, sync_id)
        if run.status != "succeeded":
            was = {"undone": "was undone already", "failed": "failed (it wrote nothing)",
                   "running": "is still running"}.get(run.status, f"is {run.status}")
            raise SyncConflictError(f"sync {run.sync_id} {was}; only a sync that succeeded can "
                                    "be undone")
        lock_courses(conn, run.scope_course_ids, wait=True)
        conflicts = sql.tracker.later_conflicts(conn, sync_id=run.sync_id).fetchall()
        if conflicts:
            later = ", ".join(f"sync {s} changed {n:,} of its rows in {rel}" for s, rel, n in conflicts)
            raise SyncConflictError(f"cannot undo sync {run.sync_id}: {later}. "
                                    "Undo the later syncs first (newest first).")
        cleanups = sql.tracker.cleanups_since(conn, sync_id=run.sync_id).fetchall()
        if cleanups:
            runs = ", ".join(str(run_id) for run_id, _ in cleanups)
            raise SyncConflictError(
                f"cannot undo sync {run.sync_id}: approved cleanup run(s) {runs} removed objects "
                "since it. Restore them first (tracker lifecycle restore RUN_ID), then undo.")
        retained = sql.tracker.retention_since(conn, sync_id=run.sync_id).fetchall()
        if retained:
            runs = ", ".join(f"{run_id} ({n:,} rows)" for run_id, n in retained)
            raise SyncConflictError(
                f"cannot undo sync {run.sync_id}: retention run(s) {runs} since archived the "
                "history rows it had made old, and undoing it would leave those grades and "
                "scores without their last value before it. Put the data right with a new sync "
                "instead (the archived rows: tracker maintenance export-archive).")
        sql.canvas.create_undo_stages(conn)
        sql.history.allow_undo(conn)
        for table in HISTORY_TABLES:
            sql.history.delete_appended(conn, table=table, sync_id=run.sync_id)
        for name, table in ((k.name, k.table) for k in KINDS):
            stage = f"pg_temp.undo_{name}"
            sql.tracker.stage_before_images(conn, stage=stage, table=table, sync_id=run.sync_id,
                                            relation=table)
            getattr(sql.canvas, f"update_{name}")(conn, stage=stage)
        sql.lifecycle.restore_lifecycle(conn, sync_id=run.sync_id)
        sql.lifecycle.delete_first_seen(conn, sync_id=run.sync_id)
        for table in (k.table for k in DELETE_ORDER):
            try:
                sql.tracker.delete_inserted(conn, table=table, sync_id=run.sync_id)
            except psycopg.errors.ForeignKeyViolation as exc:
                raise SyncConflictError(
                    f"cannot undo sync {run.sync_id}: {table} rows it brought in are "
                    f"referred to by data written since ({first_line(exc)}). Remove or archive "
                    "those first.") from None
        sql.tracker.mark_undone(conn, sync_id=run.sync_id)
    return get_run(conn, run.sync_id)


def _run_row(cursor: Any) -> Callable[[Sequence[Any]], SyncRun]:
    names = [c.name for c in cursor.description]
    return lambda values: SyncRun(**dict(zip(names, values)))


def _grade_row(cursor: Any) -> Callable[[Sequence[Any]], GradeChange]:
    names = [c.name for c in cursor.description]
    return lambda values: GradeChange(**dict(zip(names, values)))
