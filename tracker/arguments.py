"""The checks a public function makes of its arguments before anything reaches the server.

Each returns the value as the SQL wants it, or raises InvalidArgumentError naming the
argument. Unchecked, a wrong id would reach PostgreSQL as a raw error and leave the
caller's transaction aborted; a None could even read as "no filter" and answer about
someone else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from tracker.errors import InvalidArgumentError

T = TypeVar("T")
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
    return any_text(name, value)


def any_text(name: str, value: Any, *,
             error: type[InvalidArgumentError] = InvalidArgumentError) -> str:
    """``value`` as a text PostgreSQL can hold (no NUL), empty or not: a value to compare
    with (a state, a search), where :func:`text` takes a name."""
    if not isinstance(value, str):
        raise error(f"{name}: expected text, got {value!r}")
    if "\x00" in value:
        raise error(f"{name}: a text cannot hold a NUL character (PostgreSQL refuses it)")
    return value


def is_many(value: Any) -> bool:
    """Whether a filter's value is several values (a list, tuple or set) rather than one."""
    return isinstance(value, (list, tuple, set, frozenset))


def id_or_ids(name: str, value: Any, *,
              error: type[InvalidArgumentError] = InvalidArgumentError) -> int | list[int]:
    """``value`` as one id (:func:`one_id`), or as a list of ids when :func:`is_many`."""
    return _one_or_many(name, value, one_id, error)


def text_or_texts(name: str, value: Any, *,
                  error: type[InvalidArgumentError] = InvalidArgumentError) -> str | list[str]:
    """``value`` as one text (:func:`any_text`), or as a list of texts when :func:`is_many`."""
    return _one_or_many(name, value, any_text, error)


def texts(name: str, values: Any, *, what: str = "texts",
          error: type[InvalidArgumentError] = InvalidArgumentError) -> list[str]:
    """``values`` (a list, tuple or set, never a lone string) as a list of texts, each as
    :func:`any_text` takes it; ``what`` names them in the message."""
    if not is_many(values):
        raise error(f"{name}: expected a list of {what}, got {values!r}")
    found = _one_or_many(name, values, any_text, error)
    assert isinstance(found, list)
    return found


def flag(name: str, value: Any, *,
         error: type[InvalidArgumentError] = InvalidArgumentError) -> bool:
    """``value`` as True or False (not 1, not "true")."""
    if not isinstance(value, bool):
        raise error(f"{name}: expected True or False, got {value!r}")
    return value


def moment(name: str, value: Any, *,
           error: type[InvalidArgumentError] = InvalidArgumentError) -> datetime | date:
    """``value`` as a date or an aware datetime (a naive one names no instant)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise error(f"{name}: give a time zone (a naive datetime is ambiguous), "
                        f"got {value!r}")
        return value
    if isinstance(value, date):
        return value
    raise error(f"{name}: expected a date or an aware datetime, got {value!r}")


def one_of(name: str, value: Any, known: Sequence[str], *, what: str = "value",
           error: type[InvalidArgumentError] = InvalidArgumentError) -> str:
    """``value`` if it is one of ``known`` (a sort key, a mode); ``what`` names it."""
    if not isinstance(value, str) or value not in known:
        raise error(f"{name}: {_alternatives(known)}, not {value!r} (an unknown {what})")
    return value


def some_of(name: str, values: Any, known: Sequence[str], *, what: str = "value",
            error: type[InvalidArgumentError] = InvalidArgumentError) -> tuple[str, ...]:
    """``values`` as a non-empty list of some of ``known``, each once, in the order given."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise error(f"{name}: expected a non-empty list of {_alternatives(known)}; "
                    f"got {values!r}")
    return tuple(dict.fromkeys(one_of(name, v, known, what=what, error=error) for v in values))


def count(name: str, value: Any, *, minimum: int = 0, maximum: int = BIGINT_MAX,
          error: type[InvalidArgumentError] = InvalidArgumentError) -> int:
    """``value`` as a whole number from ``minimum`` to ``maximum`` (a limit, a size)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        upto = "up" if maximum == BIGINT_MAX else f"to {maximum}"
        raise error(f"{name}: expected a whole number from {minimum} {upto}, got {value!r}")
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


def _one_or_many(name: str, value: Any, one: Callable[..., T],
                 error: type[InvalidArgumentError]) -> T | list[T]:
    """``one`` of ``value``, or of each of its values when :func:`is_many` (a set's sorted,
    so that equal sets give equal lists)."""
    if not is_many(value):
        return one(name, value, error=error)
    found = [one(name, v, error=error) for v in value]
    return sorted(found) if isinstance(value, (set, frozenset)) else found  # type: ignore[type-var]


def _alternatives(known: Sequence[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(k) for k in known]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
