"""Query builders: the questions whose shape depends on the caller, built with PyPika.

Each ``*_query`` function returns a :class:`BuiltQuery`: the SQL text, whose values are
psycopg named placeholders ``%(p1)s``, ``%(p2)s``, … (numbered afresh by every call), and
the values to bind — ready for ``conn.execute(q.sql, q.params)``. The function of the
same name without ``_query`` runs it and returns frozen dataclasses (a :class:`Page` of
them where the results are paged)::

    page = queries.grades(conn, user_id=42, missing=True, sort="due_at")
    more = queries.grades(conn, user_id=42, missing=True, sort="due_at", cursor=page.next_cursor)

The rules, each with a test in ``tests/test_queries.py``:

- **Every value the caller gives is bound**, never pasted into the text — but for the
  number of rows of a page, a whole number from 1 to :data:`MAX_LIMIT` checked as such,
  written as ``LIMIT 51`` (:mod:`.paging` says why). PyPika is never handed a caller's
  value (:mod:`.terms`). Only constants written in this package (``'StudentEnrollment'``)
  appear as literals.
- **Names come from allow-lists.** Filters are keyword arguments checked against each
  builder's table of filters (:data:`GRADE_FILTERS` …); sort keys against its table of
  sort keys. An unknown filter, sort key or value of the wrong type raises
  :class:`InvalidQueryError` (the checks are :mod:`tracker.arguments`'). Columns are
  named only in this package: PyPika turns any attribute into a column
  (``table.no_such_column`` renders happily), so no caller string ever reaches ``getattr``.
- **A list filter renders** ``col = ANY(%(pN)s::bigint[])`` (or ``text[]``): an empty list
  matches nothing, and nothing ever renders PyPika's ``IN ()`` (invalid SQL).
- **WHERE is added one criterion at a time**, never through ``Criterion.all([])``, which
  is an empty criterion that makes PyPika drop the WHERE clause — a query meant to be
  filtered would return everything.
- **None means "no filter"** (``course_id=None`` is the same as leaving it out): it is
  never rendered, as PyPika would, as the text ``null``. A filter whose value is an
  empty list is kept, and matches nothing.
- **Keyset pagination**: the sort key plus the row's id decide the order; the cursor is an
  opaque token holding the last row's key and id, tied to the sort it was made for.
- **Each shape of query is rendered once** (:data:`RENDERED`): the text depends only on
  which filters were given and how, never on their values.
- Left out everywhere but :func:`enrollments` (which shows every state): the test student,
  enrollments that are not active, and enrollments and assignments marked missing in
  layer 0 — who is an active student is the view ``canvas.active_students``.
  :func:`enrollments` leaves out only the test student and enrollments marked missing.

The modules: :mod:`.terms` (PyPika extensions), :mod:`.tables` (tables, views and shared
conditions), :mod:`.filters` (the filter language), :mod:`.paging` (page length, sort
keys, the keyset cursor), :mod:`.built` (a built query, the render cache, running it), and
one per question: :mod:`.submission_pages` (grades, submissions), :mod:`.enrollment_pages`,
:mod:`.activity`, :mod:`.student_dashboard`, :mod:`.curricula`, :mod:`.grade_history`,
:mod:`.score_history`.
"""

from __future__ import annotations

from tracker.errors import InvalidQueryError
from tracker.queries.activity import (
    ACTIVITY_KINDS,
    ActivityRow,
    recent_activity,
    recent_activity_query,
)
from tracker.queries.built import RENDERED, BuiltQuery, Page, fetch_all, fetch_page
from tracker.queries.curricula import (
    CurriculumStudent,
    curriculum_students,
    curriculum_students_query,
)
from tracker.queries.enrollment_pages import (
    ENROLLMENT_FILTERS,
    ENROLLMENT_SORTS,
    EnrollmentRow,
    enrollments,
    enrollments_query,
)
from tracker.queries.grade_history import GradeAsOf, grades_as_of, grades_as_of_query
from tracker.queries.paging import DEFAULT_LIMIT, MAX_LIMIT
from tracker.queries.score_history import (
    SCORE_HISTORY_FILTERS,
    SCORE_HISTORY_SORTS,
    ScoreStep,
    score_history,
    score_history_query,
)
from tracker.queries.student_dashboard import DashboardCourse, dashboard, dashboard_query
from tracker.queries.submission_pages import (
    GRADE_FILTERS,
    GRADE_SORTS,
    SUBMISSION_FILTERS,
    SUBMISSION_SORTS,
    SubmissionRow,
    grades,
    grades_query,
    submissions,
    submissions_query,
)

__all__ = [
    "ACTIVITY_KINDS",
    "DEFAULT_LIMIT",
    "ENROLLMENT_FILTERS",
    "ENROLLMENT_SORTS",
    "GRADE_FILTERS",
    "GRADE_SORTS",
    "MAX_LIMIT",
    "RENDERED",
    "SCORE_HISTORY_FILTERS",
    "SCORE_HISTORY_SORTS",
    "SUBMISSION_FILTERS",
    "SUBMISSION_SORTS",
    "ActivityRow",
    "BuiltQuery",
    "CurriculumStudent",
    "DashboardCourse",
    "EnrollmentRow",
    "GradeAsOf",
    "InvalidQueryError",
    "Page",
    "ScoreStep",
    "SubmissionRow",
    "curriculum_students",
    "curriculum_students_query",
    "dashboard",
    "dashboard_query",
    "enrollments",
    "enrollments_query",
    "fetch_all",
    "fetch_page",
    "grades",
    "grades_as_of",
    "grades_as_of_query",
    "grades_query",
    "recent_activity",
    "recent_activity_query",
    "score_history",
    "score_history_query",
    "submissions",
    "submissions_query",
]
