""":func:`generate`: one run, from its arguments to the :class:`SampleSummary` of what it wrote."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tracker.bundle import KINDS, SUFFIXES
from tracker.errors import ConfigurationError
from tracker.sample.edge import EdgeCourse
from tracker.sample.model import Options
from tracker.sample.outcomes import Outcomes
from tracker.sample.school import School
from tracker.sample.sink import writers


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`generate` wrote: where, how many records of each kind, and what changed."""

    directory: Path
    files: Mapping[str, Path]
    """Kind → file, in :data:`tracker.bundle.KINDS` order."""
    terms: int
    courses: int
    sections: int
    users: int
    assignment_groups: int
    assignments: int
    enrollments: int
    submissions: int
    seed: int
    revision: int
    changed_submissions: int
    """Submissions whose score differs from revision ``revision - 1`` (0 for revision 0)."""
    changed_enrollments: int
    """Enrollments whose ``grades`` differ from revision ``revision - 1``."""
    size_bytes: int
    """Total size of the files on disk."""
    past_term: Outcomes
    """How the past term's student enrollments ended: passed, failed, withdrawn."""

    def counts(self) -> dict[str, int]:
        """Records per kind, in dependency order."""
        return {kind: getattr(self, kind) for kind in KINDS}


def generate(
    out: Path,
    *,
    students: int = 200,
    courses: int = 12,
    assignments_per_course: int = 15,
    courses_per_student: int = 4,
    seed: int = 0,
    revision: int = 0,
    changed_fraction: float = 0.01,
    gzip: bool = False,
    edge_cases: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SampleSummary:
    """Write a synthetic Canvas bundle into ``out`` (created if need be) and say what it holds.

    Every student takes ``courses_per_student`` distinct courses, spread evenly, so there
    are ``students x courses_per_student x assignments_per_course`` submissions (one per
    student and assignment, placeholders included), plus the edge-case course's. One
    million: ``students=20_000, courses=1_000, assignments_per_course=50,
    courses_per_student=1``. ``progress(done, total)`` is called after each course.

    Files are written under temporary names and renamed at the end, so an interrupted
    run leaves no half bundle. Raises :class:`~tracker.errors.ConfigurationError` for
    impossible sizes, or when ``out`` already holds a bundle file of another form (say
    ``users.json`` when writing ``users.ndjson``), which would make the bundle ambiguous.
    """
    options = Options(
        students=students,
        courses=courses,
        assignments_per_course=assignments_per_course,
        courses_per_student=courses_per_student,
        seed=seed,
        revision=revision,
        changed_fraction=changed_fraction,
    )
    out = Path(out)
    suffix = ".ndjson.gz" if gzip else ".ndjson"
    files = {kind: out / f"{kind}{suffix}" for kind in KINDS}
    out.mkdir(parents=True, exist_ok=True)
    _check_no_other_form(out, files, suffix)
    with writers(files, gzip=gzip) as sinks:
        school = School(sinks, options)
        _write_school(school, edge_cases=edge_cases, progress=progress)
        counts = {kind: sink.count for kind, sink in sinks.items()}
    return SampleSummary(
        directory=out,
        files=dict(files),
        **{kind: counts[kind] for kind in KINDS},
        seed=seed,
        revision=revision,
        changed_submissions=school.regrading.changed_submissions,
        changed_enrollments=school.changed_enrollments,
        size_bytes=sum(p.stat().st_size for p in files.values()),
        past_term=school.outcomes,
    )


def _write_school(
    school: School, *, edge_cases: bool, progress: Callable[[int, int], None] | None
) -> None:
    """Terms, then people, then the courses one at a time, the edge-case course last."""
    school.write_terms()
    students, teachers, rosters = school.people()
    edge = EdgeCourse(school, students, teachers) if edge_cases else None
    total = len(rosters) + (1 if edge else 0)
    for index, roster in enumerate(rosters):
        school.write_course(index, [students[i] for i in roster], teachers[index % len(teachers)])
        if progress:
            progress(index + 1, total)
    if edge:
        edge.write()
        if progress:
            progress(total, total)


def _check_no_other_form(out: Path, files: Mapping[str, Path], suffix: str) -> None:
    """Refuse a directory holding a bundle file of another form than the one to be written."""
    for kind in KINDS:
        for other in SUFFIXES:
            stray = out / f"{kind}{other}"
            if other != suffix and stray.exists():
                raise ConfigurationError(
                    f"{out} already holds {stray.name}; writing {files[kind].name} beside it would"
                    " make the bundle ambiguous. Remove it or choose another directory."
                )
