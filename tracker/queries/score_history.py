"""The score history of submissions: every score, grade, state and flag each submission
has had, as the syncs saw it (:class:`ScoreStep`), in keyset pages.

It reads the view ``reports.score_history`` (migration 0018_reports_views), the SELECT of
``sql/reports/score_history.sql``: a step beside the one before it, so what moved is said
once, in the database. A filter on the student, course, assignment or submission reaches
the scan of ``history.submission_scores`` beneath (the view's window is partitioned by
them); a filter on the sync is applied to the steps, each still compared with the step
before it, whichever sync saw that. Measured at 320,000 submissions (PostgreSQL 15): a
student's page in 2-5 ms, a course's in about 40 ms; a page of the whole school's history,
unfiltered, compares every step with the one before (over a second): filter it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from pypika import Table
from pypika.queries import QueryBuilder

from tracker.queries.built import BuiltQuery, Page, fetch_page, render
from tracker.queries.filters import Filter, conditions
from tracker.queries.paging import Sort, attr, keyset, ordered, page_length
from tracker.queries.terms import Params, select_from, where_all


@dataclass(frozen=True)
class ScoreStep:
    """One recorded step of a submission: its values then, and what moved since the step
    before (``changes``, in words: "score 7 → 8", "state submitted → graded", "late", …;
    "first seen" at the first step). ``sync_id`` is the sync that saw it, ``synced_at``
    when that sync landed; ``history_id`` the row of ``history.submission_scores``."""

    user_id: int
    student: str
    sis_user_id: str | None
    course_id: int
    course: str
    assignment_id: int
    assignment: str
    submission_id: int
    recorded_at: datetime
    sync_id: int
    synced_at: datetime | None
    score: Decimal | None
    previous_score: Decimal | None
    grade: str | None
    workflow_state: str
    excused: bool | None
    late: bool | None
    missing: bool | None
    changes: list[str]
    history_id: int


_steps = Table("score_history", schema="reports", alias="sh")

#: Filters of :func:`score_history_query`, by name, with what each keeps.
_FILTERS: dict[str, Filter] = {
    "user_id": Filter("ids", _steps.user_id, "the student (one id or a list)"),
    "course_id": Filter("ids", _steps.course_id, "the course (one id or a list)"),
    "assignment_id": Filter("ids", _steps.assignment_id, "the assignment (one id or a list)"),
    "submission_id": Filter("ids", _steps.submission_id, "the submission (one id or a list)"),
    "sync_id": Filter("ids", _steps.sync_id, "the steps these syncs saw (one id or a list)"),
}
SCORE_HISTORY_FILTERS: Mapping[str, str] = {name: f.doc for name, f in _FILTERS.items()}

_SORTS: dict[str, Sort] = {
    "recorded_at": Sort(_steps.recorded_at, attr("recorded_at"), "timestamptz"),
}
#: Sort keys of :func:`score_history_query` (each then by the history row's id).
SCORE_HISTORY_SORTS = tuple(_SORTS)


def score_history_query(
    *,
    sort: str = "recorded_at",
    descending: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
    **filters: Any,
) -> BuiltQuery[ScoreStep]:
    """The steps of submissions' scores, filtered by :data:`SCORE_HISTORY_FILTERS`
    (``user_id``, ``course_id``, ``assignment_id``, ``submission_id``, ``sync_id``: each
    one id or a list), oldest first (``descending=True``: newest first), a page of
    ``limit`` rows after ``cursor``. Only active students' submissions of assignments not
    marked missing in layer 0, as everywhere."""
    what = "score history"
    p = Params()
    criteria, shape = conditions(_FILTERS, filters, p, what)
    n = page_length(limit)
    keys = keyset(_SORTS, sort, descending, _steps.history_id, "history_id", cursor, p, what)

    def build() -> QueryBuilder:
        columns = [getattr(_steps, f.name) for f in fields(ScoreStep)]
        query = where_all(select_from(_steps).select(*columns), criteria)
        return ordered(query, keys, _steps.history_id).limit(n + 1)

    sql = render((what, shape, sort, descending, keys.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=ScoreStep, limit=n,
                      cursor_of=keys.cursor_of)


def score_history(conn: psycopg.Connection[Any], **options: Any) -> Page[ScoreStep]:
    """Run :func:`score_history_query` (same options) and return a page of steps."""
    return fetch_page(conn, score_history_query(**options))
