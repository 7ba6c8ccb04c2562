"""The enrollments of courses, users or sections, in every state, with their users' names
and their grades (:class:`EnrollmentRow`), a page at a time.

The only builder that shows every state (``state`` narrows it); the test student and
enrollments marked missing in layer 0 are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from pypika.queries import QueryBuilder

from tracker.queries import tables
from tracker.queries.built import BuiltQuery, Page, fetch_page, render
from tracker.queries.filters import Filter, conditions
from tracker.queries.paging import Sort, attr, keyset, ordered, page_length
from tracker.queries.tables import SORTABLE_NAME
from tracker.queries.terms import Params, select_from, where_all


@dataclass(frozen=True)
class EnrollmentRow:
    """One enrollment in a course, with its user's names and its grades."""

    enrollment_id: int
    user_id: int
    name: str
    sortable_name: str | None
    sis_user_id: str | None
    course_id: int
    course_section_id: int | None
    type: str
    role: str | None
    enrollment_state: str
    current_score: Decimal | None
    current_grade: str | None
    final_score: Decimal | None
    last_activity_at: datetime | None


#: The filters of :func:`enrollments_query`, by name.
FILTERS: dict[str, Filter] = {
    "course_id": Filter("ids", tables.enrollments.course_id, "the course (one id or a list)"),
    "user_id": Filter("ids", tables.enrollments.user_id, "the user (one id or a list)"),
    "section_id": Filter("ids", tables.enrollments.course_section_id,
                         "the section (one id or a list)"),
    "state": Filter("texts", tables.enrollments.enrollment_state,
                    "enrollment state(s): active, invited, …"),
    "type": Filter("texts", tables.enrollments.type,
                   "type(s): StudentEnrollment, TeacherEnrollment, …"),
    "role": Filter("texts", tables.enrollments.role, "role name(s), custom roles included"),
    "search": Filter("search", (tables.users.name, tables.users.sortable_name,
                                tables.users.sis_user_id),
                     "a part of the name or sortable name (any case), or the exact SIS id"),
}
#: Filters of :func:`enrollments_query`, with what each keeps.
ENROLLMENT_FILTERS: Mapping[str, str] = {k: f.doc for k, f in FILTERS.items()}

_SORTS: dict[str, Sort] = {
    "name": Sort(SORTABLE_NAME,
                 lambda r: r.name if r.sortable_name is None else r.sortable_name, "text"),
    "sis_user_id": Sort(tables.users.sis_user_id, attr("sis_user_id"), "text"),
    "current_score": Sort(tables.enrollments.current_score, attr("current_score"), "numeric"),
    "last_activity_at": Sort(tables.enrollments.last_activity_at, attr("last_activity_at"),
                             "timestamptz"),
}
#: Sort keys of :func:`enrollments_query`.
ENROLLMENT_SORTS = tuple(_SORTS)


def enrollments_query(
    *,
    sort: str = "name",
    descending: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> BuiltQuery[EnrollmentRow]:
    """Enrollments filtered by :data:`ENROLLMENT_FILTERS` (course, user, section, state,
    type, role, ``search``), sorted by a key of :data:`ENROLLMENT_SORTS`, paged.

    Every state is shown unless ``state`` is given; the test student and enrollments
    marked missing in layer 0 are left out. ``search`` matches a part of the name or
    sortable name in any case (its ``%``, ``_`` and ``\\`` match themselves), or the SIS
    user id exactly.
    """
    p = Params()
    criteria, shape = conditions(FILTERS, filters, p, "enrollments")
    n = page_length(limit)
    enrollment, user = tables.enrollments, tables.users
    keys = keyset(_SORTS, sort, descending, enrollment.id, "enrollment_id", cursor, p,
                  "enrollments")

    def build() -> QueryBuilder:
        query = (
            select_from(enrollment)
            .join(user).on(user.id == enrollment.user_id)
            .select(
                enrollment.id.as_("enrollment_id"), enrollment.user_id, user.name,
                user.sortable_name, user.sis_user_id, enrollment.course_id,
                enrollment.course_section_id, enrollment.type, enrollment.role,
                enrollment.enrollment_state, enrollment.current_score, enrollment.current_grade,
                enrollment.final_score, enrollment.last_activity_at,
            )
        )
        query = (where_all(query, criteria)
                 .where(enrollment.is_test_student.negate()).where(tables.LIVE_ENROLLMENT))
        return ordered(query, keys, enrollment.id).limit(n + 1)

    sql = render(("enrollments", shape, sort, descending, keys.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=EnrollmentRow, limit=n,
                      cursor_of=keys.cursor_of)


def enrollments(conn: psycopg.Connection[Any], **options: Any) -> Page[EnrollmentRow]:
    """Run :func:`enrollments_query` (same options) and return a page of rows."""
    return fetch_page(conn, enrollments_query(**options))
