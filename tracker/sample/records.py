"""The records written, in the Canvas REST API's own JSON shapes (as ``/api/v1`` gives an admin)."""

from __future__ import annotations

import random
from typing import Any

from tracker.sample.dates import DAY, HOUR, SNAPSHOT_EPOCH, TERM_CREATED, Term, ts
from tracker.sample.model import Assignment, Course
from tracker.sample.names import Name

BASE_URL = "https://canvas.example.edu"

ROLE_IDS = {
    "StudentEnrollment": 3,
    "TeacherEnrollment": 4,
    "TaEnrollment": 5,
    "DesignerEnrollment": 6,
    "ObserverEnrollment": 7,
}

PLACEHOLDER: dict[str, Any] = {  # a submission's fields before anything is handed in or graded
    "submission_type": None,
    "score": None,
    "grade": None,
    "entered_score": None,
    "entered_grade": None,
    "excused": False,
    "attempt": None,
    "submitted_at": None,
    "graded_at": None,
    "posted_at": None,
    "grader_id": None,
    "workflow_state": "unsubmitted",
    "late": False,
    "missing": False,
    "late_policy_status": None,
    "seconds_late": 0,
    "points_deducted": None,
    "grading_period_id": None,
    "cached_due_date": None,
    "extra_attempts": None,
    "grade_matches_current_submission": True,
}
HIDDEN_KEYS = ("score", "grade", "entered_score", "entered_grade")
"""What a submission's record leaves out when the caller may not see its grade."""


def term_record(term: Term) -> dict[str, Any]:
    return {
        "id": term.id,
        "name": term.name,
        "start_at": ts(term.start),
        "end_at": ts(term.end),
        "created_at": ts(TERM_CREATED),
        "workflow_state": "active",
        "grading_period_group_id": None,
        "sis_term_id": term.sis_term_id,
    }


def user_record(
    user_id: int | str, name: Name, created: int, login: str | None, domain: str
) -> dict[str, Any]:
    """A user; without ``login``, only what every caller sees (no SIS id, login, email)."""
    record: dict[str, Any] = {
        "id": user_id,
        "name": name[0],
        "sortable_name": name[1],
        "short_name": name[2],
        "created_at": ts(created),
    }
    if login is not None:
        record |= {
            "sis_user_id": login.upper(),
            "integration_id": None,
            "login_id": login,
            "email": f"{login}@{domain}",
            "pronouns": None,
        }
    return record


def course_record(
    course: Course,
    *,
    name: str,
    code: str,
    sis: str,
    term: int,
    account: int,
    uuid: str,
    state: str,
) -> dict[str, Any]:
    return {
        "id": course.id,
        "name": name,
        "course_code": code,
        "uuid": uuid,
        "account_id": account,
        "root_account_id": 1,
        "enrollment_term_id": term,
        "grading_standard_id": 1 if course.letters else None,
        "start_at": ts(course.term_start),
        "end_at": ts(course.term_end),
        "created_at": ts(course.term_start - 30 * DAY),
        "time_zone": "America/Denver",
        "default_view": "modules",
        "hide_final_grades": False,
        "apply_assignment_group_weights": course.apply_weights,
        "is_public": False,
        "restrict_enrollments_to_course_dates": False,
        "sis_course_id": sis,
        "integration_id": None,
        "workflow_state": state,
    }


def section_record(section_id: int, course: Course, name: str, sis: str) -> dict[str, Any]:
    return {
        "id": section_id,
        "course_id": course.id,
        "name": name,
        "sis_section_id": sis,
        "integration_id": None,
        "start_at": None,
        "end_at": None,
        "nonxlist_course_id": None,
    }


def group_record(
    group_id: int, name: str, position: int, weight: float, rules: dict[str, Any]
) -> dict[str, Any]:
    """An assignment group (Canvas leaves ``course_id`` out: its assignments place it)."""
    return {
        "id": group_id,
        "name": name,
        "position": position,
        "group_weight": weight,
        "sis_source_id": None,
        "integration_data": {},
        "rules": rules,
    }


def assignment_record(course: Course, a: Assignment, rng: random.Random) -> dict[str, Any]:
    """``a``'s record; its ``created_at`` and ``updated_at`` are drawn from ``rng``."""
    created = course.term_start - 10 * DAY + rng.randrange(0, 5 * DAY)
    updated = min(created + rng.randrange(0, 60 * DAY), SNAPSHOT_EPOCH - DAY)
    record: dict[str, Any] = {
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "course_id": course.id,
        "assignment_group_id": a.group_id,
        "position": a.position,
        "points_possible": a.points,
        "grading_type": a.grading_type,
        "grading_standard_id": None,
        "due_at": a.due_text,
        "lock_at": None if a.due is None else ts(a.due + 7 * DAY),
        "unlock_at": None if a.due is None else ts(a.due - 14 * DAY),
        "created_at": ts(created),
        "updated_at": ts(updated),
        "submission_types": a.submission_types,
        "published": True,
        "workflow_state": "published",
        "omit_from_final_grade": a.omit,
        "hide_in_gradebook": False,
        "post_manually": a.post_manually,
        "anonymous_grading": False,
        "moderated_grading": False,
        "allowed_attempts": 1 if a.quiz_id is not None else -1,
        "only_visible_to_overrides": False,
        "html_url": f"{BASE_URL}/courses/{course.id}/assignments/{a.id}",
        "sis_assignment_id": None,
    }
    if a.quiz_id is not None:
        record["quiz_id"] = a.quiz_id
    return record


def enrollment_record(
    enrollment_id: int,
    course: Course,
    user: int | str,
    section: int,
    kind: str,
    created: int,
    *,
    state: str,
    last_activity: int | None,
    total_activity: int,
    grades: dict[str, Any] | None,
    role: tuple[str, int] | None,
    associated_user: int | str | None,
) -> dict[str, Any]:
    """An enrollment; its role is its type's own unless ``role`` (name, id) says otherwise."""
    if role is None:
        base = "StudentEnrollment" if kind == "StudentViewEnrollment" else kind
        role = (base, ROLE_IDS[base])
    record: dict[str, Any] = {
        "id": enrollment_id,
        "user_id": user,
        "course_id": course.id,
        "course_section_id": section,
        "root_account_id": 1,
        "associated_user_id": associated_user,
        "created_at": ts(created),
        "updated_at": ts(created + HOUR),
        "start_at": None,
        "end_at": None,
        "type": kind,
        "role": role[0],
        "role_id": role[1],
        "enrollment_state": state,
        "limit_privileges_to_course_section": False,
        "html_url": f"{BASE_URL}/courses/{course.id}/users/{user}",
        "last_activity_at": ts(last_activity),
        "last_attended_at": None,
        "total_activity_time": total_activity,
    }
    if grades is not None:
        record["grades"] = grades
    return record
