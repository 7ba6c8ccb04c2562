"""Canvas's grading arithmetic: a score's grade string, course scores, an enrollment's grades.

Course scores are computed the way Canvas does without drop rules: percentage of points
(or of weighted groups when the course applies group weights), excused work left out,
current scores over graded work, final scores counting ungraded work as zero,
``current_*`` over posted grades only and ``unposted_*`` over all of them.
"""

from __future__ import annotations

from typing import Any

from tracker.sample.model import Course
from tracker.sample.records import BASE_URL

Scheme = tuple[tuple[str, float], ...]
"""A grading scheme: (name, lowest percentage), highest first."""

LETTERS: Scheme = (
    ("A", 94.0), ("A-", 90.0), ("B+", 87.0), ("B", 84.0), ("B-", 80.0), ("C+", 77.0),
    ("C", 74.0), ("C-", 70.0), ("D+", 67.0), ("D", 64.0), ("D-", 61.0), ("F", 0.0),
)  # fmt: skip
"""Canvas's default grading scheme."""
GPA: Scheme = (
    ("4.0", 94.0), ("3.7", 90.0), ("3.3", 87.0), ("3.0", 84.0), ("2.7", 80.0), ("2.3", 77.0),
    ("2.0", 74.0), ("1.7", 70.0), ("1.3", 67.0), ("1.0", 64.0), ("0.7", 61.0), ("0.0", 0.0),
)  # fmt: skip
"""The scheme of ``gpa_scale`` assignments."""


def number(x: float) -> str:
    """A score as Canvas writes it in ``grade``: ``10``, ``8.5``, ``85.33``."""
    x = round(x, 2)
    return str(int(x)) if x == int(x) else repr(x)


def scheme_grade(percent: float, scheme: Scheme) -> str:
    """The name ``scheme`` gives ``percent``."""
    for name, lowest in scheme:
        if percent >= lowest:
            return name
    return scheme[-1][0]


def grade(grading_type: str, score: float | None, points: float | None) -> str | None:
    """The ``grade`` string Canvas shows for ``score`` under ``grading_type``."""
    if score is None or grading_type == "not_graded":
        return None
    if grading_type == "pass_fail":
        return "complete" if points and score >= points else "incomplete"
    if grading_type == "points" or not points:
        return number(score)
    percent = score / points * 100
    if grading_type == "percent":
        return number(percent) + "%"
    return scheme_grade(percent, GPA if grading_type == "gpa_scale" else LETTERS)


def course_score(
    course: Course, subs: list[dict[str, Any]], *, posted_only: bool, final: bool
) -> float | None:
    """A course score from a student's submissions, in assignment order (None: nothing to score)."""
    earned: dict[int, float] = {}
    possible: dict[int, float] = {}
    for a, s in zip(course.assignments, subs, strict=True):
        if not a.counts or s["excused"]:
            continue
        score = s["score"]
        graded = (
            score is not None
            and s["workflow_state"] == "graded"
            and not (posted_only and s["posted_at"] is None)
        )
        points = a.points or 0.0
        g = a.group_id
        if graded:
            earned[g] = earned.get(g, 0.0) + score
            possible[g] = possible.get(g, 0.0) + points
        elif final:
            earned.setdefault(g, 0.0)
            possible[g] = possible.get(g, 0.0) + points
    if course.apply_weights:
        total = weight = 0.0
        for g, w in course.weights.items():
            if possible.get(g, 0.0) > 0:
                total += w * earned[g] / possible[g]
                weight += w
        return round(total / weight * 100, 2) if weight > 0 else None
    denominator = sum(possible.values())
    return round(sum(earned.values()) / denominator * 100, 2) if denominator > 0 else None


def enrollment_grades(
    course: Course, subs: list[dict[str, Any]], user: int | str
) -> dict[str, Any]:
    """An enrollment's ``grades`` object, from the student's submissions in the course."""

    def letter(score: float | None) -> str | None:
        return scheme_grade(score, LETTERS) if course.letters and score is not None else None

    current = course_score(course, subs, posted_only=True, final=False)
    final = course_score(course, subs, posted_only=True, final=True)
    unposted_current = course_score(course, subs, posted_only=False, final=False)
    unposted_final = course_score(course, subs, posted_only=False, final=True)
    return {
        "html_url": f"{BASE_URL}/courses/{course.id}/grades/{user}",
        "current_score": current,
        "current_grade": letter(current),
        "final_score": final,
        "final_grade": letter(final),
        "unposted_current_score": unposted_current,
        "unposted_current_grade": letter(unposted_current),
        "unposted_final_score": unposted_final,
        "unposted_final_grade": letter(unposted_final),
    }
