"""Questions about students: grade momentum, final-grade prediction, risk, insights.

Plain functions, connection first, returning small frozen dataclasses:

- :func:`momentum` — the slope of a student's graded work in a course (percentage
  points a week), its r², a trend label and the points it was fitted to;
- :func:`predict_final_grade` — the final score a student is heading for, with a 95%
  interval and the method that made it (``canvas.final_projection``, ``sql/rules/projection.sql``;
  :mod:`tracker.projection` calibrates its interval on completed courses);
- :func:`at_risk` / :func:`assess_risk` — a risk score in [0, 1] per student and course,
  its category and the factors behind it, by the active model (:data:`RISK_MODEL`, the
  hand-set one, until ``tracker risk fit`` learns a better one: :mod:`tracker.risk_models`);
  :func:`record_risk_assessments` appends them to layer 2, and :func:`record_sync_risk`
  (the hook a sync calls) those of the courses a sync changed;
- :func:`performance_insights` — all of the above for one student in one call;
- :func:`course_statistics` and :func:`record_course_snapshots` (the hook a sync calls
  to append each course's statistics to layer 2);
- :func:`student_card` — a student's whole story: per active course their standing,
  momentum, prediction, missing and late work, risk and how it moved, score history,
  and what people wrote about them (``sql/history/student_card.sql``);
- :func:`run_report` — any report of ``sql/reports/`` by name, as the CLI runs it.

The arithmetic over many rows is SQL (``regr_slope``, ``regr_r2``, aggregates with
``FILTER``) in ``sql/reports/*.sql`` and the rules of ``sql/rules``, the same files a DBA
runs with psql; what is clearer in Python — the shaping of factors, the pace of work — is
here. Every function
leaves out the test student, enrollments that are not active, and enrollments and
assignments marked missing in layer 0.

"The clock" below is a course's own notion of now: the latest activity of any of its
active students (else the server's now, and never later than it). A course whose data
is weeks old is judged as of its last day rather than as if everyone had vanished.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tracker import arguments, privacy
from tracker.errors import InvalidArgumentError, InvalidQueryError, NotFoundError
from tracker.sqlfiles import sql

__all__ = [
    "CATEGORIES",
    "REPORTS",
    "RISK_MODEL",
    "CardNote",
    "CourseCard",
    "CourseSnapshot",
    "CourseStatistics",
    "Insights",
    "Momentum",
    "Point",
    "Prediction",
    "Report",
    "RiskAssessment",
    "RiskChange",
    "RiskFactor",
    "ScoreVersion",
    "StoredRisk",
    "StudentCard",
    "Velocity",
    "WorkItem",
    "assess_risk",
    "at_risk",
    "course_momentum",
    "course_snapshots",
    "course_statistics",
    "momentum",
    "performance_insights",
    "predict_final_grade",
    "record_course_snapshots",
    "record_risk_assessments",
    "record_sync_risk",
    "risk_weights",
    "run_report",
    "sparkline",
    "student_card",
]

#: The hand-set risk model's name: the weights of ``canvas.risk_weights``
#: (:func:`risk_weights`), applied by ``canvas.student_risk`` (``sql/rules/risk.sql``)
#: while no model learned by ``tracker risk fit`` is active. Each assessment names the
#: model that made it.
RISK_MODEL = "risk-v1"

#: Risk categories, least urgent first. risk-v1: low < 0.25 <= medium < 0.5 <= high < 0.75 <=
#: critical; a fitted model: its probability bands (default 0.15, 0.3, 0.5).
CATEGORIES = ("low", "medium", "high", "critical")

#: Velocity: how far back from the clock work is counted.
VELOCITY_WINDOW = timedelta(days=28)

#: The reports of ``sql/reports/``, each with the filters it takes (as its psql variables).
REPORTS: Mapping[str, tuple[str, ...]] = {
    "at_risk_students": ("course_id",),
    "grade_momentum": ("course_id", "user_id"),
    "course_statistics": ("course_id",),
    "missing_work": ("course_id", "user_id"),
    "student_progress_history": ("course_id", "user_id"),
    "latest_risk": ("course_id", "user_id"),
    "predicted_final": ("course_id",),
    "grade_changes": ("course_id", "user_id"),
    "score_history": ("user_id", "course_id", "assignment_id"),
    "risk_changes": ("course_id", "since_sync_id"),
    "active_students": ("course_id",),
    "student_standing": ("course_id", "user_id"),
}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- momentum ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One graded submission: when it was due (else handed in or graded) and its percentage."""

    at: datetime
    percent: float


@dataclass(frozen=True)
class Momentum:
    """Where a student's graded work in a course is heading.

    ``slope_per_week`` is the least-squares slope of the points (percentage points a
    week) and ``r2`` its coefficient of determination, both None with fewer than three
    points. ``trend`` is ``improving`` or ``declining`` when the slope is at least 2
    points a week either way and its t statistic at least 2, else ``steady``. The points
    are the graded work dated within the eight weeks before the course's ``clock``.
    """

    user_id: int
    course_id: int
    slope_per_week: float | None
    r2: float | None
    trend: str
    points: tuple[Point, ...]
    clock: datetime

    @property
    def recent_points(self) -> tuple[Point, ...]:
        """The last five points, oldest first."""
        return self.points[-5:]


def _momentum(row: Mapping[str, Any]) -> Momentum:
    points = tuple(
        Point(at=datetime.fromisoformat(p["at"]), percent=float(p["percent"]))
        for p in row["recent"]
    )
    return Momentum(
        user_id=row["user_id"],
        course_id=row["course_id"],
        slope_per_week=_float(row["slope_per_week"]),
        r2=_float(row["r2"]),
        trend=row["trend"],
        points=points,
        clock=row["clock"],
    )


def momentum(conn: psycopg.Connection[Any], user_id: int, course_id: int) -> Momentum:
    """The grade momentum of one student in one course (``sql/reports/grade_momentum.sql``).

    Raises NotFoundError when the student is not actively enrolled in the course, and
    InvalidArgumentError when an id is not one (None included: it does not mean "any").
    """
    user_id = arguments.one_id("user_id", user_id)
    course_id = arguments.one_id("course_id", course_id)
    row = sql.reports.grade_momentum(conn, course_id=course_id, user_id=user_id,
                                     row_factory=dict_row).fetchone()
    if row is None:
        raise NotFoundError(f"user {user_id} is not an active student of course {course_id} "
                            "(or either is unknown); tracker report at_risk_students --course "
                            f"{course_id} lists its active students")
    return _momentum(row)


def course_momentum(conn: psycopg.Connection[Any], course_id: int | None = None) -> list[Momentum]:
    """The momentum of every active student of a course (None: every course), most
    declining first."""
    course_id = arguments.optional_id("course_id", course_id)
    rows = sql.reports.grade_momentum(conn, course_id=course_id, user_id=None,
                                      row_factory=dict_row).fetchall()
    return [_momentum(row) for row in rows]


# -- final-grade prediction ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """The final score a student is heading for in a course, with a 95% interval.

    ``predicted_score`` (percent) lies in ``[low, high]``; all three are None when there
    is nothing to predict from (``note`` says why). ``method`` says how the interval was
    made: ``conformal`` (calibrated on completed courses, at ``calibration_week``) or
    ``weighted-projection-v1`` (the formula). ``expected_on_remaining`` is the score
    assumed on the work still to be graded, ``momentum_shift`` what momentum added to
    it, and ``remaining_share`` the part of the final grade (0..1) that work weighs.
    The rule is ``canvas.final_projection`` (``sql/rules/projection.sql``).
    """

    user_id: int
    course_id: int
    predicted_score: float | None
    low: float | None
    high: float | None
    method: str
    current_score: float | None
    expected_on_remaining: float | None
    momentum_shift: float
    remaining_share: float
    graded_items: int
    remaining_items: int
    note: str = ""
    calibration_week: int | None = None


def _prediction(row: Mapping[str, Any]) -> Prediction:
    return Prediction(
        user_id=row["user_id"], course_id=row["course_id"],
        predicted_score=_float(row["predicted_score"]), low=_float(row["low"]),
        high=_float(row["high"]), method=row["method"],
        current_score=_float(row["current_score"]),
        expected_on_remaining=_float(row["expected_on_remaining"]),
        momentum_shift=float(row["momentum_shift"]),
        remaining_share=float(row["remaining_share"]),
        graded_items=row["graded_items"], remaining_items=row["remaining_items"],
        note=row["note"], calibration_week=row["calibration_week"],
    )


def predict_final_grade(conn: psycopg.Connection[Any], user_id: int, course_id: int) -> Prediction:
    """Predict a student's final score in a course at the course's clock
    (``canvas.final_projection``, ``sql/rules/projection.sql``, states the method).

    Raises NotFoundError when the student is not actively enrolled in the course.
    """
    user_id = arguments.one_id("user_id", user_id)
    course_id = arguments.one_id("course_id", course_id)
    row = sql.history.final_projection(conn, course_id=course_id, user_id=user_id,
                                       row_factory=dict_row).fetchone()
    if row is None:
        raise NotFoundError(f"user {user_id} is not an active student of course {course_id} "
                            "(or either is unknown)")
    return _prediction(row)


def _work(conn: psycopg.Connection[Any], user_id: int, course_id: int) -> list[dict[str, Any]]:
    rows = sql.history.student_course_work(conn, user_id=user_id, course_id=course_id,
                                           row_factory=dict_row).fetchall()
    if not rows:
        raise NotFoundError(f"user {user_id} is not an active student of course {course_id} "
                            "(or either is unknown)")
    return rows


# -- risk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskFactor:
    """One factor of a risk score: its measured value, its risk in [0, 1] and weight by
    risk-v1, and what it added to the score by the model that made it (``contribution``:
    risk-v1, weight × risk; a fitted model, coefficient × z in log-odds).

    ``value`` and ``risk`` are None when the factor is unknown (it then adds nothing).
    Values: ``score`` the current score (%), ``momentum`` the slope (points a week),
    ``missing`` and ``late`` ratios in [0, 1], ``inactivity`` days since last activity.
    """

    name: str
    value: float | None
    risk: float | None
    weight: float
    contribution: float = 0.0


@dataclass(frozen=True)
class RiskAssessment:
    """How much a student is at risk in a course, and why.

    By ``model_version``: risk-v1, ``score`` in [0, 1] is the sum of the factors'
    contributions; a fitted model, the probability of failing the course. ``category``
    one of :data:`CATEGORIES`; ``confidence`` the share of the factors' weight that was
    known; ``reasons`` a sentence for each factor that weighs (see
    ``canvas.student_risk``).
    """

    user_id: int
    student: str
    sis_user_id: str | None
    course_id: int
    course: str
    score: float
    category: str
    confidence: float
    reasons: tuple[str, ...]
    factors: tuple[RiskFactor, ...]
    trend: str
    due: int
    missing: int
    submitted: int
    late: int
    last_activity_at: datetime | None
    clock: datetime
    model_version: str = RISK_MODEL

    def factor(self, name: str) -> RiskFactor:
        """The factor called ``name`` (one of :func:`risk_weights`)."""
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def factors_json(self) -> dict[str, Any]:
        """The factors, reasons and counts as stored in ``history.risk_assessments.factors``."""
        return {
            **{f.name: {"value": f.value, "risk": f.risk, "weight": f.weight,
                        "contribution": f.contribution}
               for f in self.factors},
            "trend": self.trend,
            "counts": {"due": self.due, "missing": self.missing, "submitted": self.submitted,
                       "late": self.late},
            "reasons": list(self.reasons),
        }


def risk_weights(conn: psycopg.Connection[Any]) -> dict[str, float]:
    """The weight of each risk factor by name, in the model's order (they add up to 1).

    Read from the database (``canvas.risk_weights``, ``sql/rules/risk.sql``), the one
    place they are written, which ``canvas.student_risk`` reads too.
    """
    cur = sql.history.risk_weights(conn)
    row = cur.fetchone()
    assert row is not None and cur.description is not None
    return {column.name: float(weight) for column, weight in zip(cur.description, row, strict=True)}


def _assessment(row: Mapping[str, Any], weights: Mapping[str, float]) -> RiskAssessment:
    values = {
        "score": row["current_score"],
        "momentum": row["slope_per_week"],
        "missing": row["missing_ratio"],
        "late": row["late_ratio"],
        "inactivity": row["days_inactive"],
    }
    factors = tuple(
        RiskFactor(name=name, value=_float(values[name]), risk=_float(row[f"{name}_risk"]),
                   weight=weight, contribution=float(row["contributions"][name]))
        for name, weight in weights.items()
    )
    return RiskAssessment(
        user_id=row["user_id"], student=row["student"], sis_user_id=row["sis_user_id"],
        course_id=row["course_id"], course=row["course"], score=float(row["risk_score"]),
        category=row["category"], confidence=float(row["confidence"]),
        reasons=tuple(row["reasons"]), factors=factors, trend=row["trend"], due=row["due"],
        missing=row["missing"], submitted=row["submitted"], late=row["late"],
        last_activity_at=row["last_activity_at"], clock=row["clock"],
        model_version=row["model_version"],
    )


def assess_risk(conn: psycopg.Connection[Any], course_id: int | None = None
                ) -> list[RiskAssessment]:
    """The risk of every active student of a course (None: of every course), most at risk first.

    One assessment per student and course (``sql/reports/at_risk_students.sql``).
    """
    course_id = arguments.optional_id("course_id", course_id)
    weights = risk_weights(conn)
    rows = sql.reports.at_risk_students(conn, course_id=course_id, row_factory=dict_row)
    return [_assessment(row, weights) for row in rows]


def at_risk(
    conn: psycopg.Connection[Any],
    course_id: int | None = None,
    *,
    limit: int | None = None,
    min_category: str = "medium",
) -> list[RiskAssessment]:
    """The students at risk in a course (None: in every course), most at risk first.

    Only assessments of ``min_category`` or worse (``low`` gives everyone), at most
    ``limit`` of them. Each carries its reasons and factors: a demo can print
    ``a.student, a.course, a.category, "; ".join(a.reasons)``.
    """
    if min_category not in CATEGORIES:
        raise InvalidQueryError(f"min_category {min_category!r} is not one of "
                                f"{', '.join(CATEGORIES)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidQueryError(f"limit must be a whole number 0 or more, not {limit!r}")
    floor = CATEGORIES.index(min_category)
    found = [a for a in assess_risk(conn, course_id) if CATEGORIES.index(a.category) >= floor]
    return found if limit is None else found[:limit]


def record_risk_assessments(conn: psycopg.Connection[Any], course_id: int | None = None) -> int:
    """Assess every active student of a course (None: every course) and append to layer 2.

    Each assessment goes to ``history.risk_assessments`` with its factors, reasons and
    the active model's name, unless the student's latest assessment in that course is the same,
    factors and reasons included (layer 2 appends only what changed), days without
    activity excepted: the course's clock moves them every hour for every student, so
    they count through their risk and their reason.
    Returns how many rows were appended. ``tracker report latest_risk`` reads them back.
    Each sync does this for the courses it changed (:func:`record_sync_risk`).
    """
    course_id = arguments.optional_id("course_id", course_id)
    return _record_risk(conn, None if course_id is None else [course_id], sync_id=None)


def record_sync_risk(conn: psycopg.Connection[Any], sync_id: int,
                     course_ids: Sequence[int]) -> int:
    """Assess the active students of the courses a sync changed; the hook a sync calls.

    As :func:`record_risk_assessments`, with the sync's id on each row appended: call it
    inside the sync's transaction, after layers 1 and 0 are written. An unchanged
    re-sync appends nothing, and undoing the sync removes what it appended. Returns how
    many rows were appended.
    """
    course_ids = arguments.ids("course_ids", course_ids)
    if not course_ids:
        return 0
    return _record_risk(conn, course_ids, sync_id=arguments.one_id("sync_id", sync_id))


def _record_risk(conn: psycopg.Connection[Any], course_ids: list[int] | None, *,
                 sync_id: int | None) -> int:
    # One statement, assessing and appending in the server (canvas.student_risk): no row
    # travels to Python, whatever the number of students.
    cur = sql.history.record_risk_assessments(conn, course_ids=course_ids, sync_id=sync_id)
    return cur.rowcount


# -- insights ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Velocity:
    """The pace of a student's work over the ``window_days`` before the course's clock.

    ``handed_in`` submissions were made in that window, ``due`` assignments fell due in
    it; ``per_week`` is ``handed_in`` a week. A student keeping up hands in about as
    much as falls due.
    """

    window_days: int
    handed_in: int
    due: int
    per_week: float


@dataclass(frozen=True)
class Insights:
    """One student's performance in one course: trend, velocity, prediction and risk."""

    user_id: int
    course_id: int
    momentum: Momentum
    velocity: Velocity
    prediction: Prediction
    risk: RiskAssessment | None


def _velocity(rows: Iterable[Mapping[str, Any]], clock: datetime) -> Velocity:
    start = clock - VELOCITY_WINDOW
    rows = [r for r in rows if r["assignment_id"] is not None]
    handed_in = sum(1 for r in rows
                    if r["submitted_at"] is not None and start < r["submitted_at"] <= clock)
    due = sum(1 for r in rows if r["due_at"] is not None and start < r["due_at"] <= clock)
    weeks = VELOCITY_WINDOW.days / 7
    return Velocity(window_days=VELOCITY_WINDOW.days, handed_in=handed_in, due=due,
                    per_week=round(handed_in / weeks, 2))


def performance_insights(conn: psycopg.Connection[Any], user_id: int, course_id: int) -> Insights:
    """Trend, velocity, final-grade prediction and risk of one student in one course.

    Raises NotFoundError when the student is not actively enrolled in the course.
    """
    trend = momentum(conn, user_id, course_id)
    rows = _work(conn, user_id, course_id)
    prediction = predict_final_grade(conn, user_id, course_id)
    risk = next((a for a in assess_risk(conn, course_id) if a.user_id == user_id), None)
    return Insights(user_id=user_id, course_id=course_id, momentum=trend,
                    velocity=_velocity(rows, rows[0]["clock"]), prediction=prediction, risk=risk)


# -- course statistics and snapshots -------------------------------------------------------------


@dataclass(frozen=True)
class CourseStatistics:
    """A course as a whole (``sql/reports/course_statistics.sql``)."""

    course_id: int
    course: str
    course_code: str | None
    enrolled: int | None
    mean_score: Decimal | None
    median_score: Decimal | None
    score_distribution: dict[str, int] | None
    missing: int | None
    due: int | None
    missing_rate: Decimal | None
    suppressed: bool = False  # fewer students than the smallest group: every figure None


@dataclass(frozen=True)
class CourseSnapshot:
    """A course's statistics as one sync left them (``history.course_snapshots``)."""

    id: int
    course_id: int
    sync_id: int | None
    recorded_at: datetime
    enrolled_students: int
    mean_score: Decimal | None
    median_score: Decimal | None
    missing_rate: Decimal | None
    score_distribution: dict[str, int] = field(default_factory=dict)


def course_statistics(conn: psycopg.Connection[Any], course_id: int | None = None
                      ) -> list[CourseStatistics]:
    """Enrolled students, mean and median score, distribution and missing rate per course;
    a course of fewer students than the smallest group (:func:`tracker.privacy.min_group`)
    has every figure None and ``suppressed``."""
    course_id = arguments.optional_id("course_id", course_id)
    rows = sql.reports.course_statistics(conn, course_id=course_id,
                                         min_group=privacy.min_group(), row_factory=dict_row)
    return [CourseStatistics(**row) for row in rows]


def record_course_snapshots(conn: psycopg.Connection[Any], sync_id: int | None,
                            course_ids: Sequence[int]) -> int:
    """Append each course's statistics to ``history.course_snapshots``; the hook a sync calls.

    Call it inside the sync's transaction, after layers 1 and 0 are written, with the
    sync's id and scope: a snapshot is appended for each course whose statistics differ
    from its latest snapshot (an unchanged re-sync appends nothing), and undoing the
    sync removes them with the rest of its layer 2 rows. Returns how many were appended.
    """
    course_ids = arguments.ids("course_ids", course_ids)
    if not course_ids:
        return 0
    cur = sql.history.record_course_snapshots(
        conn, sync_id=arguments.optional_id("sync_id", sync_id), course_ids=course_ids)
    return cur.rowcount


def course_snapshots(conn: psycopg.Connection[Any], course_id: int) -> list[CourseSnapshot]:
    """The snapshots of one course, oldest first."""
    course_id = arguments.one_id("course_id", course_id)
    rows = sql.history.course_snapshot_history(conn, course_id=course_id, row_factory=dict_row)
    return [CourseSnapshot(**row) for row in rows]


# -- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """The rows of one report of ``sql/reports/``: its columns in order, a row a dict."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    @property
    def findings(self) -> bool:
        """Whether the report found something to act on: a student at high or critical
        risk (at_risk_students, latest_risk), newly so (risk_changes), or missing work
        (missing_work)."""
        if self.name in ("at_risk_students", "latest_risk"):
            return any(r["category"] in ("high", "critical") for r in self.rows)
        if self.name == "risk_changes":
            return any(r["newly_high"] for r in self.rows)
        if self.name == "missing_work":
            return bool(self.rows)
        return False


def _check_earlier_sync(conn: psycopg.Connection[Any], sync_id: int) -> None:
    """Refuse a sync to compare the latest with that is not a succeeded sync older than it."""
    run = sql.tracker.get_run(conn, sync_id=sync_id).fetchone()
    if run is None or run[4] != "succeeded":
        state = "no sync has this id" if run is None else f"that sync's status is {run[4]}"
        raise InvalidArgumentError(f"since_sync_id {sync_id}: {state}; compare with a "
                                   "succeeded sync (`tracker sync list` shows them)")
    latest = sql.tracker.latest_succeeded_run(conn).fetchone()
    if latest is not None and sync_id >= latest[0]:
        raise InvalidArgumentError(f"since_sync_id {sync_id}: it is the latest succeeded sync; "
                                   "compare with an earlier one (`tracker sync list` shows them)")


def run_report(
    conn: psycopg.Connection[Any],
    name: str,
    *,
    course_id: int | None = None,
    user_id: int | None = None,
    assignment_id: int | None = None,
    since_sync_id: int | None = None,
) -> Report:
    """Run the report ``name`` of ``sql/reports/`` (one of :data:`REPORTS`), as psql would.

    None means "no filter", as an empty psql variable does (for ``since_sync_id`` of
    risk_changes: the succeeded sync before the latest). Raises InvalidQueryError for an
    unknown report, or a filter the report does not take; InvalidArgumentError for a
    ``since_sync_id`` that is not a succeeded sync older than the latest. A report over
    groups of students (course_statistics) suppresses those smaller than
    ``TRACKER_MIN_GROUP`` (unset: the database's ``tracker.min_group``, default 5).
    """
    if name not in REPORTS:
        raise InvalidQueryError(f"no report named {name!r}; the reports are: "
                                f"{', '.join(REPORTS)}")
    takes = REPORTS[name]
    given = {"course_id": course_id, "user_id": user_id, "assignment_id": assignment_id,
             "since_sync_id": since_sync_id}
    for param, value in given.items():
        if value is not None and param not in takes:
            raise InvalidQueryError(f"report {name} takes no {param} (it takes: "
                                    f"{', '.join(takes)})")
        arguments.optional_id(param, value)
    if since_sync_id is not None:
        _check_earlier_sync(conn, since_sync_id)
    statement = getattr(sql.reports, name)
    params: dict[str, Any] = {p: given[p] for p in takes}
    if "min_group" in statement.params:  # an aggregate over students (tracker.privacy)
        params["min_group"] = privacy.min_group()
    cur = statement(conn, **params)
    columns = tuple(c.name for c in cur.description or ())
    rows = tuple(dict(zip(columns, values, strict=True)) for values in cur.fetchall())
    return Report(name=name, columns=columns, rows=rows)


# -- a student's card ----------------------------------------------------------------------------

#: The bars of a sparkline, lowest first: a percentage p of 0..100 is bar ``p * 8 // 100``.
SPARK_BARS = "▁▂▃▄▅▆▇█"

#: How many of a course's most recently changed submissions a card shows the score history of.
CARD_HISTORY_SUBMISSIONS = 10


def sparkline(percents: Sequence[float]) -> str:
    """One bar a value on a fixed 0..100 scale (below 0 is the lowest bar, above 100 the
    highest), so that two students' lines compare: ``sparkline([90, 60]) == "█▅"``."""
    top = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[max(0, min(top, int(p * len(SPARK_BARS) // 100)))]
                   for p in percents)


@dataclass(frozen=True)
class CardNote:
    """A note about the student (``userdata.notes``)."""

    id: int
    body: str
    author: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class WorkItem:
    """One submission of the student to an assignment that counts.

    ``percent`` is the score as a percentage of the assignment's points when graded
    (None otherwise); ``dated_at`` the date it is plotted at (its due date, else when
    handed in or graded). Excused work is never ``missing`` nor ``late``.
    """

    submission_id: int
    assignment_id: int
    assignment: str | None
    due_at: datetime | None
    dated_at: datetime | None
    submitted_at: datetime | None
    workflow_state: str
    score: float | None
    points_possible: float | None
    percent: float | None
    excused: bool
    missing: bool
    late: bool


@dataclass(frozen=True)
class ScoreVersion:
    """One version of a submission as layer 2 recorded it (``history.submission_scores``)."""

    submission_id: int
    assignment_id: int
    assignment: str | None
    recorded_at: datetime
    sync_id: int
    score: float | None
    grade: str | None
    workflow_state: str
    excused: bool | None
    late: bool | None
    missing: bool | None
    graded_at: datetime | None


@dataclass(frozen=True)
class StoredRisk:
    """A risk assessment as layer 2 stored it (``history.risk_assessments``): its score,
    category, its factors (value, risk, weight and what each added, as
    :class:`RiskFactor`), most added first, and the reasons."""

    assessed_at: datetime
    score: float
    category: str
    confidence: float | None
    factors: tuple[RiskFactor, ...]
    reasons: tuple[str, ...]
    model_version: str
    sync_id: int | None


@dataclass(frozen=True)
class RiskChange:
    """How a student's risk moved from the assessment before to the latest.

    ``direction``: ``rose`` or ``fell`` (the category moved up or down), ``same`` (it
    did not; ``score_change`` may still be non-zero), or ``first`` (no assessment
    before). ``moved`` names each factor whose risk changed, with its risk before and
    after.
    """

    direction: str
    previous: StoredRisk | None
    score_change: float | None
    moved: tuple[tuple[str, float | None, float | None], ...]


@dataclass(frozen=True)
class CourseCard:
    """One active course of a student's card.

    The momentum (``slope_per_week``, ``r2``, ``trend``) is :func:`momentum`'s; the
    prediction (``predicted_score`` in ``[low, high]``, ``method``,
    ``prediction_note``) :func:`predict_final_grade`'s. ``graded`` holds every graded
    percentage in date order, and ``spark`` its sparkline; ``missing_work`` and
    ``late_work`` the submissions Canvas marks so; ``risk`` the latest stored
    assessment (None when none is stored) and ``risk_change`` how it moved;
    ``score_history`` every version of the student's most recently changed
    submissions. ``notes`` say why a part is empty.
    """

    course_id: int
    course: str
    course_code: str | None
    current_score: float | None
    current_grade: str | None
    last_activity_at: datetime | None
    clock: datetime | None
    due: int
    submitted: int
    slope_per_week: float | None
    r2: float | None
    trend: str
    predicted_score: float | None
    low: float | None
    high: float | None
    method: str | None
    prediction_note: str
    graded: tuple[Point, ...]
    missing_work: tuple[WorkItem, ...]
    late_work: tuple[WorkItem, ...]
    risk: StoredRisk | None
    risk_change: RiskChange | None
    score_history: tuple[ScoreVersion, ...]
    notes: tuple[str, ...]
    spark: str = ""
    """The graded percentages as a :func:`sparkline` ("" with no graded work)."""


@dataclass(frozen=True)
class StudentCard:
    """A student's whole story: who they are, what people wrote about them (notes, tags,
    custom fields) and a :class:`CourseCard` per active course, by course name."""

    user_id: int
    name: str
    sortable_name: str | None
    sis_user_id: str | None
    notes: tuple[CardNote, ...]
    tags: tuple[str, ...]
    fields: dict[str, Any]
    courses: tuple[CourseCard, ...]


def _stored_risk(doc: Mapping[str, Any]) -> StoredRisk:
    stored = doc.get("factors") or {}
    factors = sorted(
        (RiskFactor(name=name, value=_float(f.get("value")), risk=_float(f.get("risk")),
                    weight=float(f.get("weight") or 0),
                    contribution=float(f.get("contribution") or 0))
         for name, f in stored.items() if isinstance(f, dict) and "risk" in f),
        key=lambda f: (-f.contribution, f.name))
    return StoredRisk(
        assessed_at=datetime.fromisoformat(doc["assessed_at"]), score=float(doc["score"]),
        category=doc["category"], confidence=_float(doc["confidence"]), factors=tuple(factors),
        reasons=tuple(stored.get("reasons") or ()), model_version=doc["model_version"],
        sync_id=doc["sync_id"],
    )


def _risk_change(latest: StoredRisk, previous: StoredRisk | None) -> RiskChange:
    if previous is None:
        return RiskChange(direction="first", previous=None, score_change=None, moved=())
    rank = CATEGORIES.index(latest.category) - CATEGORIES.index(previous.category)
    direction = "rose" if rank > 0 else "fell" if rank < 0 else "same"
    before = {f.name: f.risk for f in previous.factors}
    after = {f.name: f.risk for f in latest.factors}
    moved = tuple((name, before.get(name), after.get(name))
                  for name in dict.fromkeys([*after, *before])
                  if before.get(name) != after.get(name))
    return RiskChange(direction=direction, previous=previous,
                      score_change=round(latest.score - previous.score, 4), moved=moved)


def _course_card(row: Mapping[str, Any], work: Sequence[WorkItem],
                 history: Sequence[ScoreVersion]) -> CourseCard:
    graded = tuple(Point(at=w.dated_at, percent=w.percent) for w in work
                   if w.percent is not None and w.dated_at is not None)
    risks = [_stored_risk(doc) for doc in row["risks"]]
    latest = risks[0] if risks else None
    notes = []
    if not graded:
        notes.append("no graded work yet: no trajectory to draw")
    if row["predicted_score"] is None:
        notes.append(f"no prediction: {row['prediction_note'] or 'nothing to predict from'}")
    if latest is None:
        notes.append("no risk assessment stored yet (each sync stores one)")
    return CourseCard(
        course_id=row["course_id"], course=row["course"], course_code=row["course_code"],
        current_score=_float(row["current_score"]), current_grade=row["current_grade"],
        last_activity_at=row["last_activity_at"], clock=row["clock"],
        due=row["due"] or 0, submitted=row["submitted"] or 0,
        slope_per_week=_float(row["slope_per_week"]), r2=_float(row["r2"]),
        trend=row["trend"] or "steady",
        predicted_score=_float(row["predicted_score"]), low=_float(row["low"]),
        high=_float(row["high"]), method=row["method"],
        prediction_note=row["prediction_note"] or "",
        graded=graded,
        missing_work=tuple(w for w in work if w.missing),
        late_work=tuple(w for w in work if w.late),
        risk=latest,
        risk_change=None if latest is None else _risk_change(
            latest, risks[1] if len(risks) > 1 else None),
        score_history=tuple(history), notes=tuple(notes),
        spark=sparkline([p.percent for p in graded]),
    )


def _work_item(row: Mapping[str, Any]) -> WorkItem:
    return WorkItem(
        submission_id=row["submission_id"], assignment_id=row["assignment_id"],
        assignment=row["assignment"], due_at=row["due_at"], dated_at=row["dated_at"],
        submitted_at=row["submitted_at"], workflow_state=row["workflow_state"],
        score=_float(row["score"]), points_possible=_float(row["points_possible"]),
        percent=_float(row["percent"]), excused=row["excused"], missing=row["missing"],
        late=row["late"],
    )


def student_card(conn: psycopg.Connection[Any], user_id: int, course_id: int | None = None
                 ) -> StudentCard:
    """A student's whole story (:class:`StudentCard`) in four statements
    (``sql/history/student_card.sql``), whatever the number of courses or their size:
    about 17 ms at 1,000,000 submissions, in courses of 20 students or of 1,000
    (BENCHMARKS.md, run X), much of it the planning of the courses statement.

    Every active course of the student, or only ``course_id``. A known user with no
    active course (a teacher, a student who left) gets a card without courses. Raises
    NotFoundError for an unknown user, or when ``course_id`` is not one of the
    student's active courses.
    """
    user_id = arguments.one_id("user_id", user_id)
    course_id = arguments.optional_id("course_id", course_id)
    person = sql.history.student_card_person(conn, user_id=user_id, course_id=course_id,
                                             row_factory=dict_row).fetchone()
    if person is None:
        raise NotFoundError(f"there is no user {user_id}: tracker report at_risk_students "
                            "lists the active students with their ids")
    course_ids = person["course_ids"]
    if course_id is not None and not course_ids:
        raise NotFoundError(f"user {user_id} is not an active student of course {course_id} "
                            f"(or the course is unknown); tracker student {user_id} shows "
                            "every course they are active in")
    rows: list[dict[str, Any]] = []
    work: dict[int, list[WorkItem]] = {}
    history: dict[int, list[ScoreVersion]] = {}
    if course_ids:  # else nothing to read (a teacher, a student who left)
        rows = sql.history.student_card_courses(conn, user_id=user_id, course_ids=course_ids,
                                                row_factory=dict_row).fetchall()
        for row in sql.history.student_card_work(conn, user_id=user_id, course_ids=course_ids,
                                                 row_factory=dict_row):
            work.setdefault(row["course_id"], []).append(_work_item(row))
        for row in sql.history.student_card_score_history(
                conn, user_id=user_id, course_ids=course_ids,
                submissions=CARD_HISTORY_SUBMISSIONS, row_factory=dict_row):
            course = row.pop("course_id")
            history.setdefault(course, []).append(
                ScoreVersion(**{**row, "score": _float(row["score"])}))
    notes = tuple(CardNote(id=n["id"], body=n["body"], author=n["author"],
                           created_at=datetime.fromisoformat(n["created_at"]),
                           updated_at=datetime.fromisoformat(n["updated_at"]))
                  for n in person["notes"])
    return StudentCard(
        user_id=person["user_id"], name=person["name"], sortable_name=person["sortable_name"],
        sis_user_id=person["sis_user_id"], notes=notes, tags=tuple(person["tags"]),
        fields={f["name"]: f["value"] for f in person["fields"]},
        courses=tuple(_course_card(row, work.get(row["course_id"], ()),
                                   history.get(row["course_id"], ()))
                      for row in rows),
    )
