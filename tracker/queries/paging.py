"""Pages: their length, the sort keys, and the keyset cursor that resumes after a row.

The sort key plus the row's id decide the order; the cursor is an opaque token holding
the last row's key and id, tied to the sort it was made for. A page's length is the one
value written into the SQL text (``LIMIT 51``), a whole number checked as such: a bound
LIMIT makes the plan PostgreSQL keeps for a prepared statement assume a tenth of the
table is wanted, so it would plan every run afresh (1-2 ms, more than running the query).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pypika import Order, Tuple
from pypika.queries import QueryBuilder
from pypika.terms import Criterion, Term

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries.terms import Params

#: Rows per page when the caller does not say, and the most a page may hold.
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_CURSOR_VERSION = 1


def page_length(value: Any) -> int:
    """The rows of a page: ``value`` checked, or :data:`DEFAULT_LIMIT` for None."""
    if value is None:
        return DEFAULT_LIMIT
    return arguments.count("limit", value, minimum=1, maximum=MAX_LIMIT, error=InvalidQueryError)


@dataclass(frozen=True)
class Sort:
    """A sort key: the term ordered by, how to read its value off a row, its SQL type."""

    term: Term
    value: Callable[[Any], Any]
    cast: str  # timestamptz, numeric, text, bigint


def attr(name: str) -> Callable[[Any], Any]:
    """Reads the attribute ``name`` off a row: a sort key's value."""
    return lambda row: getattr(row, name)


@dataclass(frozen=True)
class Keyset:
    """The order of a paged query and where its page starts."""

    key: Sort
    order: Order
    after: Criterion | None  # rows after the cursor's; None without a cursor
    state: str  # for the shape: "first" page, after a "null" key, after a "value"
    cursor_of: Callable[[Any], str]


def keyset(sorts: Mapping[str, Sort], sort: Any, descending: Any, id_term: Term,
           id_attr: str, cursor: Any, p: Params, what: str) -> Keyset:
    """Check the sort; bind the cursor's key and id. After a cursor's row come the rows
    whose (key, id) is greater (ascending) or smaller (descending).

    PostgreSQL sorts NULLs last ascending and first descending, so after a row whose key
    is NULL come (ascending) only NULL keys with a greater id, or (descending) NULL keys
    with a smaller id and then every non-NULL key.
    """
    arguments.one_of(f"{what}: sort", sort, tuple(sorts), what="sort key",
                     error=InvalidQueryError)
    arguments.flag(f"{what}: descending", descending, error=InvalidQueryError)
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

    return Keyset(key=key, order=Order.desc if descending else Order.asc, after=after,
                  state=state, cursor_of=cursor_of)


def ordered(query: QueryBuilder, keyset: Keyset, id_term: Term) -> QueryBuilder:
    """``query`` from the cursor's row on, in the keyset's order."""
    if keyset.after is not None:
        query = query.where(keyset.after)
    return query.orderby(keyset.key.term, order=keyset.order).orderby(id_term, order=keyset.order)


def _encode_cursor(sort: str, descending: bool, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        text: str | None = value.isoformat()
    elif value is None:
        text = None
    else:
        text = str(value)
    raw = json.dumps([_CURSOR_VERSION, sort, descending, text, row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any, sort: str, descending: bool, key: Sort) -> tuple[Any, int]:
    bad = InvalidQueryError("cursor: not a cursor this query made (pass back next_cursor "
                            "unchanged, with the same sort)")
    if not isinstance(cursor, str) or len(cursor) > 4096:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, c_sort, c_desc, text, row_id = json.loads(raw)
        arguments.one_id("cursor", row_id, error=InvalidQueryError)
    except (binascii.Error, ValueError, TypeError):  # InvalidQueryError is a ValueError
        raise bad from None
    if (version != _CURSOR_VERSION or c_sort != sort or c_desc is not descending
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
            value = arguments.any_text("cursor", text, error=InvalidQueryError)
    except (ValueError, InvalidOperation):
        raise bad from None
    return value, row_id
