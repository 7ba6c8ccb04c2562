"""The outcomes of completed courses and the risk factors as of a week (issue 15):
canvas.enrollment_outcomes (sql/rules/outcomes.sql) and canvas.student_factors_as_of
(sql/rules/momentum.sql), whose factors at the clock must be those canvas.student_risk
states for itself (checked here for every student).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from school import A3, ANA, BEN, C1, CY, DEE, EVE, School, at, build_school

from tracker import sample, sync

#: The factors canvas.student_risk reports, by its column names, and the same factors
#: as canvas.student_factors_as_of states them (rounded as student_risk rounds them).
RISK_FACTORS = """
    SELECT user_id, course_id, current_score, trend, slope_per_week, r2, momentum_points,
           due, missing, missing_ratio, submitted, late, late_ratio, days_inactive,
           last_activity_at, clock
    FROM canvas.student_risk(%(courses)s)
"""
AS_OF_FACTORS = """
    SELECT user_id, course_id, current_score, trend, slope_per_week, r2, points,
           due, missing, round(missing_ratio, 3), submitted, late, round(late_ratio, 3),
           round(days_inactive, 1), last_activity_at, as_of
    FROM canvas.student_factors_as_of(%(courses)s, %(week)s)
"""


def outcomes(conn: psycopg.Connection[Any], *args: Any) -> dict[int, tuple[str, bool]]:
    placeholders = ", ".join(["%s"] * len(args))
    rows = conn.execute(
        f"SELECT enrollment_id, outcome, failed FROM canvas.enrollment_outcomes({placeholders})",
        args).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def finished_school() -> School:
    """Course 3, completed; course 4, available but past its end; course 1, running."""
    s = School()
    s.course(1, "Running")
    s.course(3, "Completed")
    s.find("courses", 3)["workflow_state"] = "completed"
    s.course(4, "Ended")
    s.find("courses", 4)["end_at"] = "2024-01-01T00:00:00Z"
    for uid in range(21, 27):
        s.user(uid, f"Student {uid}")
    for eid, uid, cid, final, grade, state in (
        (301, 21, 3, 55.0, "D", "completed"),   # below the pass mark, not an F
        (302, 22, 3, 85.0, "B", "completed"),
        (303, 23, 3, 40.0, "F", "completed"),
        (304, 24, 3, 90.0, "A", "inactive"),    # withdrew
        (305, 25, 3, None, None, "completed"),  # nothing graded
        (401, 21, 4, 59.5, None, "active"),     # no final grade: the pass mark judges
        (101, 26, 1, 10.0, "F", "active"),      # a course still running
    ):
        s.enroll(eid, uid, cid, state=state, final=final)
        s.find("enrollments", eid)["grades"]["final_grade"] = grade
    s.enroll(306, 26, 3, type="StudentViewEnrollment", final=0.0)
    return s


def test_outcomes_judge_by_the_pass_mark_by_failing_grades_and_withdrawal(conn, tmp_path):
    finished_school().sync(conn, tmp_path)

    assert outcomes(conn) == {
        301: ("failed", True), 302: ("passed", False), 303: ("failed", True),
        304: ("withdrawn", True), 305: ("failed", True), 401: ("failed", True),
    }
    assert outcomes(conn, None, 50) == {
        301: ("passed", False), 302: ("passed", False), 303: ("failed", True),
        304: ("withdrawn", True), 305: ("failed", True), 401: ("passed", False),
    }
    assert outcomes(conn, ["F"]) == {
        301: ("passed", False), 302: ("passed", False), 303: ("failed", True),
        304: ("withdrawn", True), 305: ("failed", True), 401: ("failed", True),
    }
    assert outcomes(conn, ["D", "F"], 60, True) == {
        301: ("failed", True), 302: ("passed", False), 303: ("failed", True),
        304: ("withdrawn", False), 305: ("failed", True), 401: ("failed", True),
    }
    row = conn.execute(
        "SELECT user_id, course_id, final_score, final_grade, enrollment_state "
        "FROM canvas.enrollment_outcomes() WHERE enrollment_id = 304").fetchone()
    assert row == (24, 3, 90, "A", "inactive")


def assert_as_of_at_the_clock_is_student_risk(conn: psycopg.Connection[Any],
                                              courses: list[int] | None) -> int:
    risk = conn.execute(RISK_FACTORS, {"courses": courses}).fetchall()
    # Week 10,000 of any course is past its clock: the moment is the clock.
    as_of = conn.execute(AS_OF_FACTORS, {"courses": courses, "week": 10_000}).fetchall()
    at_clock = conn.execute(AS_OF_FACTORS, {"courses": courses, "week": None}).fetchall()
    assert sorted(at_clock) == sorted(risk)
    active = {(r[0], r[1]) for r in risk}
    assert sorted(r for r in as_of if (r[0], r[1]) in active) == sorted(risk)
    return len(risk)


def test_factors_at_the_clock_are_those_of_student_risk_for_every_student(conn, synced_school):
    assert assert_as_of_at_the_clock_is_student_risk(conn, None) == 5


def test_factors_at_the_clock_are_those_of_student_risk_on_a_sample_school(conn, tmp_path):
    bundle: Path = tmp_path / "bundle"
    sample.generate(bundle, students=60, courses=3, assignments_per_course=12,
                    courses_per_student=2)
    sync.sync_bundle(conn, bundle)
    assert assert_as_of_at_the_clock_is_student_risk(conn, None) > 60


def factors(conn: psycopg.Connection[Any], week: int) -> dict[int, tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT user_id, as_of, current_score, score_source, due, missing, submitted, late, "
        "points, trend, days_inactive "
        "FROM canvas.student_factors_as_of(%s, %s)", ([C1], week)).fetchall()
    return {row[0]: row[1:] for row in rows}


def sync_school_regraded_later(conn: psycopg.Connection[Any], tmp_path: Path) -> dict[str, Any]:
    """The school of tests/school.py, course 1 starting 2024-09-01 and Cy's A3 (due 09-16)
    graded on 10-01, synced; Cy's A3."""
    s = build_school()
    s.find("courses", C1)["start_at"] = "2024-09-01T00:00:00Z"
    cy_a3 = s.find("submissions", next(sub["id"] for sub in s.data["submissions"]
                                       if sub["user_id"] == CY and sub["assignment_id"] == A3))
    cy_a3["graded_at"] = "2024-10-01T00:00:00Z"
    s.sync(conn, tmp_path)
    return cy_a3


def test_as_of_a_week_counts_only_what_was_known_then(conn, tmp_path):
    # Course 1 starts 2024-09-01; week 3 is 09-22. A4 (due 09-23) was not due yet, and
    # Cy's A3 (graded 09-17) is regraded late, on 10-01: a point graded after the moment.
    sync_school_regraded_later(conn, tmp_path)

    week_3 = factors(conn, 3)
    # Eve's enrollment is inactive now, but she was last seen on 10-20: she withdrew
    # after the moment, so she counts at week 3 (the test student never does).
    assert {uid: row[0] for uid, row in week_3.items()} == {
        uid: at("2024-09-22") for uid in (ANA, BEN, CY, DEE, EVE)}
    # A1..A3 due by then, all submitted on time; Ana's A4 (late) is not due yet.
    ana = week_3[ANA]
    assert ana[1:8] == (Decimal("80.00"), "computed", 3, 0, 3, 0, 3)
    assert ana[8] == "declining"
    # Cy: A1, A2 graded by then; A3, graded after the moment, does not count. A0 (due
    # 07-01, scored 0, never submitted) was due and not submitted: missing.
    cy = week_3[CY]
    assert cy[1:8] == (Decimal("36.67"), "computed", 4, 1, 3, 0, 2)
    # Dee: A3 unsubmitted and due by then, missing; no activity recorded, unknown.
    dee = week_3[DEE]
    assert dee[3:6] == (3, 1, 2) and dee[9] is None
    # Ben was last seen after the moment: how long he had been inactive is not known.
    assert week_3[BEN][9] is None
    # The clock is later than week 10: the factors as they stand.
    assert factors(conn, 10)[ANA][2] == "canvas"
    # At the clock (10-05, before week 8) her enrollment is as it stands, inactive: she
    # is no longer counted.
    assert EVE not in factors(conn, 8) and ANA in factors(conn, 8)


def test_layer_2_gives_the_score_recorded_by_the_moment_not_a_later_change(conn, tmp_path):
    # As of week 3 (09-22): a sync on 09-18 had recorded Cy's A3 graded 9 (regraded 7
    # on 10-01, as the row stands) and Ana's current score 55.
    cy_a3 = sync_school_regraded_later(conn, tmp_path)
    conn.execute(
        "INSERT INTO history.submission_scores (submission_id, course_id, assignment_id, "
        "user_id, sync_id, recorded_at, score, workflow_state, graded_at) "
        "SELECT id, course_id, assignment_id, user_id, sync_id, '2024-09-18', 9, 'graded', "
        "'2024-09-17' FROM canvas.submissions WHERE id = %s", (cy_a3["id"],))
    conn.execute(
        "INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, "
        "recorded_at, current_score) "
        "SELECT id, course_id, user_id, sync_id, '2024-09-18', 55 "
        "FROM canvas.enrollments WHERE id = 1001")

    week_3 = factors(conn, 3)
    assert week_3[CY][1:3] == (Decimal("50.00"), "computed")  # (0 + 5 + 6 + 9) / 40
    assert week_3[CY][7] == 3
    assert week_3[ANA][1:3] == (Decimal(55), "recorded")
