"""What the school's courses are made of: subjects, and the kinds of assignment they set."""

from __future__ import annotations

from typing import NamedTuple

SUBJECTS: tuple[tuple[str, str, int], ...] = (
    ("Algebra I", "MATH", 2), ("Geometry", "MATH", 2), ("Statistics", "MATH", 2),
    ("Biology", "SCI", 3), ("Chemistry", "SCI", 3), ("Physics", "SCI", 3),
    ("World History", "HIST", 4), ("U.S. History", "HIST", 4), ("Economics", "HIST", 4),
    ("English 10", "ENG", 5), ("English 11", "ENG", 5), ("Spanish II", "LANG", 5),
    ("French I", "LANG", 5), ("Computer Science", "CS", 2), ("Art & Design", "ART", 5),
    ("Music Theory", "ART", 5),
)  # fmt: skip
"""Course subjects: name, department (in course codes), account id."""


class Kind(NamedTuple):
    """A kind of assignment, and the assignment group that holds that kind."""

    group: str  # the group's name
    title: str  # an assignment's name: "<title> <number>"
    weight: float  # the group's weight
    share: float  # of a course's assignments
    points: tuple[float, ...]  # points_possible choices
    grading_types: tuple[tuple[str, float], ...]  # (grading_type, cumulative probability)
    submission_types: tuple[str, ...]


HOMEWORK, QUIZ, TEST, PARTICIPATION = range(4)
KINDS: tuple[Kind, ...] = (
    Kind("Homework", "Homework", 35.0, 0.50, (10.0, 20.0),
         (("points", 0.85), ("percent", 0.93), ("pass_fail", 1.0)),
         ("online_upload", "online_text_entry")),
    Kind("Quizzes", "Quiz", 20.0, 0.25, (10.0, 15.0, 20.0, 25.0),
         (("points", 0.9), ("percent", 1.0)), ("online_quiz",)),
    Kind("Tests", "Unit test", 35.0, 0.15, (100.0,),
         (("points", 0.7), ("letter_grade", 0.9), ("gpa_scale", 1.0)), ("on_paper",)),
    Kind("Participation", "Participation", 10.0, 0.10, (5.0,),
         (("points", 0.7), ("pass_fail", 1.0)), ("none",)),
)  # fmt: skip
"""Indexed by :data:`HOMEWORK`, :data:`QUIZ`, :data:`TEST`, :data:`PARTICIPATION`."""
