"""Recent activity: work submitted, work graded (from the submissions) and course grade
changes (from layer 2), newest first, as :class:`ActivityRow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from pypika import Field, Order, Tuple
from pypika.queries import QueryBuilder
from pypika.terms import Term, ValueWrapper

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries import tables
from tracker.queries.built import BuiltQuery, fetch_all, render
from tracker.queries.filters import bind_ids, ids_test
from tracker.queries.paging import page_length
from tracker.queries.terms import Params, Sql, name_of, select_from


@dataclass(frozen=True)
class ActivityRow:
    """Something that happened: work ``submitted``, work ``graded``, or a course
    ``grade_change`` recorded in layer 2 (with ``previous_score``; no assignment)."""

    at: datetime
    kind: str
    user_id: int
    student: str
    course_id: int
    course: str
    assignment_id: int | None
    assignment: str | None
    score: Decimal | None
    previous_score: Decimal | None
    grade: str | None
    row_id: int


#: What :func:`recent_activity_query` can report.
ACTIVITY_KINDS = ("submitted", "graded", "grade_change")

_NULL_BIGINT = Sql("NULL::bigint")
_NULL_TEXT = Sql("NULL::text")
_NULL_NUMERIC = Sql("NULL::numeric")
#: The current score recorded before a layer 2 row, for the same enrollment.
_PREVIOUS_SCORE = Sql(
    select_from(tables.earlier_grades).select(tables.earlier_grades.current_score)
    .where(tables.earlier_grades.enrollment_id == tables.enrollment_grades.enrollment_id)
    .where(Tuple(tables.earlier_grades.recorded_at, tables.earlier_grades.id)
           < Tuple(tables.enrollment_grades.recorded_at, tables.enrollment_grades.id))
    .orderby(tables.earlier_grades.recorded_at, order=Order.desc)
    .orderby(tables.earlier_grades.id, order=Order.desc)
    .limit(1).get_sql()
)


def recent_activity_query(
    *,
    since: datetime | date,
    until: datetime | date | None = None,
    user_id: int | Sequence[int] | None = None,
    course_id: int | Sequence[int] | None = None,
    kinds: Sequence[str] = ACTIVITY_KINDS,
    limit: int | None = None,
) -> BuiltQuery[ActivityRow]:
    """What happened since a moment, newest first: work submitted, work graded (from the
    submissions) and course grade changes (from layer 2: a recorded current score that
    differs from the one recorded before it), optionally for some students or courses.

    ``since`` is inclusive, ``until`` exclusive; ``kinds`` a non-empty subset of
    :data:`ACTIVITY_KINDS`; at most ``limit`` rows (default 50).
    """
    wanted = arguments.some_of("recent activity: kinds", kinds, ACTIVITY_KINDS, what="kind",
                               error=InvalidQueryError)
    p = Params()
    start = p(arguments.moment("since", since, error=InvalidQueryError))
    end = (p(arguments.moment("until", until, error=InvalidQueryError))
           if until is not None else None)
    users = bind_ids("user_id", user_id, p) if user_id is not None else None
    courses = bind_ids("course_id", course_id, p) if course_id is not None else None
    top = page_length(limit)
    submission, recorded = tables.submissions, tables.enrollment_grades

    def narrowed(query: QueryBuilder, moment: Term, user: Term, course: Term) -> QueryBuilder:
        query = query.where(moment >= start)
        if end is not None:
            query = query.where(moment < end)
        if users is not None:
            query = query.where(ids_test(user, *users))
        if courses is not None:
            query = query.where(ids_test(course, *courses))
        return query

    def submissions_branch(kind: str) -> QueryBuilder:
        moment = submission.submitted_at if kind == "submitted" else submission.graded_at
        query = (
            select_from(submission)
            .select(moment.as_("at"), ValueWrapper(kind).as_("kind"), submission.user_id,
                    name_of("users", "s.user_id").as_("student"), submission.course_id,
                    name_of("courses", "s.course_id").as_("course"), submission.assignment_id,
                    name_of("assignments", "s.assignment_id").as_("assignment"),
                    submission.score, _NULL_NUMERIC.as_("previous_score"), submission.grade,
                    submission.id.as_("row_id"))
        )
        return (narrowed(query, moment, submission.user_id, submission.course_id)
                .where(tables.ACTIVE_SUBMITTER).where(tables.LIVE_ASSIGNMENT)
                .orderby(moment, order=Order.desc).orderby(submission.id, order=Order.desc)
                .limit(top))

    def grade_changes_branch() -> QueryBuilder:
        student = tables.active_students
        changes = narrowed(
            select_from(recorded)
            .join(student).on(student.id == recorded.enrollment_id)
            .select(recorded.recorded_at, recorded.user_id, recorded.course_id,
                    recorded.current_score, recorded.current_grade, recorded.id,
                    _PREVIOUS_SCORE.as_("previous_score")),
            recorded.recorded_at, recorded.user_id, recorded.course_id,
        ).as_("gc")
        return (
            select_from(changes)
            .select(changes.recorded_at.as_("at"), ValueWrapper("grade_change").as_("kind"),
                    changes.user_id, name_of("users", "gc.user_id").as_("student"),
                    changes.course_id, name_of("courses", "gc.course_id").as_("course"),
                    _NULL_BIGINT.as_("assignment_id"),
                    _NULL_TEXT.as_("assignment"), changes.current_score.as_("score"),
                    changes.previous_score, changes.current_grade.as_("grade"),
                    changes.id.as_("row_id"))
            .where(changes.previous_score.notnull())
            .where(Sql("gc.current_score IS DISTINCT FROM gc.previous_score"))
            .orderby(changes.recorded_at, order=Order.desc).orderby(changes.id, order=Order.desc)
            .limit(top)
        )

    def build() -> Any:
        # Each branch is cut to the page's length in its own order (newest first, by an
        # index on its moment) before the branches are merged and cut again.
        branches = [grade_changes_branch() if kind == "grade_change" else submissions_branch(kind)
                    for kind in wanted]
        query: Any = branches[0]
        for branch in branches[1:]:
            query = query.union_all(branch)
        return (query.orderby(Field("at"), order=Order.desc).orderby(Field("kind"))
                .orderby(Field("row_id"), order=Order.desc).limit(top))

    shape = ("activity", wanted, end is not None, None if users is None else users[1],
             None if courses is None else courses[1], top)
    return BuiltQuery(sql=render(shape, build), params=dict(p.values), row_type=ActivityRow)


def recent_activity(conn: psycopg.Connection[Any], **options: Any) -> list[ActivityRow]:
    """Run :func:`recent_activity_query` (same options)."""
    return fetch_all(conn, recent_activity_query(**options))
