"""The filter language: each builder's table of filters, keyword arguments checked
against it, and the condition each renders with its value bound.

A filter's value None means "no filter" (never rendered, as PyPika would, as the text
``null``); a list filter renders ``col = ANY(%(pN)s::bigint[])`` (or ``text[]``), so an
empty list is kept and matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pypika import functions as fn
from pypika.terms import Criterion, Term

from tracker import arguments
from tracker.errors import InvalidQueryError
from tracker.queries.terms import EqualsAny, Params, Placeholder


@dataclass(frozen=True)
class Filter:
    """How one filter narrows a query: the kind of value it takes and the term it tests."""

    kind: str  # ids, texts, flag, after, before, search
    term: Term | tuple[Term, ...]
    doc: str


def ids_test(term: Term, bound: Placeholder, many: bool) -> Criterion:
    """``term`` equal to the bound id, or to any of the bound ids."""
    return EqualsAny(term, bound) if many else term == bound


def bind_ids(name: str, value: Any, p: Params) -> tuple[Placeholder, bool]:
    """Bind one id or a list of them; the placeholder and whether it holds a list."""
    v = arguments.id_or_ids(name, value, error=InvalidQueryError)
    many = isinstance(v, list)
    return p(v, "bigint[]" if many else "bigint"), many


def conditions(table: Mapping[str, Filter], given: Mapping[str, Any], p: Params,
               what: str) -> tuple[list[Term], tuple[tuple[str, bool], ...]]:
    """The conditions of the filters given (None: no filter), and their shape: each
    filter's name and whether it was given a list — all the SQL text depends on."""
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise InvalidQueryError(f"{what}: unknown filter{'s' * (len(unknown) > 1)} "
                                f"{', '.join(map(repr, unknown))} (known: {', '.join(table)})")
    criteria = [_criterion(name, table[name], value, p)
                for name, value in given.items() if value is not None]
    shape = tuple((name, arguments.is_many(value))
                  for name, value in given.items() if value is not None)
    return criteria, shape


def _criterion(name: str, f: Filter, value: Any, p: Params) -> Term:
    """The condition of one filter; binds its value(s) to ``p`` (in a fixed order)."""
    term = f.term
    if f.kind == "search":
        assert isinstance(term, tuple)
        return _search(name, term, value, p)
    assert isinstance(term, Term)
    if f.kind == "ids":
        return ids_test(term, *bind_ids(name, value, p))
    if f.kind == "texts":
        t = arguments.text_or_texts(name, value, error=InvalidQueryError)
        return EqualsAny(term, p(t, "text[]")) if isinstance(t, list) else term == p(t, "text")
    if f.kind == "flag":
        return term == p(arguments.flag(name, value, error=InvalidQueryError), "boolean")
    if f.kind in ("after", "before"):
        bound = p(arguments.moment(name, value, error=InvalidQueryError))
        return term >= bound if f.kind == "after" else term < bound
    raise AssertionError(f"unknown filter kind {f.kind}")


def _search(name: str, terms: tuple[Term, ...], value: Any, p: Params) -> Criterion:
    """A part of any of the names (any case), or the last term exactly."""
    if arguments.is_many(value):
        raise InvalidQueryError(f"{name}: expected one text to search for, got {value!r}")
    text = arguments.any_text(name, value, error=InvalidQueryError)
    *names, exact = terms
    pattern = p("%" + _like_escape(text) + "%", "text")
    crit: Criterion = names[0].ilike(pattern)  # type: ignore[arg-type]
    for other in names[1:]:
        crit |= fn.Coalesce(other, "").ilike(pattern)  # type: ignore[arg-type]
    return crit | (exact == p(text, "text"))


def _like_escape(text: str) -> str:
    """``text`` as a LIKE pattern matching itself (backslash is LIKE's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
