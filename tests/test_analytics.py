"""tracker.analytics: momentum, prediction, risk, insights and snapshots, on known answers.

Each test builds a tiny school by hand (:class:`School`, in the Canvas API's own shapes,
synced with the functions a user calls) whose answers were worked out on paper; the
arithmetic is in the comments. Dates are in 2024 so that every course's clock (the
latest activity of its students) is in the past whatever day the tests run.

:class:`School` is shared with tests/test_queries.py and tests/test_reports.py.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bundles import write_bundle  # tests/ is on sys.path (rootdir conftest, no package)

from tracker import analytics, sync
from tracker.analytics import WorkItem, project_final_grade
from tracker.errors import InvalidArgumentError, InvalidQueryError, NotFoundError

KINDS = ("terms", "courses", "sections", "users", "assignment_groups", "assignments",
         "enrollments", "submissions")


def at(day: str) -> datetime:
    """``"2024-09-02"`` or ``"2024-09-02T12:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class School:
    """A tiny school in the Canvas REST API's shapes, built a call at a time, then synced.

    Every course gets one section (id ``course × 10``); ids are the caller's.
    """

    def __init__(self) -> None:
        self.data: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        self.data["terms"].append({"id": 1, "name": "Fall 2024", "workflow_state": "active"})
        self.syncs = 0

    def course(self, course_id: int, name: str = "Course", *, weighted: bool = False) -> int:
        self.data["courses"].append({
            "id": course_id, "name": name, "course_code": f"C-{course_id}",
            "enrollment_term_id": 1, "workflow_state": "available",
            "apply_assignment_group_weights": weighted,
        })
        self.data["sections"].append({"id": course_id * 10, "course_id": course_id,
                                      "name": f"{name} (section)"})
        return course_id

    def user(self, user_id: int, name: str, *, sortable: str | None = None,
             sis: str | None = None) -> int:
        self.data["users"].append({"id": user_id, "name": name,
                                   "sortable_name": sortable or name, "sis_user_id": sis})
        return user_id

    def group(self, group_id: int, course_id: int, name: str = "Work",
              weight: float | None = None) -> int:
        self.data["assignment_groups"].append({"id": group_id, "course_id": course_id,
                                               "name": name, "group_weight": weight})
        return group_id

    def assignment(self, assignment_id: int, course_id: int, group_id: int, *,
                   points: float | None = 10.0, due: datetime | None = None,
                   name: str | None = None, grading_type: str = "points", **extra: Any) -> int:
        self.data["assignments"].append({
            "id": assignment_id, "course_id": course_id, "assignment_group_id": group_id,
            "name": name or f"Assignment {assignment_id}", "points_possible": points,
            "grading_type": grading_type, "due_at": iso(due), "published": True,
            "workflow_state": "published", "omit_from_final_grade": False, **extra,
        })
        return assignment_id

    def enroll(self, enrollment_id: int, user_id: int, course_id: int, *,
               type: str = "StudentEnrollment", state: str = "active",
               current: float | None = None, final: float | None = None,
               last_activity: datetime | None = None, role: str | None = None) -> int:
        record: dict[str, Any] = {
            "id": enrollment_id, "user_id": user_id, "course_id": course_id,
            "course_section_id": course_id * 10, "type": type,
            "role": role or ("StudentEnrollment" if type == "StudentViewEnrollment" else type),
            "enrollment_state": state, "last_activity_at": iso(last_activity),
        }
        if type in ("StudentEnrollment", "StudentViewEnrollment"):
            record["grades"] = {"current_score": current, "final_score": final,
                                "current_grade": None, "final_grade": None}
        self.data["enrollments"].append(record)
        return enrollment_id

    def submit(self, submission_id: int, user_id: int, assignment_id: int, *,
               score: float | None = None, state: str | None = None,
               submitted: datetime | None = None, graded: datetime | None = None,
               late: bool = False, missing: bool = False, excused: bool = False,
               cached_due: datetime | None = None, late_policy_status: str | None = None) -> int:
        if state is None:
            state = ("graded" if score is not None or excused
                     else "submitted" if submitted else "unsubmitted")
        self.data["submissions"].append({
            "id": submission_id, "user_id": user_id, "assignment_id": assignment_id,
            "score": score, "grade": None if score is None else str(score),
            "workflow_state": state, "submitted_at": iso(submitted), "graded_at": iso(graded),
            "late": late, "missing": missing, "excused": excused,
            "cached_due_date": iso(cached_due), "late_policy_status": late_policy_status,
        })
        return submission_id

    def without(self, kind: str, *ids: int) -> None:
        self.data[kind] = [r for r in self.data[kind] if r["id"] not in ids]

    def find(self, kind: str, record_id: int) -> dict[str, Any]:
        return next(r for r in self.data[kind] if r["id"] == record_id)

    def sync(self, conn: Any, tmp_path: Path) -> sync.SyncReport:
        self.syncs += 1
        path = write_bundle(tmp_path / f"bundle-{self.syncs}", self.data)
        return sync.sync_bundle(conn, path)


# -- the school of these tests -------------------------------------------------------------------
#
# Course 1 (points, not weighted). Clock: Ben's last activity, 2024-10-05 12:00.
# Assignments of 10 points due 09-02, 09-09, 09-16, 09-23 (A1..A4), 09-30 (A5), 12-01
# (A6, ahead of the clock), one due 2024-07-01 (A0, more than eight weeks before the
# clock), one not graded (A7) and one excused for Ana (A8, due 09-20).
#   Ana: 9, 8, 7, 6 on A1..A4 (90, 80, 70, 60 %: -10 a week, r² 1: declining); A4 late;
#        A5 missing; current score 62; last seen 09-28.
#   Ben: 7, 8, 7, 8 (70, 80, 70, 80 %: slope 2, r² 0.2, t² 0.5: steady); current 75.
#   Cy:  5, 6, 7, 8 (+10 a week: improving); A0 scored 0 (outside the window); current 95.
#   Dee: 8, 8 on A1, A2 only (two points: no slope); A3, A4 unsubmitted; no current
#        score, no activity.
#   Eve: an inactive enrollment; Tess: the test student; both left out.
# Course 2 (weighted: Homework 40, Tests 60). Clock: Fay's last activity, 2024-10-01.
#   Fay: HW 8/10 (09-10), 9/10 (09-17), Test 70/100 (09-24) graded; HW 10 (10-08),
#        HW 10 (10-15), Test 100 (10-29) to come; current score 76.

C1, C2 = 1, 2
ANA, BEN, CY, DEE, EVE, TESS, FAY = 11, 12, 13, 14, 15, 16, 17
A0, A1, A2, A3, A4, A5, A6, A7, A8 = 100, 101, 102, 103, 104, 105, 106, 107, 108
H1, H2, T1, H3, H4, T2 = 201, 202, 203, 204, 205, 206
CLOCK_1, CLOCK_2 = at("2024-10-05T12:00"), at("2024-10-01")


def build_school() -> School:
    s = School()
    s.course(C1, "Algebra")
    s.course(C2, "Biology", weighted=True)
    for uid, name in ((ANA, "Ana Alves"), (BEN, "Ben Brown"), (CY, "Cy Cross"),
                      (DEE, "Dee Diaz"), (EVE, "Eve Evans"), (TESS, "Test Student"),
                      (FAY, "Fay Fox")):
        surname, first = name.split()[1], name.split()[0]
        s.user(uid, name, sortable=f"{surname}, {first}", sis=f"S{uid}")
    s.group(10, C1, "Work")
    dues = {A0: at("2024-07-01"), A1: at("2024-09-02"), A2: at("2024-09-09"),
            A3: at("2024-09-16"), A4: at("2024-09-23"), A5: at("2024-09-30"),
            A6: at("2024-12-01"), A8: at("2024-09-20")}
    for aid, due in dues.items():
        s.assignment(aid, C1, 10, due=due)
    s.assignment(A7, C1, 10, points=None, grading_type="not_graded", due=at("2024-09-25"))

    s.enroll(1001, ANA, C1, current=62.0, last_activity=at("2024-09-28T12:00"))
    s.enroll(1002, BEN, C1, current=75.0, last_activity=CLOCK_1)
    s.enroll(1003, CY, C1, current=95.0, last_activity=at("2024-10-05T11:00"))
    s.enroll(1004, DEE, C1)
    s.enroll(1005, EVE, C1, state="inactive", current=10.0, last_activity=at("2024-10-20"))
    s.enroll(1006, TESS, C1, type="StudentViewEnrollment", current=0.0,
             last_activity=at("2024-10-21"))

    def graded(sid: int, uid: int, aid: int, score: float, **kw: Any) -> None:
        due = dues[aid]
        s.submit(sid, uid, aid, score=score, submitted=due - timedelta(hours=2),
                 graded=due + timedelta(days=1), **kw)

    sid = 5000
    for uid, scores in ((ANA, (9, 8, 7, 6)), (BEN, (7, 8, 7, 8)), (CY, (5, 6, 7, 8))):
        for aid, score in zip((A1, A2, A3, A4), scores, strict=True):
            sid += 1
            graded(sid, uid, aid, float(score), late=(uid == ANA and aid == A4))
        for aid in (A5, A6):
            sid += 1
            s.submit(sid, uid, aid, missing=(uid == ANA and aid == A5))
    s.submit(5101, CY, A0, score=0.0, graded=at("2024-07-02"))
    s.submit(5102, ANA, A7, submitted=at("2024-09-24"))
    s.submit(5103, ANA, A8, excused=True)
    s.submit(5104, DEE, A1, score=8.0, submitted=at("2024-09-01"), graded=at("2024-09-03"))
    s.submit(5105, DEE, A2, score=8.0, submitted=at("2024-09-08"), graded=at("2024-09-10"))
    s.submit(5106, DEE, A3)
    s.submit(5107, DEE, A4)
    s.submit(5108, EVE, A1, score=0.0, missing=True, graded=at("2024-09-03"))
    s.submit(5109, TESS, A1, missing=True)

    s.group(20, C2, "Homework", 40.0)
    s.group(21, C2, "Tests", 60.0)
    s.assignment(H1, C2, 20, points=10, due=at("2024-09-10"))
    s.assignment(H2, C2, 20, points=10, due=at("2024-09-17"))
    s.assignment(T1, C2, 21, points=100, due=at("2024-09-24"))
    s.assignment(H3, C2, 20, points=10, due=at("2024-10-08"))
    s.assignment(H4, C2, 20, points=10, due=at("2024-10-15"))
    s.assignment(T2, C2, 21, points=100, due=at("2024-10-29"))
    s.enroll(2001, FAY, C2, current=76.0, last_activity=CLOCK_2)
    for sub_id, aid, score in ((6001, H1, 8.0), (6002, H2, 9.0), (6003, T1, 70.0)):
        due = next(a for a in s.data["assignments"] if a["id"] == aid)["due_at"]
        s.submit(sub_id, FAY, aid, score=score, submitted=datetime.fromisoformat(due),
                 graded=datetime.fromisoformat(due) + timedelta(days=1))
    for sub_id, aid in ((6004, H3), (6005, H4), (6006, T2)):
        s.submit(sub_id, FAY, aid)
    return s


@pytest.fixture
def school(conn, tmp_path) -> School:
    s = build_school()
    s.sync(conn, tmp_path)
    return s


# -- momentum ------------------------------------------------------------------------------------


def test_momentum_is_the_least_squares_slope_of_the_recent_graded_percentages(conn, school):
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


def test_a_noisy_slope_is_steady_and_a_clear_rise_is_improving(conn, school):
    ben = analytics.momentum(conn, BEN, C1)
    # 70, 80, 70, 80: slope 10/5 = 2 a week, r² = 10² / (5 × 100) = 0.2; its t² is
    # 0.2 × 2 / 0.8 = 0.5, far below 4: noise, so steady.
    assert (ben.slope_per_week, ben.r2, ben.trend) == (2.0, 0.2, "steady")
    cy = analytics.momentum(conn, CY, C1)
    # 50, 60, 70, 80; Cy's 0 on A0 (July) is more than eight weeks before the clock.
    assert (cy.slope_per_week, cy.r2, cy.trend, len(cy.points)) == (10.0, 1.0, "improving", 4)


def test_fewer_than_three_points_give_no_slope(conn, school):
    dee = analytics.momentum(conn, DEE, C1)
    assert (dee.slope_per_week, dee.r2, dee.trend, len(dee.points)) == (None, None, "steady", 2)


def test_momentum_of_a_student_not_actively_enrolled_is_not_found(conn, school):
    for user in (EVE, TESS, 999):
        with pytest.raises(NotFoundError, match="not an active student"):
            analytics.momentum(conn, user, C1)


def test_course_momentum_lists_active_students_most_declining_first(conn, school):
    found = analytics.course_momentum(conn, C1)
    assert [m.user_id for m in found] == [ANA, BEN, CY, DEE]


# -- prediction ----------------------------------------------------------------------------------


def fay_work() -> list[WorkItem]:
    hw, tests = (20, 40.0), (21, 60.0)
    return [
        WorkItem(*hw, 10, 8.0, True, False, at("2024-09-10")),
        WorkItem(*hw, 10, 9.0, True, False, at("2024-09-17")),
        WorkItem(*tests, 100, 70.0, True, False, at("2024-09-24")),
        WorkItem(*hw, 10, None, False, False, at("2024-10-08")),
        WorkItem(*hw, 10, None, False, False, at("2024-10-15")),
        WorkItem(*tests, 100, None, False, False, at("2024-10-29")),
    ]


def test_prediction_without_momentum_weighs_each_group(conn):
    p = project_final_grade(fay_work(), weighted=True, current_score=76.0)
    # e = 76. Homework: (17 + 0.76 × 20) / 40 = 0.805; Tests: (70 + 0.76 × 100) / 200 = 0.73.
    # Final: (40 × 0.805 + 60 × 0.73) / 100 = 76.0.
    # Still to come: (40 × 20/40 + 60 × 100/200) / 100 = 0.5 of the grade.
    # σ of 80, 90, 70 = 10; half-width 1.96 × 0.5 × 10 × √(1/3 + 1/3) = 8.0017.
    assert (p.predicted_score, p.low, p.high) == (76.0, 68.0, 84.0)
    assert (p.expected_on_remaining, p.momentum_shift, p.remaining_share) == (76.0, 0.0, 0.5)
    assert (p.graded_items, p.remaining_items, p.method) == (3, 3, "weighted-projection-v1")


def test_prediction_shifts_the_remaining_work_by_momentum(conn):
    p = project_final_grade(fay_work(), weighted=True, current_score=76.0,
                            slope_per_week=-5.0, r2=0.25, clock=CLOCK_2)
    # Median remaining due date 10-15, two weeks after the clock: shift -5 × 0.25 × 2 = -2.5,
    # e = 73.5. Homework (17 + 14.7) / 40 = 0.7925, Tests (70 + 73.5) / 200 = 0.7175:
    # (40 × 0.7925 + 60 × 0.7175) / 100 = 74.75, ± 8.0017.
    assert (p.predicted_score, p.low, p.high) == (74.75, 66.75, 82.75)
    assert (p.expected_on_remaining, p.momentum_shift) == (73.5, -2.5)


def test_prediction_by_points_counts_missing_work_as_zero():
    items = [
        WorkItem(None, None, 10, 8.0, True, False),
        WorkItem(None, None, 10, 6.0, True, False),
        WorkItem(None, None, 10, None, False, True),  # missing, ungraded: a zero
        WorkItem(None, None, 10, None, False, False),
        WorkItem(None, None, 10, None, False, False),
    ]
    p = project_final_grade(items, weighted=False, current_score=50.0)
    # (8 + 6 + 0 + 0.5 × 20) / 50 = 48; 20/50 = 0.4 still to come; σ of 80, 60, 0 =
    # 41.633; ± 1.96 × 0.4 × 41.633 × √(1/3 + 1/2) = 29.797.
    assert (p.predicted_score, p.low, p.high, p.remaining_share) == (48.0, 18.2, 77.8, 0.4)


def test_prediction_with_nothing_left_is_the_grade_itself():
    items = [WorkItem(None, None, 10, 9.0, True, False),
             WorkItem(None, None, 20, 13.0, True, False)]
    p = project_final_grade(items, weighted=False, current_score=None)
    # 22 / 30 = 73.33, nothing to come: no interval.
    assert (p.predicted_score, p.low, p.high, p.current_score) == (73.33, 73.33, 73.33, 73.33)


def test_prediction_with_nothing_to_go_on_says_why():
    p = project_final_grade([WorkItem(None, None, 10, None, False, False)], weighted=False,
                            current_score=None)
    assert (p.predicted_score, p.low, p.high) == (None, None, None)
    assert p.note == "nothing graded yet and no current score"
    empty = project_final_grade([], weighted=True, current_score=80.0)
    assert empty.predicted_score is None and empty.note == "no work that counts toward the grade"


def test_prediction_interval_stays_within_zero_and_a_hundred():
    items = [WorkItem(None, None, 10, 10.0, True, False),
             WorkItem(None, None, 10, 0.0, True, False),
             WorkItem(None, None, 100, None, False, False)]
    p = project_final_grade(items, weighted=False, current_score=98.0)
    assert p.low is not None and p.high is not None
    assert 0.0 <= p.low <= p.predicted_score <= p.high <= 100.0


def test_predict_final_grade_reads_the_database_like_the_hand_computation(conn, school):
    m = analytics.momentum(conn, FAY, C2)
    # 80, 90, 70 at weeks 0, 1, 2: slope -10 / 2 = -5, r² = 100 / (2 × 200) = 0.25.
    assert (m.slope_per_week, m.r2, m.trend) == (-5.0, 0.25, "steady")
    p = analytics.predict_final_grade(conn, FAY, C2)
    assert (p.predicted_score, p.low, p.high, p.momentum_shift) == (74.75, 66.75, 82.75, -2.5)
    assert p.current_score == 76.0


# -- risk ----------------------------------------------------------------------------------------


def test_risk_score_is_the_weighted_sum_of_the_factors(conn, school):
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


def test_unknown_factors_add_nothing_and_lower_the_confidence(conn, school):
    dee = next(a for a in analytics.assess_risk(conn, C1) if a.user_id == DEE)
    # No current score, two points (no momentum), no activity data: only missing (0 of
    # 4 due) and late (0 of 2) are known: confidence 0.25 + 0.1.
    assert (dee.score, dee.category, dee.confidence, dee.reasons) == (0.0, "low", 0.35, ())
    assert [f.name for f in dee.factors if f.risk is None] == ["score", "momentum", "inactivity"]


def test_at_risk_leaves_out_the_test_student_inactive_enrollments_and_low_risk(conn, school):
    everyone = analytics.assess_risk(conn, C1)
    assert [a.user_id for a in everyone] == [ANA, BEN, CY, DEE]  # most at risk first
    assert [(a.user_id, a.category) for a in analytics.at_risk(conn, C1)] == [(ANA, "high")]
    # Ben: 0.35 × (90 - 75) / 40 = 0.131
    assert [(a.user_id, a.score) for a in analytics.at_risk(conn, C1, min_category="low")][:2] \
        == [(ANA, 0.656), (BEN, 0.131)]
    assert analytics.at_risk(conn, None, limit=1, min_category="low")[0].user_id == ANA
    assert analytics.at_risk(conn, C1, limit=0) == []


def test_at_risk_refuses_an_unknown_category_or_limit(conn, school):
    with pytest.raises(InvalidQueryError, match="min_category"):
        analytics.at_risk(conn, C1, min_category="severe")
    with pytest.raises(InvalidQueryError, match="limit"):
        analytics.at_risk(conn, C1, limit=-1)


def test_objects_missing_in_layer_0_leave_the_analytics(conn, school, tmp_path):
    # Canvas no longer lists Ben's enrollment nor assignment A5 (and its submissions):
    # a full sync marks them missing in layer 0; their rows stay in layer 1.
    school.without("enrollments", 1002)
    school.without("assignments", A5)
    school.data["submissions"] = [r for r in school.data["submissions"]
                                  if r["assignment_id"] != A5]
    school.sync(conn, tmp_path)
    ana = next(a for a in analytics.assess_risk(conn, C1) if a.user_id == ANA)
    assert [a.user_id for a in analytics.assess_risk(conn, C1)] == [ANA, CY, DEE]
    assert (ana.due, ana.missing) == (4, 0)  # A5 no longer counts
    # The clock is now Cy's last activity (Ben's enrollment is gone): 09-28 12:00 to
    # 10-05 11:00 is 6.96 days.
    assert ana.clock == at("2024-10-05T11:00")


def test_each_sync_stores_the_risk_of_the_courses_it_changed_once_per_change(
        conn, school, tmp_path):
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
    assert factors["score"] == {"value": 62.0, "risk": 0.7, "weight": 0.35}
    assert factors["reasons"][0] == "current score 62.0%"
    assert factors["counts"] == {"due": 5, "missing": 1, "submitted": 4, "late": 1}
    # Nothing changed since: nothing is appended (layer 2 holds changes only), by a
    # program asking or by an unchanged re-sync.
    assert analytics.record_risk_assessments(conn) == 0
    assert school.sync(conn, tmp_path).counts["enrollments"].history == 0

    school.find("enrollments", 1003)["grades"]["current_score"] = 85.0  # Cy's grade falls
    later = school.sync(conn, tmp_path)
    # Cy's grades and Cy's risk: 0.35 × (90 - 85) / 40 = 0.044.
    assert later.counts["enrollments"].history == 2
    assert [(r[0], r[1], r[2]) for r in stored(later.sync_id)] == [(CY, C1, Decimal("0.044"))]
    # Undoing the sync removes its assessments with the rest of its layer 2 rows.
    sync.undo(conn, later.sync_id)
    assert stored(later.sync_id) == []
    assert analytics.record_risk_assessments(conn, C1) == 0
    # A program's own assessment carries no sync.
    school.find("enrollments", 1003)["grades"]["current_score"] = 70.0
    school.sync(conn, tmp_path)
    conn.execute("UPDATE canvas.enrollments SET current_score = 60 WHERE id = 1003")
    assert analytics.record_risk_assessments(conn, C1) == 1
    assert [(r[0], r[2]) for r in stored()] == [(CY, Decimal("0.263"))]


def test_time_passing_alone_appends_only_the_assessments_it_moves(conn, school, tmp_path):
    # Ben is active a day later: the course's clock moves a day, and every student's days
    # without activity with it. Ana's grow from 6.96 to 7.96 days, and her inactivity
    # risk with them: her assessment changed. Cy's grow from 0.04 to 1.04 days, under the
    # 3 that count: his score, reasons and counts are what they were, and nothing of him
    # is appended (nor of Ben, nor of Dee, who has no activity on record).
    school.find("enrollments", 1002)["last_activity_at"] = iso(CLOCK_1 + timedelta(days=1))
    later = school.sync(conn, tmp_path)
    appended = conn.execute(
        "SELECT user_id, factors -> 'inactivity' ->> 'value' FROM history.risk_assessments "
        "WHERE sync_id = %s ORDER BY user_id", (later.sync_id,)).fetchall()
    assert appended == [(ANA, "8.0")]


# -- insights ------------------------------------------------------------------------------------


def test_performance_insights_gathers_trend_velocity_prediction_and_risk(conn, school):
    insights = analytics.performance_insights(conn, ANA, C1)
    assert insights.momentum == analytics.momentum(conn, ANA, C1)
    assert insights.prediction == analytics.predict_final_grade(conn, ANA, C1)
    assert insights.risk == next(a for a in analytics.assess_risk(conn, C1) if a.user_id == ANA)
    # The 28 days before the clock (09-07 12:00 .. 10-05 12:00): handed in A2, A3, A4
    # (two hours before their due dates); due A2, A3, A4, A5 and A8 (excused work is
    # left out of the prediction's rows, so A8 is not counted): 4.
    assert insights.velocity == analytics.Velocity(window_days=28, handed_in=3, due=4,
                                                   per_week=0.75)


def test_ana_prediction_counts_her_missing_work_as_zero(conn, school):
    p = analytics.predict_final_grade(conn, ANA, C1)
    # Graded: A1..A4 30 of 40, A5 missing (0 of 10): 30 of 50. Remaining: A6.
    # e = 62 - 10 × 1 × 8.07 weeks (10-05 12:00 to 12-01), capped at -25: 37.
    # (30 + 0.37 × 10) / 60 = 56.17.
    assert (p.momentum_shift, p.expected_on_remaining, p.predicted_score) == (-25.0, 37.0, 56.17)


# -- course statistics and snapshots -------------------------------------------------------------


def test_course_statistics_count_active_students_and_missing_work(conn, school):
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


def test_each_sync_appends_course_snapshots_only_when_the_statistics_change(conn, school, tmp_path):
    (snapshot,) = analytics.course_snapshots(conn, C1)  # by the sync that built the school
    stats = analytics.course_statistics(conn, C1)[0]
    assert (snapshot.enrolled_students, snapshot.mean_score, snapshot.median_score,
            snapshot.missing_rate, snapshot.score_distribution) == (
        stats.enrolled, stats.mean_score, stats.median_score, stats.missing_rate,
        stats.score_distribution)

    report = school.sync(conn, tmp_path)  # nothing changed in Canvas
    assert report.counts["courses"].history == 0
    assert analytics.record_course_snapshots(conn, report.sync_id, [C1, C2]) == 0
    assert analytics.record_course_snapshots(conn, report.sync_id, []) == 0

    school.find("enrollments", 1003)["grades"]["current_score"] = 85.0  # Cy's grade falls
    later = school.sync(conn, tmp_path)
    assert later.counts["courses"].history == 1
    assert [s.mean_score for s in analytics.course_snapshots(conn, C1)] == [
        Decimal("77.33"), Decimal("74.00")]
    # Undoing the sync removes its snapshots with the rest of its layer 2 rows.
    sync.undo(conn, later.sync_id)
    assert [s.sync_id for s in analytics.course_snapshots(conn, C1)] == [snapshot.sync_id]


# -- reports through Python ----------------------------------------------------------------------


def test_run_report_returns_the_columns_and_rows_of_the_sql_file(conn, school):
    report = analytics.run_report(conn, "missing_work", course_id=C1)
    assert report.columns[:4] == ("user_id", "student", "sis_user_id", "course_id")
    assert [(r["user_id"], r["assignment_id"]) for r in report.rows] == [(ANA, A5)]
    assert report.findings
    assert not analytics.run_report(conn, "course_statistics").findings


def test_run_report_refuses_unknown_reports_and_filters(conn, school):
    with pytest.raises(InvalidQueryError, match="no report named"):
        analytics.run_report(conn, "drop_everything")
    with pytest.raises(InvalidQueryError, match="takes no user_id"):
        analytics.run_report(conn, "course_statistics", user_id=ANA)
    with pytest.raises(InvalidArgumentError, match="course_id: expected a Canvas id"):
        analytics.run_report(conn, "missing_work", course_id="1; DROP TABLE x")  # type: ignore[arg-type]


def test_every_report_takes_exactly_the_filters_it_declares():
    from tracker.sqlfiles import sql

    for name, takes in analytics.REPORTS.items():
        assert set(getattr(sql.reports, name).params) == set(takes), name
    assert {s.name for s in sql.reports} == set(analytics.REPORTS)
