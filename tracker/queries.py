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
  written as ``LIMIT 51``: a bound LIMIT makes the plan PostgreSQL keeps for a prepared
  statement assume a tenth of the table is wanted, so it would plan every run afresh
  (1-2 ms, more than running the query). PyPika is never
  handed a caller's value: its own parameter support renders dates as ISO text and None
  as the word ``null``. A fresh binder per call makes placeholder terms (``%(pN)s``, with
  a cast where the type matters) and keeps the values as Python objects for psycopg.
  Only constants written in this module (``'StudentEnrollment'``) appear as literals.
- **Names come from allow-lists.** Filters are keyword arguments checked against each
  builder's table of filters (:data:`GRADE_FILTERS` …); sort keys against its table of
  sort keys. An unknown filter, sort key or value of the wrong type raises
  :class:`InvalidQueryError`. Columns are named only in this module: PyPika turns any
  attribute into a column (``table.no_such_column`` renders happily), so no caller
  string ever reaches ``getattr``.
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
- Left out everywhere but :func:`enrollments` (which shows every state): the test student,
  enrollments that are not active, and enrollments and assignments marked missing in
  layer 0. :func:`enrollments` leaves out only the test student and enrollments marked
  missing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, cast

import psycopg
from psycopg.rows import class_row
from pypika import AliasedQuery, Field, Order, Table, Tuple
from pypika import PostgreSQLQuery as Query
from pypika import functions as fn
from pypika.dialects import PostgreSQLQueryBuilder
from pypika.queries import QueryBuilder
from pypika.terms import Criterion, CustomFunction, ExistsCriterion, Term, ValueWrapper

from tracker import arguments
from tracker.errors import InvalidQueryError

__all__ = [
    "ACTIVITY_KINDS",
    "ENROLLMENT_FILTERS",
    "ENROLLMENT_SORTS",
    "GRADE_FILTERS",
    "GRADE_SORTS",
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
    "submissions",
    "submissions_query",
]

R = TypeVar("R")

#: Rows per page when the caller does not say, and the most a page may hold.
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


# -- rows ----------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class CurriculumStudent:
    """A student enrolled in courses of the curricula asked about."""

    user_id: int
    student: str
    sortable_name: str | None
    sis_user_id: str | None
    curricula: list[str]
    course_ids: list[int]


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


@dataclass(frozen=True)
class BuiltQuery(Generic[R]):
    """SQL text and the values to bind, and how to read the rows.

    ``sql`` holds psycopg named placeholders; ``params`` maps their names to values.
    Paged queries (``limit`` set) ask for one row more than the page, to know whether
    another page follows, and ``cursor_of`` makes the cursor that resumes after a row.
    """

    sql: str
    params: Mapping[str, Any]
    row_type: type[R]
    limit: int | None = None
    cursor_of: Callable[[R], str] | None = None


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of rows; ``next_cursor`` asks for the next (None: this was the last)."""

    rows: tuple[R, ...]
    next_cursor: str | None


# -- building blocks -----------------------------------------------------------------------------


class _Placeholder(Term):  # type: ignore[misc]
    """``%(name)s``, with ``::cast`` when given: a value psycopg binds."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, name: str, cast: str | None) -> None:
        super().__init__()
        self.name, self.cast = name, cast

    def get_sql(self, **kwargs: Any) -> str:
        text = f"%({self.name})s"
        return f"{text}::{self.cast}" if self.cast else text


class _Sql(Criterion):  # type: ignore[misc]
    """A fixed SQL expression written in this module (never a caller's text), in parentheses."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def get_sql(self, **kwargs: Any) -> str:
        sql = f"({self.text})"
        alias = kwargs.get("with_alias") and self.alias
        return f'{sql} "{self.alias}"' if alias else sql


class _EqualsAny(Criterion):  # type: ignore[misc]
    """``term = ANY(array)``: an empty array matches nothing."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, term: Term, array: Term) -> None:
        super().__init__()
        self.term, self.array = term, array

    def get_sql(self, **kwargs: Any) -> str:
        return f"{self.term.get_sql(**kwargs)} = ANY({self.array.get_sql(**kwargs)})"


class _Params:
    """The values of one query being built, named p1, p2, … in the order they are bound.

    A new one per call: PyPika's own parameter objects keep counting across calls.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str | None = None) -> _Placeholder:
        name = f"p{len(self.values) + 1}"
        self.values[name] = value
        return _Placeholder(name, cast)


def _query(table: Any) -> PostgreSQLQueryBuilder:
    """A SELECT builder that changes in place. PyPika's default copies the whole query at
    every ``.where()`` or ``.join()``, which costs milliseconds per query built."""
    return cast(PostgreSQLQueryBuilder, Query.from_(table, immutable=False))


def _fixed(criterion: Term) -> _Sql:
    """A criterion holding no caller value, rendered once (at import) as SQL text."""
    probe = _query(Table("probe")).select(1).where(criterion).get_sql()
    return _Sql(probe.split(" WHERE ", 1)[1])


def _where(query: QueryBuilder, criteria: Sequence[Term]) -> QueryBuilder:
    for criterion in criteria:
        query = query.where(criterion)
    return query


_S = Table("submissions", schema="canvas", alias="s")
_A = Table("assignments", schema="canvas", alias="a")
_U = Table("users", schema="canvas", alias="u")
_C = Table("courses", schema="canvas", alias="c")
_E = Table("enrollments", schema="canvas", alias="e")
_H = Table("enrollment_grades", schema="history", alias="h")
_CU = Table("curricula", schema="userdata", alias="cu")
_CC = Table("curriculum_courses", schema="userdata", alias="cc")

_ROUND = CustomFunction("round", ["value", "digits"])
_STUDENT = ValueWrapper("StudentEnrollment")
_ACTIVE = ValueWrapper("active")


def _name_of(table: str, id_sql: str) -> _Sql:
    """``(SELECT name FROM canvas.<table> WHERE id = <id_sql>)``: the name shown beside a row.

    A lookup rather than a join: the planner searches the orders of every join, and for
    the seven tables of a page of submissions that search cost more than running the
    query (2-9 ms against 0.5); a lookup is planned once, on its own. ``id_sql`` is a
    column of this module's, never a caller's text.
    """
    return _Sql(f"SELECT n.name FROM canvas.{table} AS n WHERE n.id = {id_sql}")


def _not_missing(kind: str, id_term: Term) -> ExistsCriterion:
    """NOT EXISTS a layer 0 row saying the object of ``kind`` with this id is not active."""
    o = Table("objects", schema="lifecycle", alias=f"o_{kind}")
    gone = (_query(o).select(1)
            .where(o.kind == ValueWrapper(kind))
            .where(o.id == id_term)
            .where(o.status != _ACTIVE))
    return ExistsCriterion(gone).negate()


def _is_active_student(e: Table) -> list[Term]:
    """The criteria of an active student enrollment (not the test student, not missing)."""
    return [e.type == _STUDENT, e.enrollment_state == _ACTIVE, e.is_test_student.negate(),
            _not_missing("enrollment", e.id)]


def _active_student_of(user_id: Term, course_id: Term) -> ExistsCriterion:
    """EXISTS an active student enrollment of this user in this course."""
    e = Table("enrollments", schema="canvas", alias="se")
    found = _where(_query(e).select(1).where(e.user_id == user_id)
                   .where(e.course_id == course_id), _is_active_student(e))
    return ExistsCriterion(found)


# The fixed conditions, rendered once: building them per call would cost more than running
# the query. They hold no caller value.
_ACTIVE_SUBMITTER = _fixed(_active_student_of(_S.user_id, _S.course_id))
_LIVE_ASSIGNMENT = _fixed(_not_missing("assignment", _S.assignment_id))
_ACTIVE_ENROLLMENT = _fixed(Criterion.all(_is_active_student(_E)))
_ANY_STUDENT_ENROLLMENT = _fixed((_E.type == _STUDENT) & _E.is_test_student.negate())
_LIVE_ENROLLMENT = _fixed(_not_missing("enrollment", _E.id))


# -- values --------------------------------------------------------------------------------------


def _ids(name: str, value: Any) -> int | list[int]:
    def one(v: Any) -> int:
        return arguments.one_id(name, v, error=InvalidQueryError)

    if isinstance(value, (list, tuple, set, frozenset)):
        values = [one(v) for v in value]
        return sorted(values) if isinstance(value, (set, frozenset)) else values
    return one(value)


def _one_id(name: str, value: Any) -> int:
    if isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidQueryError(f"{name}: expected one Canvas id, got {value!r}")
    v = _ids(name, value)
    assert isinstance(v, int)
    return v


def _texts(name: str, value: Any) -> str | list[str]:
    def one(v: Any) -> str:
        if not isinstance(v, str):
            raise InvalidQueryError(f"{name}: expected text, got {v!r}")
        if "\x00" in v:
            raise InvalidQueryError(f"{name}: text cannot hold a NUL character (PostgreSQL "
                                    "refuses it)")
        return v

    if isinstance(value, (list, tuple, set, frozenset)):
        values = [one(v) for v in value]
        return sorted(values) if isinstance(value, (set, frozenset)) else values
    return one(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidQueryError(f"{name}: expected True or False, got {value!r}")
    return value


def _moment(name: str, value: Any) -> datetime | date:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidQueryError(f"{name}: give a time zone (a naive datetime is ambiguous), "
                                    f"got {value!r}")
        return value
    if isinstance(value, date):
        return value
    raise InvalidQueryError(f"{name}: expected a date or an aware datetime, got {value!r}")


def _limit(value: Any, default: int = DEFAULT_LIMIT) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidQueryError(f"limit: expected a whole number from 1 to {MAX_LIMIT}, "
                                f"got {value!r}")
    return value


# -- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filter:
    """How one filter narrows a query: the kind of value it takes and the term it tests."""

    kind: str  # ids, texts, flag, after, before, search
    term: Term | tuple[Term, ...]
    doc: str


def _many(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _ids_test(term: Term, bound: _Placeholder, many: bool) -> Criterion:
    return _EqualsAny(term, bound) if many else term == bound


def _bind_ids(name: str, value: Any, p: _Params) -> tuple[_Placeholder, bool]:
    v = _ids(name, value)
    many = isinstance(v, list)
    return p(v, "bigint[]" if many else "bigint"), many


def _criterion(name: str, f: _Filter, value: Any, p: _Params) -> Term:
    """The condition of one filter; binds its value(s) to ``p`` (in a fixed order)."""
    term = f.term
    if f.kind == "ids":
        assert isinstance(term, Term)
        return _ids_test(term, *_bind_ids(name, value, p))
    if f.kind == "texts":
        t = _texts(name, value)
        assert isinstance(term, Term)
        return _EqualsAny(term, p(t, "text[]")) if isinstance(t, list) else term == p(t, "text")
    if f.kind == "flag":
        assert isinstance(term, Term)
        return term == p(_flag(name, value), "boolean")
    if f.kind == "after":
        assert isinstance(term, Term)
        return term >= p(_moment(name, value))
    if f.kind == "before":
        assert isinstance(term, Term)
        return term < p(_moment(name, value))
    if f.kind == "search":
        text = _texts(name, value)
        if not isinstance(text, str):
            raise InvalidQueryError(f"{name}: expected one text to search for, got {value!r}")
        assert isinstance(term, tuple)
        *names, exact = term
        pattern = p("%" + _like_escape(text) + "%", "text")
        crit: Criterion = names[0].ilike(pattern)  # type: ignore[arg-type]
        for other in names[1:]:
            crit |= fn.Coalesce(other, "").ilike(pattern)  # type: ignore[arg-type]
        return crit | (exact == p(text, "text"))
    raise AssertionError(f"unknown filter kind {f.kind}")


def _like_escape(text: str) -> str:
    """``text`` as a LIKE pattern matching itself (backslash is LIKE's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(table: Mapping[str, _Filter], given: Mapping[str, Any], p: _Params,
             what: str) -> tuple[list[Term], tuple[tuple[str, bool], ...]]:
    """The conditions of the filters given (None: no filter), and their shape: each
    filter's name and whether it was given a list — all the SQL text depends on."""
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise InvalidQueryError(f"{what}: unknown filter{'s' * (len(unknown) > 1)} "
                                f"{', '.join(map(repr, unknown))} (known: {', '.join(table)})")
    criteria = [_criterion(name, table[name], value, p)
                for name, value in given.items() if value is not None]
    shape = tuple((name, _many(value)) for name, value in given.items() if value is not None)
    return criteria, shape


# -- rendering once per shape --------------------------------------------------------------------

_RENDERED: dict[tuple[Any, ...], str] = {}
_MAX_RENDERED = 4096


def _render(shape: tuple[Any, ...], build: Callable[[], QueryBuilder]) -> str:
    """The SQL text of a query of this shape: built and rendered by PyPika the first time,
    then reused.

    The text depends only on the shape (which filters, lists or single values, sort,
    direction, whether a cursor and its key is NULL, the page's length), never on another
    value: values are bound,
    in an order the shape fixes. Building and rendering with PyPika costs about a
    millisecond, as much as running the query.
    """
    sql = _RENDERED.get(shape)
    if sql is None:
        if len(_RENDERED) >= _MAX_RENDERED:
            _RENDERED.clear()
        sql = _RENDERED[shape] = build().get_sql()
    return sql


# -- sorting and keyset pagination ---------------------------------------------------------------


@dataclass(frozen=True)
class _Sort:
    """A sort key: the term ordered by, how to read its value off a row, its SQL type."""

    term: Term
    value: Callable[[Any], Any]
    cast: str  # timestamptz, numeric, text, bigint


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


_CURSOR_VERSION = 1


def _encode_cursor(sort: str, descending: bool, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        text: str | None = value.isoformat()
    elif value is None:
        text = None
    else:
        text = str(value)
    raw = json.dumps([_CURSOR_VERSION, sort, descending, text, row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any, sort: str, descending: bool, key: _Sort) -> tuple[Any, int]:
    bad = InvalidQueryError("cursor: not a cursor this query made (pass back next_cursor "
                            "unchanged, with the same sort)")
    if not isinstance(cursor, str) or len(cursor) > 4096:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, c_sort, c_desc, text, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if (version != _CURSOR_VERSION or c_sort != sort or c_desc is not descending
            or isinstance(row_id, bool) or not isinstance(row_id, int)
            or not arguments.BIGINT_MIN <= row_id <= arguments.BIGINT_MAX
            or not (text is None or isinstance(text, str))):
        raise bad
    if text is None:
        return None, row_id
    try:
        value: Any
        if key.cast == "timestamptz":
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise ValueError(text)
        elif key.cast == "numeric":
            value = Decimal(text)
            if not value.is_finite():
                raise ValueError(text)
        elif key.cast == "bigint":
            value = int(text)
        else:
            value = _texts("cursor", text)
    except (ValueError, InvalidOperation, InvalidQueryError):
        raise bad from None
    return value, row_id


@dataclass(frozen=True)
class _Keyset:
    """The order of a paged query and where its page starts."""

    key: _Sort
    order: Order
    after: Criterion | None  # rows after the cursor's; None without a cursor
    state: str  # for the shape: "first" page, after a "null" key, after a "value"
    cursor_of: Callable[[Any], str]


def _keyset(sorts: Mapping[str, _Sort], sort: Any, descending: Any, id_term: Term,
            id_attr: str, cursor: Any, p: _Params, what: str) -> _Keyset:
    """Check the sort; bind the cursor's key and id. After a cursor's row come the rows
    whose (key, id) is greater (ascending) or smaller (descending).

    PostgreSQL sorts NULLs last ascending and first descending, so after a row whose key
    is NULL come (ascending) only NULL keys with a greater id, or (descending) NULL keys
    with a smaller id and then every non-NULL key.
    """
    if not isinstance(sort, str) or sort not in sorts:
        raise InvalidQueryError(f"{what}: unknown sort key {sort!r} (known: {', '.join(sorts)})")
    if not isinstance(descending, bool):
        raise InvalidQueryError(f"{what}: descending must be True or False, not {descending!r}")
    key = sorts[sort]
    after: Criterion | None = None
    state = "first"
    if cursor is not None:
        value, row_id = _decode_cursor(cursor, sort, descending, key)
        last_id = p(row_id, "bigint")
        if value is None:
            state = "null"
            if descending:
                after = (key.term.isnull() & (id_term < last_id)) | key.term.notnull()
            else:
                after = key.term.isnull() & (id_term > last_id)
        else:
            state = "value"
            last = Tuple(p(value, key.cast), last_id)
            if descending:
                after = Tuple(key.term, id_term) < last
            else:
                after = (Tuple(key.term, id_term) > last) | key.term.isnull()

    def cursor_of(row: Any) -> str:
        return _encode_cursor(sort, descending, key.value(row), getattr(row, id_attr))

    return _Keyset(key=key, order=Order.desc if descending else Order.asc, after=after,
                   state=state, cursor_of=cursor_of)


def _ordered(query: QueryBuilder, keyset: _Keyset, id_term: Term) -> QueryBuilder:
    if keyset.after is not None:
        query = query.where(keyset.after)
    return query.orderby(keyset.key.term, order=keyset.order).orderby(id_term, order=keyset.order)


# -- running -------------------------------------------------------------------------------------


def fetch_all(conn: psycopg.Connection[Any], q: BuiltQuery[R]) -> list[R]:
    """Run a built query and return all its rows as ``q.row_type``."""
    arguments.usable(conn)
    with conn.cursor(row_factory=class_row(q.row_type)) as cur:
        cur.execute(q.sql, q.params)  # type: ignore[arg-type]
        return cur.fetchall()


def fetch_page(conn: psycopg.Connection[Any], q: BuiltQuery[R]) -> Page[R]:
    """Run a paged query: a page of at most ``q.limit`` rows and the cursor of the next."""
    if q.limit is None or q.cursor_of is None:
        raise InvalidQueryError("fetch_page: this query is not paged; use fetch_all")
    rows = fetch_all(conn, q)
    if len(rows) <= q.limit:
        return Page(rows=tuple(rows), next_cursor=None)
    return Page(rows=tuple(rows[: q.limit]), next_cursor=q.cursor_of(rows[q.limit - 1]))


# -- grades and submissions ----------------------------------------------------------------------

_DUE = fn.Coalesce(_S.cached_due_date, _A.due_at)
_LATE = _Sql("coalesce(s.late, false)")
_MISSING = _Sql("coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing'")
_EXCUSED = _Sql("coalesce(s.excused, false)")

_SUBMISSION_FILTERS: dict[str, _Filter] = {
    "user_id": _Filter("ids", _S.user_id, "the student (one id or a list)"),
    "course_id": _Filter("ids", _S.course_id, "the course (one id or a list)"),
    "assignment_id": _Filter("ids", _S.assignment_id, "the assignment (one id or a list)"),
    "assignment_group_id": _Filter("ids", _A.assignment_group_id, "the assignment group"),
    "due_after": _Filter("after", _DUE, "due at or after this moment"),
    "due_before": _Filter("before", _DUE, "due before this moment"),
    "state": _Filter("texts", _S.workflow_state, "workflow state(s): submitted, graded, …"),
    "late": _Filter("flag", _LATE, "late (True) or not (False)"),
    "missing": _Filter("flag", _MISSING, "missing (True) or not (False)"),
    "excused": _Filter("flag", _EXCUSED, "excused (True) or not (False)"),
}

#: Filters of :func:`grades_query`, by name, with what each keeps.
GRADE_FILTERS: Mapping[str, str] = {
    name: _SUBMISSION_FILTERS[name].doc
    for name in ("user_id", "course_id", "assignment_group_id", "due_after", "due_before",
                 "state", "late", "missing", "excused")
}
#: Filters of :func:`submissions_query`.
SUBMISSION_FILTERS: Mapping[str, str] = {
    name: _SUBMISSION_FILTERS[name].doc
    for name in ("assignment_id", "course_id", "user_id", "state", "late", "missing", "excused")
}

_SUBMISSION_SORTS: dict[str, _Sort] = {
    "due_at": _Sort(_DUE, _attr("due_at"), "timestamptz"),
    "graded_at": _Sort(_S.graded_at, _attr("graded_at"), "timestamptz"),
    "submitted_at": _Sort(_S.submitted_at, _attr("submitted_at"), "timestamptz"),
    "score": _Sort(_S.score, _attr("score"), "numeric"),
    "assignment": _Sort(_A.name, _attr("assignment"), "text"),
    "course": _Sort(_name_of("courses", "s.course_id"), _attr("course"), "text"),
    "student": _Sort(_name_of("users", "s.user_id"), _attr("student"), "text"),
}
#: Sort keys of :func:`grades_query`.
GRADE_SORTS = ("due_at", "graded_at", "submitted_at", "score", "assignment", "course")
#: Sort keys of :func:`submissions_query`.
SUBMISSION_SORTS = ("student", "submitted_at", "graded_at", "score", "due_at")


def _submission_query(
    allowed: Sequence[str], sorts: Sequence[str], what: str, *, sort: Any, descending: Any,
    limit: Any, cursor: Any, filters: Mapping[str, Any],
) -> BuiltQuery[SubmissionRow]:
    p = _Params()
    criteria, shape = _filters({name: _SUBMISSION_FILTERS[name] for name in allowed}, filters,
                               p, what)
    n = _limit(limit)
    keyset = _keyset({k: _SUBMISSION_SORTS[k] for k in sorts}, sort, descending, _S.id,
                     "submission_id", cursor, p, what)

    def build() -> QueryBuilder:
        query = (
            _query(_S)
            .join(_A).on(_A.id == _S.assignment_id)
            .select(
                _S.id.as_("submission_id"), _S.user_id,
                _name_of("users", "s.user_id").as_("student"), _S.course_id,
                _name_of("courses", "s.course_id").as_("course"), _S.assignment_id,
                _A.name.as_("assignment"), _A.assignment_group_id,
                _name_of("assignment_groups", "a.assignment_group_id").as_("assignment_group"),
                _DUE.as_("due_at"),
                _A.points_possible, _S.score, _S.grade,
                _ROUND(100 * _S.score / fn.NullIf(_A.points_possible, 0), 2).as_("percent"),
                _S.workflow_state, _S.submitted_at, _S.graded_at,
                _LATE.as_("late"), _MISSING.as_("missing"), _EXCUSED.as_("excused"),
            )
        )
        query = _where(query, criteria).where(_ACTIVE_SUBMITTER).where(_LIVE_ASSIGNMENT)
        return _ordered(query, keyset, _S.id).limit(n + 1)

    sql = _render((what, shape, sort, descending, keyset.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=SubmissionRow, limit=n,
                      cursor_of=keyset.cursor_of)


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


# -- enrollments ---------------------------------------------------------------------------------

_SORTABLE_NAME = fn.Coalesce(_U.sortable_name, _U.name)

_ENROLLMENT_FILTERS: dict[str, _Filter] = {
    "course_id": _Filter("ids", _E.course_id, "the course (one id or a list)"),
    "user_id": _Filter("ids", _E.user_id, "the user (one id or a list)"),
    "section_id": _Filter("ids", _E.course_section_id, "the section (one id or a list)"),
    "state": _Filter("texts", _E.enrollment_state, "enrollment state(s): active, invited, …"),
    "type": _Filter("texts", _E.type, "type(s): StudentEnrollment, TeacherEnrollment, …"),
    "role": _Filter("texts", _E.role, "role name(s), custom roles included"),
    "search": _Filter("search", (_U.name, _U.sortable_name, _U.sis_user_id),
                      "a part of the name or sortable name (any case), or the exact SIS id"),
}
#: Filters of :func:`enrollments_query`.
ENROLLMENT_FILTERS: Mapping[str, str] = {k: f.doc for k, f in _ENROLLMENT_FILTERS.items()}

_ENROLLMENT_SORTS: dict[str, _Sort] = {
    "name": _Sort(_SORTABLE_NAME,
                  lambda r: r.name if r.sortable_name is None else r.sortable_name, "text"),
    "sis_user_id": _Sort(_U.sis_user_id, _attr("sis_user_id"), "text"),
    "current_score": _Sort(_E.current_score, _attr("current_score"), "numeric"),
    "last_activity_at": _Sort(_E.last_activity_at, _attr("last_activity_at"), "timestamptz"),
}
#: Sort keys of :func:`enrollments_query`.
ENROLLMENT_SORTS = tuple(_ENROLLMENT_SORTS)


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
    p = _Params()
    criteria, shape = _filters(_ENROLLMENT_FILTERS, filters, p, "enrollments")
    n = _limit(limit)
    keyset = _keyset(_ENROLLMENT_SORTS, sort, descending, _E.id, "enrollment_id", cursor, p,
                     "enrollments")

    def build() -> QueryBuilder:
        query = (
            _query(_E)
            .join(_U).on(_U.id == _E.user_id)
            .select(
                _E.id.as_("enrollment_id"), _E.user_id, _U.name, _U.sortable_name,
                _U.sis_user_id, _E.course_id, _E.course_section_id, _E.type, _E.role,
                _E.enrollment_state, _E.current_score, _E.current_grade, _E.final_score,
                _E.last_activity_at,
            )
        )
        query = _where(query, criteria).where(_E.is_test_student.negate()).where(_LIVE_ENROLLMENT)
        return _ordered(query, keyset, _E.id).limit(n + 1)

    sql = _render(("enrollments", shape, sort, descending, keyset.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=EnrollmentRow, limit=n,
                      cursor_of=keyset.cursor_of)


def enrollments(conn: psycopg.Connection[Any], **options: Any) -> Page[EnrollmentRow]:
    """Run :func:`enrollments_query` (same options) and return a page of rows."""
    return fetch_page(conn, enrollments_query(**options))


# -- recent activity -----------------------------------------------------------------------------

#: What :func:`recent_activity_query` can report.
ACTIVITY_KINDS = ("submitted", "graded", "grade_change")

_NULL_BIGINT = _Sql("NULL::bigint")
_NULL_TEXT = _Sql("NULL::text")
_NULL_NUMERIC = _Sql("NULL::numeric")
_HP = Table("enrollment_grades", schema="history", alias="hp")
#: The current score recorded before a layer 2 row, for the same enrollment.
_PREVIOUS_SCORE = _Sql(
    _query(_HP).select(_HP.current_score)
    .where(_HP.enrollment_id == _H.enrollment_id)
    .where(Tuple(_HP.recorded_at, _HP.id) < Tuple(_H.recorded_at, _H.id))
    .orderby(_HP.recorded_at, order=Order.desc).orderby(_HP.id, order=Order.desc)
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
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        raise InvalidQueryError(f"recent activity: kinds must be a non-empty list of "
                                f"{', '.join(ACTIVITY_KINDS)}; got {kinds!r}")
    unknown = [k for k in kinds if k not in ACTIVITY_KINDS]
    if unknown:
        raise InvalidQueryError(f"recent activity: unknown kind {unknown[0]!r} (known: "
                                f"{', '.join(ACTIVITY_KINDS)})")
    wanted = tuple(dict.fromkeys(kinds))
    p = _Params()
    start = p(_moment("since", since))
    end = p(_moment("until", until)) if until is not None else None
    users = _bind_ids("user_id", user_id, p) if user_id is not None else None
    courses = _bind_ids("course_id", course_id, p) if course_id is not None else None
    top = _limit(limit)

    def narrowed(query: QueryBuilder, moment: Term, user: Term, course: Term) -> QueryBuilder:
        query = query.where(moment >= start)
        if end is not None:
            query = query.where(moment < end)
        if users is not None:
            query = query.where(_ids_test(user, *users))
        if courses is not None:
            query = query.where(_ids_test(course, *courses))
        return query

    def submissions_branch(kind: str) -> QueryBuilder:
        moment = _S.submitted_at if kind == "submitted" else _S.graded_at
        query = (
            _query(_S)
            .select(moment.as_("at"), ValueWrapper(kind).as_("kind"), _S.user_id,
                    _name_of("users", "s.user_id").as_("student"), _S.course_id,
                    _name_of("courses", "s.course_id").as_("course"), _S.assignment_id,
                    _name_of("assignments", "s.assignment_id").as_("assignment"), _S.score,
                    _NULL_NUMERIC.as_("previous_score"), _S.grade, _S.id.as_("row_id"))
        )
        return (narrowed(query, moment, _S.user_id, _S.course_id)
                .where(_ACTIVE_SUBMITTER).where(_LIVE_ASSIGNMENT)
                .orderby(moment, order=Order.desc).orderby(_S.id, order=Order.desc)
                .limit(top))

    def grade_changes_branch() -> QueryBuilder:
        recorded = narrowed(
            _query(_H)
            .join(_E).on(_E.id == _H.enrollment_id)
            .select(_H.recorded_at, _H.user_id, _H.course_id, _H.current_score,
                    _H.current_grade, _H.id, _PREVIOUS_SCORE.as_("previous_score")),
            _H.recorded_at, _H.user_id, _H.course_id,
        ).where(_ACTIVE_ENROLLMENT)
        changes = recorded.as_("gc")
        return (
            _query(changes)
            .select(changes.recorded_at.as_("at"), ValueWrapper("grade_change").as_("kind"),
                    changes.user_id, _name_of("users", "gc.user_id").as_("student"),
                    changes.course_id, _name_of("courses", "gc.course_id").as_("course"),
                    _NULL_BIGINT.as_("assignment_id"),
                    _NULL_TEXT.as_("assignment"), changes.current_score.as_("score"),
                    changes.previous_score, changes.current_grade.as_("grade"),
                    changes.id.as_("row_id"))
            .where(changes.previous_score.notnull())
            .where(_Sql("gc.current_score IS DISTINCT FROM gc.previous_score"))
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
    return BuiltQuery(sql=_render(shape, build), params=dict(p.values), row_type=ActivityRow)


def recent_activity(conn: psycopg.Connection[Any], **options: Any) -> list[ActivityRow]:
    """Run :func:`recent_activity_query` (same options)."""
    return fetch_all(conn, recent_activity_query(**options))


# -- a student's dashboard -----------------------------------------------------------------------


def dashboard_query(user_id: int) -> BuiltQuery[DashboardCourse]:
    """A student's dashboard in one query: per course they are actively enrolled in, the
    current and final score, how much work is missing, late and graded, their last
    activity and the next due date still ahead of now. Ordered by course name."""
    p = _Params()
    student = p(_one_id("user_id", user_id), "bigint")

    def build() -> QueryBuilder:
        work = (
            _query(_S)
            .join(_A).on(_A.id == _S.assignment_id)
            .select(
                _S.course_id,
                fn.Count(_S.id).filter(_MISSING & _EXCUSED.negate()).as_("missing"),
                fn.Count(_S.id).filter(_LATE).as_("late"),
                fn.Count(_S.id).filter(_S.workflow_state == ValueWrapper("graded")).as_("graded"),
                fn.Min(_DUE).filter((_DUE > fn.Now()) & _S.submitted_at.isnull()
                                    & _EXCUSED.negate()).as_("next_due_at"),
            )
            .where(_S.user_id == student)
            .where(_A.grading_type != ValueWrapper("not_graded"))
            .where(_LIVE_ASSIGNMENT)
            .groupby(_S.course_id)
        ).as_("w")
        work = cast(QueryBuilder, work)
        mine = (
            _query(_E)
            .distinct_on(_E.course_id)
            .select(_E.course_id, _E.current_score, _E.current_grade, _E.final_score,
                    _E.last_activity_at)
            .where(_E.user_id == student)
            .where(_ACTIVE_ENROLLMENT)
            .orderby(_E.course_id).orderby(_E.id)
        ).as_("me")
        return (
            _query(mine)
            .join(_C).on(_C.id == mine.course_id)
            .left_join(work).on(work.course_id == mine.course_id)
            .select(
                mine.course_id, _C.name.as_("course"), _C.course_code, mine.current_score,
                mine.current_grade, mine.final_score,
                fn.Coalesce(work.missing, 0).as_("missing"),
                fn.Coalesce(work.late, 0).as_("late"),
                fn.Coalesce(work.graded, 0).as_("graded"), mine.last_activity_at,
                work.next_due_at,
            )
            .orderby(_C.name).orderby(mine.course_id)
        )

    return BuiltQuery(sql=_render(("dashboard",), build), params=dict(p.values),
                      row_type=DashboardCourse)


def dashboard(conn: psycopg.Connection[Any], user_id: int) -> list[DashboardCourse]:
    """Run :func:`dashboard_query`."""
    return fetch_all(conn, dashboard_query(user_id))


# -- students of curricula -----------------------------------------------------------------------


class _ArrayAggDistinct(Term):  # type: ignore[misc]
    """``array_agg(DISTINCT term ORDER BY term)``."""

    is_aggregate = True

    def __init__(self, term: Term) -> None:
        super().__init__()
        self.term = term

    def get_sql(self, **kwargs: Any) -> str:
        inner = self.term.get_sql(**{**kwargs, "with_alias": False})
        sql = f"array_agg(DISTINCT {inner} ORDER BY {inner})"
        return f'{sql} "{self.alias}"' if kwargs.get("with_alias") and self.alias else sql


_FOUND = AliasedQuery("found")
_CURRICULUM_SORTS = {
    "name": _Sort(_SORTABLE_NAME,
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

    Enrollments count when they are active student enrollments (not the test student, not
    marked missing in layer 0); with ``include_inactive`` every student enrollment counts,
    whatever its state (invited, completed, inactive, deleted).
    """
    if not _many(curricula):
        raise InvalidQueryError(f"curricula: expected a list of curriculum names, got "
                                f"{curricula!r}")
    if match not in ("any", "all"):
        raise InvalidQueryError(f"match: 'any' or 'all', not {match!r}")
    if not isinstance(include_inactive, bool):
        raise InvalidQueryError(f"include_inactive must be True or False, not "
                                f"{include_inactive!r}")
    p = _Params()
    wanted = list(dict.fromkeys(_texts("curricula", curricula)))
    names = p(wanted, "text[]")
    every = p(len(wanted), "int") if match == "all" else None
    n = _limit(limit)
    keyset = _keyset(_CURRICULUM_SORTS, "name", False, _FOUND.user_id, "user_id", cursor, p,
                     "curriculum students")

    def build() -> QueryBuilder:
        # Each student's curricula and courses first, grouped by id alone (less to sort);
        # then their names, which the page is sorted by. The planner expects a few hundred
        # students and would rather read every user than probe the index for each, so
        # the users are asked for by the list of ids found: one index scan.
        enrolled = _ANY_STUDENT_ENROLLMENT if include_inactive else _ACTIVE_ENROLLMENT
        found = (
            _query(_CU)
            .join(_CC).on(_CC.curriculum_id == _CU.id)
            .join(_E).on(_E.course_id == _CC.course_id)
            .select(_E.user_id, _ArrayAggDistinct(_CU.name).as_("curricula"),
                    _ArrayAggDistinct(_E.course_id).as_("course_ids"))
            .where(_EqualsAny(_CU.name, names))
            .where(enrolled)
            .groupby(_E.user_id)
        )
        if every is not None:
            found = found.having(fn.Count(_CU.name).distinct() == every)
        query = (
            Query.with_(found, _FOUND.name)
            .from_(_FOUND)
            .join(_U).on(_U.id == _FOUND.user_id)
            .select(_FOUND.user_id, _U.name.as_("student"), _U.sortable_name, _U.sis_user_id,
                    _FOUND.curricula, _FOUND.course_ids)
            .where(_EqualsAny(_U.id, _Sql(f"ARRAY(SELECT f.user_id FROM {_FOUND.name} AS f)")))
        )
        return _ordered(query, keyset, _FOUND.user_id).limit(n + 1)

    sql = _render(("curricula", match, include_inactive, keyset.state, n), build)
    return BuiltQuery(sql=sql, params=dict(p.values), row_type=CurriculumStudent, limit=n,
                      cursor_of=keyset.cursor_of)


def curriculum_students(conn: psycopg.Connection[Any], curricula: Sequence[str], *,
                        match: str = "any", include_inactive: bool = False,
                        limit: int | None = None, cursor: str | None = None
                        ) -> Page[CurriculumStudent]:
    """Run :func:`curriculum_students_query` and return a page of students."""
    return fetch_page(conn, curriculum_students_query(
        curricula, match=match, include_inactive=include_inactive, limit=limit, cursor=cursor))


# -- grades as of a date -------------------------------------------------------------------------


def grades_as_of_query(
    user_id: int, as_of: datetime | date, *, course_id: int | Sequence[int] | None = None
) -> BuiltQuery[GradeAsOf]:
    """A student's grade in each course as layer 2 last recorded it by ``as_of``: "what
    was this student's grade on March 1?"

    A ``date`` means the end of that day (in the session's time zone), an aware
    ``datetime`` that instant. Courses the student was not graded in by then are absent.
    """
    p = _Params()
    student = p(_one_id("user_id", user_id), "bigint")
    moment = _moment("as_of", as_of)
    instant = isinstance(moment, datetime)
    bound = p(moment, "timestamptz" if instant else "date")
    courses = _bind_ids("course_id", course_id, p) if course_id is not None else None

    def build() -> QueryBuilder:
        query = (
            _query(_H)
            .distinct_on(_H.course_id)
            .join(_E).on(_E.id == _H.enrollment_id)
            .join(_C).on(_C.id == _H.course_id)
            .select(_H.course_id, _C.name.as_("course"), _H.enrollment_id, _H.recorded_at,
                    _H.current_score, _H.current_grade, _H.final_score, _H.final_grade)
            .where(_H.user_id == student)
            .where(_H.recorded_at <= bound if instant else _H.recorded_at < bound + 1)
            .where(_ACTIVE_ENROLLMENT)
        )
        if courses is not None:
            query = query.where(_ids_test(_H.course_id, *courses))
        return (query.orderby(_H.course_id).orderby(_H.recorded_at, order=Order.desc)
                .orderby(_H.id, order=Order.desc))

    shape = ("as_of", instant, None if courses is None else courses[1])
    return BuiltQuery(sql=_render(shape, build), params=dict(p.values), row_type=GradeAsOf)


def grades_as_of(conn: psycopg.Connection[Any], user_id: int, as_of: datetime | date, *,
                 course_id: int | Sequence[int] | None = None) -> list[GradeAsOf]:
    """Run :func:`grades_as_of_query`."""
    return fetch_all(conn, grades_as_of_query(user_id, as_of, course_id=course_id))
