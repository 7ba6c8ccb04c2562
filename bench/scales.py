"""The sizes the benchmark runs at, from a smoke test of seconds to two million submissions,
each in two shapes: ``wide`` (many small courses, 20 students each) and ``tall`` (the same
submissions as few large courses: 1,000 students and 25 assignments each, fewer at smoke).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Scale:
    """One size: the generator's arguments and how much of each measurement to do.

    ``*_rows`` limit a peer to the bundle's first N submissions, its time then
    extrapolated to all of them (None: every submission). ``tall_course`` is a course of
    the tall shape, its students and assignments; ``shapes`` are the shapes a run of
    this scale measures unless told.
    """

    name: str
    students: int
    courses: int
    assignments_per_course: int
    courses_per_student: int
    repeat: int
    merge_rows: int | None
    bulk_rows: int | None
    cd2_rows: int | None
    query_runs: int
    memory_check: bool
    tall_course: tuple[int, int] = (1_000, 25)
    live: bool = False
    """Whether a run of this scale includes the live step unless told (``--live``)."""
    shapes: tuple[str, ...] = ("wide",)
    shape: str = "wide"
    dap_rows: int | None = None
    """The DAP-style peer's sample (None: every submission, at every scale: it copies)."""

    @property
    def generator_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`tracker.sample.generate`."""
        return {
            "students": self.students,
            "courses": self.courses,
            "assignments_per_course": self.assignments_per_course,
            "courses_per_student": self.courses_per_student,
        }

    @property
    def submissions(self) -> int:
        """Submissions the generator writes, the edge-case course's aside."""
        return self.students * self.courses_per_student * self.assignments_per_course

    @property
    def title(self) -> str:
        """``full, tall``: the scale and its shape."""
        return f"{self.name}, {self.shape}"

    def shaped(self, shape: str) -> Scale:
        """This (wide) scale in ``shape``: ``tall`` has the same submissions as few courses
        of ``tall_course``'s size, each student in one."""
        if shape not in SHAPES:
            raise ValueError(f"no shape {shape!r}; the shapes are {', '.join(SHAPES)}")
        if shape == self.shape:
            return self
        if self.shape != "wide":
            raise ValueError(f"{self.title} is shaped already: shape the wide scale")
        students, assignments = self.tall_course
        courses, rest = divmod(self.submissions, students * assignments)
        if rest or not courses:
            raise ValueError(f"{self.submissions:,} submissions are no whole number of courses "
                             f"of {students:,} students and {assignments} assignments")
        return replace(self, shape=shape, students=courses * students, courses=courses,
                       assignments_per_course=assignments, courses_per_student=1)

    def doubled(self) -> Scale:
        """Twice the students and courses: twice the bundle (for the flat-memory check)."""
        return replace(self, name=f"{self.name}×2", students=self.students * 2,
                       courses=self.courses * 2)


#: ``wide``: many small courses (the scales as listed below); ``tall``: few large ones.
SHAPES = ("wide", "tall")

SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("smoke", students=60, courses=6, assignments_per_course=10, courses_per_student=2,
              repeat=1, merge_rows=None, bulk_rows=None, cd2_rows=None, query_runs=3,
              memory_check=True, tall_course=(60, 10)),
        Scale("small", students=1_000, courses=50, assignments_per_course=50,
              courses_per_student=1, repeat=3, merge_rows=5_000, bulk_rows=None, cd2_rows=None,
              query_runs=30, memory_check=True),
        Scale("medium", students=5_000, courses=250, assignments_per_course=50,
              courses_per_student=1, repeat=3, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=None, query_runs=30, memory_check=True),
        Scale("full", students=20_000, courses=1_000, assignments_per_course=50,
              courses_per_student=1, repeat=1, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=200_000, query_runs=20, memory_check=False, live=True, shapes=SHAPES),
        Scale("double", students=40_000, courses=2_000, assignments_per_course=50,
              courses_per_student=1, repeat=1, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=200_000, query_runs=20, memory_check=False),
        # Not in CI: about 7 GB of bundle and 20 GB of database, an hour or more.
        Scale("huge", students=200_000, courses=10_000, assignments_per_course=50,
              courses_per_student=1, repeat=1, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=200_000, query_runs=10, memory_check=False, dap_rows=1_000_000),
    )
}
"""By name, in the wide shape: smoke (~1,300 submissions), small (~50,000), medium
(~250,000), full (1,000,000), double (2,000,000) and huge (10,000,000). Tall: smoke 2
courses of 60 students and 10 assignments, small 2, medium 10, full 40, double 80 and huge
400 courses of 1,000 students and 25 assignments."""
