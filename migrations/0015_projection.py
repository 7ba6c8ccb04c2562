"""0015_projection: the final-grade projection in SQL and its conformal calibrations
(issue 15, part 5), from sql/rules.

Adds history.projection_calibrations (layer 2, append-only like the rest: the
conformal quantiles that tracker.projection.calibrate measures on completed courses,
one row per as-of week and run; the predictions read the newest), canvas.final_projection (sql/rules/projection.sql), and the two functions it
shares with canvas.student_factors_as_of, which now reads them:
canvas.course_moments and canvas.submissions_as_of (sql/rules/momentum.sql).

Rolling it back runs 0015_projection.rollback.sql: the new functions and the table
dropped, canvas.student_factors_as_of as 0014_risk_models made it.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0014_risk_models"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "150fe4378142ec7e"

CALIBRATIONS = """
CREATE TABLE history.projection_calibrations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of_week  integer NOT NULL CHECK (as_of_week >= 0),
    alpha       numeric NOT NULL CHECK (alpha > 0 AND alpha < 1),
    quantile    numeric NOT NULL CHECK (quantile >= 0),
    n           integer NOT NULL CHECK (n > 0),
    courses     integer NOT NULL CHECK (courses > 0),
    coverage    numeric CHECK (coverage BETWEEN 0 AND 1),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projection_calibrations_week_idx
    ON history.projection_calibrations (alpha, as_of_week, created_at);
CREATE TRIGGER projection_calibrations_append_only
    BEFORE UPDATE OR DELETE ON history.projection_calibrations
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER projection_calibrations_no_truncate
    BEFORE TRUNCATE ON history.projection_calibrations
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
COMMENT ON TABLE history.projection_calibrations IS
    'Conformal calibrations of the final-grade projection (tracker.projection.calibrate): per as-of week and alpha, the quantile of |final - predicted| / normaliser over n students of completed courses, and the coverage measured on courses held out.';
"""


def restore(conn):
    """The rollback: the statements of 0015_projection.rollback.sql, in order."""
    path = Path(__file__).with_name("0015_projection.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [step(CALIBRATIONS, None), step(rules.apply, restore)]
