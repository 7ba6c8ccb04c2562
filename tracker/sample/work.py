"""One student's work in one course: a submission per assignment, as Canvas holds it.

Due dates are spread over the term, so at the snapshot past work is graded (or missing,
late, excused), recent work partly ungraded, and future work an ``unsubmitted``
placeholder (a few hand in early). In a term that is over, all that was handed in is
graded and posted (work without a due date counts as due just before the end), and a
student who withdrew has nothing after the day they left (:mod:`.outcomes`).
"""

from __future__ import annotations

import math
import random
from typing import Any

from tracker.sample.dates import DAY, HOUR, SNAPSHOT_EPOCH, ts
from tracker.sample.grading import grade
from tracker.sample.model import Assignment, Course, Ids, Student, clamp
from tracker.sample.people import DECLINE_SPAN
from tracker.sample.records import PLACEHOLDER


def cells(
    course: Course,
    student: Student,
    rng: random.Random,
    ids: Ids,
    until: int | None = None,
    undated: random.Random | None = None,
) -> list[dict[str, Any]]:
    """The student's submissions, one per assignment of ``course``, in assignment order; work
    due after ``until`` (when the student withdrew) is left a placeholder. Work without a due
    date in a term that is over draws from ``undated`` (so the rest draws as it always did)."""
    effect = rng.gauss(0.0, 0.04)  # this student's knack for this subject
    return [
        submission(
            course, a, student, effect, undated if a.due is None and undated else rng, ids, until
        )
        for a in course.assignments
    ]


def submission(
    course: Course,
    a: Assignment,
    student: Student,
    effect: float,
    rng: random.Random,
    ids: Ids,
    until: int | None = None,
) -> dict[str, Any]:
    """The student's submission to ``a`` as it stands at the snapshot (nothing after ``until``)."""
    s: dict[str, Any] = {
        "id": ids.new("submissions"),
        "user_id": student.ref,
        "assignment_id": a.id,
        **PLACEHOLDER,
        "cached_due_date": a.due_text,
    }
    if a.grading_type == "not_graded":
        return s
    due = a.due if a.due is not None or not course.over else course.term_end - 2 * DAY
    if until is not None and (due is None or due > until):
        return s
    if due is None or due > SNAPSHOT_EPOCH:
        _not_due_yet(course, a, s, rng)
    elif rng.random() < 0.004:
        _excused(course, a, s, due, rng)
    else:
        pct, miss = _performance(a, student, effect, due, rng)
        if not a.online:
            _on_paper(course, a, s, pct, miss, due, rng)
        elif rng.random() < miss:
            _missing(course, a, s, due, rng)
        else:
            _handed_in(course, a, student, s, pct, due, rng)
    return s


def _not_due_yet(course: Course, a: Assignment, s: dict[str, Any], rng: random.Random) -> None:
    """Not due yet, or no due date: most have nothing yet; some hand in early."""
    now = SNAPSHOT_EPOCH
    due = a.due
    opens = course.term_start + int(a.t * (course.term_end - course.term_start)) - 7 * DAY
    if a.online and opens < now and rng.random() < (0.75 if due is None else 0.12):
        submitted = min(now - rng.randrange(HOUR, 2 * DAY), (due or now) - HOUR)
        s |= {
            "submission_type": a.submission_types[0],
            "attempt": 1,
            "submitted_at": ts(submitted),
            "workflow_state": "submitted",
        }


def _excused(
    course: Course, a: Assignment, s: dict[str, Any], due: int, rng: random.Random
) -> None:
    """Excused by the teacher a few days after the due date (if that is before the snapshot)."""
    graded_at = due + rng.randrange(DAY, 4 * DAY)
    if graded_at <= SNAPSHOT_EPOCH:
        excuse(s, a, graded_at, course.teacher)


def _performance(
    a: Assignment, student: Student, effect: float, due: int, rng: random.Random
) -> tuple[float, float]:
    """The fraction of points the student earns on ``a``, and the chance the work is missing."""
    decline = 0.0
    miss = student.miss
    if due > student.decline_start:
        progress = min(1.0, (due - student.decline_start) / DECLINE_SPAN)
        decline = student.decline_rate * progress
        miss += 0.3 * progress
    pct = clamp(student.ability + effect - a.difficulty - decline + rng.gauss(0.0, 0.07), 0.0, 1.0)
    return pct, miss


def _on_paper(
    course: Course,
    a: Assignment,
    s: dict[str, Any],
    pct: float,
    miss: float,
    due: int,
    rng: random.Random,
) -> None:
    """Graded on paper or in class: nothing is handed in; some students were absent."""
    if rng.random() < miss * 0.5:
        return
    graded_at = due + rng.randrange(HOUR, 6 * DAY)
    if graded_at <= SNAPSHOT_EPOCH:
        score = raw_score(a, pct, rng)
        graded(s, a, score, score, None, graded_at, course.teacher)


def _missing(
    course: Course, a: Assignment, s: dict[str, Any], due: int, rng: random.Random
) -> None:
    """Never handed in: sometimes a zero, from the missing-submission policy or the teacher."""
    s["missing"] = True
    if course.late_policy or rng.random() < 0.15:
        manual = not course.late_policy
        graded_at = due + (rng.randrange(DAY, 5 * DAY) if manual else HOUR)
        if graded_at <= SNAPSHOT_EPOCH:
            graded(s, a, 0.0, 0.0, None, graded_at, course.teacher if manual else None)
            if manual:
                s["late_policy_status"] = "missing"


def _handed_in(
    course: Course,
    a: Assignment,
    student: Student,
    s: dict[str, Any],
    pct: float,
    due: int,
    rng: random.Random,
) -> None:
    """Handed in (on time, late, or within an extension), then graded if that happened yet."""
    submitted, seconds_late = _hand_in(a, student, s, due, rng)
    if a.quiz_id is not None:  # graded by the quiz engine
        graded_at = submitted + rng.randrange(60, 3 * HOUR)
        grader = -a.quiz_id
    else:
        graded_at = max(submitted, due) + rng.randrange(6 * HOUR, 8 * DAY)
        grader = course.teacher
    if graded_at > SNAPSHOT_EPOCH:
        return
    entered = raw_score(a, pct, rng)
    deducted = _late_deduction(course, a, seconds_late, entered)
    score = entered if deducted is None else round(entered - deducted, 2)
    graded(s, a, score, entered, deducted, graded_at, grader)
    if a.essay and rng.random() < 0.3 and not course.over:
        s["workflow_state"] = "pending_review"


def _hand_in(
    a: Assignment, student: Student, s: dict[str, Any], due: int, rng: random.Random
) -> tuple[int, int]:
    """Fill in the handing-in fields of ``s``; when it was submitted, and how many seconds late."""
    now = SNAPSHOT_EPOCH
    cached_due = due
    if a.due is not None and rng.random() < 0.01:
        cached_due = due + 3 * DAY
        s["late_policy_status"] = "extended"
        s["cached_due_date"] = ts(cached_due)
    if rng.random() < student.late:
        seconds_late = rng.randrange(10 * 60, 4 * DAY)
        submitted = cached_due + seconds_late
        if submitted > now - HOUR:
            submitted = now - HOUR
            seconds_late = max(0, submitted - cached_due)
    else:
        seconds_late = 0
        submitted = cached_due - rng.randrange(5 * 60, 3 * DAY)
    attempt = 1
    if a.multiple_attempts:
        attempt += (rng.random() < 0.25) + (rng.random() < 0.1)
    s |= {
        "submission_type": a.submission_types[0],
        "attempt": attempt,
        "submitted_at": ts(submitted),
        "workflow_state": "submitted",
        "late": seconds_late > 0,
        "seconds_late": seconds_late,
    }
    return submitted, seconds_late


def _late_deduction(
    course: Course, a: Assignment, seconds_late: int, entered: float
) -> float | None:
    """Under the course's late policy: 10% of the points a day late, at most 50%, never below 0."""
    points = a.points or 0.0
    if seconds_late and course.late_policy and points > 0 and a.grading_type != "pass_fail":
        days_late = math.ceil(seconds_late / DAY)
        return round(min(min(days_late * 0.1, 0.5) * points, entered), 2)
    return None


def raw_score(a: Assignment, pct: float, rng: random.Random) -> float:
    """The score a fraction ``pct`` of ``a``'s points comes to, as a teacher would enter it."""
    points = a.points or 0.0
    if a.grading_type == "pass_fail":
        return points if pct >= 0.6 else 0.0
    if points <= 0:  # extra credit
        return float(rng.choice((0, 0, 1, 2)))
    if points <= 25:
        return round(pct * points * 2) / 2
    return float(round(pct * points))


def _posted(a: Assignment, graded_at: str | None) -> str | None:
    """``posted_at`` of a grade given at ``graded_at``: at once, unless posted manually."""
    if not a.post_manually:
        return graded_at
    return ts(a.posted) if a.posted is not None and a.posted <= SNAPSHOT_EPOCH else None


def graded(
    s: dict[str, Any],
    a: Assignment,
    score: float,
    entered: float,
    deducted: float | None,
    graded_at: int,
    grader: int | None,
) -> None:
    """Grade ``s``: ``entered`` as the teacher entered it, ``score`` after any late deduction."""
    at = ts(graded_at)
    s |= {
        "score": score,
        "grade": grade(a.grading_type, score, a.points),
        "entered_score": entered,
        "entered_grade": grade(a.grading_type, entered, a.points),
        "graded_at": at,
        "posted_at": _posted(a, at),
        "grader_id": grader,
        "workflow_state": "graded",
        "points_deducted": deducted,
    }


def excuse(s: dict[str, Any], a: Assignment, graded_at: int, grader: int) -> None:
    """Excuse ``s``: no score, no grade, nothing handed in."""
    at = ts(graded_at)
    s |= {
        "submission_type": None,
        "score": None,
        "grade": None,
        "entered_score": None,
        "entered_grade": None,
        "excused": True,
        "attempt": None,
        "submitted_at": None,
        "graded_at": at,
        "posted_at": _posted(a, at),
        "grader_id": grader,
        "workflow_state": "graded",
        "late": False,
        "missing": False,
        "late_policy_status": None,
        "seconds_late": 0,
        "points_deducted": None,
    }
