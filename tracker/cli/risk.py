"""``tracker risk …``: is the at-risk answer right, and a better one learned from past terms
(thin wrappers over :mod:`tracker.risk_models`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from tracker import db, projection, risk_models
from tracker.cli.options import format_option
from tracker.cli.output import render, to_json

WEEK = click.IntRange(1, 520)


@click.group("risk")
def group() -> None:
    """Measure the at-risk answer on courses that are over, and learn a better one.

    A course is over once it is concluded or its end date is past; each of its student
    enrollments passed, failed or withdrew (--failing-grades, --pass-mark,
    --withdrawn-ok). Students are judged as they stood N weeks into their course
    (--as-of-week), from what was known then.

    \b
    tracker risk evaluate                 AUC, precision, recall, calibration
    tracker risk fit --activate           learn from past terms, use it if better
    tracker risk models                   what was learned, and which is active
    tracker risk activate risk-v1         back to the hand-set weights
    tracker risk calibrate                the final-grade prediction's 95% interval
    """


def _outcome_options(fn: Any) -> Any:
    fn = click.option("--withdrawn-ok", is_flag=True,
                      help="A withdrawal is not a failure (default: it is).")(fn)
    fn = click.option("--pass-mark", type=click.FloatRange(0, 1000), default=60,
                      show_default=True,
                      help="A final score under this fails, when no --failing-grades.")(fn)
    fn = click.option("--failing-grades", metavar="GRADES",
                      help="Final grades that fail, comma-separated, e.g. F or E,F "
                           "(default: judge by --pass-mark).")(fn)
    fn = click.option("--as-of-week", type=WEEK, default=risk_models.DEFAULT_WEEK,
                      show_default=True,
                      help="Judge students as they stood this many weeks into the course.")(fn)
    return fn


def _rule(failing_grades: str | None, pass_mark: float, withdrawn_ok: bool
          ) -> risk_models.OutcomeRule:
    grades = None
    if failing_grades is not None:
        grades = tuple(g.strip() for g in failing_grades.split(",") if g.strip())
        if not grades:
            raise click.BadParameter("name at least one grade", param_hint="--failing-grades")
    return risk_models.OutcomeRule(failing_grades=grades, pass_mark=pass_mark,
                                   withdrawn_ok=withdrawn_ok)


@group.command("evaluate")
@_outcome_options
@click.option("--model", help="The model to measure (default: the active one).")
@format_option
def evaluate_cmd(as_of_week: int, failing_grades: str | None, pass_mark: float,
                 withdrawn_ok: bool, model: str | None, fmt: str) -> None:
    """How well the active model (or --model) ranks the students of past courses.

    For it, risk-v1 and the current score alone: the AUC (the chance that a student who
    failed was scored above one who passed; 0.5 is a coin), each category's precision
    and recall, and a calibration table (students in ten groups by score: the mean
    score beside the share that failed).

    Exit codes: 0 ok, 1 the model does worse than risk-v1, 2 bad input.
    """
    with db.connect() as conn:  # temporary tables: a hot standby has none
        ev = risk_models.evaluate(conn, as_of_week=as_of_week, model=model,
                                  outcomes=_rule(failing_grades, pass_mark, withdrawn_ok))
    if fmt == "json":
        click.echo(to_json({"as_of_week": ev.as_of_week, "active": ev.active,
                            "courses": ev.courses, "trained_on": ev.trained_on,
                            "worse_than_risk_v1": ev.worse_than_baseline,
                            "models": ev.scores}))
    else:
        render([{"model": s.model, "enrollments": s.enrollments, "failures": s.failures,
                 "auc": s.auc} for s in ev.scores], fmt,
               title=f"risk as of week {ev.as_of_week}, {ev.courses} completed courses")
        render([{"model": s.model, **c} for s in ev.scores for c in s.categories], fmt,
               title="categories")
        render([{"model": s.model, **d} for s in ev.scores for d in s.calibration], fmt,
               title="calibration")
        if ev.trained_on and fmt == "table":
            click.echo(f"note: {ev.active} learned from {ev.trained_on} of these courses; "
                       "tracker risk models shows its figures on courses held out")
    if ev.worse_than_baseline:
        click.echo(f"{ev.active} ranks students worse than risk-v1", err=True)
        sys.exit(1)


@group.command("fit")
@_outcome_options
@click.option("--bands", default=",".join(map(str, risk_models.DEFAULT_BANDS)),
              show_default=True, metavar="MEDIUM,HIGH,CRITICAL",
              help="The probabilities of failing at which each category begins.")
@click.option("--version", "version", help="The new model's name (default: lr-wN-TIME).")
@click.option("--activate", "activate_it", is_flag=True,
              help="Apply it from now on, if it beats risk-v1 and the current score held out.")
@click.option("--dry-run", is_flag=True, help="Measure it; store nothing.")
@format_option
def fit_cmd(as_of_week: int, failing_grades: str | None, pass_mark: float, withdrawn_ok: bool,
            bands: str, version: str | None, activate_it: bool, dry_run: bool, fmt: str) -> None:
    """Learn a logistic regression over the risk factors from courses that are over.

    Cross-validated by course (at most 5 folds; no student's own course is in the
    training of the model that scores them), the held-out AUC beside risk-v1's and the
    current score's is reported before anything is kept. The model is stored in
    history.risk_models; --activate makes canvas.student_risk apply it (reports, psql
    and each sync alike) when it beats both. Needs scikit-learn: pip install
    'tracker[learn]'.

    Exit codes: 0 ok, 1 nothing to learn from, or not better (not activated), 2 bad input.
    """
    try:
        band_values = tuple(float(b) for b in bands.split(","))
    except ValueError:
        raise click.BadParameter(f"{bands!r} is not three numbers", param_hint="--bands") from None
    if activate_it and dry_run:
        raise click.UsageError("--activate and --dry-run exclude each other")
    with db.connect() as conn:
        result = risk_models.fit(conn, as_of_week=as_of_week,
                                 outcomes=_rule(failing_grades, pass_mark, withdrawn_ok),
                                 bands=band_values, version=version, activate_it=activate_it,
                                 store=not dry_run)
    if fmt != "table":
        render([result], fmt)
        return
    h = result.heldout
    click.echo(f"{result.version}: {result.enrollments} enrollments of {result.courses} courses "
               f"as of week {result.as_of_week}, {result.failures} failed; {result.folds} folds")
    render([{"model": result.version, "held-out auc": h["auc"],
             "high+critical precision": h["high_critical"]["precision"],
             "high+critical recall": h["high_critical"]["recall"]},
            {"model": risk_models.BASELINE, "held-out auc": h["risk_v1_auc"],
             "high+critical precision": h["risk_v1_high_critical"]["precision"],
             "high+critical recall": h["risk_v1_high_critical"]["recall"]},
            {"model": risk_models.CURRENT_SCORE, "held-out auc": h["current_score_auc"],
             "high+critical precision": None, "high+critical recall": None}],
           fmt, title="held out, by course")
    click.echo("coefficients (per standard deviation): " + ", ".join(
        f"{k} {v:+.3f}" for k, v in result.coefficients.items()))
    if result.activated:
        click.echo(f"activated: canvas.student_risk applies {result.version} from now on")
    elif not result.stored:
        click.echo("dry run: nothing stored")
    else:
        click.echo(f"stored; apply it with: tracker risk activate {result.version}")


@group.command("models")
@format_option
def models_cmd(fmt: str) -> None:
    """The models learned, newest first, with their held-out figures; which is active."""
    with db.connect_read() as conn:
        found = risk_models.models(conn)
        active = risk_models.active_model(conn)
    if fmt == "table":
        found = [{k: v for k, v in m.items()
                  if k not in ("course_ids", "factors", "coefficients", "intercept")}
                 for m in found]
        click.echo(f"active: {active}")
    render(found, fmt, title="risk models")


@group.command("activate")
@click.argument("version")
def activate_cmd(version: str) -> None:
    """Apply VERSION (a fitted model, or risk-v1) from now on."""
    with db.connect() as conn:
        risk_models.activate(conn, version)
    click.echo(f"active: {version}")


@group.command("calibrate")
@click.option("--week", "weeks", type=WEEK, multiple=True,
              help="Calibrate this week (repeatable; default: every week of the longest "
                   "past course).")
@click.option("--alpha", type=click.FloatRange(0.001, 0.5), default=0.05, show_default=True,
              help="The intervals miss this share of students (0.05: 95% intervals).")
@format_option
def calibrate_cmd(weeks: tuple[int, ...], alpha: float, fmt: str) -> None:
    """Calibrate the final-grade prediction's interval on courses that are over.

    For each week N, how far the projection made N weeks into each completed course fell
    from the final score (split-conformal); stored in history.projection_calibrations,
    after which tracker report predicted_final gives intervals by method conformal. The
    coverage printed is measured on courses held out (each in turn, calibrated on the
    others): about 1 - alpha is right.

    Exit codes: 0 ok, 1 no completed course, 2 bad input.
    """
    with db.connect() as conn:
        result = projection.calibrate(conn, weeks=list(weeks) or None, alpha=alpha)
    rows = [{"week": w.as_of_week, "students": w.n, "courses": w.courses,
             "quantile": None if w.quantile is None else round(w.quantile, 3),
             "held-out coverage": None if w.coverage is None else round(w.coverage, 3)}
            for w in result.weeks]
    render(rows, fmt, title=f"{1 - alpha:.0%} intervals, {result.courses} completed courses")
    if fmt == "table":
        pooled = "n/a" if result.coverage is None else f"{result.coverage:.1%}"
        click.echo(f"stored {result.stored} week(s); held-out coverage over all: {pooled}")
