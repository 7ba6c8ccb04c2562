"""The final-grade prediction's interval, calibrated on completed courses (split-conformal).

The projection itself is SQL, ``canvas.final_projection`` (``sql/rules/projection.sql``),
read by :func:`tracker.analytics.predict_final_grade` and the ``predicted_final`` report.
Its interval is the formula's (``weighted-projection-v1``) until :func:`calibrate` has
measured, on completed courses, how far the projection made N weeks into a course
fell from the final score: for each week N, the conformity scores ``|final − predicted|
/ normaliser`` of every student who saw the course through (not withdrawn, with a
final score), and their finite-sample conformal quantile, the ⌈(n + 1)(1 − α)⌉-th
smallest. It is stored in ``history.projection_calibrations``; from then on a course's
interval is ``predicted ± quantile × normaliser`` at the calibrated week nearest its
own (method ``conformal``).

The coverage :func:`calibrate` reports is measured on courses the quantile was not
made from: for each course, the quantile of the other courses' scores, and how many of
its students' final scores the interval holds (leave one course out). Students of one
course share its teacher, its difficulty, its term, so a course, not a student, is what
must be new to the calibration.

Its SQL is ``sql/history/projection.sql``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tracker import arguments
from tracker.errors import InvalidArgumentError, NotFoundError
from tracker.sqlfiles import sql

__all__ = ["Calibration", "WeekCalibration", "calibrate", "conformal_quantile"]


@dataclass(frozen=True)
class WeekCalibration:
    """The calibration of one as-of week.

    ``n`` students of ``courses`` completed courses; ``quantile`` the conformal quantile
    of their scores (None when there are too few for alpha: fewer than 1/alpha − 1);
    ``covered`` of ``held_out`` students had their final score inside the interval made
    from the other courses (``coverage`` their share; None with fewer than two courses).
    """

    as_of_week: int
    n: int
    courses: int
    quantile: float | None
    held_out: int
    covered: int

    @property
    def coverage(self) -> float | None:
        return None if not self.held_out else self.covered / self.held_out


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` measured and stored: one :class:`WeekCalibration` per week,
    how many were stored (those with a quantile), and the held-out coverage over all
    weeks (None when no course could be held out)."""

    alpha: float
    courses: int
    weeks: tuple[WeekCalibration, ...]
    stored: int

    @property
    def coverage(self) -> float | None:
        held_out = sum(w.held_out for w in self.weeks)
        return None if not held_out else sum(w.covered for w in self.weeks) / held_out


def conformal_quantile(scores: Iterable[float], alpha: float) -> float | None:
    """The split-conformal quantile of ``scores`` for miscoverage ``alpha``: the
    ⌈(n + 1)(1 − alpha)⌉-th smallest, or None when that rank exceeds n (too few scores:
    the interval would have to be infinite)."""
    ordered = sorted(scores)
    rank = math.ceil((len(ordered) + 1) * (1 - Fraction(str(alpha))))
    return ordered[rank - 1] if 0 < rank <= len(ordered) else None


def calibrate(conn: psycopg.Connection[Any], weeks: Sequence[int] | None = None,
              alpha: float = 0.05) -> Calibration:
    """Calibrate the final-grade projection's interval on the completed courses, for each
    week of ``weeks`` (default: 1 to the longest such course's length), and store a
    calibration per week that has enough students, in one transaction.

    ``alpha``: the share of outcomes the interval may miss (0.05: a 95% interval; the
    predictions read the calibrations of 0.05). Returns what was measured, held-out
    coverage included. Raises NotFoundError when no completed course has a student with
    a final score, InvalidArgumentError for a bad ``weeks`` or ``alpha``.
    """
    arguments.usable(conn)
    alpha = _alpha(alpha)
    if weeks is not None:
        weeks = sorted({arguments.count("weeks", w, maximum=520) for w in _listed(weeks)})
    with conn.transaction():
        courses = sql.history.calibration_courses(conn, row_factory=dict_row).fetchall()
        if not courses:
            raise NotFoundError("no completed course has a student with a final score to "
                                "calibrate the projection on (tracker sample writes some)")
        course_ids = [c["course_id"] for c in courses]
        if weeks is None:
            longest = max((c["weeks"] or 0) for c in courses)
            weeks = list(range(1, longest + 1))
        # The as-of projection's plan is costed far above its work (its estimates of the
        # layer-2 lookups are rough), so a server with JIT on compiles it for seconds each
        # week (7 s of 7.7 at 2,000 students on PostgreSQL 15): off while measuring, then
        # as it was (a failure rolls the setting back with the rest).
        before = sql.history.set_jit(conn, value="off").fetchone()
        measured = [_week(conn, course_ids, week, alpha) for week in weeks]
        sql.history.set_jit(conn, value=before[0] if before else "on")
        kept = [w for w in measured if w.quantile is not None]
        if kept:
            sql.history.record_calibrations(
                conn, alpha=alpha, weeks=[w.as_of_week for w in kept],
                quantiles=[w.quantile for w in kept], ns=[w.n for w in kept],
                course_counts=[w.courses for w in kept],
                coverages=[w.coverage for w in kept])
    return Calibration(alpha=alpha, courses=len(course_ids), weeks=tuple(measured),
                       stored=len(kept))


def _week(conn: psycopg.Connection[Any], course_ids: list[int], week: int,
          alpha: float) -> WeekCalibration:
    rows = sql.history.calibration_errors(conn, course_ids=course_ids, as_of_week=week,
                                          row_factory=dict_row).fetchall()
    by_course: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_course.setdefault(row["course_id"], []).append(row)
    held_out = covered = 0
    if len(by_course) > 1:
        for course_id, own in by_course.items():
            others = [float(r["score"]) for r in rows if r["course_id"] != course_id]
            q = conformal_quantile(others, alpha)
            if q is None:
                continue
            held_out += len(own)
            covered += sum(1 for r in own if _holds(r, q))
    scores = [float(r["score"]) for r in rows]
    return WeekCalibration(as_of_week=week, n=len(rows), courses=len(by_course),
                           quantile=conformal_quantile(scores, alpha),
                           held_out=held_out, covered=covered)


def _holds(row: Mapping[str, Any], quantile: float) -> bool:
    """Whether the interval the prediction would state (clipped as canvas.final_projection
    clips it) holds the final score."""
    predicted, final = float(row["predicted_score"]), float(row["final_score"])
    half = quantile * float(row["normaliser"])
    return max(predicted - half, 0.0) <= final <= min(max(predicted, 100.0), predicted + half)


def _alpha(alpha: Any) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InvalidArgumentError(f"alpha: expected a number between 0 and 1 (0.05 for a "
                                   f"95% interval), got {alpha!r}")
    return float(alpha)


def _listed(weeks: Any) -> list[Any]:
    if isinstance(weeks, (str, bytes, dict)) or not isinstance(weeks, Iterable):
        raise InvalidArgumentError(f"weeks: expected a list of whole numbers, got {weeks!r}")
    found = list(weeks)
    if not found:
        raise InvalidArgumentError("weeks: expected at least one week (None: every week)")
    return found
