"""The database's rules: the views and SQL functions stated once, in ``sql/rules/*.sql``.

Who is an active student of a course (``canvas.active_students``,
``canvas.student_courses``), which assignments count (``canvas.graded_assignments``),
a course's figures (``canvas.course_figures``), a course's moment and its submissions
as they stood then (``canvas.course_moments``, ``canvas.submissions_as_of``), a student's
risk factors at a moment (``canvas.student_factors_as_of``), work and grade momentum
(``canvas.student_work``) and risk (``canvas.risk_weights``, ``canvas.risk_features``,
``canvas.risk_model``, ``canvas.assess_risk``, ``canvas.student_risk``,
``canvas.student_risk_as_of``), how an enrollment of a completed course ended
(``canvas.enrollment_outcomes``), the final-grade projection (``canvas.final_projection``).
Each
file holds ``CREATE OR REPLACE`` statements under ``-- name:`` headers, so psql runs it
as it stands and ``sql.rules`` loads it like any other folder.

Migration ``0011_rules`` applies the files with :func:`apply`, from where tracker is
installed (``tracker.SQL_DIR``), for ``tracker db migrate`` and a plain ``yoyo apply``
alike: from then on the files are what the database runs (a test compares the two).
A change to a rule is a change to its file, applied to existing databases by a new
migration that calls :func:`apply` again and states the files' :func:`digest` as
``RULES_DIGEST`` (a test fails while the files and the newest such migration disagree,
so an edited rule cannot reach fresh databases only).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import psycopg
from psycopg import errors

from tracker.sqlfiles import sql

__all__ = ["apply", "digest"]


def apply(conn: psycopg.Connection[Any]) -> None:
    """Run every statement of ``sql/rules`` on ``conn``, file by file in name order, each
    file's in file order: a rule another one reads is created before it (``momentum.sql``,
    which holds ``canvas.student_factors_as_of`` and ``canvas.student_work``, before
    ``risk.sql``). The caller owns the transaction (yoyo's, in a migration).

    The files are today's, whichever migration applies them, so two things an older
    migration meets on a fresh database are allowed for:

    - a function whose columns changed since (``CREATE OR REPLACE`` cannot change them)
      is dropped and created again;
    - a function may read a table a later migration creates (``canvas.risk_model`` reads
      ``history.risk_models``, added by 0014): function bodies are checked when they run,
      not when created (``check_function_bodies`` off for this transaction), and the
      newest rules migration applies the files again once every table is there.
    """
    conn.execute("SET LOCAL check_function_bodies = off")
    for statement in sql.rules:
        function = _FUNCTION.match(statement.sql)
        if function is None:
            statement(conn)
            continue
        try:
            with conn.transaction():
                statement(conn)
        except errors.InvalidFunctionDefinition:  # its columns changed
            conn.execute(f"DROP FUNCTION {_signature(conn, function.group(1))}")
            statement(conn)


#: ``CREATE OR REPLACE FUNCTION schema.name(``: the function a rule statement creates.
_FUNCTION = re.compile(r"\s*CREATE OR REPLACE FUNCTION (\w+\.\w+)\(")


def _signature(conn: psycopg.Connection[Any], name: str) -> str:
    """The signature of the one function called ``name`` (rules are never overloaded)."""
    schema, _, proname = name.partition(".")
    row = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc AS p "
        "WHERE p.pronamespace = %s::regnamespace AND p.proname = %s",
        (schema, proname)).fetchone()
    assert row is not None, name
    return str(row[0])


def digest() -> str:
    """A digest of the rule files (their names and bytes, in name order): what the newest
    migration that applies them states as ``RULES_DIGEST``."""
    files = sorted({statement.path for statement in sql.rules})
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
