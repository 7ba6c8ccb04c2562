"""0011_rules: the database's rules come from sql/rules/*.sql from now on.

Migrations 0008-0010 each created some of the views and SQL functions the reports and
analytics read (canvas.active_students, graded_assignments, student_courses,
course_figures, student_risk). They stay as they are (applied databases have them);
this migration replaces those objects with the definitions of sql/rules, where each
rule is now said once (tracker.rules.apply), and adds two:

- canvas.student_work: the grade momentum rule, which sql/reports/grade_momentum.sql and
  canvas.student_risk each spelled out before;
- canvas.risk_weights: the weights of the risk factors, which canvas.student_risk,
  sql/history/analytics.sql and tracker.analytics each held before.

Rolling it back drops the two functions and restores what migrations 0008-0010 defined,
read from their own files (their CREATE VIEW / CREATE FUNCTION statements and comments,
run as CREATE OR REPLACE).
"""

import re
from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0010_risk_per_sync"}

#: The migrations whose views and functions sql/rules replaces, oldest first.
REPLACED = ("0008_query_indexes", "0009_course_figures", "0010_risk_per_sync")
#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "0cb27e7ed014aeb5"
#: What sql/rules adds: dropped on rollback.
ADDED = ("canvas.risk_weights()", "canvas.student_work(bigint[])")

_CREATE = re.compile(r"CREATE (VIEW|FUNCTION) ")
_COMMENT = re.compile(r"COMMENT ON (VIEW|FUNCTION) ")


def restore(conn):
    """The rollback: what migrations REPLACED defined, then the functions ADDED dropped."""
    with conn.cursor() as cur:
        for name in REPLACED:
            path = Path(__file__).with_name(f"{name}.sql")
            for statement in (s.strip() for s in read_sql_migration(str(path))[2]):
                if _CREATE.match(statement):
                    cur.execute(_CREATE.sub(r"CREATE OR REPLACE \1 ", statement, count=1))
                elif _COMMENT.match(statement):
                    cur.execute(statement)
        for signature in ADDED:
            cur.execute(f"DROP FUNCTION {signature}")


steps = [step(rules.apply, restore)]
