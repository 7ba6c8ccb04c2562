"""Students' hidden traits (ability, decline, habits) and which courses each student takes.

About one student in eight declines from some day on, mostly during the Fall term
(scores fall over :data:`DECLINE_SPAN` and stay low, more work goes missing, less
activity). Weaker students miss work and hand it in late more often.
"""

from __future__ import annotations

import random

from tracker.sample.dates import DAY, epoch
from tracker.sample.model import Student, clamp

# When declining students start to decline, and how long until they are at their lowest.
_DECLINE_SPRING = (epoch(2026, 2, 9), epoch(2026, 4, 13))
_DECLINE_FALL = (epoch(2026, 8, 31), epoch(2026, 10, 5))
DECLINE_SPAN = 42 * DAY
_NEVER = epoch(2100, 1, 1)


def traits(rng: random.Random, user_id: int | str, ref: int | str) -> Student:
    """A student's traits, drawn from ``rng``; ``ref`` is how submissions name the user."""
    ability = clamp(rng.gauss(0.80, 0.11), 0.35, 0.99)
    declining = rng.random() < 0.12
    return Student(
        id=user_id,
        ref=ref,
        ability=ability,
        decline_start=(
            rng.randrange(_DECLINE_SPRING[0], _DECLINE_SPRING[1])
            if declining and rng.random() < 0.2
            else rng.randrange(_DECLINE_FALL[0], _DECLINE_FALL[1])
            if declining
            else _NEVER
        ),
        decline_rate=rng.uniform(0.2, 0.45) if declining else 0.0,
        miss=clamp(0.02 + (0.85 - ability) * 0.3 + rng.random() * 0.04, 0.005, 0.4),
        late=clamp(0.04 + (0.9 - ability) * 0.25 + rng.random() * 0.05, 0.01, 0.35),
        activity=clamp(rng.gauss(0.6, 0.2) + (ability - 0.8), 0.05, 1.0),
    )


def rosters(rng: random.Random, students: int, courses: int, per_student: int) -> list[list[int]]:
    """Student indexes per course: each student in ``per_student`` distinct courses, evenly."""
    result: list[list[int]] = [[] for _ in range(courses)]
    if not courses or not per_student:
        return result
    order = list(range(students))
    rng.shuffle(order)
    stride = courses // per_student  # k x stride < courses: distinct courses
    for position, student in enumerate(order):
        for k in range(per_student):
            result[(position + k * stride) % courses].append(student)
    for roster in result:
        roster.sort()
    return result
