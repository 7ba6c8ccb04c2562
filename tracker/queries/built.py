"""A built query (its SQL text, the values to bind, the type of its rows), the cache that
renders each shape of query once, and running a built query: all its rows, or a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from psycopg.rows import class_row
from pypika.queries import QueryBuilder

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.sqlfiles import sql

R = TypeVar("R")


@dataclass(frozen=True)
class BuiltQuery(Generic[R]):
    """SQL text and the values to bind, and how to read the rows.

    ``sql`` holds psycopg named placeholders; ``params`` maps their names to values.
    Paged queries (``limit`` set) ask for one row more than the page, to know whether
    another page follows, and ``cursor_of`` makes the cursor that resumes after a row.
    ``generic_plan``: run it with one plan for every value (``sql/tracker/plans.sql``),
    for a builder whose plan choice depends on the data, not on the values.
    """

    sql: str
    params: Mapping[str, Any]
    row_type: type[R]
    limit: int | None = None
    cursor_of: Callable[[R], str] | None = None
    generic_plan: bool = False


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of rows; ``next_cursor`` asks for the next (None: this was the last)."""

    rows: tuple[R, ...]
    next_cursor: str | None


#: The SQL text of each shape of query rendered so far (cleared when it reaches
#: :data:`MAX_RENDERED`).
RENDERED: dict[tuple[Any, ...], str] = {}
MAX_RENDERED = 4096


def render(shape: tuple[Any, ...], build: Callable[[], QueryBuilder]) -> str:
    """The SQL text of a query of this shape: built and rendered by PyPika the first time,
    then reused.

    The text depends only on the shape (which filters, lists or single values, sort,
    direction, whether a cursor and its key is NULL, the page's length), never on another
    value: values are bound, in an order the shape fixes. Building and rendering with
    PyPika costs about a millisecond, as much as running the query.
    """
    sql = RENDERED.get(shape)
    if sql is None:
        if len(RENDERED) >= MAX_RENDERED:
            RENDERED.clear()
        sql = RENDERED[shape] = build().get_sql()
    return sql


def fetch_all(conn: psycopg.Connection[Any], q: BuiltQuery[R]) -> list[R]:
    """Run a built query and return all its rows as ``q.row_type``."""
    arguments.usable(conn)
    if q.generic_plan:
        with conn.transaction():
            sql.tracker.plan_generically(conn)
            return _rows(conn, q)
    return _rows(conn, q)


def _rows(conn: psycopg.Connection[Any], q: BuiltQuery[R]) -> list[R]:
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
