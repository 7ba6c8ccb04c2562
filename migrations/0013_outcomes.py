"""0013_outcomes: how enrollments of completed courses ended, and the risk factors as
of a week (issue 15), from sql/rules.

Adds canvas.enrollment_outcomes (sql/rules/outcomes.sql) and
canvas.student_factors_as_of (sql/rules/momentum.sql): the factors of canvas.student_risk
at a moment. canvas.student_work and canvas.student_risk keep their own one-pass text for
the course's clock (reading the new function doubled the at-risk report of every
course); tests/test_outcomes.py checks that the two agree for every student.

Rolling it back runs 0013_outcomes.rollback.sql: the two functions dropped.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0012_users_sort_index"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "3e06f4a48ba8c1e2"


def restore(conn):
    """The rollback: the statements of 0013_outcomes.rollback.sql, in order."""
    path = Path(__file__).with_name("0013_outcomes.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [step(rules.apply, restore)]
