"""0024_course_figures_per_student: a course's due and missing work counted per student
first, from sql/rules.

canvas.course_figures (sql/rules/course_figures.sql) joined every submission with the
course's students, a CTE the planner knows nothing of, and estimated a thousand rows
where there were 778,000 (1,000 courses, 1,000,000 submissions): it then found each
submission's assignment by an index probe. Counted per student first, the join with the
assignments is planned for every submission (one hash of the assignments). Every
course's figures, which each sync's course snapshots read for the courses it changed:
1.6 s to 0.4 s on PostgreSQL 15; one course's, 4.4 to 2.3 ms. The same rows.

Its columns are unchanged, so rules.apply replaces it. Rolling it back runs
0024_course_figures_per_student.rollback.sql: the function as 0011_rules made it.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0023_rules_per_student"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "ec0d638f2d75af7c"


def restore(conn):
    """The rollback: the statements of 0024_course_figures_per_student.rollback.sql, in order."""
    path = Path(__file__).with_name("0024_course_figures_per_student.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [step(rules.apply, restore)]
