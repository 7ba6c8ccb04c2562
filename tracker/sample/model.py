"""What a run holds while it writes: students' hidden traits, courses, assignments, id counters."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.errors import ConfigurationError


@dataclass(frozen=True)
class Options:
    """What one run makes (the arguments of :func:`tracker.sample.generate`), checked."""

    students: int
    courses: int
    assignments_per_course: int
    courses_per_student: int
    seed: int
    revision: int
    changed_fraction: float

    def __post_init__(self) -> None:
        for name in ("students", "courses", "assignments_per_course", "courses_per_student",
                     "revision"):  # fmt: skip
            value = getattr(self, name)
            if value < 0:
                raise ConfigurationError(f"{name} must be 0 or more, not {value}")
        if self.students and self.courses_per_student > self.courses:
            raise ConfigurationError(
                f"courses_per_student ({self.courses_per_student}) cannot exceed courses"
                f" ({self.courses})"
            )
        if not 0.0 <= self.changed_fraction <= 1.0:
            raise ConfigurationError(
                f"changed_fraction must be between 0 and 1, not {self.changed_fraction}"
            )


def clamp(x: float, lo: float, hi: float) -> float:
    """``x`` brought within ``lo..hi``."""
    return lo if x < lo else hi if x > hi else x


class Ids:
    """The next id of each kind of object, each kind counting up from a base of its own."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = {
            "courses": 10_001,
            "sections": 20_001,
            "assignment_groups": 30_001,
            "users": 100_001,
            "assignments": 200_001,
            "quizzes": 900_001,
            "enrollments": 500_001,
            "submissions": 10_000_001,
        }

    def new(self, kind: str) -> int:
        """A fresh id of ``kind``."""
        value = self._next[kind]
        self._next[kind] = value + 1
        return value


@dataclass(slots=True)
class Student:
    """A student's hidden traits, which the scores follow."""

    id: int | str  # as in users.json and enrollments
    ref: int | str  # as in submissions (differs only for the shard-prefixed user)
    ability: float  # expected fraction of points
    decline_start: int  # epoch second the decline begins (never: after the snapshot)
    decline_rate: float  # fraction of points lost once the decline is complete
    miss: float  # base probability of not handing in online work
    late: float  # probability of handing in late
    activity: float  # 0..1, drives last_activity_at and total_activity_time


@dataclass(slots=True)
class Assignment:
    """An assignment as the generator sees it: its record's fields and how students meet it."""

    id: int
    name: str
    group_id: int
    position: int  # within its group
    points: float | None
    grading_type: str
    due: int | None  # epoch seconds
    due_text: str | None  # as written in the file (may carry an offset)
    t: float  # position in the term, 0..1
    online: bool  # students hand something in (else graded on paper, or nothing to hand in)
    submission_types: list[str]
    quiz_id: int | None = None
    essay: bool = False  # quiz with essay questions: some submissions pending review
    post_manually: bool = False
    posted: int | None = None  # when a manually posted assignment's grades were posted
    omit: bool = False  # omit_from_final_grade
    difficulty: float = 0.0
    multiple_attempts: bool = False
    description: str | None = None
    counts: bool = field(init=False)  # toward the course grade

    def __post_init__(self) -> None:
        self.counts = not self.omit and self.grading_type != "not_graded"


@dataclass(slots=True)
class Course:
    """A course's grading settings and assignments, which its enrollments' grades follow."""

    id: int
    term_start: int
    term_end: int
    over: bool  # the term has ended
    weights: dict[int, float]  # assignment group id → group_weight
    apply_weights: bool
    letters: bool  # has a grading scheme: *_grade letters
    late_policy: bool  # late deductions and automatic zeros for missing work
    teacher: int
    assignments: list[Assignment] = field(default_factory=list)
    concluded: bool = False  # over and concluded ("completed"): its enrollments too
