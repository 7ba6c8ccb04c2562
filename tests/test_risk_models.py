"""Issue 15: the at-risk answer measured against how past courses ended, and a model learned
from them, applied in SQL (tracker.risk_models, sql/rules/risk.sql, sql/history/risk_models.sql).

One sample school (a third of its courses in a past term, their outcomes following from
the students' work) is synced once for the module; each test works in a transaction that
is rolled back, so a model one test stores or activates is gone for the next.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from command_line import tracker

from tracker import analytics, risk_models, sample, sync
from tracker.errors import ConfigurationError, InvalidArgumentError, NotFoundError
from tracker.sqlfiles import sql


@pytest.fixture(scope="module")
def school_url(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = module_db_url
    bundle = tmp_path_factory.mktemp("risk") / "bundle"
    sample.generate(bundle, students=900, courses=15, assignments_per_course=15,
                    courses_per_student=4)
    with psycopg.connect(url, autocommit=True) as conn:
        sync.sync_bundle(conn, bundle)
    return url


@pytest.fixture
def school(school_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a transaction that is rolled back at the end."""
    with psycopg.connect(school_url) as conn:
        conn.execute("SELECT 1")  # open the transaction: what the test does nests in it
        yield conn
        conn.rollback()


def test_risk_v1_is_measured_against_how_past_courses_ended(school):
    ev = risk_models.evaluate(school, as_of_week=4)
    assert ev.active == "risk-v1" and ev.courses == 5 and ev.trained_on == 0
    assert {s.model for s in ev.scores} == {"risk-v1", "current score alone"}
    v1 = ev.score("risk-v1")
    outcomes = school.execute(
        "SELECT count(*) FILTER (WHERE failed) FROM canvas.enrollment_outcomes()").fetchone()
    # Everyone still in their course at week 4; those who had already withdrawn are not.
    assert 0 < v1.failures <= outcomes[0] and v1.enrollments > 1000
    assert 0.6 < v1.auc < 1  # better than a coin, short of perfect
    assert 0.6 < ev.score("current score alone").auc < 1
    cats = {c["category"]: c for c in v1.categories}
    assert sum(cats[c]["students"] for c in ("low", "medium", "high", "critical")
               if c in cats) == v1.enrollments
    assert sum(cats[c]["failed"] for c in ("low", "medium", "high", "critical")
               if c in cats) == v1.failures
    both = cats["high+critical"]
    assert both["recall"] == round(both["failed"] / v1.failures, 3)
    assert both["precision"] == round(both["failed"] / both["students"], 3)
    assert [d["decile"] for d in v1.calibration] == list(range(1, 11))
    # The riskiest tenth fails far more often than the safest.
    assert v1.calibration[-1]["failure_rate"] > 3 * v1.calibration[0]["failure_rate"]


def test_the_auc_is_the_chance_a_failing_student_outranks_a_passing_one(school):
    ev = risk_models.evaluate(school, as_of_week=4)
    scored = school.execute(
        "SELECT failed, score FROM pg_temp.risk_scored WHERE model = 'risk-v1'").fetchall()
    failed = [float(s) for f, s in scored if f]
    passed = [float(s) for f, s in scored if not f]
    wins = sum((a > b) + 0.5 * (a == b) for a in failed for b in passed)
    assert ev.score("risk-v1").auc == round(wins / (len(failed) * len(passed)), 3)


def test_fit_learns_from_past_courses_held_out_by_course_and_stores_the_model(school):
    result = risk_models.fit(school, as_of_week=4, version="test-w4")
    assert result.stored and not result.activated and result.folds == 5
    h = result.heldout
    assert 0.6 < h["auc"] < 1 and 0.6 < h["risk_v1_auc"] < 1
    # Learned from the school's own past: better than the hand-set weights.
    assert h["auc"] > h["risk_v1_auc"]
    assert result.coefficients["score"] < 0  # a higher score, less risk
    (stored,) = risk_models.models(school)
    assert stored["version"] == "test-w4" and stored["active"] is False
    assert stored["courses"] == 5 and stored["heldout_auc"] == h["auc"]
    assert len(stored["coefficients"]) == 5 and stored["factors"] == list(risk_models.FACTORS)
    with pytest.raises(InvalidArgumentError, match="exists already"):
        risk_models.fit(school, as_of_week=4, version="test-w4")


def test_an_active_model_is_applied_in_sql_as_its_coefficients_say(school):
    risk_models.fit(school, as_of_week=4, version="test-w4", bands=(0.1, 0.3, 0.5))
    risk_models.activate(school, "test-w4")
    assert risk_models.active_model(school) == "test-w4"
    (model,) = school.execute(
        "SELECT coefficients, centers, scales, intercept FROM history.risk_models").fetchall()
    coef, center, scale, intercept = model
    rows = school.execute(
        "SELECT r.risk_score, r.category, r.reasons, r.model_version, r.contributions, "
        "       f.features "
        "FROM canvas.student_risk(NULL) AS r "
        "JOIN canvas.student_risk_as_of(NULL, NULL, 'test-w4') AS f USING (user_id, course_id)"
    ).fetchall()
    assert len(rows) > 1000
    for score, category, reasons, version, parts, features in rows:
        z = [0.0 if x is None else (x - c) / s for x, c, s in zip(features, center, scale)]
        logit = intercept + sum(k * v for k, v in zip(coef, z))
        p = 1 / (1 + math.exp(-logit))
        assert float(score) == pytest.approx(p, abs=0.0006)
        assert version == "test-w4"
        if min(abs(p - band) for band in (0.1, 0.3, 0.5)) > 1e-6:
            assert category == ("critical" if p >= 0.5 else "high" if p >= 0.3
                                else "medium" if p >= 0.1 else "low")
        # Reasons: the factors adding 0.25 or more to the log-odds, most first, three at most.
        named = sorted((p for p in parts.values() if p >= 0.25), reverse=True)[:3]
        assert len(reasons) == len(named)
    # The at-risk report and a program see the same model; each sync stores it.
    top = analytics.at_risk(school, min_category="critical")[0]
    assert top.model_version == "test-w4" and top.reasons
    assert sum(f.contribution for f in top.factors) > 0
    assert analytics.record_risk_assessments(school) > 0
    assert school.execute("SELECT DISTINCT model_version FROM history.risk_assessments "
                          "WHERE sync_id IS NULL").fetchall() == [("test-w4",)]
    # Back to the hand-set weights.
    risk_models.activate(school, "risk-v1")
    assert analytics.at_risk(school)[0].model_version == "risk-v1"


def test_evaluate_says_when_the_active_model_is_worse_than_risk_v1(school):
    # A model that has learned the opposite of the truth: a higher score, more risk.
    sql.history.insert_model(
        school, version="upside-down", factors=list(risk_models.FACTORS),
        coefficients=[2.0, 0.0, 0.0, 0.0, 0.0], centers=[70.0, 0.0, 0.0, 0.0, 0.0],
        scales=[15.0, 1.0, 1.0, 1.0, 1.0], intercept=-1.5, bands=[0.15, 0.3, 0.5], as_of_week=4,
        failing_grades=None, pass_mark=60, withdrawn_ok=False, terms=[], courses=[],
        enrollments=0, failures=0, heldout=json.dumps({}))
    risk_models.activate(school, "upside-down")
    ev = risk_models.evaluate(school, as_of_week=4)
    assert ev.active == "upside-down" and ev.worse_than_baseline
    assert ev.score("upside-down").auc < 0.5 < ev.score("risk-v1").auc
    # Measured by name while risk-v1 is active, the same.
    risk_models.activate(school, "risk-v1")
    assert risk_models.evaluate(school, model="upside-down").worse_than_baseline


def test_the_outcome_rule_decides_who_failed(school):
    by_mark = risk_models.evaluate(school, outcomes=risk_models.OutcomeRule(pass_mark=60))
    stricter = risk_models.evaluate(school, outcomes=risk_models.OutcomeRule(pass_mark=70))
    lenient = risk_models.evaluate(school, outcomes=risk_models.OutcomeRule(withdrawn_ok=True))
    f = [e.score("risk-v1").failures for e in (by_mark, stricter, lenient)]
    assert f[1] > f[0] > f[2]


def test_bad_arguments_are_refused_by_name(school):
    with pytest.raises(InvalidArgumentError, match="bands"):
        risk_models.fit(school, bands=(0.5, 0.3, 0.9))
    with pytest.raises(InvalidArgumentError, match="version"):
        risk_models.fit(school, version="Risk V2")
    with pytest.raises(InvalidArgumentError, match="as_of_week"):
        risk_models.evaluate(school, as_of_week=0)
    with pytest.raises(NotFoundError, match="no risk model 'nope'"):
        risk_models.activate(school, "nope")


def test_fit_needs_past_courses(conn, tmp_path):
    bundle = tmp_path / "bundle"
    sample.generate(bundle, students=40, courses=2, assignments_per_course=6,
                    courses_per_student=1)  # one past course: nothing to hold out
    sync.sync_bundle(conn, bundle)
    with pytest.raises(NotFoundError, match="too little to learn from"):
        risk_models.fit(conn)
    assert risk_models.models(conn) == []


def test_fit_without_scikit_learn_says_what_to_install(school, monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'tracker\[learn\]'"):
        risk_models.fit(school)


def test_the_command_line_evaluates_fits_and_activates(school_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", school_url)
    ev = tracker("risk", "evaluate", "--format", "json")
    assert ev.exit_code == 0, ev.output
    body = json.loads(ev.output)
    assert body["active"] == "risk-v1" and body["worse_than_risk_v1"] is False
    assert {m["model"] for m in body["models"]} == {"risk-v1", "current score alone"}
    dry = tracker("risk", "fit", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "held out, by course" in dry.output and "dry run: nothing stored" in dry.output
    assert "active: risk-v1" in tracker("risk", "models").output
    assert tracker("risk", "fit", "--bands", "0.5,0.2,0.9").exit_code == 2
    assert tracker("risk", "activate", "nope").exit_code == 1
    help_text = tracker("risk", "--help").output
    assert "tracker risk evaluate" in help_text and "tracker risk fit" in help_text
    # The final-grade prediction's interval, calibrated on the same past courses.
    calibrated = tracker("risk", "calibrate", "--week", "3", "--week", "6", "--format", "json")
    assert calibrated.exit_code == 0, calibrated.output
    weeks = json.loads(calibrated.output)
    assert [w["week"] for w in weeks] == [3, 6]
    assert all(w["courses"] == 5 and 0.85 < w["held-out coverage"] <= 1 for w in weeks)
    assert tracker("risk", "calibrate", "--alpha", "0.9").exit_code == 2


def test_student_risk_as_of_at_the_clock_is_student_risk(school):
    rows = school.execute(
        "SELECT r.user_id, r.course_id, r.risk_score, r.category, r.reasons, "
        "       a.risk_score, a.category, a.reasons "
        "FROM canvas.student_risk(NULL) AS r "
        "JOIN canvas.student_risk_as_of(NULL, NULL) AS a USING (user_id, course_id)"
    ).fetchall()
    count = school.execute("SELECT count(*) FROM canvas.student_risk(NULL)").fetchone()[0]
    assert len(rows) == count > 1000
    assert all(r[2:5] == r[5:8] for r in rows)
