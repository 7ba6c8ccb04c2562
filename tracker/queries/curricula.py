"""The students of curricula: who is enrolled in courses tagged with some curricula (or
with each of them), with the curricula and courses that matched (:class:`CurriculumStudent`),
a page at a time in order of name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from pypika import AliasedQuery
from pypika import PostgreSQLQuery as Query
from pypika import functions as fn
from pypika.queries import QueryBuilder

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries import tables
from tracker.queries.built import BuiltQuery, Page, fetch_page, render
from tracker.queries.paging import Sort, keyset, ordered, page_length
from tracker.queries.tables import SORTABLE_NAME
from tracker.queries.terms import ArrayAggDistinct, EqualsAny, Params, Sql, select_from


@dataclass(frozen=True)
class CurriculumStudent:
    """A student enrolled in courses of the curricula asked about."""

    user_id: int
    student: str
    sortable_name: str | None
    sis_user_id: str | None
    curricula: list[str]
    course_ids: list[int]


_FOUND = AliasedQuery("found")
_SORTS = {
    "name": Sort(SORTABLE_NAME,
                 lambda r: r.student if r.sortable_name is None else r.sortable_name, "text"),
}


def curriculum_students_query(
    curricula: Sequence[str], *, match: str = "any", include_inactive: bool = False,
    limit: int | None = None, cursor: str | None = None,
) -> BuiltQuery[CurriculumStudent]:
    """The students enrolled in courses tagged with any of ``curricula`` (names such as
    ``["web_dev", "data_science"]``), or with ``match="all"`` in a course of each of them;
    each with the curricula and courses that matched; ordered by sortable name, a page of
    ``limit`` after ``cursor``. An empty list matches no one.

    Enrollments count when they are active student enrollments (``canvas.active_students``:
    not the test student, not marked missing in layer 0); with ``include_inactive`` every
    student enrollment counts, whatever its state (invited, completed, inactive, deleted).
    """
    wanted = list(dict.fromkeys(arguments.texts("curricula", curricula, what="curriculum names",
                                                error=InvalidQueryError)))
    arguments.one_of("match", match, ("any", "all"), error=InvalidQueryError)
    arguments.flag("include_inactive", include_inactive, error=InvalidQueryError)
    p = Params()
    names = p(wanted, "text[]")
    every = p(len(wanted), "int") if match == "all" else None
    n = page_length(limit)
    keys = keyset(_SORTS, "name", False, _FOUND.user_id, "user_id", cursor, p,
                  "curriculum students")

    def build() -> QueryBuilder:
        # Each student's curricula and courses first, grouped by id alone (less to sort);
        # then their names, which the page is sorted by. The planner expects a few hundred
        # students and would rather read every user than probe the index for each, so
        # the users are asked for by the list of ids found: one index scan.
        curriculum, tagged = tables.curricula, tables.curriculum_courses
        enrolled = tables.enrollments if include_inactive else tables.active_students
        found = (
            select_from(curriculum)
            .join(tagged).on(tagged.curriculum_id == curriculum.id)
            .join(enrolled).on(enrolled.course_id == tagged.course_id)
            .select(enrolled.user_id, ArrayAggDistinct(curriculum.name).as_("curricula"),
                    ArrayAggDistinct(enrolled.course_id).as_("course_ids"))
            .where(EqualsAny(curriculum.name, names))
            .groupby(enrolled.user_id)
        )
        if include_inactive:
            found = found.where(tables.ANY_STUDENT_ENROLLMENT)
        if every is not None:
            found = found.having(fn.Count(curriculum.name).distinct() == every)
        user = tables.users
        query = (
            Query.with_(found, _FOUND.name)
            .from_(_FOUND)
            .join(user).on(user.id == _FOUND.user_id)
            .select(_FOUND.user_id, user.name.as_("student"), user.sortable_name,
                    user.sis_user_id, _FOUND.curricula, _FOUND.course_ids)
            .where(EqualsAny(user.id, Sql(f"ARRAY(SELECT f.user_id FROM {_FOUND.name} AS f)")))
        )
        return ordered(query, keys, _FOUND.user_id).limit(n + 1)

    sql = render(("curricula", match, include_inactive, keys.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=CurriculumStudent, limit=n,
                      cursor_of=keys.cursor_of)


def curriculum_students(conn: psycopg.Connection[Any], curricula: Sequence[str], *,
                        match: str = "any", include_inactive: bool = False,
                        limit: int | None = None, cursor: str | None = None
                        ) -> Page[CurriculumStudent]:
    """Run :func:`curriculum_students_query` and return a page of students."""
    return fetch_page(conn, curriculum_students_query(
        curricula, match=match, include_inactive=include_inactive, limit=limit, cursor=cursor))
