"""Timing the questions tracker answers: every statement in ``sql/reports`` and every public
query function of ``tracker.queries``, whichever exist, p50 and p95 over many runs.

Each is timed as a program that asks it again and again would see it: its first run is
recorded apart (``first_ms``: parsing and planning included), then it is run until
psycopg has prepared it and PostgreSQL has settled on a plan for it (psycopg prepares a
statement at its fifth run, PostgreSQL compares generic and custom plans over five more),
then sampled: ``runs`` times at least, and on until ``seconds`` of samples (a second
unless told), at most :data:`MAX_RUNS`. At-risk students are timed for one course and for
every course and student, assessed afresh and as the last sync stored them, and for one
course again with a model fitted on the past term active (:data:`FITTED`). A student's
card (:data:`STUDENT_CARD`, ``tracker.analytics.student_card``) is timed over a sample
of students, a different one each run.

Parameters are filled from the data by name (``course_id``: the course with the most
students, ``user_id``: a student of it, ``since``: four weeks before the snapshot, …).
A statement or function that needs a parameter not known here, or that fails, is
skipped with a note: the harness times what it can call, it does not guess further.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import cycle
from typing import Any

import psycopg

from tracker import sample


@dataclass(frozen=True)
class QueryTiming:
    """One query's timings, in milliseconds."""

    name: str
    source: str
    runs: int
    p50_ms: float
    p95_ms: float
    rows: int
    first_ms: float


@dataclass(frozen=True)
class QueryResults:
    timings: list[QueryTiming]
    notes: list[str]


#: Runs before sampling (fewer when they take more than WARMUP_SECONDS).
WARMUP_RUNS = 10
WARMUP_SECONDS = 2.0
#: Sampling goes on until this much time was sampled (and at least ``runs`` runs).
SAMPLE_SECONDS = 1.0
MAX_RUNS = 1000

#: Reports that are also timed for every course and student at once (course_id and
#: user_id empty): the students at risk, assessed afresh and as the last sync stored them,
#: and whose risk moved since the sync before.
EVERYONE = ("at_risk_students", "latest_risk", "risk_changes")


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def time_queries(conn: psycopg.Connection[Any], *, runs: int,
                 seconds: float = SAMPLE_SECONDS) -> QueryResults:
    """Time every report statement and query builder found, on ``conn`` (autocommit).

    ``conn``'s database is a throwaway copy: curricula are added to it if it has none
    (a synced bundle has none; they are a person's, in layer 3).
    """
    _add_curricula(conn)
    values = parameter_values(conn)
    cases, notes = _cases(values)
    timings: list[QueryTiming] = []
    card = _student_card_case(conn)
    if card is not None:
        cases.append(card)
    for name, source, call in cases:
        _time_one(conn, name, source, call, runs, seconds, timings, notes)
    at_risk = next((c for c in cases if c[0] == "at_risk_students"), None)
    if at_risk is not None and _activate_fitted_model(conn, notes):
        try:
            _time_one(conn, FITTED, at_risk[1], at_risk[2], runs, seconds, timings, notes)
        finally:
            from tracker import risk_models

            risk_models.activate(conn, risk_models.BASELINE)
    if not cases and not notes:
        notes.append("no report statements (sql/reports/*.sql) and no tracker.queries module "
                     "yet: nothing to time")
    return QueryResults(timings, notes)


#: The at-risk students of one course again, with a model fitted on the past term active.
FITTED = "at_risk_students (fitted model)"

#: A student's card (``tracker.analytics.student_card``, every active course of one
#: student), timed over :data:`STUDENT_CARD_SAMPLE` students taken in turn.
STUDENT_CARD = "student_card"
STUDENT_CARD_SAMPLE = 50
#: Issue 18's target for it: p95 in milliseconds, at full scale.
STUDENT_CARD_P95_MAX_MS = 20.0


def _student_card_case(conn: psycopg.Connection[Any]) -> Case | None:
    """The student card of a sample of active students (a fixed pseudo-random choice, the
    same every run), one student a call; None when there is no active student."""
    from tracker import analytics

    users = [r[0] for r in conn.execute(
        "SELECT user_id FROM canvas.active_students GROUP BY user_id"
        " ORDER BY md5(user_id::text) LIMIT %s", (STUDENT_CARD_SAMPLE,))]
    if not users:
        return None
    students = cycle(users)

    def call(conn: psycopg.Connection[Any]) -> int:
        return len(analytics.student_card(conn, next(students)).courses)

    return STUDENT_CARD, "tracker.analytics", call


def _activate_fitted_model(conn: psycopg.Connection[Any], notes: list[str]) -> bool:
    """Fit a risk model on the school's past term and activate it (issue 15), for the
    at-risk report timed once more under it; False, with a note, when it cannot be."""
    from tracker import risk_models
    from tracker.errors import TrackerError

    try:
        result = risk_models.fit(conn, version="bench")
        risk_models.activate(conn, result.version)
    except TrackerError as exc:
        notes.append(f"{FITTED}: no model fitted ({exc}); skipped")
        return False
    return True


def _time_one(conn: psycopg.Connection[Any], name: str, source: str,
              call: Callable[[psycopg.Connection[Any]], int], runs: int, seconds: float,
              timings: list[QueryTiming], notes: list[str]) -> None:
    """Time one case (first run, warm-up, samples) into ``timings``; a failure is a note."""
    try:
        started = time.perf_counter()
        rows = call(conn)
        first = (time.perf_counter() - started) * 1000
        warm = time.perf_counter()
        for _ in range(WARMUP_RUNS - 1):
            if time.perf_counter() - warm > WARMUP_SECONDS:
                break
            call(conn)
        samples: list[float] = []
        while len(samples) < MAX_RUNS and (
                len(samples) < runs or sum(samples) < seconds * 1000):
            samples.append(_timed(lambda: call(conn)))
    except Exception as exc:  # a report that fails is a note here, not the end of the run
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        notes.append(f"{source} {name}: failed ({type(exc).__name__}: {reason}); skipped")
        return
    timings.append(QueryTiming(name=name, source=source, runs=len(samples),
                               p50_ms=statistics.median(samples),
                               p95_ms=_percentile(samples, 95), rows=rows, first_ms=first))


def _percentile(samples: list[float], p: int) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


Case = tuple[str, str, Callable[[psycopg.Connection[Any]], int]]


def _cases(values: dict[str, Any]) -> tuple[list[Case], list[str]]:
    cases: list[Case] = []
    notes: list[str] = []
    _report_cases(values, cases, notes)
    _builder_cases(values, cases, notes)
    return cases, notes


def _report_cases(values: dict[str, Any], cases: list[Case], notes: list[str]) -> None:
    from tracker.sqlfiles import sql

    folder = sql.by_folder.get("reports")
    for stmt in folder or ():
        missing = [p for p in stmt.params if p not in values]
        idents = {p: allowed[0] for p, allowed in stmt.identifiers.items() if allowed}
        if missing:
            notes.append(f"sql/reports {stmt.name}: no value known for "
                         f"{', '.join(missing)}; skipped")
            continue
        params = {p: values[p] for p in stmt.params}

        def call(conn: psycopg.Connection[Any], stmt: Any = stmt,
                 params: dict[str, Any] = params, idents: dict[str, str] = idents) -> int:
            cur = stmt(conn, **params, **idents)
            return len(cur.fetchall()) if cur.description else 0

        cases.append((stmt.name, "sql/reports", call))
        if stmt.name in EVERYONE:
            everyone = {p: None if p in ("course_id", "user_id") else v for p, v in params.items()}
            cases.append((f"{stmt.name} (everyone)", "sql/reports", partial(call, params=everyone)))


def _builder_cases(values: dict[str, Any], cases: list[Case], notes: list[str]) -> None:
    """The public functions of ``tracker.queries`` that take a connection first.

    A builder (``grades_query``) is timed through the function that runs it (``grades``),
    so building is counted with running. A runner that passes ``**options`` on gets its
    builder's required arguments and the first filter of its table of filters
    (``GRADE_FILTERS`` for ``grades``) that has a value here: a question a user would ask.
    """
    if importlib.util.find_spec("tracker.queries") is None:
        return
    module = importlib.import_module("tracker.queries")
    functions = {name: fn for name in module.__all__
                 if inspect.isfunction(fn := getattr(module, name))}
    for name, fn in functions.items():
        parameters = list(inspect.signature(fn).parameters.values())
        if not parameters or parameters[0].name not in ("conn", "connection"):
            continue
        if any("BuiltQuery" in str(p.annotation) for p in parameters[1:]):
            continue  # runs a query built elsewhere (fetch_all, fetch_page)
        required = [p.name for p in parameters[1:] if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        builder = functions.get(f"{name}_query")
        if builder is not None and any(p.kind is p.VAR_KEYWORD for p in parameters):
            required += [p.name for p in inspect.signature(builder).parameters.values()
                         if p.default is inspect.Parameter.empty
                         and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            filters = getattr(module, f"{name.rstrip('s').upper()}_FILTERS", {})
            required += [f for f in filters if f in values][:1]
        missing = [p for p in required if p not in values]
        if missing:
            notes.append(f"tracker.queries.{name}: no value known for {', '.join(missing)}; "
                         "skipped")
            continue
        kwargs = {p: values[p] for p in required}

        def call(conn: psycopg.Connection[Any], fn: Any = fn,
                 kwargs: dict[str, Any] = kwargs) -> int:
            return _consume(fn(conn, **kwargs))

        cases.append((f"{name}({', '.join(kwargs)})", "tracker.queries", call))


def _consume(result: Any) -> int:
    """How many rows a query function returned (a cursor, a page, a list)."""
    if isinstance(result, psycopg.Cursor):
        return len(result.fetchall()) if result.description else 0
    rows = getattr(result, "rows", result)  # a page of rows
    if isinstance(rows, (list, tuple)):
        return len(rows)
    return 1


#: The curricula :func:`_add_curricula` makes: each of the busiest courses in turn goes to one.
CURRICULA = ("web_dev", "data_science", "design")
CURRICULUM_COURSES = 30


def _add_curricula(conn: psycopg.Connection[Any]) -> None:
    """Tag the busiest courses with a few curricula, unless the database has curricula."""
    from tracker import userdata

    if conn.execute("SELECT EXISTS (SELECT FROM userdata.curricula)").fetchone()[0]:
        return
    busiest = [r[0] for r in conn.execute(
        "SELECT course_id FROM canvas.enrollments WHERE type = 'StudentEnrollment'"
        " GROUP BY course_id ORDER BY count(*) DESC, course_id LIMIT %s",
        (CURRICULUM_COURSES,))]
    for i, name in enumerate(CURRICULA):
        userdata.create_curriculum(conn, name, actor="bench")
        userdata.add_courses(conn, name, busiest[i::len(CURRICULA)], actor="bench")
    conn.execute("ANALYZE userdata.curricula, userdata.curriculum_courses")  # as autovacuum would


def parameter_values(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Values for parameters by name, taken from the data: a busy course and its people."""
    row = conn.execute(
        "SELECT e.course_id, min(e.user_id), c.enrollment_term_id, c.account_id"
        " FROM canvas.enrollments AS e JOIN canvas.courses AS c ON c.id = e.course_id"
        " WHERE e.type = 'StudentEnrollment'"
        " GROUP BY e.course_id, c.enrollment_term_id, c.account_id"
        " ORDER BY count(*) DESC, e.course_id LIMIT 1").fetchone()
    if row is None:
        return {}
    course_id, user_id, term_id, account_id = row

    def one(query: str, *args: Any) -> Any:
        found = conn.execute(query, args).fetchone()
        return found[0] if found else None

    snapshot = datetime.fromisoformat(sample.SNAPSHOT)
    values: dict[str, Any] = {
        "course_id": course_id,
        "user_id": user_id,
        "student_id": user_id,
        "term_id": term_id,
        "enrollment_term_id": term_id,
        "account_id": account_id,
        "assignment_id": one("SELECT min(id) FROM canvas.assignments WHERE course_id = %s",
                             course_id),
        "section_id": one("SELECT min(id) FROM canvas.sections WHERE course_id = %s", course_id),
        "enrollment_id": one("SELECT min(id) FROM canvas.enrollments WHERE course_id = %s"
                             " AND user_id = %s", course_id, user_id),
        "submission_id": one("SELECT min(id) FROM canvas.submissions WHERE course_id = %s"
                             " AND user_id = %s", course_id, user_id),
        "sync_id": one("SELECT max(sync_id) FROM tracker.sync_runs WHERE status = 'succeeded'"),
        # risk_changes: the latest succeeded sync compared with the one before it
        "since_sync_id": one("SELECT max(sync_id) FROM tracker.sync_runs WHERE status = 'succeeded'"
                             " AND sync_id < (SELECT max(sync_id) FROM tracker.sync_runs"
                             " WHERE status = 'succeeded')"),
        "limit": 100,
        "offset": 0,
        "as_of": one("SELECT max(recorded_at) FROM history.enrollment_grades"),
        "now": snapshot,
        "at": snapshot,
        "until": snapshot,
        "since": snapshot - timedelta(days=28),
        "start": snapshot - timedelta(days=28),
        "end": snapshot,
        "days": 28,
        "weeks": 4,
        "min_group": 5,  # course_statistics: the default smallest group shown
    }
    values["course_ids"] = [course_id]
    values["curricula"] = list(CURRICULA[:2])  # students of either of two curricula
    values["user_ids"] = [user_id]
    values["today"] = snapshot.astimezone(UTC).date()
    return {k: v for k, v in values.items() if v is not None}
