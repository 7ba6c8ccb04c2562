"""The final-grade projection in SQL (canvas.final_projection, sql/rules/projection.sql) as
of a week, its conformal interval, and tracker.projection.calibrate.

The projection at the clock is tests/test_analytics.py's (predict_final_grade reads it);
here: what it knew N weeks into a course of tests/school.py, worked out on paper, which
calibration a prediction reads, and the coverage of calibrated intervals on courses a
calibration did not see, on a generated sample school.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from school import ANA, BEN, C1, C2, CY, DEE, EVE, FAY, build_school

from tracker import analytics, projection, sample, sync
from tracker.errors import InvalidArgumentError, NotFoundError

COLUMNS = ("predicted_score", "low", "high", "current_score", "expected_on_remaining",
           "momentum_shift", "remaining_share", "graded_items", "remaining_items", "method")


def projected(conn: psycopg.Connection[Any], courses: list[int] | None,
              week: int | None) -> dict[tuple[int, int], tuple[Any, ...]]:
    rows = conn.execute(
        f"SELECT user_id, course_id, {', '.join(COLUMNS)} "
        "FROM canvas.final_projection(%s, %s)", (courses, week)).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


# -- as of a week --------------------------------------------------------------------------------


def test_as_of_a_week_the_projection_knows_only_what_was_known_then(conn, tmp_path):
    # Course 1 starts 09-01: week 3 is 09-22. Ben's enrollment was completed (a past
    # student counts as of a week, not at the clock).
    school = build_school()
    school.find("courses", C1)["start_at"] = "2024-09-01T00:00:00Z"
    school.find("enrollments", 1002)["enrollment_state"] = "completed"
    school.sync(conn, tmp_path)

    week_3 = projected(conn, [C1], 3)
    # Eve's enrollment is inactive now, but she was last seen after the moment (10-20):
    # she was still in the course at week 3.
    assert set(week_3) == {(ANA, C1), (BEN, C1), (CY, C1), (DEE, C1), (EVE, C1)}
    # Ana: A1..A3 graded by then (9, 8, 7: current 80 computed); A4 (due 09-23), A5
    # (09-30; Canvas marked it missing later) and A6 (12-01) remaining. Momentum then:
    # 90, 80, 70, -10 a week, r² 1; the remaining work's lower median due date, 09-30,
    # is 8 days ahead: shift -10 × 8/7 = -11.43, e = 68.57. By points: (24 + 0.6857 ×
    # 30) / 60 = 74.29; σ of 90, 80, 70 = 10: ± 1.96 × 0.5 × 10 × √(1/3 + 1/3) = 8.0017.
    assert week_3[ANA, C1] == (*d("74.29", "66.28", "82.29", "80.00", "68.57", "-11.43", "0.5000"),
                               3, 3, "weighted-projection-v1")
    # Dee: A1, A2 graded 8, 8; A3 due 09-16, never submitted: missing, a zero; A4 to
    # come. (16 + 0.8 × 10) / 40 = 60; σ of 80, 80, 0 = 46.19: ± 1.96 × 0.25 × 46.19 ×
    # √(1/3 + 1) = 26.13.
    assert week_3[DEE, C1] == (*d("60.00", "33.87", "86.13", "80.00", "80.00", "0.00", "0.2500"),
                               3, 1, "weighted-projection-v1")
    # Ben, completed since: 7, 8, 7 (73.33; a flat slope, no shift): (22 + 0.7333 × 30) / 60.
    assert (week_3[BEN, C1][0], week_3[BEN, C1][3]) == d("73.33", "73.33")
    # Cy's A3 was graded on 09-17 and its score is as it stands (no history row): known
    # then. His A0 (due 07-01) scored 0 before the term: graded, a zero.
    assert week_3[CY, C1][7:9] == (4, 3)
    # At the clock only the active students, and the projection predict_final_grade reads.
    at_clock = projected(conn, [C1], None)
    assert set(at_clock) == {(ANA, C1), (CY, C1), (DEE, C1)}
    assert at_clock[ANA, C1][0] == Decimal(str(analytics.predict_final_grade(conn, ANA, C1)
                                               .predicted_score))


def test_as_of_a_week_weighs_the_groups_known_then(conn, synced_school):
    # Course 2 starts at its first due date, 09-10; week 2 is 09-24. Fay's H1 and H2
    # were graded (8, 9: current 85 computed, two points: no momentum); T1, due and
    # handed in at 09-24 00:00, was graded the next day: remaining, with H3, H4, T2.
    # Homework 40 × (17 + 0.85 × 20) / 40, Tests 60 × (0 + 0.85 × 200) / 200: 85.0;
    # 0.8 of the grade to come; σ of 80, 90 = 7.07: ± 1.96 × 0.8 × 7.07 × √(1/2 + 1/4).
    week_2 = projected(conn, [C2], 2)
    assert week_2[FAY, C2] == (*d("85.00", "75.40", "94.60", "85.00", "85.00", "0.00", "0.8000"),
                               2, 4, "weighted-projection-v1")
    # From week 3 on the moment is the clock (10-01): the projection as it stands.
    assert projected(conn, [C2], 9)[FAY, C2] == projected(conn, [C2], None)[FAY, C2]


# -- the conformal interval ----------------------------------------------------------------------


def calibrated(conn: psycopg.Connection[Any], *rows: tuple[int, float],
               days_ago: int = 0) -> None:
    for week, quantile in rows:
        conn.execute("INSERT INTO history.projection_calibrations "
                     "(as_of_week, alpha, quantile, n, courses, created_at) "
                     "VALUES (%s, 0.05, %s, 50, 3, now() - %s * interval '1 day')",
                     (week, quantile, days_ago))


def test_a_prediction_reads_the_newest_calibration_of_the_nearest_week(conn, synced_school):
    # Fay is 3 weeks into course 2 (09-10 to 10-01); predicted 74.75, half of her grade
    # to come, σ 10: normaliser √(0.5 × 10) = 2.2361.
    calibrated(conn, (2, 1.0), (5, 20.0), (9, 1.0), days_ago=1)
    calibrated(conn, (2, 2.0), (4, 30.0), (20, 5.0))
    calibrated(conn, (4, 40.0))
    conn.execute("INSERT INTO history.projection_calibrations "
                 "(as_of_week, alpha, quantile, n, courses) VALUES (3, 0.1, 1, 50, 3)")
    p = analytics.predict_final_grade(conn, FAY, C2)
    # Weeks 2 and 4 are as near: the earlier, and its newest quantile, 2: ± 4.47. (Week
    # 3's calibration is for alpha 0.1, not the 95% interval.)
    assert (p.method, p.calibration_week, p.predicted_score, p.low, p.high) == (
        "conformal", 2, 74.75, 70.28, 79.22)
    calibrated(conn, (3, 4.0))
    p = analytics.predict_final_grade(conn, FAY, C2)
    assert (p.method, p.calibration_week, p.low, p.high) == ("conformal", 3, 65.81, 83.69)
    # Course 1 started at its first due date, 07-01: 13.8 weeks by its clock; the nearest
    # calibrated week is 9. Ana: 1/6 of her grade to come, σ 35.36: 1.0 × √5.89 = ± 2.43.
    ana = analytics.predict_final_grade(conn, ANA, C1)
    assert (ana.method, ana.calibration_week, ana.low, ana.high) == ("conformal", 9, 53.74, 58.59)


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = [float(s) for s in range(1, 20)]  # 19 scores: rank ⌈20 × 0.95⌉ = 19
    assert projection.conformal_quantile(scores, 0.05) == 19.0
    assert projection.conformal_quantile(scores[:18], 0.05) is None  # rank 19 of 18
    assert projection.conformal_quantile(scores, 0.5) == 10.0  # ⌈20 × 0.5⌉ = 10
    assert projection.conformal_quantile(reversed(scores), 0.1) == 18.0


# -- calibrate -----------------------------------------------------------------------------------


def test_calibrated_intervals_hold_the_outcome_on_courses_they_were_not_calibrated_on(
        conn, tmp_path):
    # 24 courses, 8 of them past (Spring) with their outcomes: about 150 students who
    # saw theirs through, each course held out in turn.
    bundle: Path = tmp_path / "bundle"
    sample.generate(bundle, students=480, courses=24, assignments_per_course=12,
                    courses_per_student=1)
    sync.sync_bundle(conn, bundle)
    found = projection.calibrate(conn, weeks=[3, 6, 9])
    assert (found.alpha, found.courses, found.stored) == (0.05, 8, 3)
    for week in found.weeks:
        assert week.courses == 8 and week.n >= 140 and week.quantile is not None
        assert week.held_out == week.n
    # The 95% interval held the final score of 93-97% of the students of courses it was
    # not calibrated on at full size (README); on 450 predictions of 8 courses, allow
    # for their spread.
    assert found.coverage is not None and 0.90 <= found.coverage <= 0.99
    stored = conn.execute("SELECT as_of_week, alpha, n, courses, quantile > 0 "
                          "FROM history.projection_calibrations ORDER BY as_of_week").fetchall()
    assert stored == [(w.as_of_week, Decimal("0.05"), w.n, 8, True) for w in found.weeks]
    # Every active student of the running courses now gets a conformal interval.
    methods = conn.execute("SELECT DISTINCT method FROM canvas.final_projection(NULL) "
                           "WHERE predicted_score IS NOT NULL").fetchall()
    assert methods == [("conformal",)]


def test_calibrate_refuses_bad_arguments_naming_them(conn, synced_school):
    with pytest.raises(InvalidArgumentError, match="alpha"):
        projection.calibrate(conn, alpha=1.5)
    with pytest.raises(InvalidArgumentError, match="weeks"):
        projection.calibrate(conn, weeks="3")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="weeks"):
        projection.calibrate(conn, weeks=[-1])
    with pytest.raises(NotFoundError, match="no completed course"):
        projection.calibrate(conn)
