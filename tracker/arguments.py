"""The checks a public function makes of its arguments before anything reaches the server.

Each returns the value as the SQL wants it, or raises InvalidArgumentError naming the
argument. Unchecked, a wrong id would reach PostgreSQL as a raw error and leave the
caller's transaction aborted; a None could even read as "no filter" and answer about
someone else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from tracker.errors import InvalidArgumentError

#: The range of PostgreSQL's bigint, which holds every id.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def one_id(name: str, value: Any, *,
           error: type[InvalidArgumentError] = InvalidArgumentError) -> int:
    """``value`` as an id: a whole number within bigint (not a bool, a string or None).
    ``error``: the class to raise (the query builders raise InvalidQueryError)."""
    if isinstance(value, bool) or not isinstance(value, int) or not BIGINT_MIN <= value <= BIGINT_MAX:
        raise error(f"{name}: expected a Canvas id (a whole number), got {value!r}")
    return value


def optional_id(name: str, value: Any) -> int | None:
    """``value`` as an id, or None."""
    return None if value is None else one_id(name, value)


def ids(name: str, values: Any) -> list[int]:
    """``values`` (a list, tuple, set or other iterable, not a string) as a list of ids."""
    return [one_id(name, v) for v in _many(name, values, "ids")]


def names(name: str, values: Any) -> list[str]:
    """``values`` as a list of texts; a lone string is a list of one."""
    many = [values] if isinstance(values, str) else _many(name, values, "names")
    return [text(name, v) for v in many]


def text(name: str, value: Any) -> str:
    """``value`` as a text that is not blank and that PostgreSQL can hold (no NUL)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name}: expected a text that is not empty, got {value!r}")
    if "\x00" in value:
        raise InvalidArgumentError(f"{name}: a text cannot hold a NUL character (PostgreSQL "
                                   "refuses it)")
    return value


def count(name: str, value: Any, *, minimum: int = 0) -> int:
    """``value`` as a whole number from ``minimum`` up, within bigint (a limit, a size)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= BIGINT_MAX:
        raise InvalidArgumentError(f"{name}: expected a whole number from {minimum} up, "
                                   f"got {value!r}")
    return value


def usable(conn: Any) -> None:
    """Refuse a connection that is closed or whose transaction failed earlier: PostgreSQL
    would refuse every statement, with a message that names neither cause."""
    if not isinstance(conn, psycopg.Connection):
        raise InvalidArgumentError(f"conn: expected a psycopg connection, got {conn!r}")
    if conn.closed:
        raise InvalidArgumentError("conn: the connection is closed; open another "
                                   "(tracker.db.connect())")
    if conn.info.transaction_status == TransactionStatus.INERROR:
        raise InvalidArgumentError("conn: its transaction failed earlier; roll it back "
                                   "(conn.rollback()) before calling tracker again")


def _many(name: str, values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
        raise InvalidArgumentError(f"{name}: expected a list of {what}, got {values!r}")
    return list(values)
