"""A tiny school built by hand in the Canvas REST API's shapes, whose answers were
worked out on paper (tests/test_analytics.py, test_queries.py and test_reports.py ask
it questions); conftest's ``synced_school`` syncs it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bundles import write_bundle  # tests/ is on sys.path (rootdir conftest, no package)

from tracker import sync

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
