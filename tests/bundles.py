"""Small Canvas bundles for the sync tests, built from Python lists of dicts.

A bundle is a directory of ``<kind>.ndjson`` files, one Canvas API object a line
(see ``tracker.bundle``). :func:`write_bundle` writes one from a mapping of kind to
objects; :func:`tiny_institution` is the default data, a small school in the REST
API's own shapes, with the awkward cases a sync must get right:

- a shard-prefixed user id (``"1~1001"``, the global id 10000000001001), referenced
  both in its short form and as the global number;
- assignment groups without ``course_id`` (Canvas leaves it out);
- assignments whose ``points_possible`` is null and 0, and five grading types;
- enrollments with nested ``grades``: students, teachers (no grades) and the test
  student (``StudentViewEnrollment``); one user enrolled twice in one course, in two
  sections;
- submissions: an excused one with a null score, one without the ``score``/``grade``
  keys at all (hidden for lack of permission), timestamps with an offset.

:func:`large_bundle` writes a bigger bundle (tens of thousands of submissions) for
tests that need a sync to take a while.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from canvas_server import CanvasServer

Bundle = dict[str, list[dict[str, Any]]]

#: The global id of the shard-prefixed user "1~1001" (shard 1 x 10^13 + 1001).
SHARD_USER = 10000000001001

TERM = 1
ALGEBRA, BIOLOGY = 101, 102
ALGEBRA_A, ALGEBRA_B, BIOLOGY_MAIN = 1011, 1012, 1021
ANA, BEN, TEACHER, TEST_STUDENT = 1, 2, 9, 99


def write_bundle(directory: Path, data: Mapping[str, Iterable[Mapping[str, Any]]]) -> Path:
    """Write ``data`` (kind -> objects) as ``<kind>.ndjson`` files into ``directory``.

    Only the kinds present in ``data`` get a file; an empty list gives an empty file.
    The directory is created if need be; returns it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for kind, objects in data.items():
        lines = b"".join(orjson.dumps(obj) + b"\n" for obj in objects)
        (directory / f"{kind}.ndjson").write_bytes(lines)
    return directory


def find(data: Bundle, kind: str, canvas_id: Any) -> dict[str, Any]:
    """The object of ``kind`` whose id is ``canvas_id`` (for tests that change one)."""
    for obj in data[kind]:
        if obj["id"] == canvas_id:
            return obj
    raise KeyError(f"no {kind} with id {canvas_id!r}")


def without(data: Bundle, kind: str, *canvas_ids: Any) -> Bundle:
    """A copy of ``data`` without the objects of ``kind`` whose ids are given."""
    out = copy.deepcopy(data)
    out[kind] = [obj for obj in out[kind] if obj["id"] not in canvas_ids]
    return out


def global_id(canvas_id: Any) -> int:
    """A Canvas id as tracker stores it: ``"1~1001"`` -> 10000000001001, ``"42"`` -> 42."""
    if isinstance(canvas_id, str) and "~" in canvas_id:
        shard, local = canvas_id.split("~")
        return int(shard) * 10**13 + int(local)
    return int(canvas_id)


def course_part(data: Bundle, course_id: int) -> Bundle:
    """What Canvas lists for one course of ``data``: its course, sections, the users
    enrolled in it, its groups and assignments, enrollments and submissions (and the
    term, which every course here shares)."""
    assignments = [a for a in data["assignments"] if a["course_id"] == course_id]
    assignment_ids = {a["id"] for a in assignments}
    group_ids = {a["assignment_group_id"] for a in assignments}
    enrollments = [e for e in data["enrollments"] if e["course_id"] == course_id]
    user_ids = {global_id(e["user_id"]) for e in enrollments}
    return copy.deepcopy({
        "terms": data["terms"],
        "courses": [c for c in data["courses"] if c["id"] == course_id],
        "sections": [s for s in data["sections"] if s["course_id"] == course_id],
        "users": [u for u in data["users"] if global_id(u["id"]) in user_ids],
        "assignment_groups": [g for g in data["assignment_groups"] if g["id"] in group_ids],
        "assignments": assignments,
        "enrollments": enrollments,
        "submissions": [s for s in data["submissions"] if s["assignment_id"] in assignment_ids],
    })


def _grades(current: float | None, final: float | None, letter: str | None) -> dict[str, Any]:
    return {
        "html_url": "https://canvas.example.edu/courses/x/grades",
        "current_score": current,
        "final_score": final,
        "current_grade": letter,
        "final_grade": letter,
        "unposted_current_score": current,
        "unposted_final_score": final,
        "unposted_current_grade": letter,
        "unposted_final_grade": letter,
    }


def tiny_institution() -> Bundle:
    """A small school, freshly built on every call (tests may change it at will).

    One term; courses 101 (Algebra, sections 1011 and 1012) and 102 (Biology,
    section 1021); users Ana (1), Ben (2), Cy ("1~1001"), a teacher (9) and the
    test student (99). Counts: 1 term, 2 courses, 3 sections, 5 users, 3 assignment
    groups, 5 assignments, 8 enrollments (6 of student types), 7 submissions.
    """
    terms: list[dict[str, Any]] = [
        {
            "id": TERM,
            "name": "Fall 2026",
            "start_at": "2026-09-01T00:00:00Z",
            "end_at": None,
            "created_at": "2026-05-01T12:00:00Z",
            "workflow_state": "active",
            "grading_period_group_id": None,
        },
    ]
    courses: list[dict[str, Any]] = [
        {
            "id": ALGEBRA,
            "name": "Algebra I",
            "course_code": "ALG-1",
            "uuid": "alg1uuid",
            "account_id": 1,
            "root_account_id": 1,
            "enrollment_term_id": TERM,
            "grading_standard_id": None,
            "start_at": "2026-09-01T08:00:00Z",
            "end_at": None,
            "created_at": "2026-05-02T12:00:00Z",
            "time_zone": "America/Denver",
            "default_view": "modules",
            "workflow_state": "available",
            "hide_final_grades": False,
            "apply_assignment_group_weights": True,
            "is_public": False,
        },
        {
            "id": BIOLOGY,
            "name": "Biology",
            "course_code": "BIO",
            "account_id": 1,
            "root_account_id": 1,
            "enrollment_term_id": TERM,
            "workflow_state": "available",
        },
    ]
    sections: list[dict[str, Any]] = [
        {"id": ALGEBRA_A, "course_id": ALGEBRA, "name": "Algebra A", "sis_section_id": None},
        {"id": ALGEBRA_B, "course_id": ALGEBRA, "name": "Algebra B", "sis_section_id": None},
        {"id": BIOLOGY_MAIN, "course_id": BIOLOGY, "name": "Biology", "sis_section_id": None},
    ]
    users: list[dict[str, Any]] = [
        {"id": ANA, "name": "Ana Alves", "sortable_name": "Alves, Ana", "short_name": "Ana",
         "email": "ana@example.edu", "created_at": "2026-05-03T09:00:00Z"},
        {"id": BEN, "name": "Ben Brown", "sortable_name": "Brown, Ben", "short_name": "Ben",
         "created_at": "2026-05-03T09:00:00Z"},  # no email: the token may not read it
        {"id": "1~1001", "name": "Cy Cross", "sortable_name": "Cross, Cy", "short_name": "Cy",
         "created_at": "2026-05-03T09:00:00-06:00"},
        {"id": TEACHER, "name": "Tess Teacher", "sortable_name": "Teacher, Tess",
         "short_name": "Ms T", "login_id": "tess"},
        {"id": TEST_STUDENT, "name": "Test Student", "sortable_name": "Student, Test",
         "short_name": "Test Student"},
    ]
    # No course_id: Canvas leaves it out of a group (the course is the endpoint's).
    assignment_groups: list[dict[str, Any]] = [
        {"id": 201, "name": "Homework", "position": 1, "group_weight": 40.0,
         "rules": {"drop_lowest": 1}, "sis_source_id": None, "integration_data": {}},
        {"id": 202, "name": "Exams", "position": 2, "group_weight": 60.0, "rules": {}},
        {"id": 203, "name": "Labs", "position": 1, "group_weight": 0, "rules": {}},
    ]
    assignments: list[dict[str, Any]] = [
        {"id": 301, "course_id": ALGEBRA, "assignment_group_id": 201, "name": "Fractions",
         "position": 1, "points_possible": 10.0, "grading_type": "points",
         "submission_types": ["online_upload"], "due_at": "2026-09-15T23:59:00-06:00",
         "lock_at": None, "unlock_at": None, "published": True, "workflow_state": "published",
         "omit_from_final_grade": False, "description": "<p>Do the <b>fractions</b>.</p>"},
        {"id": 302, "course_id": ALGEBRA, "assignment_group_id": 202, "name": "Reflection",
         "position": 2, "points_possible": None, "grading_type": "not_graded",
         "submission_types": ["online_text_entry"], "due_at": None, "published": True,
         "workflow_state": "published"},
        {"id": 303, "course_id": ALGEBRA, "assignment_group_id": 201, "name": "Attendance",
         "position": 3, "points_possible": 0, "grading_type": "pass_fail",
         "submission_types": ["none"], "due_at": "2026-09-20T06:00:00Z", "published": True,
         "workflow_state": "published"},
        {"id": 304, "course_id": BIOLOGY, "assignment_group_id": 203, "name": "Cells lab",
         "position": 1, "points_possible": 100, "grading_type": "letter_grade",
         "submission_types": ["online_upload"], "due_at": "2026-09-22T18:00:00Z",
         "published": True, "workflow_state": "published"},
        {"id": 305, "course_id": BIOLOGY, "assignment_group_id": 203, "name": "Microscope quiz",
         "position": 2, "points_possible": 20, "grading_type": "percent",
         "submission_types": ["online_quiz"], "due_at": None, "published": False,
         "workflow_state": "unpublished"},
    ]
    enrollments: list[dict[str, Any]] = [
        {"id": 401, "user_id": ANA, "course_id": ALGEBRA, "course_section_id": ALGEBRA_A,
         "type": "StudentEnrollment", "role": "StudentEnrollment", "role_id": 3,
         "enrollment_state": "active", "grades": _grades(85.5, 80.0, "B")},
        {"id": 402, "user_id": BEN, "course_id": ALGEBRA, "course_section_id": ALGEBRA_A,
         "type": "StudentEnrollment", "role": "StudentEnrollment", "role_id": 3,
         "enrollment_state": "active", "grades": _grades(70.0, 65.25, "C-")},
        # Cy is enrolled twice in Algebra, in both sections, under both forms of the id.
        {"id": 403, "user_id": "1~1001", "course_id": ALGEBRA, "course_section_id": ALGEBRA_A,
         "type": "StudentEnrollment", "role": "StudentEnrollment", "role_id": 3,
         "enrollment_state": "active", "grades": _grades(92.0, 92.0, "A-")},
        {"id": 404, "user_id": SHARD_USER, "course_id": ALGEBRA, "course_section_id": ALGEBRA_B,
         "type": "StudentEnrollment", "role": "StudentEnrollment", "role_id": 3,
         "enrollment_state": "active", "grades": _grades(92.0, 92.0, "A-")},
        {"id": 405, "user_id": TEACHER, "course_id": ALGEBRA, "course_section_id": ALGEBRA_A,
         "type": "TeacherEnrollment", "role": "TeacherEnrollment", "role_id": 4,
         "enrollment_state": "active"},
        {"id": 406, "user_id": TEST_STUDENT, "course_id": ALGEBRA,
         "course_section_id": ALGEBRA_A, "type": "StudentViewEnrollment",
         "role": "StudentEnrollment", "role_id": 3, "enrollment_state": "active",
         "grades": _grades(None, 0.0, None)},
        {"id": 407, "user_id": ANA, "course_id": BIOLOGY, "course_section_id": BIOLOGY_MAIN,
         "type": "StudentEnrollment", "role": "StudentEnrollment", "role_id": 3,
         "enrollment_state": "active", "grades": _grades(88.0, 88.0, "B+"),
         "last_activity_at": "2026-09-23T14:30:00+02:00", "total_activity_time": 5400},
        {"id": 408, "user_id": TEACHER, "course_id": BIOLOGY, "course_section_id": BIOLOGY_MAIN,
         "type": "TeacherEnrollment", "role": "TeacherEnrollment", "role_id": 4,
         "enrollment_state": "active"},
    ]
    submissions: list[dict[str, Any]] = [
        {"id": 501, "assignment_id": 301, "user_id": ANA, "submission_type": "online_upload",
         "score": 9.0, "grade": "9", "entered_score": 9.0, "entered_grade": "9",
         "excused": False, "attempt": 1, "workflow_state": "graded", "late": False,
         "missing": False, "late_policy_status": None, "seconds_late": 0,
         "points_deducted": None, "submitted_at": "2026-09-15T22:10:00-06:00",
         "graded_at": "2026-09-16T08:00:00Z", "posted_at": "2026-09-16T08:00:00Z",
         "grader_id": TEACHER},
        {"id": 502, "assignment_id": 301, "user_id": BEN, "submission_type": "online_upload",
         "score": 7.0, "grade": "7", "excused": False, "attempt": 1,
         "workflow_state": "graded", "late": True, "missing": False,
         "late_policy_status": "late", "seconds_late": 3600, "points_deducted": 1.0,
         "submitted_at": "2026-09-16T06:59:00Z", "graded_at": "2026-09-16T08:00:00Z",
         "grader_id": TEACHER},
        {"id": 503, "assignment_id": 301, "user_id": "1~1001", "score": None, "grade": None,
         "excused": True, "attempt": None, "workflow_state": "graded", "late": False,
         "missing": False, "graded_at": "2026-09-16T08:00:00Z", "grader_id": TEACHER},
        {"id": 504, "assignment_id": 303, "user_id": ANA, "score": 0.0, "grade": "complete",
         "excused": False, "workflow_state": "graded", "late": False, "missing": False,
         "grader_id": -7},  # graded automatically (a tool)
        # Hidden for lack of permission: no score, grade, entered_score, entered_grade keys.
        {"id": 505, "assignment_id": 302, "user_id": BEN, "excused": False, "attempt": 1,
         "workflow_state": "submitted", "submission_type": "online_text_entry",
         "submitted_at": "2026-09-10T12:00:00+05:30", "late": False, "missing": False},
        {"id": 506, "assignment_id": 304, "user_id": ANA, "score": 88.0, "grade": "B+",
         "excused": False, "attempt": 2, "workflow_state": "graded", "late": False,
         "missing": False, "graded_at": "2026-09-24T10:00:00Z", "grader_id": TEACHER},
        {"id": 507, "assignment_id": 301, "user_id": TEST_STUDENT, "score": None, "grade": None,
         "excused": False, "attempt": None, "workflow_state": "unsubmitted", "late": False,
         "missing": True},
    ]
    return {
        "terms": terms,
        "courses": courses,
        "sections": sections,
        "users": users,
        "assignment_groups": assignment_groups,
        "assignments": assignments,
        "enrollments": enrollments,
        "submissions": submissions,
    }


def large_bundle(directory: Path, *, students: int = 500, assignments: int = 100) -> Path:
    """Write one course with ``students`` x ``assignments`` submissions (50,000 by default).

    Course 700 in term 1; users 100001…; assignments 70001…; submission ids numbered
    from 9,000,001. Written line by line, so it costs little memory.
    """
    directory.mkdir(parents=True, exist_ok=True)
    course = 700
    user_ids = range(100_001, 100_001 + students)
    assignment_ids = range(70_001, 70_001 + assignments)
    small: Bundle = {
        "terms": [{"id": 1, "name": "Fall 2026", "workflow_state": "active"}],
        "courses": [{"id": course, "name": "Big course", "enrollment_term_id": 1,
                     "workflow_state": "available"}],
        "sections": [{"id": 7001, "course_id": course, "name": "Everyone"}],
        "users": [{"id": u, "name": f"Student {u}", "sortable_name": f"{u}, Student"}
                  for u in user_ids],
        "assignment_groups": [{"id": 7000, "name": "All", "position": 1}],
        "assignments": [{"id": a, "course_id": course, "assignment_group_id": 7000,
                         "name": f"Task {a}", "points_possible": 10, "grading_type": "points",
                         "workflow_state": "published"} for a in assignment_ids],
        "enrollments": [{"id": 800_000 + u, "user_id": u, "course_id": course,
                         "course_section_id": 7001, "type": "StudentEnrollment",
                         "enrollment_state": "active",
                         "grades": {"current_score": 75.0, "final_score": 70.0}}
                        for u in user_ids],
    }
    write_bundle(directory, small)
    with open(directory / "submissions.ndjson", "wb") as f:
        number = 9_000_000
        for a in assignment_ids:
            for u in user_ids:
                number += 1
                f.write(orjson.dumps({
                    "id": number, "assignment_id": a, "user_id": u, "score": float(number % 11),
                    "grade": str(number % 11), "excused": False, "workflow_state": "graded",
                    "late": False, "missing": False, "submitted_at": "2026-09-15T22:10:00Z",
                }) + b"\n")
    return directory


def live_institution() -> Bundle:
    """:func:`tiny_institution` as Canvas lists it: each course with its term embedded
    (``include[]=term``, where a live fetch takes terms from)."""
    data = tiny_institution()
    for course in data["courses"]:
        course["term"] = copy.deepcopy(data["terms"][0])
    return data


def serve_institution(server: CanvasServer, data: Bundle) -> None:
    """Serve ``data`` the way Canvas's API lists it, course by course."""
    for course in data["courses"]:
        part = course_part(data, course["id"])
        base = f"/api/v1/courses/{course['id']}"
        server.add_object(base, course)
        for kind in ("sections", "users", "enrollments"):
            server.add_list(f"{base}/{kind}", part[kind])
        server.add_list(f"{base}/assignment_groups", [  # include[]=assignments
            {**group, "assignments": [a for a in part["assignments"]
                                      if a.get("assignment_group_id") == group["id"]]}
            for group in part["assignment_groups"]])
        server.add_list(f"{base}/students/submissions", part["submissions"], bookmark=True,
                        since={"graded_since": "graded_at", "submitted_since": "submitted_at"})
