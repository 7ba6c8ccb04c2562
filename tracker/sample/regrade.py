"""Revisions: rounds of regrading applied to each course as it is written.

``revision=N`` is the same school after N rounds: each round changes the score of about
``changed_fraction`` of all submissions (score, grade, entered_score, entered_grade and
graded_at change; nothing else), so revision N differs from revision N-1 by one round.
"""

from __future__ import annotations

import random
from typing import Any

from tracker.sample.dates import DAY, SNAPSHOT_EPOCH, ts
from tracker.sample.grading import enrollment_grades, grade
from tracker.sample.model import Assignment, Course, clamp

_SCORABLE = ("points", "percent", "letter_grade", "gpa_scale")


class Regrading:
    """The rounds of one run, each drawing from a random stream of its own, and their tallies."""

    def __init__(self, rounds: list[random.Random], fraction: float) -> None:
        self.rounds = rounds
        self.fraction = fraction
        self.round_changed = [0] * len(rounds)
        self.submissions_seen = 0
        self.changed_submissions = 0
        """Submissions the last round changed."""

    def apply(
        self,
        course: Course,
        cells: list[list[dict[str, Any]]],
        users: list[int | str],
        hidden: frozenset[int] = frozenset(),
    ) -> dict[int, dict[str, Any]]:
        """Apply this course's share of every round to ``cells``, in place.

        Each round changes the scores of about ``fraction`` of the submissions seen so far
        (a running tally keeps the total close across courses), chosen among graded,
        scored, visible submissions of point-based assignments. Returns, by row, the
        grades before the last round of the students that round touched.
        """
        self.submissions_seen += sum(len(subs) for subs in cells)
        if not self.rounds:
            return {}
        eligible = _eligible(course, cells, hidden)
        before: dict[int, dict[str, Any]] = {}
        for r, rng in enumerate(self.rounds):
            target = round(self.fraction * self.submissions_seen) - self.round_changed[r]
            chosen = sorted(rng.sample(eligible, min(max(target, 0), len(eligible))))
            self.round_changed[r] += len(chosen)
            if r == len(self.rounds) - 1:
                for row in sorted({row for row, _ in chosen}):
                    before[row] = enrollment_grades(course, cells[row], users[row])
                self.changed_submissions += len(chosen)
            regraded = ts(SNAPSHOT_EPOCH + (r + 1) * DAY)
            for row, col in chosen:
                _change(course.assignments[col], cells[row][col], rng, regraded)
        return before


def _eligible(
    course: Course, cells: list[list[dict[str, Any]]], hidden: frozenset[int]
) -> list[tuple[int, int]]:
    """(row, column) of the submissions a round may regrade."""
    return [
        (row, col)
        for row, subs in enumerate(cells)
        for col, s in enumerate(subs)
        if s["workflow_state"] == "graded"
        and s["score"] is not None
        and s["id"] not in hidden
        and course.assignments[col].grading_type in _SCORABLE
        and (course.assignments[col].points or 0.0) > 0
    ]


def _change(a: Assignment, s: dict[str, Any], rng: random.Random, graded_at: str | None) -> None:
    """A regrade: a new score, up to 15% of the points away; the late deduction stays."""
    points = a.points or 0.0
    old = s["score"]
    step = 0.5 if points <= 25 else 1.0
    delta = rng.randint(1, max(1, int(points * 0.15 / step))) * step
    new = old + delta if rng.random() < 0.5 else old - delta
    if not 0.0 <= new <= points:
        new = old - delta if new > points else old + delta
    new = clamp(new, 0.0, points)
    if new == old:  # only when points < step
        new = points if old != points else 0.0
    entered = round(new + (s["points_deducted"] or 0.0), 2)
    s |= {
        "score": new,
        "grade": grade(a.grading_type, new, a.points),
        "entered_score": entered,
        "entered_grade": grade(a.grading_type, entered, a.points),
        "graded_at": graded_at,
    }
