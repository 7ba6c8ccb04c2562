"""The sizes the benchmark runs at, from a smoke test of seconds to two million submissions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Scale:
    """One size: the generator's arguments and how much of each measurement to do.

    ``*_rows`` limit a peer to the bundle's first N submissions, its time then
    extrapolated to all of them (None: every submission).
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

    def doubled(self) -> Scale:
        """Twice the students and courses: twice the bundle (for the flat-memory check)."""
        return replace(self, name=f"{self.name}×2", students=self.students * 2,
                       courses=self.courses * 2)


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("smoke", students=60, courses=6, assignments_per_course=10, courses_per_student=2,
              repeat=1, merge_rows=None, bulk_rows=None, cd2_rows=None, query_runs=3,
              memory_check=True),
        Scale("small", students=1_000, courses=50, assignments_per_course=50,
              courses_per_student=1, repeat=3, merge_rows=5_000, bulk_rows=None, cd2_rows=None,
              query_runs=30, memory_check=True),
        Scale("medium", students=5_000, courses=250, assignments_per_course=50,
              courses_per_student=1, repeat=3, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=None, query_runs=30, memory_check=True),
        Scale("full", students=20_000, courses=1_000, assignments_per_course=50,
              courses_per_student=1, repeat=1, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=200_000, query_runs=20, memory_check=False),
        Scale("double", students=40_000, courses=2_000, assignments_per_course=50,
              courses_per_student=1, repeat=1, merge_rows=2_000, bulk_rows=100_000,
              cd2_rows=200_000, query_runs=20, memory_check=False),
    )
}
"""By name: smoke (~1,300 submissions), small (~50,000), medium (~250,000),
full (1,000,000) and double (2,000,000)."""
