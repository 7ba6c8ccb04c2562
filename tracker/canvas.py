"""Canvas input: what each kind of object must look like, and precise errors when not.

The sync's fast path lets PostgreSQL type the documents (``sql/canvas/stage.sql``);
when it refuses one, :func:`field_errors` re-reads the file and says which record and
which field is wrong, and what was expected. Only the fields tracker stores in typed
columns are checked: every other key is kept in ``raw`` as Canvas sent it. A key that
is absent is unknown (Canvas leaves keys out without a permission or ``include[]``),
never an error, unless the kind cannot do without it (``tracker.kinds.Kind.required``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tracker import kinds
from tracker.bundle import iter_documents

_ENROLLMENT_TYPES = frozenset({
    "StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment",
    "ObserverEnrollment", "StudentViewEnrollment",
})
_GRADES = {
    "current_score": "number", "final_score": "number", "current_grade": "string",
    "final_grade": "string", "unposted_current_score": "number", "unposted_final_score": "number",
    "unposted_current_grade": "string", "unposted_final_grade": "string",
    "override_score": "number", "override_grade": "string", "current_points": "number",
}

#: The typed fields of each kind: a type name, or a set of the values Canvas documents.
FIELDS: Mapping[str, Mapping[str, Any]] = {
    "terms": {
        "id": "id", "name": "string", "start_at": "time", "end_at": "time", "created_at": "time",
        "workflow_state": {"active", "deleted"}, "grading_period_group_id": "id",
        "sis_term_id": "string",
    },
    "courses": {
        "id": "id", "name": "string", "original_name": "string", "course_code": "string",
        "uuid": "string", "account_id": "id", "root_account_id": "id", "enrollment_term_id": "id",
        "grading_standard_id": "id", "start_at": "time", "end_at": "time", "created_at": "time",
        "time_zone": "string",
        "workflow_state": {"unpublished", "available", "completed", "deleted"},
        "hide_final_grades": "bool", "apply_assignment_group_weights": "bool",
        "sis_course_id": "string",
    },
    "sections": {
        "id": "id", "course_id": "id", "name": "string", "sis_section_id": "string",
        "start_at": "time", "end_at": "time",
    },
    "users": {
        "id": "id", "name": "string", "sortable_name": "string", "short_name": "string",
        "sis_user_id": "string", "login_id": "string", "email": "string", "created_at": "time",
    },
    "assignment_groups": {
        "id": "id", "course_id": "id", "name": "string", "position": "int",
        "group_weight": "number", "rules": "object",
    },
    "assignments": {
        "id": "id", "course_id": "id", "assignment_group_id": "id", "name": "string",
        "position": "int", "points_possible": "number",
        "grading_type": {"points", "percent", "letter_grade", "gpa_scale", "pass_fail", "not_graded"},
        "submission_types": "array", "due_at": "time", "lock_at": "time", "unlock_at": "time",
        "created_at": "time", "updated_at": "time", "published": "bool",
        "workflow_state": {"published", "unpublished", "deleted", "duplicating",
                           "failed_to_duplicate", "importing", "fail_to_import", "migrating",
                           "failed_to_migrate"},
        "omit_from_final_grade": "bool", "sis_assignment_id": "string",
    },
    "enrollments": {
        "id": "id", "user_id": "id", "course_id": "id", "course_section_id": "id",
        "type": _ENROLLMENT_TYPES, "role": "string", "role_id": "id",
        "enrollment_state": {"active", "invited", "creation_pending", "completed", "inactive",
                             "rejected", "deleted"},
        "associated_user_id": "id", "grades": "object", "last_activity_at": "time",
        "last_attended_at": "time", "total_activity_time": "int", "start_at": "time",
        "end_at": "time", "created_at": "time", "updated_at": "time",
    },
    "submissions": {
        "id": "id", "assignment_id": "id", "user_id": "id", "anonymous_id": "string",
        "submission_type": "string", "score": "number", "grade": "string",
        "entered_score": "number", "entered_grade": "string", "excused": "bool",
        "attempt": "int",
        "workflow_state": {"submitted", "unsubmitted", "graded", "pending_review", "deleted"},
        "late": "bool", "missing": "bool",
        "late_policy_status": {"late", "missing", "extended", "none"},
        "seconds_late": "int", "points_deducted": "number", "submitted_at": "time",
        "graded_at": "time", "posted_at": "time", "cached_due_date": "time", "grader_id": "id",
    },
    "grade_changes": {
        "id": "key", "created_at": "time", "event_type": "string", "grade_before": "string",
        "grade_after": "string", "excused_before": "bool", "excused_after": "bool",
        "graded_anonymously": "bool", "version_number": "int", "links": "object",
    },
}
#: The ids a grade change's ``links`` hold (a negative grader is an autograder), and the
#: one that may not be left out: the course. ``links.assignment`` may be "override".
_LINKS = {"course": "id", "assignment": "id", "student": "id", "grader": "id"}
_OVERRIDE = "override"

MAX_ID = 2**63 - 1
ID_TEXT = re.compile(r"-?\d{1,19}|\d{1,6}~\d{1,13}")
NUMBER_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
TIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")

_EXPECTED = {
    "id": "a Canvas id (an integer up to 2^63-1, or a string such as \"123\" or \"1~123\")",
    "key": "a non-blank string (Canvas's id of the event)",
    "int": "an integer",
    "number": "a number",
    "string": "a string",
    "bool": "true or false",
    "time": "an ISO 8601 timestamp with a zone, such as 2026-09-01T08:00:00Z",
    "object": "a JSON object",
    "array": "a JSON array",
}


def field_problem(kind: str, value: Any) -> str | None:
    """What is wrong with ``value`` for a field of type ``kind``, or None if it fits."""
    if value is None:
        return None
    ok: bool
    if isinstance(kind, (set, frozenset)):
        if value in kind:
            return None
        return "one of " + ", ".join(sorted(kind))
    if kind == "id":
        ok = (isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID) or (
            isinstance(value, str) and ID_TEXT.fullmatch(value) is not None and _id_fits(value))
    elif kind == "key":
        ok = isinstance(value, (str, int)) and not isinstance(value, bool) and bool(
            str(value).strip()) and "\x00" not in str(value)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID
    elif kind == "number":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and NUMBER_TEXT.fullmatch(value) is not None)
    elif kind == "string":
        ok = isinstance(value, (str, int)) and not isinstance(value, bool) and "\x00" not in str(value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "time":
        ok = isinstance(value, str) and TIME_TEXT.fullmatch(value) is not None and _parses(value)
    elif kind == "object":
        ok = isinstance(value, dict)
    elif kind == "array":
        ok = isinstance(value, list)
    else:  # pragma: no cover - a typo in FIELDS
        raise ValueError(f"unknown field type {kind!r}")
    return None if ok else _EXPECTED[kind]


def parse_canvas_id(text: str) -> int | None:
    """A positive Canvas id written as digits or ``shard~local``, as a global id (shard ×
    10^13 + local id); None if it is not one, or does not fit PostgreSQL's bigint."""
    if not ID_TEXT.fullmatch(text) or text.startswith("-"):
        return None
    value = int(text) if "~" not in text else _global_id(text)
    return value if 0 < value <= MAX_ID else None


def parse_ref(text: str) -> tuple[str, int] | None:
    """``"KIND:ID"`` (or ``"KIND ID"``) as ``(KIND, ID)``, ID a Canvas id as
    :func:`parse_canvas_id` reads it; None if the text is not of that form. KIND is not
    checked: which kinds may be named is the caller's to say."""
    kind, sep, ident = text.strip().partition(":")
    if not sep:
        kind, sep, ident = text.strip().partition(" ")
    parsed = parse_canvas_id(ident.strip()) if sep else None
    return None if parsed is None else (kind.strip(), parsed)


def _global_id(text: str) -> int:
    shard, local = text.split("~")
    return int(shard) * 10**13 + int(local)


def _id_fits(text: str) -> bool:
    if "~" in text:
        return _global_id(text) <= MAX_ID
    return abs(int(text)) <= MAX_ID


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)  # a trailing Z included (Python 3.11+)
    except ValueError:
        return False
    return True


def record_label(path: Path, number: int, canvas_id: Any = None) -> str:
    """``submissions.ndjson record 1,204 (id 90099)``: how messages name a record."""
    label = f"{path.name} record {number:,}"
    return label if canvas_id is None else f"{label} (id {canvas_id})"


def field_errors(kind: str, path: Path, *, limit: int = 50) -> list[str]:
    """Check every record of one bundle file field by field; at most ``limit`` messages."""
    problems: list[str] = []
    for number, doc in enumerate(_documents(path), start=1):
        if doc is _UNPARSEABLE:
            continue  # not JSON at all: bundle.json_errors says so
        for message in _record_problems(kind, doc):
            problems.append(f"{record_label(path, number, _id_of(doc))}: {message}")
            if len(problems) >= limit:
                return problems
    return problems


_UNPARSEABLE = object()


def _documents(path: Path) -> Iterator[Any]:
    for raw in iter_documents(path):
        try:
            yield orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield _UNPARSEABLE  # reported by bundle.json_errors


def _id_of(doc: Any) -> Any:
    return doc.get("id") if isinstance(doc, dict) else None


def _record_problems(kind: str, doc: Any) -> Iterable[str]:
    if not isinstance(doc, dict):
        yield "expected a JSON object"
        return
    for name in kinds.BY_FILE[kind].required:
        if doc.get(name) is None:
            yield f"{name}: missing; Canvas always sends it and tracker cannot store the {kind[:-1]} without it"
    for name, expected in FIELDS[kind].items():
        problem = field_problem(expected, doc.get(name))
        if problem:
            yield f"{name}: expected {problem}, got {_show(doc.get(name))}"
    if kind == "enrollments" and isinstance(doc.get("grades"), dict):
        for name, expected in _GRADES.items():
            problem = field_problem(expected, doc["grades"].get(name))
            if problem:
                yield f"grades.{name}: expected {problem}, got {_show(doc['grades'].get(name))}"
    if kind == "grade_changes" and isinstance(doc.get("links"), dict):
        yield from _link_problems(doc["links"])


def _link_problems(links: dict[str, Any]) -> Iterable[str]:
    """What is wrong with a grade change's ``links``: ids, the course, "override"."""
    if links.get("course") is None:
        yield "links.course: missing; Canvas always sends it and tracker cannot store the event without it"
    for name, expected in _LINKS.items():
        value = links.get(name)
        if name == "assignment" and value == _OVERRIDE:
            continue
        problem = field_problem(expected, value)
        if problem:
            also = ' or "override"' if name == "assignment" else ""
            yield f"links.{name}: expected {problem}{also}, got {_show(value)}"


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."
