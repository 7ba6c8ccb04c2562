"""0023_rules_per_student: one student's projection reads that student's submissions, the
momentum counts its points without computing each percentage, and a student's risk
features are built once, from sql/rules.

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

canvas.assess_risk (sql/rules/risk.sql) fences the step that states the factors' risks
and features (OFFSET 0), as it fences the two after it: pulled up into them, each
v.f[i] built the whole features array again, ten times a student under a fitted model
(the at-risk report of a course of 1,000 students under one: 45 to 38 ms of execution;
under risk-v1, which reads no features, unchanged).

All keep their columns, so rules.apply replaces them. Rolling it back runs
0023_rules_per_student.rollback.sql: the three functions as 0015_projection made them.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0022_bulk_load_keys"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "c0bf433d911bea45"


def restore(conn):
    """The rollback: the statements of 0023_rules_per_student.rollback.sql, in order."""
    path = Path(__file__).with_name("0023_rules_per_student.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [step(rules.apply, restore)]
