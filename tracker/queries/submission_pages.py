"""A student's grades and an assignment's or a course's submissions: pages of
submissions, each with its student, course and assignment (:class:`SubmissionRow`).

Both builders are one query with different tables of filters and sort keys. Left out:
submissions of anyone but an active student of the course, and of assignments marked
missing in layer 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from pypika import functions as fn
from pypika.queries import QueryBuilder

from tracker.queries import tables
from tracker.queries.built import BuiltQuery, Page, fetch_page, render
from tracker.queries.filters import Filter, conditions
from tracker.queries.paging import Sort, attr, keyset, ordered, page_length
from tracker.queries.tables import DUE, EXCUSED, LATE, MISSING
from tracker.queries.terms import ROUND, Params, name_of, select_from, where_all


@dataclass(frozen=True)
class SubmissionRow:
    """One submission with its student, course and assignment (grades and submissions).

    ``due_at`` is the student's own due date, else the assignment's; ``percent`` the
    score as a percentage of the assignment's points (None without a score or points);
    ``missing`` is Canvas's missing flag or a teacher's late policy status 'missing'.
    """

    submission_id: int
    user_id: int
    student: str
    course_id: int
    course: str
    assignment_id: int
    assignment: str
    assignment_group_id: int | None
    assignment_group: str | None
    due_at: datetime | None
    points_possible: Decimal | None
    score: Decimal | None
    grade: str | None
    percent: Decimal | None
    workflow_state: str
    submitted_at: datetime | None
    graded_at: datetime | None
    late: bool
    missing: bool
    excused: bool


#: Every filter of submissions, by name; each builder allows some of them.
FILTERS: dict[str, Filter] = {
    "user_id": Filter("ids", tables.submissions.user_id, "the student (one id or a list)"),
    "course_id": Filter("ids", tables.submissions.course_id, "the course (one id or a list)"),
    "assignment_id": Filter("ids", tables.submissions.assignment_id,
                            "the assignment (one id or a list)"),
    "assignment_group_id": Filter("ids", tables.assignments.assignment_group_id,
                                  "the assignment group"),
    "due_after": Filter("after", DUE, "due at or after this moment"),
    "due_before": Filter("before", DUE, "due before this moment"),
    "state": Filter("texts", tables.submissions.workflow_state,
                    "workflow state(s): submitted, graded, …"),
    "late": Filter("flag", LATE, "late (True) or not (False)"),
    "missing": Filter("flag", MISSING, "missing (True) or not (False)"),
    "excused": Filter("flag", EXCUSED, "excused (True) or not (False)"),
}

#: Filters of :func:`grades_query`, by name, with what each keeps.
GRADE_FILTERS: Mapping[str, str] = {
    name: FILTERS[name].doc
    for name in ("user_id", "course_id", "assignment_group_id", "due_after", "due_before",
                 "state", "late", "missing", "excused")
}
#: Filters of :func:`submissions_query`.
SUBMISSION_FILTERS: Mapping[str, str] = {
    name: FILTERS[name].doc
    for name in ("assignment_id", "course_id", "user_id", "state", "late", "missing", "excused")
}

_SORTS: dict[str, Sort] = {
    "due_at": Sort(DUE, attr("due_at"), "timestamptz"),
    "graded_at": Sort(tables.submissions.graded_at, attr("graded_at"), "timestamptz"),
    "submitted_at": Sort(tables.submissions.submitted_at, attr("submitted_at"), "timestamptz"),
    "score": Sort(tables.submissions.score, attr("score"), "numeric"),
    "assignment": Sort(tables.assignments.name, attr("assignment"), "text"),
    "course": Sort(name_of("courses", "s.course_id"), attr("course"), "text"),
    "student": Sort(name_of("users", "s.user_id"), attr("student"), "text"),
}
#: Sort keys of :func:`grades_query`.
GRADE_SORTS = ("due_at", "graded_at", "submitted_at", "score", "assignment", "course")
#: Sort keys of :func:`submissions_query`.
SUBMISSION_SORTS = ("student", "submitted_at", "graded_at", "score", "due_at")


def _submission_query(
    allowed: Sequence[str], sorts: Sequence[str], what: str, *, sort: Any, descending: Any,
    limit: Any, cursor: Any, filters: Mapping[str, Any],
) -> BuiltQuery[SubmissionRow]:
    p = Params()
    criteria, shape = conditions({name: FILTERS[name] for name in allowed}, filters, p, what)
    n = page_length(limit)
    submission = tables.submissions
    keys = keyset({k: _SORTS[k] for k in sorts}, sort, descending, submission.id,
                  "submission_id", cursor, p, what)

    def build() -> QueryBuilder:
        assignment = tables.assignments
        query = (
            select_from(submission)
            .join(assignment).on(assignment.id == submission.assignment_id)
            .select(
                submission.id.as_("submission_id"), submission.user_id,
                name_of("users", "s.user_id").as_("student"), submission.course_id,
                name_of("courses", "s.course_id").as_("course"), submission.assignment_id,
                assignment.name.as_("assignment"), assignment.assignment_group_id,
                name_of("assignment_groups", "a.assignment_group_id").as_("assignment_group"),
                DUE.as_("due_at"),
                assignment.points_possible, submission.score, submission.grade,
                ROUND(100 * submission.score / fn.NullIf(assignment.points_possible, 0),
                      2).as_("percent"),
                submission.workflow_state, submission.submitted_at, submission.graded_at,
                LATE.as_("late"), MISSING.as_("missing"), EXCUSED.as_("excused"),
            )
        )
        query = (where_all(query, criteria)
                 .where(tables.ACTIVE_SUBMITTER).where(tables.LIVE_ASSIGNMENT))
        return ordered(query, keys, submission.id).limit(n + 1)

    sql = render((what, shape, sort, descending, keys.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=SubmissionRow, limit=n,
                      cursor_of=keys.cursor_of)


def grades_query(
    *,
    sort: str = "due_at",
    descending: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> BuiltQuery[SubmissionRow]:
    """A student's grades: submissions filtered by :data:`GRADE_FILTERS`, sorted by a key of
    :data:`GRADE_SORTS` (then by submission id), a page of ``limit`` rows after ``cursor``.

    ``user_id``, ``course_id`` and ``assignment_group_id`` take one id or a list; ``state``
    one workflow state or a list; ``due_after`` (inclusive) and ``due_before`` (exclusive)
    a date or an aware datetime; ``late``, ``missing`` and ``excused`` True or False.
    """
    return _submission_query(tuple(GRADE_FILTERS), GRADE_SORTS, "grades", sort=sort,
                             descending=descending, limit=limit, cursor=cursor, filters=filters)


def grades(conn: psycopg.Connection[Any], **options: Any) -> Page[SubmissionRow]:
    """Run :func:`grades_query` (same options) and return a page of rows."""
    return fetch_page(conn, grades_query(**options))


def submissions_query(
    *,
    sort: str = "student",
    descending: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> BuiltQuery[SubmissionRow]:
    """The submissions of an assignment or a course: filtered by :data:`SUBMISSION_FILTERS`
    (``assignment_id``, ``course_id``, ``user_id``, ``state``, ``late``, ``missing``,
    ``excused``), sorted by a key of :data:`SUBMISSION_SORTS`, paged like :func:`grades_query`."""
    return _submission_query(tuple(SUBMISSION_FILTERS), SUBMISSION_SORTS, "submissions",
                             sort=sort, descending=descending, limit=limit, cursor=cursor,
                             filters=filters)


def submissions(conn: psycopg.Connection[Any], **options: Any) -> Page[SubmissionRow]:
    """Run :func:`submissions_query` (same options) and return a page of rows."""
    return fetch_page(conn, submissions_query(**options))
