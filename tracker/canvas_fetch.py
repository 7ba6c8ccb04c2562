"""Fetching a live Canvas into a bundle directory: courses side by side, incremental, resumable.

A live sync fetches from Canvas into a bundle (one ``.ndjson`` file per kind of object,
one Canvas API object per line, exactly as ``/api/v1`` returns it) and then syncs that
bundle like any other. :func:`fetch_bundle` is the first half.

How a fetch goes:

1. The scope: the named courses (``GET /courses/:id``, side by side) or the account's
   (``GET /accounts/:id/courses``, optionally one term's), and the terms.
2. Per course, each list is one task: sections, users, assignment groups, assignments,
   enrollments, submissions and the Grade Change Log. The tasks run in a thread pool
   through one :class:`~tracker.canvas_api.CanvasClient`, whose throttle bounds the
   requests in flight. Each task streams its pages, in order, to a file of its own
   under ``OUT/.fetch/course-ID/``; a course whose tasks all ended is marked done.
3. When every course is done, the files are joined, course after course, into
   ``OUT/KIND.ndjson`` (users once each, the first course's copy) and ``.fetch`` is
   removed. Nothing reaches the bundle, let alone the database, before that.

**Incremental.** Given ``since`` (per course, Canvas's clock at an earlier fetch), a
course's submissions are asked for twice, ``graded_since`` and ``submitted_since`` (Canvas
compares with a strict ``>`` and ANDs the two, so one request cannot ask for either),
each from ``since - overlap``, and joined without repeats; its Grade Change Log from
``start_time``. Everything else of the course is fetched whole: Canvas has no filter for
it, and it is small. A course with no ``since`` is fetched in full. Each course's
watermark is the ``Date`` of Canvas's first answer for its submissions.

**Resume.** A fetch that stops part-way (network gone, 5xx past its retries, Ctrl-C)
leaves ``OUT/.fetch`` behind with every course it finished; ``resume=True`` keeps those
and fetches only the rest (the same scope, or it refuses).

**The Grade Change Log** needs a permission many tokens lack: a 401 or 403 that is not
throttling (or a 404: a Canvas without the audit store) skips it for the rest of the
fetch with one warning, and the bundle's ``grade_changes.ndjson`` holds what was seen.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent import futures
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Self

import orjson

from tracker.canvas_api import CanvasApiError, CanvasClient, ParamValue
from tracker.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    SyncConflictError,
)
from tracker.kinds import NAMES

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_OVERLAP", "GRADE_CHANGES", "FetchReport", "exclusive", "fetch_bundle"]

#: The bundle file of the Grade Change Log's events (layer 2 only: no ``canvas`` table).
GRADE_CHANGES = "grade_changes"
#: Subtracted from a watermark: a grade saved while the earlier fetch ran is asked again.
DEFAULT_OVERLAP = timedelta(hours=1)

#: Every enrollment state, so the sync sees enrollments that ended or vanished.
ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "deleted",
    "rejected",
    "completed",
    "inactive",
)
#: The states ``/courses/:id/users`` accepts in ``enrollment_state[]``.
USER_ENROLLMENT_STATES = ("active", "invited", "rejected", "completed", "inactive")

#: The per-course files, in the order a course's files are joined.
COURSE_LISTS = ("sections", "users", "assignment_groups", "assignments", "enrollments",
                "submissions", GRADE_CHANGES)
#: The per-course tasks, each a list of its own (and its pages), and the files each
#: writes: the assignments come embedded in their groups (``include[]=assignments``), one
#: request where two would do the same. The submissions come last (:class:`_Fetch`).
COURSE_TASKS: dict[str, tuple[str, ...]] = {
    "users": ("users",),
    "enrollments": ("enrollments",),
    "assignment_groups": ("assignment_groups", "assignments"),
    "sections": ("sections",),
    GRADE_CHANGES: (GRADE_CHANGES,),
}
#: A large course's submissions are fetched in parts of about this many, a few of its
#: assignments each (``assignment_ids[]``), side by side: one list of a course of 1,000
#: students would be hundreds of pages one after the other.
SUBMISSIONS_PER_PART = 2_500

_WORK = ".fetch"
_LOCK = ".lock"
_SCOPE = "scope.json"
_DONE = "done.json"
_TICK = 0.25  # seconds between progress reports


@dataclass(frozen=True)
class FetchReport:
    """What a fetch wrote and what it took."""

    counts: dict[str, int]
    """Objects written per kind (and ``grade_changes``)."""
    watermarks: dict[int, datetime]
    """Per course: Canvas's clock when its submissions were fetched (for the journal)."""
    courses: int
    """Courses fetched (the scope's, less those gone)."""
    resumed: int
    """Courses an earlier, interrupted fetch had finished (not fetched again)."""
    incremental: int
    """Courses whose submissions were fetched since a watermark, not in full."""
    requests: int
    max_in_flight: int
    throttled: int
    seconds: float
    grade_changes_skipped: bool = False
    """The token may not read the Grade Change Log: it was left out."""
    concurrency: int = 1
    gone: tuple[Any, ...] = ()
    """Courses of the account deleted in Canvas while the fetch ran: left out."""


@dataclass
class _Scope:
    """What a fetch covers; kept in ``.fetch/scope.json`` so that a resume can check it."""

    source: str
    course_ids: list[int] | None
    account_id: int | None
    term_id: int | None
    incremental: bool
    courses: list[Any] = field(default_factory=list)  # filled once listed

    def same_request(self, other: _Scope) -> bool:
        return (self.source, self.course_ids, self.account_id, self.term_id,
                self.incremental) == (other.source, other.course_ids, other.account_id,
                                      other.term_id, other.incremental)


def fetch_bundle(
    client: CanvasClient,
    out_dir: Path,
    *,
    course_ids: Sequence[int] | None = None,
    account_id: int | None = None,
    term_id: int | None = None,
    since: Mapping[int, datetime] | None = None,
    overlap: timedelta = DEFAULT_OVERLAP,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> FetchReport:
    """Fetch courses and everything in them from Canvas into a bundle directory.

    Courses come from ``course_ids`` (``GET /courses/:id``) or, without them, from the
    account ``account_id`` (``GET /accounts/:id/courses``, only term ``term_id``'s when
    given). Terms come from the account when one is given (with ``term_id``, only that
    term), plus any course's embedded ``term`` the account did not list. Per course:
    sections, users (every enrollment state, with email and the test student; each user
    written once, the first course's copy), assignment groups with their assignments
    (``override_assignment_dates=false``), enrollments in every state, submissions of
    all students (a large course's in parts, side by side; only those graded or
    submitted since ``since[course] - overlap`` when the course has a ``since``), and
    the Grade Change Log (since the same moment).

    Writes ``<kind>.ndjson`` for each of :data:`tracker.kinds.NAMES` and
    ``grade_changes.ndjson`` (unless the token may not read the log) into ``out_dir``
    (created if missing). The files appear only when everything was fetched; until
    then, what is fetched waits in ``out_dir/.fetch`` for a ``resume``.
    ``progress(text, courses_done, courses)`` is called as the fetch advances.
    """
    if course_ids is None and account_id is None:
        raise InvalidArgumentError(
            "fetch_bundle needs course_ids or account_id: say what to fetch")
    if term_id is not None and (account_id is None or course_ids is not None):
        raise InvalidArgumentError(
            "term_id selects courses of an account: give account_id without course_ids"
        )
    if overlap < timedelta(0):
        raise InvalidArgumentError(f"overlap must not be negative, not {overlap}")
    started = time.perf_counter()
    at_start = client.throttle.stats()
    work = out_dir / _WORK
    wanted = _Scope(client.base_url, list(dict.fromkeys(course_ids)) if course_ids else None,
                    account_id, term_id, since is not None)
    scope = _resume_scope(work, wanted) if resume else None
    if scope is None:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, mode=0o700)
        scope = _list_scope(client, work, wanted)
    fetch = _Fetch(client, work, scope, since or {}, overlap, progress)
    fetch.run()
    ended = fetch.ended()
    gone = [cid for cid, how in ended.items() if how.get("gone")]
    watermarks = {cid: datetime.fromisoformat(how["watermark"])
                  for cid, how in ended.items() if how.get("watermark") and cid not in gone}
    counts = _join(work, scope.courses, out_dir, ended,
                   grade_changes=not fetch.audit_denied.is_set())
    shutil.rmtree(work)
    stats = client.throttle.stats()
    report = FetchReport(
        counts=counts, watermarks=watermarks, courses=len(scope.courses) - len(gone),
        gone=tuple(gone),
        resumed=fetch.resumed, incremental=fetch.incremental,
        requests=stats.requests - at_start.requests, max_in_flight=stats.max_in_flight,
        throttled=stats.throttled - at_start.throttled,
        seconds=round(time.perf_counter() - started, 3),
        grade_changes_skipped=fetch.audit_denied.is_set(),
        concurrency=client.throttle.concurrency)
    log.info("fetched from Canvas: %s; %d requests, at most %d in flight, %d throttled",
             ", ".join(f"{n} {kind}" for kind, n in counts.items()), report.requests,
             report.max_in_flight, report.throttled, extra={
                 "counts": dict(counts), "requests": report.requests,
                 "max_in_flight": report.max_in_flight, "throttled": report.throttled,
                 "seconds": report.seconds})
    return report


@contextmanager
def exclusive(folder: Path) -> Iterator[Path]:
    """Hold ``folder`` (created if missing) for one fetch and what follows it, until the
    block ends: two fetches of one scope into it (a nightly job that overran) would write
    each other's files. Raises SyncConflictError when another process holds it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / _LOCK, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncConflictError(
                f"another live sync is fetching into {folder} (the same Canvas and courses): "
                "wait for it to end, then run again"
            ) from None
        yield folder


# -- the scope ---------------------------------------------------------------------------


def _resume_scope(work: Path, wanted: _Scope) -> _Scope | None:
    """The scope an interrupted fetch listed, if it is the one wanted now."""
    path = work / _SCOPE
    if not path.is_file():
        log.warning("nothing to resume in %s: fetching everything", work)
        return None
    kept = _Scope(**orjson.loads(path.read_bytes()))
    if not kept.same_request(wanted):
        raise ConfigurationError(
            f"the interrupted fetch kept in {work} was of another scope or kind; run "
            "without --resume to fetch afresh"
        )
    return kept


def _list_scope(client: CanvasClient, work: Path, scope: _Scope) -> _Scope:
    """List the courses and terms into ``work``; ``scope.json`` last, so it means done."""
    embedded_terms: dict[Any, dict[str, Any]] = {}
    with _Part(work / "courses.ndjson") as out:
        for course in _courses(client, scope.course_ids, scope.account_id, scope.term_id):
            out.write(course)
            scope.courses.append(course["id"])  # as Canvas gives it: the path's id
            term = course.get("term")
            if isinstance(term, dict) and "id" in term:
                embedded_terms.setdefault(term["id"], term)
    with _Part(work / "terms.ndjson") as out:
        listed: set[Any] = set()
        if scope.account_id is not None:
            terms = client.paginate(f"accounts/{scope.account_id}/terms",
                                    {"workflow_state[]": ["all"]})
            for term in terms:
                if scope.term_id is None or term.get("id") == scope.term_id:
                    out.write(term)
                    listed.add(term.get("id"))
        for tid, term in embedded_terms.items():
            if tid not in listed:
                out.write(term)
    (work / _SCOPE).write_bytes(orjson.dumps(vars(scope)))
    return scope


def _courses(
    client: CanvasClient,
    course_ids: Sequence[int] | None,
    account_id: int | None,
    term_id: int | None,
) -> Iterator[dict[str, Any]]:
    if course_ids is not None:
        workers = min(len(course_ids), client.throttle.concurrency) or 1
        with futures.ThreadPoolExecutor(workers, thread_name_prefix="canvas") as pool:
            yield from pool.map(lambda cid: _course(client, cid), course_ids)
        return
    params: dict[str, ParamValue] = {"include[]": ["term"]}
    if term_id is not None:
        params["enrollment_term_id"] = term_id
    yield from client.paginate(f"accounts/{account_id}/courses", params)


def _course(client: CanvasClient, cid: int) -> dict[str, Any]:
    course = client.get(f"courses/{cid}", {"include[]": ["term"]})
    if not isinstance(course, dict) or "id" not in course:
        raise CanvasApiError(f"GET /api/v1/courses/{cid} did not return a course object",
                             path=f"/api/v1/courses/{cid}")
    return course


# -- the courses, side by side -----------------------------------------------------------


class _Stopped(Exception):
    """Another task failed, or the fetch was interrupted: stop between pages."""


@dataclass
class _Course:
    """One course's tasks under way."""

    left: int
    """Tasks not ended, the submissions' parts counted as one until they are known."""
    waiting: set[str]
    """The tasks whose results the submissions' parts need (a full fetch's)."""
    students: int = 0
    assignment_ids: list[Any] = field(default_factory=list)
    first_answer: datetime | None = None
    """Canvas's clock at the earliest answer for the course's submissions."""
    cut: bool = False
    """The submissions' tasks are made (until then they count as one in ``left``)."""
    gone: bool = False
    """An account's course Canvas no longer has (404 while it was fetched)."""
    lines: dict[str, int] = field(default_factory=dict)
    """Objects written, per file of the course's folder (the join copies, not counts)."""


class _Fetch:
    """The per-course tasks of one fetch, their pool and their progress."""

    def __init__(self, client: CanvasClient, work: Path, scope: _Scope,
                 since: Mapping[int, datetime], overlap: timedelta,
                 progress: Callable[[str, int, int], None] | None) -> None:
        self.client = client
        self.work = work
        self.scope = scope
        self.since = {cid: since[cid] - overlap for cid in scope.courses if cid in since}
        self.progress = progress
        self.stop = threading.Event()
        self.audit_denied = threading.Event()
        self._lock = threading.Lock()
        self._courses: dict[int, _Course] = {}
        self._pool: futures.ThreadPoolExecutor | None = None
        self._submitted: list[futures.Future[None]] = []
        self.done = 0
        self.resumed = 0
        self.incremental = 0
        self.pages = 0

    def run(self) -> None:
        todo: list[int] = []
        for cid in self.scope.courses:
            folder = self.work / f"course-{cid}"
            if (folder / _DONE).is_file():
                self.resumed += 1
                continue
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(mode=0o700)
            todo.append(cid)
        self.done = self.resumed
        self.incremental = sum(1 for cid in todo if cid in self.since)
        if self.resumed:
            log.info("resuming: %d of %d courses were fetched already", self.resumed,
                     len(self.scope.courses))
        started = time.perf_counter()
        self._pool = pool = futures.ThreadPoolExecutor(self.client.throttle.concurrency,
                                                       thread_name_prefix="canvas")
        try:
            for cid in todo:
                self._start(cid)
            pending: set[futures.Future[None]] = set()
            while True:
                with self._lock:
                    pending.update(self._submitted)
                    self._submitted.clear()
                if not pending:
                    break
                finished, pending = futures.wait(pending, timeout=_TICK,
                                                 return_when=futures.FIRST_EXCEPTION)
                for future in finished:
                    future.result()  # the first failure stops the fetch
                self._report(started)
        except BaseException as exc:
            # A failure lets the tasks under way finish (their courses are kept); an
            # interruption stops them at their next page.
            if not isinstance(exc, Exception):
                self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            done = sum(1 for cid in self.scope.courses
                       if (self.work / f"course-{cid}" / _DONE).is_file())
            log.warning("the fetch stopped; %d of %d courses were fetched and are kept in %s: "
                        "run the same command with --resume to fetch only the rest",
                        done, len(self.scope.courses), self.work)
            raise
        pool.shutdown(wait=True)
        self._report(started)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._pool is not None
        future = self._pool.submit(fn, *args)
        with self._lock:
            self._submitted.append(future)

    def _start(self, cid: int) -> None:
        """A course's first tasks; an incremental fetch's submissions at once, a full
        fetch's once its students and assignments are known (to cut it in parts)."""
        incremental = cid in self.since
        self._courses[cid] = _Course(
            left=len(COURSE_TASKS) + 1,
            waiting=set() if incremental else {"enrollments", "assignment_groups"})
        if incremental:
            self._courses[cid].cut = True
            self._submit(self._submissions, cid, 0, None)
        for name in COURSE_TASKS:
            self._submit(self._task, cid, name)

    def _report(self, started: float) -> None:
        if self.progress is None:
            return
        stats = self.client.throttle.stats()
        rate = self.pages / max(time.perf_counter() - started, 1e-9)
        self.progress(f"fetching courses: {stats.requests:,} requests, {stats.in_flight} in "
                      f"flight, {stats.throttled} throttled, {rate:.0f} pages/s",
                      self.done, len(self.scope.courses))

    def ended(self) -> dict[Any, dict[str, Any]]:
        """Per course (fetched now or before the resume), how it ended: its watermark,
        where known, whether it was gone from Canvas, and the objects in each file."""
        return {cid: orjson.loads((self.work / f"course-{cid}" / _DONE).read_bytes())
                for cid in self.scope.courses}

    # -- the tasks -------------------------------------------------------------------

    def _task(self, cid: int, name: str) -> None:
        folder = self.work / f"course-{cid}"
        course = self._courses[cid]
        try:
            if course.gone:
                return self._ended(cid)
            with ExitStack() as stack:
                outs = [stack.enter_context(_Part(folder / f"{kind}.ndjson"))
                        for kind in COURSE_TASKS[name]]
                found = getattr(self, f"_fetch_{name}")(cid, *outs)
        except NotFoundError as exc:
            return self._vanished(cid, exc)
        with self._lock:
            course.lines.update((out.path.name, out.count) for out in outs)
            if name == "enrollments":
                course.students = found
            elif name == "assignment_groups":
                course.assignment_ids = found
            ready = name in course.waiting and len(course.waiting) == 1
            course.waiting.discard(name)
        if ready:
            self._cut_submissions(cid, course)
        self._ended(cid)

    def _cut_submissions(self, cid: int, course: _Course) -> None:
        """The course's submissions in parts of a few assignments each, when it is large."""
        per_part = max(1, SUBMISSIONS_PER_PART // max(course.students, 1))
        ids = course.assignment_ids
        parts = [ids[i:i + per_part] for i in range(0, len(ids), per_part)]
        if len(parts) <= 1:
            with self._lock:
                course.cut = True
            self._submit(self._submissions, cid, 0, None)
            return
        with self._lock:
            course.left += len(parts) - 1
            course.cut = True
        for n, part in enumerate(parts):
            self._submit(self._submissions, cid, n, part)

    def _submissions(self, cid: int, n: int, assignment_ids: list[Any] | None) -> None:
        path = self.work / f"course-{cid}" / f"submissions-{n:04d}.ndjson"
        course = self._courses[cid]
        try:
            if course.gone:
                return self._ended(cid)
            with _Part(path) as out:
                first = self._fetch_submissions(cid, out, assignment_ids)
        except NotFoundError as exc:
            return self._vanished(cid, exc)
        with self._lock:
            course.lines[path.name] = out.count
            if first is not None and (course.first_answer is None
                                      or first < course.first_answer):
                course.first_answer = first
        self._ended(cid)

    def _vanished(self, cid: int, exc: NotFoundError) -> None:
        """A list of the course answered 404. A named course is the caller's mistake: the
        fetch fails. An account's course was deleted since the account listed it: it is
        left out of this sync (the next lists the account without it)."""
        if self.scope.account_id is None:
            raise exc
        course = self._courses[cid]
        with self._lock:
            first = not course.gone
            course.gone = True
            if first and not course.cut:  # its submissions will never be cut: drop their one
                course.cut = True
                course.left -= 1
        if first:
            log.warning("course %s is gone from Canvas since the account listed it (404): "
                        "left out of this sync", cid)
        self._ended(cid)

    def _ended(self, cid: int) -> None:
        """One task of the course ended; the last one marks the course done."""
        course = self._courses[cid]
        with self._lock:
            course.left -= 1
            if course.left:
                return
            mark = course.first_answer
            done = {"watermark": mark.isoformat() if mark else None, "gone": course.gone,
                    "lines": course.lines}
            (self.work / f"course-{cid}" / _DONE).write_bytes(orjson.dumps(done))
            self.done += 1

    def _pages(self, path: str, params: Mapping[str, ParamValue] | None = None
               ) -> Iterator[Any]:
        for page in self.client.pages(path, params):
            if self.stop.is_set():
                raise _Stopped
            with self._lock:
                self.pages += 1
            yield page

    def _items(self, path: str, params: Mapping[str, ParamValue] | None = None
               ) -> Iterator[dict[str, Any]]:
        for page in self._pages(path, params):
            yield from page.items

    def _fetch_sections(self, cid: int, out: _Part) -> None:
        out.write_all(self._items(f"courses/{cid}/sections"))

    def _fetch_users(self, cid: int, out: _Part) -> None:
        out.write_all(self._items(f"courses/{cid}/users", {
            "include[]": ["enrollments", "email", "test_student"],
            "enrollment_state[]": list(USER_ENROLLMENT_STATES),
        }))

    def _fetch_assignment_groups(self, cid: int, groups: _Part,
                                 assignments: _Part) -> list[Any]:
        """The groups, each with its assignments (as ``/courses/:id/assignments`` gives
        them), written apart; each group gets the course Canvas leaves out of it (it is
        the endpoint's), so that a group with no assignments can still be placed.
        Returns the assignments' ids."""
        listed = self._items(f"courses/{cid}/assignment_groups", {
            "include[]": ["assignments"], "override_assignment_dates": "false"})
        ids: list[Any] = []
        for group in listed:
            embedded = group.pop("assignments", None) or []
            groups.write({**group, "course_id": group.get("course_id", cid)})
            for a in embedded:
                assignments.write({**a, "assignment_group_id": a.get("assignment_group_id",
                                                                     group.get("id"))})
                ids.append(a.get("id"))
        return ids

    def _fetch_submissions(self, cid: int, out: _Part,
                           assignment_ids: list[Any] | None) -> datetime | None:
        """The course's submissions (of ``assignment_ids`` only, when given), or those
        graded or submitted since its watermark; returns Canvas's clock at the first
        answer (the next watermark)."""
        path = f"courses/{cid}/students/submissions"
        since = self.since.get(cid)
        query: dict[str, ParamValue] = {"student_ids[]": ["all"]}
        if assignment_ids is not None:
            query["assignment_ids[]"] = assignment_ids
        queries = [query]
        if since is not None:
            stamp = _iso(since)
            queries = [{**query, "graded_since": stamp}, {**query, "submitted_since": stamp}]
        first: datetime | None = None
        seen: set[Any] = set()
        for n, params in enumerate(queries):
            for page in self._pages(path, params):
                if first is None and n == 0:
                    first = page.answered_at
                for item in page.items:
                    if since is not None:
                        if item.get("id") in seen:
                            continue
                        seen.add(item.get("id"))
                    out.write(item)
        return first

    def _fetch_enrollments(self, cid: int, out: _Part) -> int:
        """The course's enrollments in every state; returns how many are students'."""
        students = 0
        for enrollment in self._items(f"courses/{cid}/enrollments",
                                      {"state[]": list(ENROLLMENT_STATES)}):
            out.write(enrollment)
            students += enrollment.get("type") == "StudentEnrollment"
        return students

    def _fetch_grade_changes(self, cid: int, out: _Part) -> None:
        if self.audit_denied.is_set():
            return
        params: dict[str, ParamValue] = {}
        since = self.since.get(cid)
        if since is not None:
            params["start_time"] = _iso(since)
        try:
            out.write_all(self._items(f"audit/grade_change/courses/{cid}", params))
        except (CanvasApiError, NotFoundError) as exc:
            status = getattr(exc, "status", 404)
            if status not in (401, 403, 404):
                raise
            out.clear()
            with self._lock:
                if self.audit_denied.is_set():
                    return
                self.audit_denied.set()
            if status == 404:
                log.warning("the Grade Change Log is left out: this Canvas does not serve it "
                            "(GET /api/v1/audit/grade_change/courses/%s answered 404)", cid)
            else:
                log.warning("the Grade Change Log is left out: Canvas answered %s; the token's "
                            "user needs the \"View grade change audit\" permission", status)


# -- files ---------------------------------------------------------------------------


class _Part:
    """One file written as ``NAME.part`` and renamed to ``NAME`` once complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._part = path.with_name(path.name + ".part")
        self._file: IO[bytes] = open(self._part, "wb")  # noqa: SIM115 - closed in __exit__

    def write(self, obj: Mapping[str, Any]) -> None:
        self._file.write(orjson.dumps(obj) + b"\n")
        self.count += 1

    def write_all(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            self.write(item)

    def append(self, path: Path, count: int) -> None:
        """Append the whole file ``path``, which holds ``count`` objects."""
        with open(path, "rb") as source:
            shutil.copyfileobj(source, self._file)
        self.count += count

    def write_line(self, line: bytes) -> None:
        self._file.write(line if line.endswith(b"\n") else line + b"\n")
        self.count += 1

    def clear(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self.count = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._file.close()
        if exc_type is None:
            self._part.replace(self.path)
        else:
            self._part.unlink(missing_ok=True)


def _join(work: Path, courses: list[Any], out_dir: Path, ended: Mapping[Any, Any], *,
          grade_changes: bool) -> dict[str, int]:
    """The bundle's files from the courses' files, course after course (copied whole,
    their objects counted as they were written: ``ended``); users once each (the first
    course's copy, then the users only the enrollments embed); the courses gone from
    Canvas left out. Without ``grade_changes`` (the log was not permitted) the bundle
    has no file for it: not known, rather than empty."""
    gone = {cid for cid, how in ended.items() if how.get("gone")}
    kinds = (*NAMES, GRADE_CHANGES) if grade_changes else NAMES
    with ExitStack() as stack:
        parts = {kind: stack.enter_context(_Part(out_dir / f"{kind}.ndjson"))
                 for kind in kinds}
        for line in _lines(work / "courses.ndjson"):
            if not gone or orjson.loads(line).get("id") not in gone:
                parts["courses"].write_line(line)
        _copy(work / "terms.ndjson", parts["terms"])
        seen_users: set[Any] = set()
        for cid in courses:
            if cid in gone:
                continue
            folder, lines = work / f"course-{cid}", ended[cid]["lines"]
            for name in COURSE_LISTS:
                if name not in parts or name == "users":
                    continue
                pattern = "submissions-*.ndjson" if name == "submissions" else f"{name}.ndjson"
                for path in sorted(folder.glob(pattern)):
                    parts[name].append(path, lines[path.name])
            for line in _lines(folder / "users.ndjson"):
                uid = orjson.loads(line).get("id")
                if uid not in seen_users:
                    seen_users.add(uid)
                    parts["users"].write_line(line)
            # A user whose enrollments are all deleted is missing from /users; the
            # enrollment embeds the user's short form, which keeps the bundle whole.
            for line in _lines(folder / "enrollments.ndjson"):
                enrollment = orjson.loads(line)
                embedded, uid = enrollment.get("user"), enrollment.get("user_id")
                if (uid not in seen_users and isinstance(embedded, dict)
                        and embedded.get("id") == uid):
                    seen_users.add(uid)
                    parts["users"].write(embedded)
    return {kind: part.count for kind, part in parts.items()}


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield line


def _copy(path: Path, part: _Part) -> None:
    for line in _lines(path):
        part.write_line(line)


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC, as Canvas takes it: ``2026-10-15T17:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
