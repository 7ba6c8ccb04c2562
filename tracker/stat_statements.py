"""The heaviest statements of a database, from ``pg_stat_statements``, named by tracker.

:func:`top` reads the server's own statistics (``pg_stat_statements``, across every
process) and names each statement tracker recognizes as one of its SQL files'
(:func:`known_statements`, by :func:`fingerprint`); when the extension is not there it
says, step by step, how to enable it (:func:`stat_statements_status`). Its SQL is in
``sql/maintenance/statements.sql``. What one process ran is :mod:`tracker.monitor`'s.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from tracker.errors import NotFoundError
from tracker.sqlfiles import sql


@dataclass(frozen=True)
class StatStatementsStatus:
    """Whether pg_stat_statements can report, and what to do when it cannot."""

    available: bool  # the server has the extension's files
    installed: bool  # CREATE EXTENSION was run in this database
    preloaded: bool  # shared_preload_libraries loads it at server start

    @property
    def ready(self) -> bool:
        return self.available and self.installed and self.preloaded

    def how_to_enable(self) -> str:
        """The steps still missing, for a person to follow."""
        steps = []
        if not self.available:
            steps.append("install PostgreSQL's contrib modules on the server (the "
                         "postgresql-contrib package, or your distribution's equivalent)")
        if not self.preloaded:
            steps.append("load it at server start: in postgresql.conf set shared_preload_libraries "
                         "= 'pg_stat_statements' (keep any library listed there already), or run "
                         "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' as a "
                         "superuser; then restart the server")
        if not self.installed:
            steps.append("in this database, as a superuser or its owner: CREATE EXTENSION "
                         "pg_stat_statements;")
        if not steps:
            return "pg_stat_statements is enabled"
        return "pg_stat_statements is not enabled. To enable it: " + "; ".join(
            f"({n}) {step}" for n, step in enumerate(steps, start=1))


@dataclass(frozen=True)
class TopStatement:
    """One statement of pg_stat_statements, with tracker's name for it when recognized."""

    name: str | None
    query: str
    calls: int
    total_ms: Decimal
    mean_ms: Decimal
    max_ms: Decimal
    rows: int
    blocks: int
    blocks_read: int


def stat_statements_status(conn: Any) -> StatStatementsStatus:
    """Whether pg_stat_statements is available, installed here and preloaded."""
    row = sql.maintenance.pg_stat_statements_status(conn).fetchone()
    assert row is not None
    return StatStatementsStatus(*row)


def top(conn: Any, *, limit: int = 10) -> list[TopStatement]:
    """The statements of this database with the most total execution time, from
    pg_stat_statements, each named when it is one of tracker's SQL files' statements.

    Raises NotFoundError, saying how to enable it, when the extension cannot report.
    """
    status = stat_statements_status(conn)
    if not status.ready:
        raise NotFoundError(status.how_to_enable())
    try:
        with conn.transaction():
            rows = sql.maintenance.top_statements(conn, limit=limit).fetchall()
    except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # installed, not preloaded
        raise NotFoundError(StatStatementsStatus(True, True, False).how_to_enable()) from exc
    names = known_statements()
    return [TopStatement(name=names.get(fingerprint(query)), query=query, calls=calls,
                         total_ms=total, mean_ms=mean, max_ms=peak, rows=nrows, blocks=blocks,
                         blocks_read=read)
            for _queryid, query, calls, total, mean, peak, nrows, blocks, read in rows]


_STRING = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDER = re.compile(r"\$\d+")
_NUMBER = re.compile(r"(?<![\w$])\d+(?:\.\d+)?(?![\w])")
_KEYWORD_CONSTANT = re.compile(r"\b(?:true|false|null)\b", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SPACE = re.compile(r"\s+")


def fingerprint(query: str) -> str:
    """A statement's text with values and layout taken out, to recognize it in
    pg_stat_statements (which replaces constants by $1, $2, …)."""
    text = _BLOCK_COMMENT.sub(" ", _LINE_COMMENT.sub(" ", query))
    text = _NUMBER.sub("?", _PLACEHOLDER.sub("?", _STRING.sub("?", text)))
    text = _KEYWORD_CONSTANT.sub("?", text)
    return _SPACE.sub(" ", text).strip().rstrip(";").strip().lower()


_known: dict[str, str] | None = None


def known_statements() -> dict[str, str]:
    """fingerprint → ``folder.name`` for every statement of the project's SQL files
    (each allowed identifier combination, when there are few)."""
    global _known
    if _known is None:
        known: dict[str, str] = {}
        for folder in sql.folders():
            for stmt in folder:
                keys = list(stmt.identifiers)
                combos = list(itertools.islice(
                    itertools.product(*(stmt.identifiers[k] for k in keys)), 200))
                for combo in combos:
                    known.setdefault(fingerprint(stmt.numbered(**dict(zip(keys, combo, strict=True)))),
                                     f"{folder.name}.{stmt.name}")
        _known = known
    return _known
