"""How a past-term course ends for its students: a slump, a withdrawal, a pass or a fail.

In a course of a term that is over, a student may slump: from some day of the term on,
scores fall, work goes missing and comes in late (a decline of :mod:`.people`, in this
course only). Weaker students and those who miss work anyway slump more often, and the
earlier the slump, the more of the term it spoils: so the first weeks' missing work, late
work and falling scores foretell failing, but not always. A few who slump withdraw (their
work stops; the enrollment ends ``inactive`` or ``deleted``). Every other enrollment saw
the course through (``completed`` when the course was concluded, still ``active`` when it
was left to its end date, as Canvas shows them), its ``final_score`` counting missing work
as zero: under :data:`PASSING` it failed.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from tracker.sample.dates import DAY
from tracker.sample.model import Course, Student, clamp

PASSING = 60.0
"""The lowest final score that passes."""


@dataclass(frozen=True)
class Fate:
    """A student's course of a past term: their traits in it, and when they withdrew if so,
    with the ``enrollment_state`` that left (deactivated or removed)."""

    student: Student
    withdrawn: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class Outcomes:
    """The past-term student enrollments that passed, failed and were withdrawn."""

    passed: int = 0
    failed: int = 0
    withdrawn: int = 0

    def add(self, outcome: str) -> Outcomes:
        return dataclasses.replace(self, **{outcome: getattr(self, outcome) + 1})

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def fate(course: Course, student: Student, rng: random.Random) -> Fate:
    """How ``student`` fares in ``course`` (of a term that is over), drawn from ``rng``."""
    chance = clamp(0.02 + (0.85 - student.ability) * 0.5 + student.miss * 0.5, 0.02, 0.6)
    if rng.random() >= chance:
        return Fate(student)
    length = course.term_end - course.term_start
    start = course.term_start + int((0.05 + 0.7 * min(rng.random(), rng.random())) * length)
    slumped = dataclasses.replace(  # the signs show from the start: more missing, more late
        student,
        decline_start=min(student.decline_start, start),
        decline_rate=max(student.decline_rate, rng.uniform(0.15, 0.45)),
        miss=min(0.5, student.miss + 0.08),
        late=min(0.6, student.late + 0.15),
        activity=student.activity * 0.6,
    )
    withdrawn = start + rng.randrange(10 * DAY, 30 * DAY) if rng.random() < 0.4 else None
    if withdrawn is None or withdrawn > course.term_end - 14 * DAY:
        return Fate(slumped)  # too late to withdraw: they see it through
    return Fate(slumped, withdrawn, "deleted" if rng.random() < 0.3 else "inactive")


def outcome(state: str, grades: dict[str, Any]) -> str:
    """``passed``, ``failed`` or ``withdrawn``: a past-term enrollment's end, by its grades."""
    if state in ("inactive", "deleted"):
        return "withdrawn"
    score = grades["final_score"]
    return "failed" if score is None or score < PASSING else "passed"
