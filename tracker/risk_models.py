"""Is the risk answer right, and can the school's past terms make it better? (issue 15)

- :func:`evaluate` — on completed courses, as of week N: the AUC, the precision and recall
  of each category, and a calibration table, of the active model beside ``risk-v1`` and
  the current score alone (``tracker risk evaluate``);
- :func:`fit` — learn a logistic regression over the five risk factors from completed
  courses as of week N, cross-validated by course, and store it in layer 2
  (``history.risk_models``); scikit-learn, the extra ``tracker[learn]`` (``tracker risk
  fit``);
- :func:`activate`, :func:`active_model`, :func:`models` — which model
  ``canvas.student_risk`` applies (``history.risk_model_activations``).

The scoring is SQL's (``sql/rules/risk.sql``: ``canvas.student_risk_as_of``, the same
``canvas.assess_risk`` the at-risk report and each sync apply), the outcomes too
(``canvas.enrollment_outcomes``, :class:`OutcomeRule`), and so are the measures
(``sql/history/risk_models.sql``): Python only chooses, fits and reports.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tracker import arguments
from tracker.analytics import RISK_MODEL
from tracker.errors import ConfigurationError, InvalidArgumentError, NotFoundError, TrackerError
from tracker.sqlfiles import sql

__all__ = [
    "BASELINE",
    "CURRENT_SCORE",
    "DEFAULT_BANDS",
    "DEFAULT_WEEK",
    "FACTORS",
    "Evaluation",
    "FitResult",
    "ModelScore",
    "OutcomeRule",
    "activate",
    "active_model",
    "evaluate",
    "fit",
    "models",
]

#: The hand-set model, applied while no fitted one is active.
BASELINE = RISK_MODEL
#: The baseline every model must beat.
CURRENT_SCORE = "current score alone"
#: What fit's folds scored the students of the courses they held out.
HELD_OUT = "held out"
#: The factors a fitted model reads, in the order of its coefficients.
FACTORS = ("score", "momentum", "missing", "late", "inactivity")
#: The probability of failing at which medium, high and critical begin.
DEFAULT_BANDS = (0.15, 0.3, 0.5)
#: The week of a course at which models are fitted and measured by default.
DEFAULT_WEEK = 4

_VERSION = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class OutcomeRule:
    """Which completed enrollments failed (``canvas.enrollment_outcomes``): a final grade in
    ``failing_grades`` when given, else a final score under ``pass_mark``; a withdrawal
    counts as failed unless ``withdrawn_ok``."""

    failing_grades: tuple[str, ...] | None = None
    pass_mark: float = 60.0
    withdrawn_ok: bool = False

    def __post_init__(self) -> None:
        if self.failing_grades is not None:
            object.__setattr__(self, "failing_grades", tuple(
                arguments.texts("failing_grades", self.failing_grades, what="grades")))
        if not isinstance(self.pass_mark, (int, float)) or not 0 <= self.pass_mark <= 1000:
            raise InvalidArgumentError(f"pass_mark must be a score from 0 to 1000, not "
                                       f"{self.pass_mark!r}")

    def params(self) -> dict[str, Any]:
        return {"failing_grades": list(self.failing_grades) if self.failing_grades else None,
                "pass_mark": self.pass_mark, "withdrawn_ok": self.withdrawn_ok}


@dataclass(frozen=True)
class ModelScore:
    """How one model (or baseline) ranked the students of completed courses."""

    model: str
    enrollments: int
    failures: int
    auc: float | None
    categories: tuple[dict[str, Any], ...] = ()
    calibration: tuple[dict[str, Any], ...] = ()

    def category(self, name: str) -> dict[str, Any] | None:
        """The row of ``name`` ('low' … 'critical', or 'high+critical'), if any student."""
        return next((c for c in self.categories if c["category"] == name), None)


@dataclass(frozen=True)
class Evaluation:
    """:func:`evaluate`'s answer. ``scores`` holds the active model, ``risk-v1`` (once, when
    it is the active one) and the current score alone; ``trained_on`` counts the courses
    measured that the active model learned from (its own figures there are optimistic:
    ``history.risk_models.heldout`` holds those measured on courses held out)."""

    as_of_week: int
    active: str
    courses: int
    trained_on: int
    scores: tuple[ModelScore, ...]

    def score(self, model: str) -> ModelScore:
        for s in self.scores:
            if s.model == model:
                return s
        raise KeyError(model)

    @property
    def worse_than_baseline(self) -> bool:
        """The active model's AUC is below risk-v1's."""
        mine, base = self.score(self.active).auc, self.score(BASELINE).auc
        return mine is not None and base is not None and mine < base


def _week(as_of_week: Any) -> int:
    return arguments.count("as_of_week", as_of_week, minimum=1, maximum=520)


def _completed(conn: psycopg.Connection[Any], rule: OutcomeRule) -> list[int]:
    row = sql.history.completed_courses(conn, **rule.params()).fetchone()
    return list(row[0]) if row else []


def _score(conn: psycopg.Connection[Any], courses: list[int], week: int, rule: OutcomeRule,
           model_versions: Sequence[str]) -> None:
    """Fill ``pg_temp.risk_scored``: each model's scores, then the current score alone."""
    sql.history.drop_scored(conn)
    sql.history.create_scored(conn)
    for version in model_versions:
        sql.history.score_as_of(conn, course_ids=courses, as_of_week=week,
                                model_version=version, **rule.params())
    sql.history.score_current_score_alone(conn)


def _measures(conn: psycopg.Connection[Any]) -> list[ModelScore]:
    aucs = sql.history.areas_under_curve(conn, row_factory=dict_row).fetchall()
    cats = sql.history.categories(conn, row_factory=dict_row).fetchall()
    deciles = sql.history.calibration(conn, row_factory=dict_row).fetchall()
    return [
        ModelScore(
            model=a["model"], enrollments=a["enrollments"], failures=a["failures"],
            auc=_float(a["auc"]),
            categories=tuple(_plain(c) for c in cats if c["model"] == a["model"]),
            calibration=tuple(_plain(d) for d in deciles if d["model"] == a["model"]),
        )
        for a in aucs
    ]


def evaluate(
    conn: psycopg.Connection[Any],
    *,
    as_of_week: int = DEFAULT_WEEK,
    model: str | None = None,
    outcomes: OutcomeRule = OutcomeRule(),
) -> Evaluation:
    """Measure ``model`` (None: the active one) and ``risk-v1`` on completed courses as of
    week ``as_of_week``, beside the current score alone. Reads only; raises NotFoundError
    when there is no such model or no completed course."""
    week = _week(as_of_week)
    version = _known(conn, model) if model is not None else active_model(conn)
    with conn.transaction():
        courses = _completed(conn, outcomes)
        if not courses:
            raise NotFoundError("no completed course to measure against: a course counts once "
                                "it is concluded or its end date is past")
        _score(conn, courses, week, outcomes, list(dict.fromkeys([version, BASELINE])))
        scores = _measures(conn)
    trained = set(_model_courses(conn, version))
    return Evaluation(as_of_week=week, active=version, courses=len(courses),
                      trained_on=len(trained & set(courses)), scores=tuple(scores))


# -- fit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` learned and how it did on courses held out of its training."""

    version: str
    as_of_week: int
    courses: int
    enrollments: int
    failures: int
    folds: int
    heldout: dict[str, Any]
    coefficients: dict[str, float]
    intercept: float
    bands: tuple[float, ...]
    activated: bool = False
    stored: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def beats_baseline(self) -> bool:
        """Held out, its AUC is above risk-v1's and above the current score alone's."""
        h = self.heldout
        return h["auc"] > h["risk_v1_auc"] and h["auc"] > h["current_score_auc"]


def _learn() -> Any:
    try:
        import numpy
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold
    except ImportError as e:
        raise ConfigurationError(
            "tracker risk fit needs scikit-learn, which is not installed: "
            "pip install 'tracker[learn]' (or pip install scikit-learn)") from e
    return numpy, LogisticRegression, GroupKFold


def fit(
    conn: psycopg.Connection[Any],
    *,
    as_of_week: int = DEFAULT_WEEK,
    outcomes: OutcomeRule = OutcomeRule(),
    bands: Sequence[float] = DEFAULT_BANDS,
    version: str | None = None,
    activate_it: bool = False,
    store: bool = True,
) -> FitResult:
    """Learn a logistic regression over the risk factors of completed courses as of week
    ``as_of_week``, and measure it on courses it did not learn from before anything is
    kept: each fold of a GroupKFold by course (at most 5) is scored by a model trained on
    the others, so no student's own course ever scores them; the held-out scores give its
    AUC, risk-v1's and the current score's on the same students, the precision and recall
    of high and critical, and a calibration table. Then the model learned from every course
    is stored (``store``) as ``version`` (default ``lr-w{week}-{UTC time}``) and, when
    ``activate_it``, made the active one, but only if it beats risk-v1 and the current
    score alone held out (else a TrackerError, nothing activated).

    Factors are standardised (center, scale: the training mean and standard deviation); an
    unknown one takes the mean. One transaction: stored and activated together, or not.
    """
    week = _week(as_of_week)
    bands = _bands(bands)
    version = _new_version(conn, version, week)
    numpy, LogisticRegression, GroupKFold = _learn()
    with conn.transaction():
        courses = _completed(conn, outcomes)
        _score(conn, courses, week, outcomes, [BASELINE])
        rows = sql.history.training_rows(conn, row_factory=dict_row).fetchall()
        failures = sum(r["failed"] for r in rows)
        groups = numpy.array([r["course_id"] for r in rows])
        n_courses = len(set(groups.tolist()))
        if n_courses < 2 or failures == 0 or failures == len(rows):
            raise NotFoundError(
                f"too little to learn from as of week {week}: {len(rows)} enrollments in "
                f"{n_courses} completed course(s), {failures} failed; fit needs two courses "
                "or more, and students who passed and failed")
        raw = numpy.array([[numpy.nan if v is None else v for v in r["features"]] for r in rows],
                          dtype=float)
        y = numpy.array([r["failed"] for r in rows], dtype=int)

        def standardise(train: Any, x: Any) -> tuple[Any, Any, Any]:
            # A factor never known in train (momentum, early on) gets center 0, scale 1:
            # its z is 0 for everyone, and so is its coefficient.
            known = ~numpy.isnan(train)
            count = known.sum(axis=0)
            filled = numpy.where(known, train, 0.0)
            center = filled.sum(axis=0) / numpy.maximum(count, 1)
            spread = numpy.where(known, train - center, 0.0)
            scale = numpy.sqrt((spread ** 2).sum(axis=0) / numpy.maximum(count, 1))
            scale[scale < 1e-9] = 1.0
            return numpy.nan_to_num((x - center) / scale, nan=0.0), center, scale

        folds = min(5, n_courses)
        heldout = numpy.zeros(len(rows))
        for train, test in GroupKFold(n_splits=folds).split(raw, y, groups):
            if len(set(y[train].tolist())) < 2:  # a fold of one class: the base rate
                heldout[test] = y[train].mean()
                continue
            x_train, center, scale = standardise(raw[train], raw[train])
            x_test = numpy.nan_to_num((raw[test] - center) / scale, nan=0.0)
            model = LogisticRegression(C=1.0, max_iter=1000).fit(x_train, y[train])
            heldout[test] = model.predict_proba(x_test)[:, 1]
        x_all, center, scale = standardise(raw, raw)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x_all, y)

        # Measured by the statements evaluate uses, beside risk-v1 and the current score
        # on the same students.
        with sql.history.copy_held_out.copy(conn) as copy:
            for r, p in zip(rows, heldout.tolist(), strict=True):
                copy.write_row((HELD_OUT, r["user_id"], r["course_id"], r["term_id"],
                                r["failed"], p))
        sql.history.categorise_held_out(conn, bands=list(bands))
        scores = {s.model: s for s in _measures(conn)}
        mine, base = scores[HELD_OUT], scores[BASELINE]
        report = {
            "auc": mine.auc,
            "risk_v1_auc": base.auc,
            "current_score_auc": scores[CURRENT_SCORE].auc,
            "folds": folds,
            "high_critical": _rates(mine),
            "risk_v1_high_critical": _rates(base),
            "calibration": [_without_model(d) for d in mine.calibration],
        }
        result = FitResult(
            version=version, as_of_week=week, courses=n_courses, enrollments=len(rows),
            failures=int(failures), folds=folds, heldout=report,
            coefficients={f: round(float(c), 6) for f, c in zip(FACTORS, model.coef_[0],
                                                                    strict=True)},
            intercept=round(float(model.intercept_[0]), 6), bands=bands, stored=store,
        )
        if activate_it and not result.beats_baseline:
            raise TrackerError(
                f"not activated: held out, model {version} scores AUC {report['auc']}, not "
                f"above risk-v1 ({report['risk_v1_auc']}) and the current score alone "
                f"({report['current_score_auc']}); risk-v1 stays active")
        if store:
            sql.history.insert_model(
                conn, version=version, factors=list(FACTORS),
                coefficients=[float(c) for c in model.coef_[0]],
                centers=[float(c) for c in center], scales=[float(s) for s in scale],
                intercept=float(model.intercept_[0]), bands=list(bands), as_of_week=week,
                terms=sorted({r["term_id"] for r in rows if r["term_id"] is not None}),
                courses=sorted(set(groups.tolist())), enrollments=len(rows),
                failures=int(failures), heldout=Jsonb(report), **outcomes.params())
            if activate_it:
                sql.history.activate(conn, version=version)
                result = dataclasses.replace(result, activated=True)
    return result


def _rates(score: ModelScore) -> dict[str, Any]:
    """Students, failed, precision and recall of high and critical together."""
    both = score.category("high+critical")
    if both is None:
        return {"students": 0, "failed": 0, "precision": None, "recall": 0.0}
    return _without_model(both, "category")


def _without_model(row: dict[str, Any], *also: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("model", *also)}


def _bands(bands: Sequence[float]) -> tuple[float, ...]:
    try:
        values = tuple(float(b) for b in bands)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"bands must be three probabilities, not {bands!r}") from None
    if len(values) != 3 or not 0 < values[0] < values[1] < values[2] < 1:
        raise InvalidArgumentError(
            f"bands must be three rising probabilities between 0 and 1 (where medium, high "
            f"and critical begin), not {', '.join(map(str, values)) or 'none'}")
    return values


def _new_version(conn: psycopg.Connection[Any], version: str | None, week: int) -> str:
    if version is None:
        return f"lr-w{week}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    if not isinstance(version, str) or not _VERSION.fullmatch(version) or version == BASELINE:
        raise InvalidArgumentError(
            f"version {version!r} must be lower-case letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, and not {BASELINE}")
    if version in {m["version"] for m in models(conn)}:
        raise InvalidArgumentError(f"version {version!r} exists already: models are kept as "
                                   "they were learned; choose another name")
    return version


# -- which model ---------------------------------------------------------------------------------


def models(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every fitted model, newest first: version, active, created_at, as_of_week, courses,
    enrollments, failures, the held-out AUCs (its own, risk-v1's, the current score's),
    bands, coefficients and intercept."""
    return [_plain(r) for r in sql.history.models(conn, row_factory=dict_row)]


def active_model(conn: psycopg.Connection[Any]) -> str:
    """The name of the model ``canvas.student_risk`` applies (``risk-v1`` until one is
    activated)."""
    row = sql.history.active_model(conn).fetchone()
    return BASELINE if row is None else str(row[0])


def activate(conn: psycopg.Connection[Any], version: str) -> None:
    """Make ``version`` (a fitted model, or ``risk-v1``) the one ``canvas.student_risk``
    applies from now on, at-risk reports and each sync's stored assessments alike."""
    version = _known(conn, version)
    with conn.transaction():
        sql.history.activate(conn, version=version)


def _known(conn: psycopg.Connection[Any], version: Any) -> str:
    version = arguments.text("model", version)
    if version != BASELINE and version not in {m["version"] for m in models(conn)}:
        raise NotFoundError(f"no risk model {version!r}: tracker risk models lists them "
                            f"({BASELINE} is the hand-set one)")
    return version


def _model_courses(conn: psycopg.Connection[Any], version: str) -> list[int]:
    return next((list(m["course_ids"]) for m in models(conn) if m["version"] == version), [])


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals as floats, for JSON and for reading."""
    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v
    return {k: plain(v) for k, v in row.items()}
