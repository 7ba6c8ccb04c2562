"""Grades as of a date: a student's grade in each course as layer 2 last recorded it by
a moment (:class:`GradeAsOf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from pypika import Order
from pypika.queries import QueryBuilder

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries import tables
from tracker.queries.built import BuiltQuery, fetch_all, render
from tracker.queries.filters import bind_ids, ids_test
from tracker.queries.terms import Params, select_from


@dataclass(frozen=True)
class GradeAsOf:
    """A student's grades in one course as layer 2 last recorded them before a moment."""

    course_id: int
    course: str
    enrollment_id: int
    recorded_at: datetime
    current_score: Decimal | None
    current_grade: str | None
    final_score: Decimal | None
    final_grade: str | None


def grades_as_of_query(
    user_id: int, as_of: datetime | date, *, course_id: int | Sequence[int] | None = None
) -> BuiltQuery[GradeAsOf]:
    """A student's grade in each course as layer 2 last recorded it by ``as_of``: "what
    was this student's grade on March 1?"

    A ``date`` means the end of that day (in the session's time zone), an aware
    ``datetime`` that instant. Courses the student was not graded in by then are absent,
    and so are enrollments that are not active student enrollments now.
    """
    p = Params()
    student = p(arguments.one_id("user_id", user_id, error=InvalidQueryError), "bigint")
    moment = arguments.moment("as_of", as_of, error=InvalidQueryError)
    instant = isinstance(moment, datetime)
    bound = p(moment, "timestamptz" if instant else "date")
    courses = bind_ids("course_id", course_id, p) if course_id is not None else None

    def build() -> QueryBuilder:
        recorded, course = tables.enrollment_grades, tables.courses
        enrolled = tables.active_students
        query = (
            select_from(recorded)
            .distinct_on(recorded.course_id)
            .join(enrolled).on(enrolled.id == recorded.enrollment_id)
            .join(course).on(course.id == recorded.course_id)
            .select(recorded.course_id, course.name.as_("course"), recorded.enrollment_id,
                    recorded.recorded_at, recorded.current_score, recorded.current_grade,
                    recorded.final_score, recorded.final_grade)
            .where(recorded.user_id == student)
            .where(recorded.recorded_at <= bound if instant else recorded.recorded_at < bound + 1)
        )
        if courses is not None:
            query = query.where(ids_test(recorded.course_id, *courses))
        return (query.orderby(recorded.course_id).orderby(recorded.recorded_at, order=Order.desc)
                .orderby(recorded.id, order=Order.desc))

    shape = ("as_of", instant, None if courses is None else courses[1])
    return BuiltQuery(sql=render(shape, build), params=dict(p.values), row_type=GradeAsOf)


def grades_as_of(conn: psycopg.Connection[Any], user_id: int, as_of: datetime | date, *,
                 course_id: int | Sequence[int] | None = None) -> list[GradeAsOf]:
    """Run :func:`grades_as_of_query`."""
    return fetch_all(conn, grades_as_of_query(user_id, as_of, course_id=course_id))
