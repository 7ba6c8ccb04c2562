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
from pypika import functions as fn
from pypika.queries import QueryBuilder
from pypika.terms import ExistsCriterion, Term

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries import tables
from tracker.queries.built import BuiltQuery, Page, fetch_page, render
from tracker.queries.paging import Sort, keyset, ordered, page_length
from tracker.queries.tables import SORTABLE_NAME
from tracker.queries.terms import ArrayAggDistinct, EqualsAny, Params, select_from


@dataclass(frozen=True)
class CurriculumStudent:
    """A student enrolled in courses of the curricula asked about."""

    user_id: int
    student: str
    sortable_name: str | None
    sis_user_id: str | None
    curricula: list[str]
    course_ids: list[int]


_PAGE = AliasedQuery("page")
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
    keys = keyset(_SORTS, "name", False, tables.users.id, "user_id", cursor, p,
                  "curriculum students")

    def build() -> QueryBuilder:
        # The page first: the users in order of name who have a matching enrollment, so
        # that the planner may walk users_sort_idx (0012) and stop after a page when many
        # students match, or gather the few that match and sort them; then the curricula
        # and courses of just the page's students.
        curriculum, tagged = tables.curricula, tables.curriculum_courses
        enrolled = tables.enrollments if include_inactive else tables.active_students

        def matching() -> QueryBuilder:
            found = (
                select_from(curriculum)
                .join(tagged).on(tagged.curriculum_id == curriculum.id)
                .join(enrolled).on(enrolled.course_id == tagged.course_id)
                .where(EqualsAny(curriculum.name, names))
            )
            return found.where(tables.ANY_STUDENT_ENROLLMENT) if include_inactive else found

        user = tables.users
        if every is None:
            matches = matching().select(1).where(enrolled.user_id == user.id)
            who: Term = ExistsCriterion(matches)
        else:
            who = user.id.isin(matching().select(enrolled.user_id).groupby(enrolled.user_id)
                               .having(fn.Count(curriculum.name).distinct() == every))
        page = select_from(user).select(user.id, user.name, user.sortable_name,
                                        user.sis_user_id).where(who)
        page = ordered(page, keys, user.id).limit(n + 1)
        student = _PAGE.field("name")  # AliasedQuery.name is the page's own name
        query = (
            matching().join(_PAGE).on(_PAGE.id == enrolled.user_id)
            .select(_PAGE.id.as_("user_id"), student.as_("student"), _PAGE.sortable_name,
                    _PAGE.sis_user_id, ArrayAggDistinct(curriculum.name).as_("curricula"),
                    ArrayAggDistinct(enrolled.course_id).as_("course_ids"))
            .groupby(_PAGE.id, student, _PAGE.sortable_name, _PAGE.sis_user_id)
            .orderby(fn.Coalesce(_PAGE.sortable_name, student)).orderby(_PAGE.id)
        )
        return query.with_(page, _PAGE.name)

    sql = render(("curricula", match, include_inactive, keys.state, n), build)
    # One plan whatever the curricula: it walks the users in name order or gathers and
    # sorts the matches by the statistics of the data, and replanning at each run cost
    # more than running it (BENCHMARKS.md, run O).
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=CurriculumStudent, limit=n,
                      cursor_of=keys.cursor_of, generic_plan=True)


def curriculum_students(conn: psycopg.Connection[Any], curricula: Sequence[str], *,
                        match: str = "any", include_inactive: bool = False,
                        limit: int | None = None, cursor: str | None = None
                        ) -> Page[CurriculumStudent]:
    """Run :func:`curriculum_students_query` and return a page of students."""
    return fetch_page(conn, curriculum_students_query(
        curricula, match=match, include_inactive=include_inactive, limit=limit, cursor=cursor))
