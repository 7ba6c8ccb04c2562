"""tracker.rules: the views and functions of sql/rules are what a migrated database runs."""

from __future__ import annotations

import ast
from typing import Any

import psycopg

import tracker
from tracker import analytics, rules

#: Every view and function sql/rules defines, with its definition and comment.
DEFINITIONS = """
    SELECT n.nspname, c.relname, pg_get_viewdef(c.oid), obj_description(c.oid, 'pg_class')
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'canvas' AND c.relkind = 'v'
    UNION ALL
    SELECT n.nspname, p.proname, pg_get_functiondef(p.oid), obj_description(p.oid, 'pg_proc')
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = 'canvas'
    ORDER BY 1, 2
"""


def definitions(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(DEFINITIONS).fetchall()


def test_a_migrated_database_runs_the_rules_as_the_files_state_them(conn):
    migrated = definitions(conn)
    names = {row[1] for row in migrated}
    assert {"active_students", "graded_assignments", "student_courses", "course_figures",
            "student_work", "risk_weights", "student_risk", "student_factors_as_of",
            "enrollment_outcomes"} <= names
    rules.apply(conn)
    assert definitions(conn) == migrated


def test_the_risk_weights_are_read_from_the_database_and_add_up_to_one(conn):
    weights = analytics.risk_weights(conn)
    assert list(weights) == ["score", "momentum", "missing", "late", "inactivity"]
    assert round(sum(weights.values()), 9) == 1.0
    assert weights["score"] == 0.35


def test_the_newest_migration_that_applies_the_rules_was_written_for_these_files():
    applying = sorted(p for p in tracker.MIGRATIONS_DIR.glob("*.py")
                      if "rules.apply" in p.read_text())
    assert applying, "no migration applies sql/rules"
    tree = ast.parse(applying[-1].read_text())
    stated = [node.value.value for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
              and [getattr(t, "id", None) for t in node.targets] == ["RULES_DIGEST"]]
    assert stated == [rules.digest()], (
        f"sql/rules changed since {applying[-1].name}: add a migration that calls "
        f"rules.apply with RULES_DIGEST = {rules.digest()!r}, so existing databases get it")
