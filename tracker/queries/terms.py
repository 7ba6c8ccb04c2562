"""The PyPika extensions the builders are made of: bound placeholders, fixed SQL, ``= ANY``.

PyPika is never handed a caller's value: its own parameter support renders dates as ISO
text and None as the word ``null``. A fresh :class:`Params` per call makes placeholder
terms (``%(pN)s``, with a cast where the type matters) and keeps the values as Python
objects for psycopg. :class:`Sql` holds SQL text written in this package, never a
caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from pypika import PostgreSQLQuery as Query
from pypika import Table
from pypika.dialects import PostgreSQLQueryBuilder
from pypika.queries import QueryBuilder
from pypika.terms import Criterion, CustomFunction, Term

#: ``round(value, digits)``.
ROUND = CustomFunction("round", ["value", "digits"])


class Placeholder(Term):  # type: ignore[misc]
    """``%(name)s``, with ``::cast`` when given: a value psycopg binds."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, name: str, cast: str | None) -> None:
        super().__init__()
        self.name, self.cast = name, cast

    def get_sql(self, **kwargs: Any) -> str:
        text = f"%({self.name})s"
        return f"{text}::{self.cast}" if self.cast else text


class Sql(Criterion):  # type: ignore[misc]
    """A fixed SQL expression written in this package (never a caller's text), in parentheses."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def get_sql(self, **kwargs: Any) -> str:
        sql = f"({self.text})"
        alias = kwargs.get("with_alias") and self.alias
        return f'{sql} "{self.alias}"' if alias else sql


class EqualsAny(Criterion):  # type: ignore[misc]
    """``term = ANY(array)``: an empty array matches nothing (PyPika's ``IN ()`` is invalid
    SQL)."""

    is_aggregate = None  # type: ignore[assignment]

    def __init__(self, term: Term, array: Term) -> None:
        super().__init__()
        self.term, self.array = term, array

    def get_sql(self, **kwargs: Any) -> str:
        return f"{self.term.get_sql(**kwargs)} = ANY({self.array.get_sql(**kwargs)})"


class ArrayAggDistinct(Term):  # type: ignore[misc]
    """``array_agg(DISTINCT term ORDER BY term)``."""

    is_aggregate = True

    def __init__(self, term: Term) -> None:
        super().__init__()
        self.term = term

    def get_sql(self, **kwargs: Any) -> str:
        inner = self.term.get_sql(**{**kwargs, "with_alias": False})
        sql = f"array_agg(DISTINCT {inner} ORDER BY {inner})"
        return f'{sql} "{self.alias}"' if kwargs.get("with_alias") and self.alias else sql


class Params:
    """The values of one query being built, named p1, p2, … in the order they are bound.

    A new one per call: PyPika's own parameter objects keep counting across calls.
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str | None = None) -> Placeholder:
        name = f"p{len(self.values) + 1}"
        self.values[name] = value
        return Placeholder(name, cast)


def select_from(table: Any) -> PostgreSQLQueryBuilder:
    """A SELECT builder that changes in place. PyPika's default copies the whole query at
    every ``.where()`` or ``.join()``, which costs milliseconds per query built."""
    return cast(PostgreSQLQueryBuilder, Query.from_(table, immutable=False))


def fixed(criterion: Term) -> Sql:
    """A criterion holding no caller value, rendered once (at import) as SQL text:
    building it per call would cost more than running the query."""
    probe = select_from(Table("probe")).select(1).where(criterion).get_sql()
    return Sql(probe.split(" WHERE ", 1)[1])


def where_all(query: QueryBuilder, criteria: Sequence[Term]) -> QueryBuilder:
    """``query`` with each criterion added to its WHERE, one at a time: never through
    ``Criterion.all([])``, an empty criterion that makes PyPika drop the WHERE clause."""
    for criterion in criteria:
        query = query.where(criterion)
    return query


def name_of(table: str, id_sql: str) -> Sql:
    """``(SELECT name FROM canvas.<table> WHERE id = <id_sql>)``: the name shown beside a row.

    A lookup rather than a join: the planner searches the orders of every join, and for
    the seven tables of a page of submissions that search cost more than running the
    query (2-9 ms against 0.5); a lookup is planned once, on its own. ``id_sql`` is a
    column of this package's, never a caller's text.
    """
    return Sql(f"SELECT n.name FROM canvas.{table} AS n WHERE n.id = {id_sql}")
