"""A student's dashboard: per course they are actively enrolled in, their grades and how
much of their work is missing, late and graded (:class:`DashboardCourse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import psycopg
from pypika import functions as fn
from pypika.queries import QueryBuilder
from pypika.terms import ValueWrapper

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries import tables
from tracker.queries.built import BuiltQuery, fetch_all, render
from tracker.queries.tables import DUE, EXCUSED, LATE, MISSING
from tracker.queries.terms import Params, select_from


@dataclass(frozen=True)
class DashboardCourse:
    """One course of a student's dashboard."""

    course_id: int
    course: str
    course_code: str | None
    current_score: Decimal | None
    current_grade: str | None
    final_score: Decimal | None
    missing: int
    late: int
    graded: int
    last_activity_at: datetime | None
    next_due_at: datetime | None


def dashboard_query(user_id: int) -> BuiltQuery[DashboardCourse]:
    """A student's dashboard in one query: per course they are actively enrolled in, the
    current and final score, how much work is missing, late and graded, their last
    activity and the next due date still ahead of now. Ordered by course name."""
    p = Params()
    student = p(arguments.one_id("user_id", user_id, error=InvalidQueryError), "bigint")

    def build() -> QueryBuilder:
        submission, assignment = tables.submissions, tables.assignments
        work = (
            select_from(submission)
            .join(assignment).on(assignment.id == submission.assignment_id)
            .select(
                submission.course_id,
                fn.Count(submission.id).filter(MISSING & EXCUSED.negate()).as_("missing"),
                fn.Count(submission.id).filter(LATE).as_("late"),
                fn.Count(submission.id).filter(submission.workflow_state
                                               == ValueWrapper("graded")).as_("graded"),
                fn.Min(DUE).filter((DUE > fn.Now()) & submission.submitted_at.isnull()
                                   & EXCUSED.negate()).as_("next_due_at"),
            )
            .where(submission.user_id == student)
            .where(assignment.grading_type != ValueWrapper("not_graded"))
            .where(tables.LIVE_ASSIGNMENT)
            .groupby(submission.course_id)
        ).as_("w")
        work = cast(QueryBuilder, work)
        enrolled = tables.active_students
        mine = (
            select_from(enrolled)
            .distinct_on(enrolled.course_id)
            .select(enrolled.course_id, enrolled.current_score, enrolled.current_grade,
                    enrolled.final_score, enrolled.last_activity_at)
            .where(enrolled.user_id == student)
            .orderby(enrolled.course_id).orderby(enrolled.id)
        ).as_("me")
        course = tables.courses
        return (
            select_from(mine)
            .join(course).on(course.id == mine.course_id)
            .left_join(work).on(work.course_id == mine.course_id)
            .select(
                mine.course_id, course.name.as_("course"), course.course_code,
                mine.current_score, mine.current_grade, mine.final_score,
                fn.Coalesce(work.missing, 0).as_("missing"),
                fn.Coalesce(work.late, 0).as_("late"),
                fn.Coalesce(work.graded, 0).as_("graded"), mine.last_activity_at,
                work.next_due_at,
            )
            .orderby(course.name).orderby(mine.course_id)
        )

    return BuiltQuery(sql=render(("dashboard",), build), params=dict(p.values),
                      row_type=DashboardCourse)


def dashboard(conn: psycopg.Connection[Any], user_id: int) -> list[DashboardCourse]:
    """Run :func:`dashboard_query`."""
    return fetch_all(conn, dashboard_query(user_id))
