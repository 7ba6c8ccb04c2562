"""0014_risk_models: risk models learned from the school's own past terms (issue 15).

Adds to layer 2, both append-only like the rest of it:

- history.risk_models: each model `tracker risk fit` learned (tracker.risk_models): a
  logistic regression over the five risk factors, with what it was trained on and how
  it did on courses it was not trained on;
- history.risk_model_activations: which model canvas.student_risk applies, the newest
  row deciding (a NULL version: risk-v1, the hand-set weights, as with no row at all).

Then applies sql/rules again: canvas.student_risk applies the active model (and says
which, with each factor's contribution), canvas.student_risk_as_of scores the students
of past courses as of a week, canvas.risk_features, canvas.risk_model and
canvas.assess_risk are the pieces both share. canvas.student_risk's columns change, so
rules.apply replaces it (DROP, CREATE).

Rolling it back runs 0014_risk_models.rollback.sql: the functions it added dropped,
canvas.student_risk and canvas.student_factors_as_of as 0013_outcomes left them (this
migration made withdrawn students count as of a week while still in their course), the
two tables dropped.
"""

from pathlib import Path

from yoyo import step
from yoyo.migrations import read_sql_migration

from tracker import rules

__depends__ = {"0013_outcomes"}

#: The sql/rules files this migration was written for (tracker.rules.digest).
RULES_DIGEST = "1a20823e9b630c7f"

TABLES = """
CREATE TABLE history.risk_models (
    version        text PRIMARY KEY
                   CHECK (version ~ '^[a-z0-9][a-z0-9._-]*$' AND version <> 'risk-v1'),
    factors        text[] NOT NULL
                   CHECK (factors = '{score,momentum,missing,late,inactivity}'),
    coefficients   double precision[] NOT NULL CHECK (cardinality(coefficients) = 5),
    centers        double precision[] NOT NULL CHECK (cardinality(centers) = 5),
    scales         double precision[] NOT NULL CHECK (cardinality(scales) = 5 AND 0 < ALL (scales)),
    intercept      double precision NOT NULL,
    bands          numeric[] NOT NULL
                   CHECK (cardinality(bands) = 3 AND 0 < bands[1] AND bands[1] < bands[2]
                          AND bands[2] < bands[3] AND bands[3] < 1),
    as_of_week     integer NOT NULL CHECK (as_of_week > 0),
    failing_grades text[],
    pass_mark      numeric NOT NULL,
    withdrawn_ok   boolean NOT NULL,
    terms          bigint[] NOT NULL,
    courses        bigint[] NOT NULL,
    enrollments    integer NOT NULL,
    failures       integer NOT NULL,
    heldout        jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE history.risk_models IS
    'Risk models learned by tracker risk fit: logistic regressions over the five risk factors, with what each was trained on and how it did on held-out courses.';

CREATE TABLE history.risk_model_activations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version      text REFERENCES history.risk_models (version),
    activated_at timestamptz NOT NULL DEFAULT now(),
    activated_by text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE history.risk_model_activations IS
    'Which model canvas.student_risk applies: the newest row (a NULL version: risk-v1).';

CREATE TRIGGER risk_models_append_only BEFORE UPDATE OR DELETE ON history.risk_models
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER risk_models_no_truncate BEFORE TRUNCATE ON history.risk_models
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER risk_model_activations_append_only BEFORE UPDATE OR DELETE ON history.risk_model_activations
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER risk_model_activations_no_truncate BEFORE TRUNCATE ON history.risk_model_activations
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
"""


def restore(conn):
    """The rollback: the statements of 0014_risk_models.rollback.sql, in order."""
    path = Path(__file__).with_name("0014_risk_models.rollback.sql")
    with conn.cursor() as cur:
        for statement in read_sql_migration(str(path))[2]:
            cur.execute(statement)


steps = [
    step(TABLES),
    step(rules.apply, restore),
]
