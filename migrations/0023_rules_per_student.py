"""0023_rules_per_student: one student's projection reads that student's submissions, and
the momentum counts its points without computing each percentage, from sql/rules.

canvas.final_projection (sql/rules/projection.sql) states its items NOT MATERIALIZED.
Read twice, they were materialized, so the condition on user_id of the student card
and of analytics.predict_final_grade stopped there: every submission of the course was
read for one student's (a course of 1,000 students, PostgreSQL 18: the card's statement
of its courses ran 35 ms, now 3; one student's prediction 34 ms, now 2). A whole course
is read twice instead (the predicted_final report of one course: 109 to 116 ms).

canvas.student_work (sql/rules/momentum.sql) counts its points by is_point instead of
count(percent): the same rows, without the rounded numeric percentage of every
submission when only the count is read (the at-risk report of a course of 1,000
students: 38.5 to 37 ms of execution).

Both keep their columns, so rules.apply replaces them. Rolling it back runs
0023_rules_per_student.rollback.sql: the two functions as 0015_projection made them.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0022_bulk_load_keys"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "85e6d58bf87a86db"


def restore(conn):
    """The rollback: the statements of 0023_rules_per_student.rollback.sql, in order."""
    path = Path(__file__).with_name("0023_rules_per_student.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [step(rules.apply, restore)]
