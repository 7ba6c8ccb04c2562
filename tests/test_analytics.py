"""tracker.analytics: momentum, prediction, risk, insights and snapshots, on known answers.

Each test asks a tiny school built by hand (tests/school.py, in the Canvas API's own shapes,
synced with the functions a user calls) whose answers were worked out on paper; the
arithmetic is in the comments. Dates are in 2024 so that every course's clock (the
latest activity of its students) is in the past whatever day the tests run.

The school is tests/school.py's, shared with tests/test_queries.py and tests/test_reports.py
through the ``synced_school`` fixture.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from school import (  # tests/ is on sys.path (rootdir conftest, no package)
    A5,
    ANA,
    BEN,
    C1,
    C2,
    CLOCK_1,
    CY,
    DEE,
    EVE,
    FAY,
    TESS,
    School,
    at,
    iso,
)

from tracker import analytics, sync
from tracker.errors import InvalidArgumentError, InvalidQueryError, NotFoundError

# -- momentum ------------------------------------------------------------------------------------


def test_momentum_is_the_least_squares_slope_of_the_recent_graded_percentages(conn, synced_school):
    ana = analytics.momentum(conn, ANA, C1)
    # 90, 80, 70, 60 one week apart: -10 points a week, a perfect fit. A5 has no score,
    # A7 is not graded, A8 is excused.
    assert ana.slope_per_week == -10.0
    assert ana.r2 == 1.0
    assert ana.trend == "declining"
    assert [(p.at, p.percent) for p in ana.points] == [
        (at("2024-09-02"), 90.0), (at("2024-09-09"), 80.0),
        (at("2024-09-16"), 70.0), (at("2024-09-23"), 60.0),
    ]
    assert ana.clock == CLOCK_1


def test_a_noisy_slope_is_steady_and_a_clear_rise_is_improving(conn, synced_school):
    ben = analytics.momentum(conn, BEN, C1)
    # 70, 80, 70, 80: slope 10/5 = 2 a week, r² = 10² / (5 × 100) = 0.2; its t² is
    # 0.2 × 2 / 0.8 = 0.5, far below 4: noise, so steady.
    assert (ben.slope_per_week, ben.r2, ben.trend) == (2.0, 0.2, "steady")
    cy = analytics.momentum(conn, CY, C1)
    # 50, 60, 70, 80; Cy's 0 on A0 (July) is more than eight weeks before the clock.
    assert (cy.slope_per_week, cy.r2, cy.trend, len(cy.points)) == (10.0, 1.0, "improving", 4)


def test_fewer_than_three_points_give_no_slope(conn, synced_school):
    dee = analytics.momentum(conn, DEE, C1)
    assert (dee.slope_per_week, dee.r2, dee.trend, len(dee.points)) == (None, None, "steady", 2)


def test_momentum_of_a_student_not_actively_enrolled_is_not_found(conn, synced_school):
    for user in (EVE, TESS, 999):
        with pytest.raises(NotFoundError, match="not an active student"):
            analytics.momentum(conn, user, C1)


def test_course_momentum_lists_active_students_most_declining_first(conn, synced_school):
    found = analytics.course_momentum(conn, C1)
    assert [m.user_id for m in found] == [ANA, BEN, CY, DEE]


# -- prediction ----------------------------------------------------------------------------------


def predict(conn: psycopg.Connection[Any], tmp_path: Path, items: list[tuple[Any, ...]], *,
            weighted: bool, current: float | None,
            groups: dict[int, float | None] | None = None) -> analytics.Prediction:
    """The prediction canvas.final_projection makes for the one student of a course built
    of ``items``: (group, points, score or None, missing, due date or None) each, one
    assignment and one submission an item; ``groups`` their weights (default: one
    group, 90, of no weight). The course's clock is the student's last activity, 10-01."""
    school = School()
    school.course(9, "Course", weighted=weighted)
    school.user(91, "Student")
    for group, weight in (groups or {90: None}).items():
        school.group(group, 9, f"Group {group}", weight)
    school.enroll(901, 91, 9, current=current, last_activity=at("2024-10-01"))
    for n, (group, points, score, missing, due) in enumerate(items):
        school.assignment(9000 + n, 9, group, points=points, due=due)
        school.submit(9100 + n, 91, 9000 + n, score=score, missing=missing,
                      graded=None if score is None else at("2024-09-01"))
    school.sync(conn, tmp_path)
    return analytics.predict_final_grade(conn, 91, 9)


def fay_work() -> list[tuple[Any, ...]]:
    return [
        (20, 10, 8.0, False, at("2024-09-10")),
        (20, 10, 9.0, False, at("2024-09-17")),
        (21, 100, 70.0, False, at("2024-09-24")),
        (20, 10, None, False, at("2024-10-08")),
        (20, 10, None, False, at("2024-10-15")),
        (21, 100, None, False, at("2024-10-29")),
    ]


def test_prediction_weighs_each_group_and_shifts_the_remaining_work_by_momentum(conn, tmp_path):
    p = predict(conn, tmp_path, fay_work(), weighted=True, current=76.0,
                groups={20: 40.0, 21: 60.0})
    # Fay's work (tests/school.py): 80, 90, 70 % at weeks 0, 1, 2 give slope -5, r²
    # 0.25; the remaining work's median due date, 10-15, is two weeks after the clock:
    # shift -5 × 0.25 × 2 = -2.5, e = 73.5. Homework (17 + 0.735 × 20) / 40 = 0.7925,
    # Tests (70 + 0.735 × 100) / 200 = 0.7175: (40 × 0.7925 + 60 × 0.7175) / 100 = 74.75.
    # Still to come: (40 × 20/40 + 60 × 100/200) / 100 = 0.5 of the grade.
    # σ of 80, 90, 70 = 10; half-width 1.96 × 0.5 × 10 × √(1/3 + 1/3) = 8.0017.
    assert (p.expected_on_remaining, p.momentum_shift, p.remaining_share) == (73.5, -2.5, 0.5)
    assert (p.graded_items, p.remaining_items, p.method) == (3, 3, "weighted-projection-v1")
    assert (p.predicted_score, p.low, p.high) == (74.75, 66.75, 82.75)


def test_prediction_without_momentum_keeps_the_current_score_on_remaining_work(conn, tmp_path):
    # Fay's work without the test, so two points: no slope, no shift. e = 76.
    # Homework (17 + 0.76 × 20) / 40 = 0.805, Tests (0 + 0.76 × 100) / 100 = 0.76:
    # (40 × 0.805 + 60 × 0.76) / 100 = 77.8. Still to come: (40 × 0.5 + 60 × 1) / 100
    # = 0.8; σ of 80, 90 = 7.071; ± 1.96 × 0.8 × 7.071 × √(1/2 + 1/3) = 10.1208.
    work = [item for item in fay_work() if item[2] != 70.0]
    p = predict(conn, tmp_path, work, weighted=True, current=76.0, groups={20: 40.0, 21: 60.0})
    assert (p.expected_on_remaining, p.momentum_shift, p.remaining_share) == (76.0, 0.0, 0.8)
    assert (p.predicted_score, p.low, p.high) == (77.8, 67.68, 87.92)


def test_prediction_by_points_counts_missing_work_as_zero(conn, tmp_path):
    items = [
        (90, 10, 8.0, False, None),
        (90, 10, 6.0, False, None),
        (90, 10, None, True, None),  # missing, ungraded: a zero
        (90, 10, None, False, None),
        (90, 10, None, False, None),
    ]
    p = predict(conn, tmp_path, items, weighted=False, current=50.0)
    # (8 + 6 + 0 + 0.5 × 20) / 50 = 48; 20/50 = 0.4 still to come; σ of 80, 60, 0 =
    # 41.633; ± 1.96 × 0.4 × 41.633 × √(1/3 + 1/2) = 29.797.
    assert (p.predicted_score, p.low, p.high, p.remaining_share) == (48.0, 18.2, 77.8, 0.4)


def test_prediction_with_nothing_left_is_the_grade_itself(conn, tmp_path):
    items = [(90, 10, 9.0, False, None), (90, 20, 13.0, False, None)]
    p = predict(conn, tmp_path, items, weighted=False, current=None)
    # 22 / 30 = 73.33, nothing to come: no interval.
    assert (p.predicted_score, p.low, p.high, p.current_score) == (73.33, 73.33, 73.33, 73.33)


def test_prediction_with_nothing_graded_and_no_current_score_says_why(conn, tmp_path):
    p = predict(conn, tmp_path, [(90, 10, None, False, None)], weighted=False, current=None)
    assert (p.predicted_score, p.low, p.high) == (None, None, None)
    assert p.note == "nothing graded yet and no current score"


def test_prediction_with_no_work_that_counts_says_why(conn, tmp_path):
    p = predict(conn, tmp_path, [], weighted=True, current=80.0)
    assert p.predicted_score is None and p.note == "no work that counts toward the grade"
    assert p.current_score == 80.0


def test_prediction_interval_stays_within_zero_and_a_hundred(conn, tmp_path):
    items = [(90, 10, 10.0, False, None), (90, 10, 0.0, False, None),
             (90, 100, None, False, None)]
    p = predict(conn, tmp_path, items, weighted=False, current=98.0)
    assert p.low is not None and p.high is not None and p.predicted_score is not None
    assert 0.0 <= p.low <= p.predicted_score <= p.high <= 100.0
    assert p.high == 100.0  # 1.96 × 0.833 × 70.7 × √(1/2 + 1) = 141 points wide, clipped


def test_predict_final_grade_reads_the_database_like_the_hand_computation(conn, synced_school):
    m = analytics.momentum(conn, FAY, C2)
    # 80, 90, 70 at weeks 0, 1, 2: slope -10 / 2 = -5, r² = 100 / (2 × 200) = 0.25.
    assert (m.slope_per_week, m.r2, m.trend) == (-5.0, 0.25, "steady")
    p = analytics.predict_final_grade(conn, FAY, C2)
    assert (p.predicted_score, p.low, p.high, p.momentum_shift) == (74.75, 66.75, 82.75, -2.5)
    assert p.current_score == 76.0
    assert (p.method, p.calibration_week) == ("weighted-projection-v1", None)


def test_prediction_of_a_student_not_actively_enrolled_is_not_found(conn, synced_school):
    for user in (EVE, TESS, 999):
        with pytest.raises(NotFoundError, match="not an active student"):
            analytics.predict_final_grade(conn, user, C1)


# -- risk ----------------------------------------------------------------------------------------


def test_risk_score_is_the_weighted_sum_of_the_factors(conn, synced_school):
    ana = next(a for a in analytics.assess_risk(conn, C1) if a.user_id == ANA)
    # score (90 - 62) / 40 = 0.7; momentum -10 a week, declining: min(1, 10/5) = 1;
    # missing 1 of 5 due (A1..A5; A6 is ahead of the clock, A8 excused) = 0.2 -> 0.5;
    # late 1 of 4 handed in = 0.25 -> 0.5; 7 days without activity -> (7 - 3) / 11.
    # 0.35 × 0.7 + 0.2 × 1 + 0.25 × 0.5 + 0.1 × 0.5 + 0.1 × 4/11 = 0.656
    assert {f.name: f.risk for f in ana.factors} == {
        "score": 0.7, "momentum": 1.0, "missing": 0.5, "late": 0.5, "inactivity": 0.364}
    assert {f.name: f.value for f in ana.factors} == {
        "score": 62.0, "momentum": -10.0, "missing": 0.2, "late": 0.25, "inactivity": 7.0}
    assert (ana.score, ana.category, ana.confidence) == (0.656, "high", 1.0)
    assert ana.reasons == ("current score 62.0%", "declining 10.0 points a week",
                           "1 of 5 due assignments missing", "1 of 4 submissions late")
    assert (ana.due, ana.missing, ana.submitted, ana.late, ana.clock) == (5, 1, 4, 1, CLOCK_1)
    assert math.isclose(sum(f.contribution for f in ana.factors), 0.6563, abs_tol=0.001)


def test_unknown_factors_add_nothing_and_lower_the_confidence(conn, synced_school):
    dee = next(a for a in analytics.assess_risk(conn, C1) if a.user_id == DEE)
    # No current score, two points (no momentum), no activity data: only missing (0 of
    # 4 due) and late (0 of 2) are known: confidence 0.25 + 0.1.
    assert (dee.score, dee.category, dee.confidence, dee.reasons) == (0.0, "low", 0.35, ())
    assert [f.name for f in dee.factors if f.risk is None] == ["score", "momentum", "inactivity"]


def test_at_risk_leaves_out_the_test_student_inactive_enrollments_and_low_risk(conn, synced_school):
    everyone = analytics.assess_risk(conn, C1)
    assert [a.user_id for a in everyone] == [ANA, BEN, CY, DEE]  # most at risk first
    assert [(a.user_id, a.category) for a in analytics.at_risk(conn, C1)] == [(ANA, "high")]
    # Ben: 0.35 × (90 - 75) / 40 = 0.131
    assert [(a.user_id, a.score) for a in analytics.at_risk(conn, C1, min_category="low")][:2] \
        == [(ANA, 0.656), (BEN, 0.131)]
    assert analytics.at_risk(conn, None, limit=1, min_category="low")[0].user_id == ANA
    assert analytics.at_risk(conn, C1, limit=0) == []


def test_at_risk_refuses_an_unknown_category_or_limit(conn, synced_school):
    with pytest.raises(InvalidQueryError, match="min_category"):
        analytics.at_risk(conn, C1, min_category="severe")
    with pytest.raises(InvalidQueryError, match="limit"):
        analytics.at_risk(conn, C1, limit=-1)


def test_objects_missing_in_layer_0_leave_the_analytics(conn, synced_school, tmp_path):
    # Canvas no longer lists Ben's enrollment nor assignment A5 (and its submissions):
    # a full sync marks them missing in layer 0; their rows stay in layer 1.
    synced_school.without("enrollments", 1002)
    synced_school.without("assignments", A5)
    synced_school.data["submissions"] = [r for r in synced_school.data["submissions"]
                                  if r["assignment_id"] != A5]
    synced_school.sync(conn, tmp_path)
    ana = next(a for a in analytics.assess_risk(conn, C1) if a.user_id == ANA)
    assert [a.user_id for a in analytics.assess_risk(conn, C1)] == [ANA, CY, DEE]
    assert (ana.due, ana.missing) == (4, 0)  # A5 no longer counts
    # The clock is now Cy's last activity (Ben's enrollment is gone): 09-28 12:00 to
    # 10-05 11:00 is 6.96 days.
    assert ana.clock == at("2024-10-05T11:00")


def test_each_sync_stores_the_risk_of_the_courses_it_changed_once_per_change(
        conn, synced_school, tmp_path):
    def stored(sync_id=None):
        return conn.execute(
            "SELECT user_id, course_id, score, category, model_version, factors "
            "FROM history.risk_assessments WHERE sync_id IS NOT DISTINCT FROM %s "
            "ORDER BY score DESC, user_id", (sync_id,)).fetchall()

    # The sync that built the school assessed every active student of both courses.
    (first,) = [r.sync_id for r in sync.list_runs(conn)]
    rows = stored(first)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows][:2] == [
        (ANA, C1, Decimal("0.656"), "high", "risk-v1"),
        (BEN, C1, Decimal("0.131"), "low", "risk-v1"),
    ]
    # the same assessments, factors and all, as the report gives a program
    assert {(r[0], r[1]): (r[2], r[3], r[5]) for r in rows} == {
        (a.user_id, a.course_id): (Decimal(str(a.score)), a.category, a.factors_json())
        for a in analytics.assess_risk(conn)}
    factors = rows[0][5]
    assert factors["score"] == {"value": 62.0, "risk": 0.7, "weight": 0.35, "contribution": 0.245}
    assert factors["reasons"][0] == "current score 62.0%"
    assert factors["counts"] == {"due": 5, "missing": 1, "submitted": 4, "late": 1}
    # Nothing changed since: nothing is appended (layer 2 holds changes only), by a
    # program asking or by an unchanged re-sync.
    assert analytics.record_risk_assessments(conn) == 0
    assert synced_school.sync(conn, tmp_path).counts["enrollments"].history == 0

    synced_school.find("enrollments", 1003)["grades"]["current_score"] = 85.0  # Cy's grade falls
    later = synced_school.sync(conn, tmp_path)
    # Cy's grades and Cy's risk: 0.35 × (90 - 85) / 40 = 0.044.
    assert later.counts["enrollments"].history == 2
    assert [(r[0], r[1], r[2]) for r in stored(later.sync_id)] == [(CY, C1, Decimal("0.044"))]
    # Undoing the sync removes its assessments with the rest of its layer 2 rows.
    sync.undo(conn, later.sync_id)
    assert stored(later.sync_id) == []
    assert analytics.record_risk_assessments(conn, C1) == 0
    # A program's own assessment carries no sync.
    synced_school.find("enrollments", 1003)["grades"]["current_score"] = 70.0
    synced_school.sync(conn, tmp_path)
    conn.execute("UPDATE canvas.enrollments SET current_score = 60 WHERE id = 1003")
    assert analytics.record_risk_assessments(conn, C1) == 1
    assert [(r[0], r[2]) for r in stored()] == [(CY, Decimal("0.263"))]


def test_time_passing_alone_appends_only_the_assessments_it_moves(conn, synced_school, tmp_path):
    # Ben is active a day later: the course's clock moves a day, and every student's days
    # without activity with it. Ana's grow from 6.96 to 7.96 days, and her inactivity
    # risk with them: her assessment changed. Cy's grow from 0.04 to 1.04 days, under the
    # 3 that count: his score, reasons and counts are what they were, and nothing of him
    # is appended (nor of Ben, nor of Dee, who has no activity on record).
    synced_school.find("enrollments", 1002)["last_activity_at"] = iso(CLOCK_1 + timedelta(days=1))
    later = synced_school.sync(conn, tmp_path)
    appended = conn.execute(
        "SELECT user_id, factors -> 'inactivity' ->> 'value' FROM history.risk_assessments "
        "WHERE sync_id = %s ORDER BY user_id", (later.sync_id,)).fetchall()
    assert appended == [(ANA, "8.0")]


# -- insights ------------------------------------------------------------------------------------


def test_performance_insights_gathers_trend_velocity_prediction_and_risk(conn, synced_school):
    insights = analytics.performance_insights(conn, ANA, C1)
    assert insights.momentum == analytics.momentum(conn, ANA, C1)
    assert insights.prediction == analytics.predict_final_grade(conn, ANA, C1)
    assert insights.risk == next(a for a in analytics.assess_risk(conn, C1) if a.user_id == ANA)
    # The 28 days before the clock (09-07 12:00 .. 10-05 12:00): handed in A2, A3, A4
    # (two hours before their due dates); due A2, A3, A4, A5 and A8 (excused work is
    # left out of the prediction's rows, so A8 is not counted): 4.
    assert insights.velocity == analytics.Velocity(window_days=28, handed_in=3, due=4,
                                                   per_week=0.75)


def test_ana_prediction_counts_her_missing_work_as_zero(conn, synced_school):
    p = analytics.predict_final_grade(conn, ANA, C1)
    # Graded: A1..A4 30 of 40, A5 missing (0 of 10): 30 of 50. Remaining: A6.
    # e = 62 - 10 × 1 × 8.07 weeks (10-05 12:00 to 12-01), capped at -25: 37.
    # (30 + 0.37 × 10) / 60 = 56.17.
    assert (p.momentum_shift, p.expected_on_remaining, p.predicted_score) == (-25.0, 37.0, 56.17)


# -- course statistics and snapshots -------------------------------------------------------------


def test_course_statistics_count_active_students_and_missing_work(conn, synced_school,
                                                                  monkeypatch):
    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")  # the tiny school's courses are small
    stats = {s.course_id: s for s in analytics.course_statistics(conn)}
    algebra = stats[C1]
    # Ana 62, Ben 75, Cy 95, Dee none: mean 77.33, median 75.
    assert (algebra.enrolled, algebra.mean_score, algebra.median_score) == (
        4, Decimal("77.33"), Decimal("75.00"))
    assert algebra.score_distribution == {"A": 1, "B": 0, "C": 1, "D": 1, "F": 0, "none": 1}
    # Due by the clock: Ana and Ben A1..A5 (5 each), Cy A0..A5 (6), Dee A1..A4 (4) = 20;
    # missing: Ana's A5 = 1.
    assert (algebra.due, algebra.missing, algebra.missing_rate) == (20, 1, Decimal("0.0500"))
    assert analytics.course_statistics(conn, C2)[0].enrolled == 1


def test_each_sync_appends_course_snapshots_only_when_the_statistics_change(conn, synced_school, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")  # the snapshots are not suppressed
    (snapshot,) = analytics.course_snapshots(conn, C1)  # by the sync that built the school
    stats = analytics.course_statistics(conn, C1)[0]
    assert (snapshot.enrolled_students, snapshot.mean_score, snapshot.median_score,
            snapshot.missing_rate, snapshot.score_distribution) == (
        stats.enrolled, stats.mean_score, stats.median_score, stats.missing_rate,
        stats.score_distribution)

    report = synced_school.sync(conn, tmp_path)  # nothing changed in Canvas
    assert report.counts["courses"].history == 0
    assert analytics.record_course_snapshots(conn, report.sync_id, [C1, C2]) == 0
    assert analytics.record_course_snapshots(conn, report.sync_id, []) == 0

    synced_school.find("enrollments", 1003)["grades"]["current_score"] = 85.0  # Cy's grade falls
    later = synced_school.sync(conn, tmp_path)
    assert later.counts["courses"].history == 1
    assert [s.mean_score for s in analytics.course_snapshots(conn, C1)] == [
        Decimal("77.33"), Decimal("74.00")]
    # Undoing the sync removes its snapshots with the rest of its layer 2 rows.
    sync.undo(conn, later.sync_id)
    assert [s.sync_id for s in analytics.course_snapshots(conn, C1)] == [snapshot.sync_id]


# -- reports through Python ----------------------------------------------------------------------


def test_run_report_returns_the_columns_and_rows_of_the_sql_file(conn, synced_school):
    report = analytics.run_report(conn, "missing_work", course_id=C1)
    assert report.columns[:4] == ("user_id", "student", "sis_user_id", "course_id")
    assert [(r["user_id"], r["assignment_id"]) for r in report.rows] == [(ANA, A5)]
    assert report.findings
    assert not analytics.run_report(conn, "course_statistics").findings


def test_run_report_refuses_unknown_reports_and_filters(conn, synced_school):
    with pytest.raises(InvalidQueryError, match="no report named"):
        analytics.run_report(conn, "drop_everything")
    with pytest.raises(InvalidQueryError, match="takes no user_id"):
        analytics.run_report(conn, "course_statistics", user_id=ANA)
    with pytest.raises(InvalidArgumentError, match="course_id: expected a Canvas id"):
        analytics.run_report(conn, "missing_work", course_id="1; DROP TABLE x")  # type: ignore[arg-type]


def test_every_report_takes_exactly_the_filters_it_declares():
    from tracker.sqlfiles import sql

    for name, takes in analytics.REPORTS.items():
        # min_group is no filter: run_report passes TRACKER_MIN_GROUP (tracker.privacy)
        assert set(getattr(sql.reports, name).params) - {"min_group"} == set(takes), name
    assert "min_group" in sql.reports.course_statistics.params
    assert {s.name for s in sql.reports} == set(analytics.REPORTS)
