"""A deterministic synthetic school, written as a Canvas bundle of ndjson files.

:func:`generate` writes ``terms``, ``courses``, ``sections``, ``users``,
``assignment_groups``, ``assignments``, ``enrollments`` and ``submissions`` in the
Canvas REST API's own JSON shapes (as ``/api/v1`` returns them to an admin), one
object a line, ready for :mod:`tracker.bundle` and the sync. The same arguments give
byte-identical files.

What the data holds, so that analytics have something to find:

- Each student has an ability; scores vary around it by course and assignment. About
  one student in eight declines from some day on, mostly during the Fall term (scores
  fall over six weeks and stay low, more work goes missing, less activity). Weaker
  students miss work and hand it in late more often.
- Two terms: Spring 2026 (over: every past assignment graded) and Fall 2026, in
  progress at the snapshot time :data:`SNAPSHOT` (2026-10-15T18:00:00Z): due dates
  spread over the term, so past work is graded, recent work partly ungraded, future
  work an ``unsubmitted`` placeholder.
- Enrollment ``grades`` are computed from the student's submissions the way Canvas
  does without drop rules: percentage of points (or of weighted groups when the course
  applies group weights), excused work left out, current scores over graded work,
  final scores counting ungraded work as zero, ``current_*`` over posted grades only
  and ``unposted_*`` over all of them.
- ``revision=N`` is the same school after N rounds of regrading: each round changes
  the score of about ``changed_fraction`` of all submissions (score, grade,
  entered_score, entered_grade and graded_at change; nothing else) and recomputes the
  affected enrollments' grades. Revision N differs from revision N-1 by one round, so
  syncing 0, 1, 2, … in turn re-syncs about 1% each time.
- ``edge_cases=True`` adds one course (nicknamed "My favourite class ✨", originally
  "Edge cases: …") holding the documented Canvas corner cases of :data:`EDGE_CASES`,
  at any scale.

Memory stays flat: courses are generated and written one at a time; only the people
(a few hundred bytes a student) are held throughout. Records are dumped with orjson:
a million submissions take about half a minute on one core.
"""

from __future__ import annotations

import calendar
import gzip as gzip_module
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from tracker.bundle import KINDS, SUFFIXES
from tracker.errors import ConfigurationError

__all__ = ["EDGE_CASES", "SNAPSHOT", "SampleSummary", "generate"]

BASE_URL = "https://canvas.example.edu"
SHARD = 10_000_000_000_000
"""Global id = shard x SHARD + local id."""


def _epoch(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


_DAYS: dict[int, str] = {}


def _ts(epoch: int | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ``; the date part is cached (a million timestamps a run)."""
    if epoch is None:
        return None
    day, second = divmod(epoch, 86_400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
    hour, second = divmod(second, 3_600)
    minute, second = divmod(second, 60)
    return f"{date}{hour:02d}:{minute:02d}:{second:02d}Z"


SNAPSHOT_EPOCH = _epoch(2026, 10, 15, 18)
SNAPSHOT = "2026-10-15T18:00:00Z"
"""The moment the sample is a picture of: Fall 2026 is in progress."""

DAY = 86_400
HOUR = 3_600

EDGE_CASES: tuple[str, ...] = (
    "test student (StudentViewEnrollment) and its user, without login or personal fields",
    "one user with two enrollments in the course, in different sections",
    "an excused submission (score and grade null, excused true)",
    "assignments with points_possible null and 0 (extra credit)",
    "every grading_type: points, percent, letter_grade, gpa_scale, pass_fail, not_graded",
    "a submission without score, grade, entered_score, entered_grade (permission-hidden)",
    "a user with a shard-prefixed string id '1~N', referenced so by its enrollment and by "
    "its global id 1x10^13+N in its submissions",
    "a due_at with an offset (2026-09-01T08:00:00-06:00)",
    "negative grader_id (quiz auto-grading)",
    "names in Arabic, Chinese, Cyrillic, with commas and an emoji",
    "unsubmitted placeholder submissions with attempt null",
    "an invited student whose user has no login or personal fields",
    "an observer enrollment (associated_user_id) and a TA under a custom role",
    "late work with points_deducted, a missing submission, an extended due date, "
    "pending_review, unposted grades (post_manually), an assignment omitted from the final grade",
    "a course whose name is the caller's nickname (original_name holds the real one)",
)
"""What ``edge_cases=True`` adds, in one course of its own."""

# Terms: id, name, sis_term_id, start, end.
_DEFAULT_TERM = 1  # Canvas's own term for courses without one
_SPRING = 2
_FALL = 3
_TERMS: tuple[tuple[int, str, str | None, int | None, int | None], ...] = (
    (_DEFAULT_TERM, "Default Term", None, None, None),
    (_SPRING, "Spring 2026", "2026SP", _epoch(2026, 1, 12, 7), _epoch(2026, 5, 22, 6)),
    (_FALL, "Fall 2026", "2026FA", _epoch(2026, 8, 24, 6), _epoch(2026, 12, 19, 7)),
)
_TERM_CREATED = _epoch(2025, 6, 2, 15)

# When declining students start to decline, and how long until they are at their lowest.
_DECLINE_SPRING = (_epoch(2026, 2, 9), _epoch(2026, 4, 13))
_DECLINE_FALL = (_epoch(2026, 8, 31), _epoch(2026, 10, 5))
_DECLINE_SPAN = 42 * DAY
_NEVER = _epoch(2100, 1, 1)

# Canvas's default grading scheme, and a GPA scale: (name, lowest percentage).
_LETTERS = (
    ("A", 94.0), ("A-", 90.0), ("B+", 87.0), ("B", 84.0), ("B-", 80.0), ("C+", 77.0),
    ("C", 74.0), ("C-", 70.0), ("D+", 67.0), ("D", 64.0), ("D-", 61.0), ("F", 0.0),
)  # fmt: skip
_GPA = (
    ("4.0", 94.0), ("3.7", 90.0), ("3.3", 87.0), ("3.0", 84.0), ("2.7", 80.0), ("2.3", 77.0),
    ("2.0", 74.0), ("1.7", 70.0), ("1.3", 67.0), ("1.0", 64.0), ("0.7", 61.0), ("0.0", 0.0),
)  # fmt: skip

_ROLE_IDS = {
    "StudentEnrollment": 3,
    "TeacherEnrollment": 4,
    "TaEnrollment": 5,
    "DesignerEnrollment": 6,
    "ObserverEnrollment": 7,
}

_SUBJECTS = (
    ("Algebra I", "MATH", 2), ("Geometry", "MATH", 2), ("Statistics", "MATH", 2),
    ("Biology", "SCI", 3), ("Chemistry", "SCI", 3), ("Physics", "SCI", 3),
    ("World History", "HIST", 4), ("U.S. History", "HIST", 4), ("Economics", "HIST", 4),
    ("English 10", "ENG", 5), ("English 11", "ENG", 5), ("Spanish II", "LANG", 5),
    ("French I", "LANG", 5), ("Computer Science", "CS", 2), ("Art & Design", "ART", 5),
    ("Music Theory", "ART", 5),
)  # fmt: skip

_LATIN_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofía", "Lucas", "Isabella", "Ethan",
    "Mia", "James", "Amelia", "Benjamin", "Harper", "Elijah", "Camila", "Daniel", "Chloé",
    "Zoë", "José", "Renée", "Björn", "Ingrid", "Aaliyah", "Jamal", "Priya", "Arjun", "Kwame",
    "Ama", "Siobhán", "Mathéo", "Leilani", "Kai", "Ximena", "Santiago", "Nia", "Oluwaseun",
    "Hana", "Minh",
)  # fmt: skip
_LATIN_LAST = (
    "Smith", "García", "Johnson", "Martínez", "Brown", "Nguyen", "O'Connor", "Müller",
    "Kowalski", "Rossi", "Dubois", "Hernández", "Kim", "Patel", "Okafor", "Silva",
    "Johansson", "van der Berg", "López", "Wilson", "Begay", "Yazzie", "Tran", "Mensah",
    "Schmidt", "Novák", "Ó Briain", "Fernández-Ortega", "Jackson", "Nakamura",
)  # fmt: skip
_ARABIC_FIRST = ("محمد", "فاطمة", "أحمد", "مريم", "علي", "نور", "يوسف", "ليلى", "عمر", "سارة")
_ARABIC_LAST = ("العلي", "حسن", "الخطيب", "منصور", "حداد", "عبد الله", "الشامي", "يوسف")
_CHINESE_FAMILY = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴")
_CHINESE_GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "强", "磊", "洋", "艳", "嘉怡", "子轩")
_CYRILLIC_FIRST = ("Анна", "Иван", "Мария", "Дмитрий", "Ольга", "Алексей", "Екатерина", "Сергей")
_CYRILLIC_LAST = ("Иванов", "Смирнова", "Кузнецов", "Попова", "Соколов", "Волкова", "Лебедев")

# Assignment kinds: group name, weight, share of assignments, points choices,
# (grading_type, cumulative probability), submission types.
_KINDS = (
    ("Homework", 35.0, 0.50, (10.0, 20.0),
     (("points", 0.85), ("percent", 0.93), ("pass_fail", 1.0)),
     ("online_upload", "online_text_entry")),
    ("Quizzes", 20.0, 0.25, (10.0, 15.0, 20.0, 25.0), (("points", 0.9), ("percent", 1.0)),
     ("online_quiz",)),
    ("Tests", 35.0, 0.15, (100.0,), (("points", 0.7), ("letter_grade", 0.9), ("gpa_scale", 1.0)),
     ("on_paper",)),
    ("Participation", 10.0, 0.10, (5.0,), (("points", 0.7), ("pass_fail", 1.0)), ("none",)),
)  # fmt: skip


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
    _check(
        students, courses, assignments_per_course, courses_per_student, revision, changed_fraction
    )
    out = Path(out)
    suffix = ".ndjson.gz" if gzip else ".ndjson"
    files = {kind: out / f"{kind}{suffix}" for kind in KINDS}
    out.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        for other in SUFFIXES:
            stray = out / f"{kind}{other}"
            if other != suffix and stray.exists():
                raise ConfigurationError(
                    f"{out} already holds {stray.name}; writing {files[kind].name} beside it would"
                    " make the bundle ambiguous. Remove it or choose another directory."
                )
    gen = _Generator(
        seed=seed,
        students=students,
        courses=courses,
        assignments_per_course=assignments_per_course,
        courses_per_student=courses_per_student,
        revision=revision,
        changed_fraction=changed_fraction,
        edge_cases=edge_cases,
    )
    with _writers(files, gzip=gzip) as sinks:
        gen.run(sinks, progress)
    counts = gen.counts
    return SampleSummary(
        directory=out,
        files=dict(files),
        **{kind: counts[kind] for kind in KINDS},
        seed=seed,
        revision=revision,
        changed_submissions=gen.changed_submissions,
        changed_enrollments=gen.changed_enrollments,
        size_bytes=sum(p.stat().st_size for p in files.values()),
    )


def _check(
    students: int,
    courses: int,
    assignments_per_course: int,
    courses_per_student: int,
    revision: int,
    changed_fraction: float,
) -> None:
    for name, value in [
        ("students", students),
        ("courses", courses),
        ("assignments_per_course", assignments_per_course),
        ("courses_per_student", courses_per_student),
        ("revision", revision),
    ]:
        if value < 0:
            raise ConfigurationError(f"{name} must be 0 or more, not {value}")
    if students and courses_per_student > courses:
        raise ConfigurationError(
            f"courses_per_student ({courses_per_student}) cannot exceed courses ({courses})"
        )
    if not 0.0 <= changed_fraction <= 1.0:
        raise ConfigurationError(
            f"changed_fraction must be between 0 and 1, not {changed_fraction}"
        )


# -- writing -------------------------------------------------------------------------------------


_BLOCK = 1 << 20  # bytes buffered per file before a write
_Output = IO[bytes] | gzip_module.GzipFile


class _Sink:
    """One kind's file, written in large blocks (fast for gzip too).

    Each line goes into a bytearray at once: orjson (3.12+) gives every ``dumps`` result
    a buffer of 4 KB or more, so holding the results themselves would cost ten times
    their size.
    """

    __slots__ = ("_buffer", "_f", "count")

    def __init__(self, f: _Output) -> None:
        self._f = f
        self._buffer = bytearray()
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        self._buffer += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        self.count += 1
        if len(self._buffer) >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._f.write(self._buffer)
            self._buffer.clear()


@contextmanager
def _writers(files: Mapping[str, Path], *, gzip: bool) -> Iterator[dict[str, _Sink]]:
    partial = {kind: path.with_name(f".{path.name}.partial") for kind, path in files.items()}
    handles: list[_Output] = []
    sinks: dict[str, _Sink] = {}
    try:
        for kind, tmp in partial.items():
            raw = open(tmp, "wb")  # noqa: SIM115 - closed below, or in finally
            handles.append(raw)
            f: _Output = raw
            if gzip:
                # mtime=0 and a fixed name keep the output byte-identical run to run.
                f = gzip_module.GzipFile(
                    filename=files[kind].name, mode="wb", fileobj=raw, compresslevel=6, mtime=0
                )
                handles.append(f)
            sinks[kind] = _Sink(f)
        yield sinks
        for sink in sinks.values():
            sink.flush()
        for handle in reversed(handles):  # the gzip layer before its file
            handle.close()
        for kind, tmp in partial.items():
            os.replace(tmp, files[kind])
    finally:
        for handle in reversed(handles):
            handle.close()
        for tmp in partial.values():
            tmp.unlink(missing_ok=True)


# -- the model -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Student:
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
class _Assignment:
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
class _Course:
    id: int
    term_start: int
    term_end: int
    over: bool  # the term has ended
    weights: dict[int, float]  # assignment group id → group_weight
    apply_weights: bool
    letters: bool  # has a grading scheme: *_grade letters
    late_policy: bool  # late deductions and automatic zeros for missing work
    teacher: int
    assignments: list[_Assignment] = field(default_factory=list)


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _num(x: float) -> str:
    """A score as Canvas writes it in ``grade``: ``10``, ``8.5``, ``85.33``."""
    x = round(x, 2)
    return str(int(x)) if x == int(x) else repr(x)


def _scheme(percent: float, scheme: tuple[tuple[str, float], ...]) -> str:
    for name, lowest in scheme:
        if percent >= lowest:
            return name
    return scheme[-1][0]


def _grade(grading_type: str, score: float | None, points: float | None) -> str | None:
    """The ``grade`` string Canvas shows for ``score`` under ``grading_type``."""
    if score is None or grading_type == "not_graded":
        return None
    if grading_type == "pass_fail":
        return "complete" if points and score >= points else "incomplete"
    if grading_type == "points" or not points:
        return _num(score)
    percent = score / points * 100
    if grading_type == "percent":
        return _num(percent) + "%"
    return _scheme(percent, _GPA if grading_type == "gpa_scale" else _LETTERS)


def _score_of(
    course: _Course, subs: list[dict[str, Any]], *, posted_only: bool, final: bool
) -> float | None:
    """A course score as Canvas computes it without drop rules (None: nothing to score)."""
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


def _grades(course: _Course, subs: list[dict[str, Any]], user: int | str) -> dict[str, Any]:
    """An enrollment's ``grades`` object, from the student's submissions in the course."""

    def letter(score: float | None) -> str | None:
        return _scheme(score, _LETTERS) if course.letters and score is not None else None

    current = _score_of(course, subs, posted_only=True, final=False)
    final = _score_of(course, subs, posted_only=True, final=True)
    unposted_current = _score_of(course, subs, posted_only=False, final=False)
    unposted_final = _score_of(course, subs, posted_only=False, final=True)
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


_HIDDEN_KEYS = ("score", "grade", "entered_score", "entered_grade")
_PLACEHOLDER: dict[str, Any] = {  # a submission's fields before anything is handed in or graded
    "submission_type": None,
    "score": None,
    "grade": None,
    "entered_score": None,
    "entered_grade": None,
    "excused": False,
    "attempt": None,
    "submitted_at": None,
    "graded_at": None,
    "posted_at": None,
    "grader_id": None,
    "workflow_state": "unsubmitted",
    "late": False,
    "missing": False,
    "late_policy_status": None,
    "seconds_late": 0,
    "points_deducted": None,
    "grading_period_id": None,
    "cached_due_date": None,
    "extra_attempts": None,
    "grade_matches_current_submission": True,
}
_KIND_NAMES = ("Homework", "Quiz", "Unit test", "Participation")


class _Generator:
    """The state of one :func:`generate` run: id counters, sinks and the regrading tally.

    Each course draws from a random stream of its own (seeded from ``seed`` and the
    course's index), people from another, each regrading round from another: so a
    revision never disturbs the school it regrades, and the edge-case course never
    disturbs the others.
    """

    def __init__(
        self,
        *,
        seed: int,
        students: int,
        courses: int,
        assignments_per_course: int,
        courses_per_student: int,
        revision: int,
        changed_fraction: float,
        edge_cases: bool,
    ) -> None:
        self.seed = seed
        self.n_students = students
        self.n_courses = courses
        self.per_course = assignments_per_course
        self.per_student = courses_per_student
        self.revision = revision
        self.fraction = changed_fraction
        self.edge_cases = edge_cases
        self.next_id = {
            "courses": 10_001,
            "sections": 20_001,
            "assignment_groups": 30_001,
            "users": 100_001,
            "assignments": 200_001,
            "quizzes": 900_001,
            "enrollments": 500_001,
            "submissions": 10_000_001,
        }
        self.counts = dict.fromkeys(KINDS, 0)
        self.rounds = [self._rng("revision", r) for r in range(1, revision + 1)]
        self.round_changed = [0] * revision
        self.submissions_seen = 0
        self.changed_submissions = 0
        self.changed_enrollments = 0
        self.sinks: dict[str, _Sink] = {}

    def _id(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def _rng(self, *parts: object) -> random.Random:
        # A string seed is hashed with SHA-512: stable across runs and platforms.
        return random.Random(":".join(["tracker-sample", str(self.seed), *map(str, parts)]))

    def _write(self, kind: str, record: dict[str, Any]) -> None:
        self.sinks[kind].write(record)

    # -- the run ---------------------------------------------------------------------------------

    def run(self, sinks: dict[str, _Sink], progress: Callable[[int, int], None] | None) -> None:
        self.sinks = sinks
        for term_id, name, sis, start, end in _TERMS:
            self._write(
                "terms",
                {
                    "id": term_id,
                    "name": name,
                    "start_at": _ts(start),
                    "end_at": _ts(end),
                    "created_at": _ts(_TERM_CREATED),
                    "workflow_state": "active",
                    "grading_period_group_id": None,
                    "sis_term_id": sis,
                },
            )
        people = self._rng("people")
        students = [self._student(people) for _ in range(self.n_students)]
        n_teachers = math.ceil(self.n_courses / 3)
        teachers = [self._teacher(people) for _ in range(n_teachers)]
        rosters = self._rosters(people)
        edge = _EdgeCourse(self, students, teachers) if self.edge_cases else None
        total = self.n_courses + (1 if edge else 0)
        for index in range(self.n_courses):
            roster = [students[i] for i in rosters[index]]
            self._course(index, roster, teachers[index % n_teachers])
            if progress:
                progress(index + 1, total)
        if edge:
            edge.write()
            if progress:
                progress(total, total)
        for kind, sink in self.sinks.items():
            self.counts[kind] = sink.count

    # -- people ----------------------------------------------------------------------------------

    @staticmethod
    def _name(rng: random.Random) -> tuple[str, str, str]:
        """name, sortable_name, short_name, in one of several scripts."""
        r = rng.random()
        if r < 0.76:
            first, last = rng.choice(_LATIN_FIRST), rng.choice(_LATIN_LAST)
        elif r < 0.85:
            first, last = rng.choice(_ARABIC_FIRST), rng.choice(_ARABIC_LAST)
        elif r < 0.93:
            name = rng.choice(_CHINESE_FAMILY) + rng.choice(_CHINESE_GIVEN)
            return name, name, name
        else:
            first, last = rng.choice(_CYRILLIC_FIRST), rng.choice(_CYRILLIC_LAST)
        return f"{first} {last}", f"{last}, {first}", f"{first} {last}"

    @staticmethod
    def _user(
        user_id: int | str, name: tuple[str, str, str], created: int, login: str | None, domain: str
    ) -> dict[str, Any]:
        """A user; without ``login``, only what every caller sees (no SIS id, login, email)."""
        record: dict[str, Any] = {
            "id": user_id,
            "name": name[0],
            "sortable_name": name[1],
            "short_name": name[2],
            "created_at": _ts(created),
        }
        if login is not None:
            record |= {
                "sis_user_id": login.upper(),
                "integration_id": None,
                "login_id": login,
                "email": f"{login}@{domain}",
                "pronouns": None,
            }
        return record

    def _student(self, rng: random.Random) -> _Student:
        user_id = self._id("users")
        name = self._name(rng)
        created = _epoch(2024, 6, 1) + rng.randrange(0, 420 * DAY)
        self._write(
            "users", self._user(user_id, name, created, f"s{user_id}", "students.example.edu")
        )
        return self._traits(rng, user_id, user_id)

    @staticmethod
    def _traits(rng: random.Random, user_id: int | str, ref: int | str) -> _Student:
        ability = _clamp(rng.gauss(0.80, 0.11), 0.35, 0.99)
        declining = rng.random() < 0.12
        return _Student(
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
            miss=_clamp(0.02 + (0.85 - ability) * 0.3 + rng.random() * 0.04, 0.005, 0.4),
            late=_clamp(0.04 + (0.9 - ability) * 0.25 + rng.random() * 0.05, 0.01, 0.35),
            activity=_clamp(rng.gauss(0.6, 0.2) + (ability - 0.8), 0.05, 1.0),
        )

    def _teacher(self, rng: random.Random) -> int:
        user_id = self._id("users")
        created = _epoch(2023, 7, 1) + rng.randrange(0, 700 * DAY)
        self._write(
            "users", self._user(user_id, self._name(rng), created, f"t{user_id}", "example.edu")
        )
        return user_id

    def _rosters(self, rng: random.Random) -> list[list[int]]:
        """Student indexes per course: each student in ``per_student`` distinct courses, evenly."""
        rosters: list[list[int]] = [[] for _ in range(self.n_courses)]
        if not self.n_courses or not self.per_student:
            return rosters
        order = list(range(self.n_students))
        rng.shuffle(order)
        stride = self.n_courses // self.per_student  # k x stride < n_courses: distinct courses
        for position, student in enumerate(order):
            for k in range(self.per_student):
                rosters[(position + k * stride) % self.n_courses].append(student)
        for roster in rosters:
            roster.sort()
        return rosters

    # -- one course ------------------------------------------------------------------------------

    def _course(self, index: int, roster: list[_Student], teacher: int) -> None:
        rng = self._rng("course", index)
        term = _SPRING if index % 3 == 2 else _FALL
        _, _, term_sis, start, end = _TERMS[term - 1]
        assert start is not None and end is not None and term_sis is not None
        subject, dept, account = _SUBJECTS[index % len(_SUBJECTS)]
        period = index // len(_SUBJECTS) % 7 + 1
        over = end <= SNAPSHOT_EPOCH
        course = _Course(
            id=self._id("courses"),
            term_start=start,
            term_end=end,
            over=over,
            weights={},
            apply_weights=rng.random() < 0.5,
            letters=rng.random() < 0.6,
            late_policy=rng.random() < 0.5,
            teacher=teacher,
        )
        state = ("completed" if rng.random() < 0.6 else "available") if over else "available"
        self._write(
            "courses",
            self._course_record(
                course,
                name=f"{subject} — Period {period}",
                code=f"{dept}-{101 + index % len(_SUBJECTS)}-{index // len(_SUBJECTS) + 1:02d}",
                sis=f"{term_sis}-{dept}-{index + 1:05d}",
                term=term,
                account=account,
                uuid=f"{rng.getrandbits(160):040x}",
                state=state,
            ),
        )
        n_sections = 2 if len(roster) > 28 else 1
        sections = [
            self._section(
                course,
                f"{subject} P{period}{'AB'[i] if n_sections > 1 else ''}",
                f"{term_sis}-{index + 1:05d}-{i + 1}",
            )
            for i in range(n_sections)
        ]
        self._assignments(course, rng, subject)
        for a in course.assignments:
            self._write("assignments", self._assignment_record(course, a, rng))

        created = start - rng.randrange(3 * DAY, 20 * DAY)
        self._enrollment(course, teacher, sections[0], "TeacherEnrollment", created, rng)
        cells = [self._cells(course, student, rng) for student in roster]
        before = self._regrade(course, cells, [student.id for student in roster])
        for row, (student, subs) in enumerate(zip(roster, cells, strict=True)):
            grades = _grades(course, subs, student.id)
            if row in before and before[row] != grades:
                self.changed_enrollments += 1
            if over:
                state = "completed" if rng.random() < 0.6 else "active"
            else:
                state = "inactive" if rng.random() < 0.02 else "active"
            self._enrollment(
                course,
                student.id,
                sections[row % n_sections],
                "StudentEnrollment",
                created + rng.randrange(0, 5 * DAY),
                rng,
                grades=grades,
                state=state,
                student=student,
            )
        for subs in cells:
            for s in subs:
                self._write("submissions", s)

    @staticmethod
    def _course_record(
        course: _Course,
        *,
        name: str,
        code: str,
        sis: str,
        term: int,
        account: int,
        uuid: str,
        state: str,
    ) -> dict[str, Any]:
        return {
            "id": course.id,
            "name": name,
            "course_code": code,
            "uuid": uuid,
            "account_id": account,
            "root_account_id": 1,
            "enrollment_term_id": term,
            "grading_standard_id": 1 if course.letters else None,
            "start_at": _ts(course.term_start),
            "end_at": _ts(course.term_end),
            "created_at": _ts(course.term_start - 30 * DAY),
            "time_zone": "America/Denver",
            "default_view": "modules",
            "hide_final_grades": False,
            "apply_assignment_group_weights": course.apply_weights,
            "is_public": False,
            "restrict_enrollments_to_course_dates": False,
            "sis_course_id": sis,
            "integration_id": None,
            "workflow_state": state,
        }

    def _section(self, course: _Course, name: str, sis: str) -> int:
        section_id = self._id("sections")
        self._write(
            "sections",
            {
                "id": section_id,
                "course_id": course.id,
                "name": name,
                "sis_section_id": sis,
                "integration_id": None,
                "start_at": None,
                "end_at": None,
                "nonxlist_course_id": None,
            },
        )
        return section_id

    def _group(
        self, course: _Course, name: str, position: int, weight: float, rules: dict[str, Any]
    ) -> int:
        group_id = self._id("assignment_groups")
        course.weights[group_id] = weight
        self._write(
            "assignment_groups",
            {
                "id": group_id,
                "name": name,
                "position": position,
                "group_weight": weight,
                "sis_source_id": None,
                "integration_data": {},
                "rules": rules,
            },
        )
        return group_id

    def _assignments(self, course: _Course, rng: random.Random, subject: str) -> None:
        """The course's assignments, and the groups that hold them (no group is left empty:
        Canvas leaves ``course_id`` out of a group, so a group is placed by its assignments)."""
        kinds = []
        for _ in range(self.per_course):
            r = rng.random()
            kind, share = 0, 0.0
            for kind, (_, _, kind_share, *_) in enumerate(_KINDS):  # noqa: B007
                share += kind_share
                if r < share:
                    break
            kinds.append(kind)
        groups: dict[int, int] = {}
        for kind in sorted(set(kinds)):
            name, weight, *_ = _KINDS[kind]
            groups[kind] = self._group(course, name, len(groups) + 1, weight, {})
        days = (course.term_end - course.term_start) // DAY
        numbers = [0] * len(_KINDS)
        for i, kind in enumerate(kinds):
            _, _, _, points_choices, grading_types, submission_types = _KINDS[kind]
            numbers[kind] += 1
            g = rng.random()
            grading_type = next(gt for gt, p in grading_types if g < p)
            points: float | None = rng.choice(points_choices)
            if rng.random() < 0.03:
                grading_type, points = "not_graded", None
            t = _clamp((i + 0.5 + rng.uniform(-0.3, 0.3)) / self.per_course, 0.01, 0.99)
            # 23:59:59 in Denver: 05:59:59Z the next day (in daylight saving time).
            midnight = course.term_start - course.term_start % DAY + int(t * days) * DAY
            due: int | None = midnight + DAY + 5 * HOUR + 59 * 60 + 59
            if kind == 3 and rng.random() < 0.2:
                due = None
            quiz = kind == 1
            post_manually = kind == 2 and rng.random() < 0.25
            name = f"{_KIND_NAMES[kind]} {numbers[kind]}" + (f": {subject}" if kind == 0 else "")
            online = kind < 2 and grading_type != "not_graded"
            course.assignments.append(
                _Assignment(
                    id=self._id("assignments"),
                    name=name,
                    group_id=groups[kind],
                    position=numbers[kind],
                    points=points,
                    grading_type=grading_type,
                    due=due,
                    due_text=_ts(due),
                    t=t,
                    online=online,
                    submission_types=(
                        ["not_graded"] if grading_type == "not_graded" else list(submission_types)
                    ),
                    quiz_id=self._id("quizzes") if quiz else None,
                    essay=quiz and rng.random() < 0.15,
                    post_manually=post_manually,
                    posted=(
                        due + 10 * DAY
                        if post_manually and due is not None and rng.random() < 0.8
                        else None
                    ),
                    difficulty=rng.gauss(0.0, 0.05),
                    multiple_attempts=kind == 0 and rng.random() < 0.3,
                    description=(
                        f'<p>Read <a href="{BASE_URL}/courses/{course.id}/pages/'
                        f'reading-{numbers[kind]}">'
                        "the reading</a>, then answer the questions.</p>"
                        if kind == 0
                        else None
                    ),
                )
            )

    @staticmethod
    def _assignment_record(course: _Course, a: _Assignment, rng: random.Random) -> dict[str, Any]:
        created = course.term_start - 10 * DAY + rng.randrange(0, 5 * DAY)
        updated = min(created + rng.randrange(0, 60 * DAY), SNAPSHOT_EPOCH - DAY)
        record: dict[str, Any] = {
            "id": a.id,
            "name": a.name,
            "description": a.description,
            "course_id": course.id,
            "assignment_group_id": a.group_id,
            "position": a.position,
            "points_possible": a.points,
            "grading_type": a.grading_type,
            "grading_standard_id": None,
            "due_at": a.due_text,
            "lock_at": None if a.due is None else _ts(a.due + 7 * DAY),
            "unlock_at": None if a.due is None else _ts(a.due - 14 * DAY),
            "created_at": _ts(created),
            "updated_at": _ts(updated),
            "submission_types": a.submission_types,
            "published": True,
            "workflow_state": "published",
            "omit_from_final_grade": a.omit,
            "hide_in_gradebook": False,
            "post_manually": a.post_manually,
            "anonymous_grading": False,
            "moderated_grading": False,
            "allowed_attempts": 1 if a.quiz_id is not None else -1,
            "only_visible_to_overrides": False,
            "html_url": f"{BASE_URL}/courses/{course.id}/assignments/{a.id}",
            "sis_assignment_id": None,
        }
        if a.quiz_id is not None:
            record["quiz_id"] = a.quiz_id
        return record

    def _enrollment(
        self,
        course: _Course,
        user: int | str,
        section: int,
        kind: str,
        created: int,
        rng: random.Random,
        *,
        grades: dict[str, Any] | None = None,
        state: str = "active",
        student: _Student | None = None,
        role: tuple[str, int] | None = None,
        associated_user: int | str | None = None,
    ) -> None:
        end = min(course.term_end, SNAPSHOT_EPOCH)
        last_activity: int | None
        if state == "invited":
            last_activity, total = None, 0
        elif student is None:
            last_activity = end - rng.randrange(HOUR, 3 * DAY)
            total = rng.randrange(20, 120) * HOUR
        else:
            gap = rng.expovariate(1.0 / (6 * HOUR + (1.0 - student.activity) * 3 * DAY))
            if student.decline_start < end:
                gap += min(end - student.decline_start, 21 * DAY) * 0.7
            if state == "inactive":
                gap += 15 * DAY
            last_activity = max(course.term_start, end - int(gap))
            elapsed_days = (end - course.term_start) / DAY
            total = int(elapsed_days * student.activity * rng.uniform(600, 2400))
        if role is None:
            base = "StudentEnrollment" if kind == "StudentViewEnrollment" else kind
            role = (base, _ROLE_IDS[base])
        record: dict[str, Any] = {
            "id": self._id("enrollments"),
            "user_id": user,
            "course_id": course.id,
            "course_section_id": section,
            "root_account_id": 1,
            "associated_user_id": associated_user,
            "created_at": _ts(created),
            "updated_at": _ts(created + HOUR),
            "start_at": None,
            "end_at": None,
            "type": kind,
            "role": role[0],
            "role_id": role[1],
            "enrollment_state": state,
            "limit_privileges_to_course_section": False,
            "html_url": f"{BASE_URL}/courses/{course.id}/users/{user}",
            "last_activity_at": _ts(last_activity),
            "last_attended_at": None,
            "total_activity_time": total,
        }
        if grades is not None:
            record["grades"] = grades
        self._write("enrollments", record)

    # -- one student's work in one course --------------------------------------------------------

    def _cells(
        self, course: _Course, student: _Student, rng: random.Random
    ) -> list[dict[str, Any]]:
        """The student's submissions, one per assignment of ``course``, in assignment order."""
        effect = rng.gauss(0.0, 0.04)  # this student's knack for this subject
        return [self._submission(course, a, student, effect, rng) for a in course.assignments]

    def _submission(
        self, course: _Course, a: _Assignment, student: _Student, effect: float, rng: random.Random
    ) -> dict[str, Any]:
        s: dict[str, Any] = {
            "id": self._id("submissions"),
            "user_id": student.ref,
            "assignment_id": a.id,
            **_PLACEHOLDER,
            "cached_due_date": a.due_text,
        }
        if a.grading_type == "not_graded":
            return s
        now = SNAPSHOT_EPOCH
        due = a.due
        if due is None or due > now:
            # Not due yet, or no due date: most have nothing yet; some hand in early.
            opens = course.term_start + int(a.t * (course.term_end - course.term_start)) - 7 * DAY
            if a.online and opens < now and rng.random() < (0.75 if due is None else 0.12):
                submitted = min(now - rng.randrange(HOUR, 2 * DAY), (due or now) - HOUR)
                s |= {
                    "submission_type": a.submission_types[0],
                    "attempt": 1,
                    "submitted_at": _ts(submitted),
                    "workflow_state": "submitted",
                }
            return s
        if rng.random() < 0.004:
            graded_at = due + rng.randrange(DAY, 4 * DAY)
            if graded_at <= now:
                self._excuse(s, a, graded_at, course.teacher)
            return s
        decline = 0.0
        miss = student.miss
        if due > student.decline_start:
            progress = min(1.0, (due - student.decline_start) / _DECLINE_SPAN)
            decline = student.decline_rate * progress
            miss += 0.3 * progress
        pct = _clamp(
            student.ability + effect - a.difficulty - decline + rng.gauss(0.0, 0.07), 0.0, 1.0
        )

        if not a.online:
            # Graded on paper or in class: nothing is handed in; some students were absent.
            if rng.random() < miss * 0.5:
                return s
            graded_at = due + rng.randrange(HOUR, 6 * DAY)
            if graded_at <= now:
                score = self._raw_score(a, pct, rng)
                self._graded(s, a, score, score, None, graded_at, course.teacher)
            return s

        if rng.random() < miss:
            s["missing"] = True
            if course.late_policy or rng.random() < 0.15:
                # A zero, from the missing-submission policy or from the teacher.
                manual = not course.late_policy
                graded_at = due + (rng.randrange(DAY, 5 * DAY) if manual else HOUR)
                if graded_at <= now:
                    self._graded(
                        s, a, 0.0, 0.0, None, graded_at, course.teacher if manual else None
                    )
                    if manual:
                        s["late_policy_status"] = "missing"
            return s

        cached_due = due
        if rng.random() < 0.01:
            cached_due = due + 3 * DAY
            s["late_policy_status"] = "extended"
            s["cached_due_date"] = _ts(cached_due)
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
            "submitted_at": _ts(submitted),
            "workflow_state": "submitted",
            "late": seconds_late > 0,
            "seconds_late": seconds_late,
        }
        if a.quiz_id is not None:  # graded by the quiz engine
            graded_at = submitted + rng.randrange(60, 3 * HOUR)
            grader = -a.quiz_id
        else:
            graded_at = max(submitted, due) + rng.randrange(6 * HOUR, 8 * DAY)
            grader = course.teacher
        if graded_at > now:
            return s
        entered = self._raw_score(a, pct, rng)
        deducted: float | None = None
        points = a.points or 0.0
        if seconds_late and course.late_policy and points > 0 and a.grading_type != "pass_fail":
            # 10% of the points a day late, at most 50%, never below zero.
            days_late = math.ceil(seconds_late / DAY)
            deducted = round(min(min(days_late * 0.1, 0.5) * points, entered), 2)
        score = entered if deducted is None else round(entered - deducted, 2)
        self._graded(s, a, score, entered, deducted, graded_at, grader)
        if a.essay and rng.random() < 0.3:
            s["workflow_state"] = "pending_review"
        return s

    @staticmethod
    def _raw_score(a: _Assignment, pct: float, rng: random.Random) -> float:
        points = a.points or 0.0
        if a.grading_type == "pass_fail":
            return points if pct >= 0.6 else 0.0
        if points <= 0:  # extra credit
            return float(rng.choice((0, 0, 1, 2)))
        if points <= 25:
            return round(pct * points * 2) / 2
        return float(round(pct * points))

    @staticmethod
    def _posted(a: _Assignment, graded: str | None) -> str | None:
        if not a.post_manually:
            return graded
        return _ts(a.posted) if a.posted is not None and a.posted <= SNAPSHOT_EPOCH else None

    def _graded(
        self,
        s: dict[str, Any],
        a: _Assignment,
        score: float,
        entered: float,
        deducted: float | None,
        graded_at: int,
        grader: int | None,
    ) -> None:
        graded = _ts(graded_at)
        s |= {
            "score": score,
            "grade": _grade(a.grading_type, score, a.points),
            "entered_score": entered,
            "entered_grade": _grade(a.grading_type, entered, a.points),
            "graded_at": graded,
            "posted_at": self._posted(a, graded),
            "grader_id": grader,
            "workflow_state": "graded",
            "points_deducted": deducted,
        }

    def _excuse(self, s: dict[str, Any], a: _Assignment, graded_at: int, grader: int) -> None:
        graded = _ts(graded_at)
        s |= {
            "submission_type": None,
            "score": None,
            "grade": None,
            "entered_score": None,
            "entered_grade": None,
            "excused": True,
            "attempt": None,
            "submitted_at": None,
            "graded_at": graded,
            "posted_at": self._posted(a, graded),
            "grader_id": grader,
            "workflow_state": "graded",
            "late": False,
            "missing": False,
            "late_policy_status": None,
            "seconds_late": 0,
            "points_deducted": None,
        }

    # -- regrading (revisions) -------------------------------------------------------------------

    def _regrade(
        self,
        course: _Course,
        cells: list[list[dict[str, Any]]],
        users: list[int | str],
        hidden: frozenset[int] = frozenset(),
    ) -> dict[int, dict[str, Any]]:
        """Apply this course's share of every regrading round to ``cells``, in place.

        Each round changes the scores of about ``fraction`` of the submissions seen so far
        (a running tally keeps the total close across courses), chosen among graded,
        scored, visible submissions of point-based assignments. Returns, by row, the
        grades before the last round of the students that round touched.
        """
        self.submissions_seen += sum(len(subs) for subs in cells)
        if not self.rounds:
            return {}
        scorable = ("points", "percent", "letter_grade", "gpa_scale")
        eligible = [
            (row, col)
            for row, subs in enumerate(cells)
            for col, s in enumerate(subs)
            if s["workflow_state"] == "graded"
            and s["score"] is not None
            and s["id"] not in hidden
            and course.assignments[col].grading_type in scorable
            and (course.assignments[col].points or 0.0) > 0
        ]
        before: dict[int, dict[str, Any]] = {}
        for r, rng in enumerate(self.rounds):
            target = round(self.fraction * self.submissions_seen) - self.round_changed[r]
            chosen = sorted(rng.sample(eligible, min(max(target, 0), len(eligible))))
            self.round_changed[r] += len(chosen)
            if r == len(self.rounds) - 1:
                for row in sorted({row for row, _ in chosen}):
                    before[row] = _grades(course, cells[row], users[row])
                self.changed_submissions += len(chosen)
            regraded = _ts(SNAPSHOT_EPOCH + (r + 1) * DAY)
            for row, col in chosen:
                self._change(course.assignments[col], cells[row][col], rng, regraded)
        return before

    @staticmethod
    def _change(
        a: _Assignment, s: dict[str, Any], rng: random.Random, graded_at: str | None
    ) -> None:
        """A regrade: a new score, up to 15% of the points away; the late deduction stays."""
        points = a.points or 0.0
        old = s["score"]
        step = 0.5 if points <= 25 else 1.0
        delta = rng.randint(1, max(1, int(points * 0.15 / step))) * step
        new = old + delta if rng.random() < 0.5 else old - delta
        if not 0.0 <= new <= points:
            new = old - delta if new > points else old + delta
        new = _clamp(new, 0.0, points)
        if new == old:  # only when points < step
            new = points if old != points else 0.0
        entered = round(new + (s["points_deducted"] or 0.0), 2)
        s |= {
            "score": new,
            "grade": _grade(a.grading_type, new, a.points),
            "entered_score": entered,
            "entered_grade": _grade(a.grading_type, entered, a.points),
            "graded_at": graded_at,
        }


class _EdgeCourse:
    """The course ``edge_cases=True`` adds: every corner case of :data:`EDGE_CASES`.

    Its users are written at construction (the users file comes before any course);
    :meth:`write` writes the course itself after the others.
    """

    def __init__(self, gen: _Generator, students: list[_Student], teachers: list[int]) -> None:
        self.gen = gen
        rng = self.rng = gen._rng("edge")
        created = _epoch(2026, 8, 3, 16)

        def user(
            name: tuple[str, str, str], *, login: bool = True, user_id: int | str | None = None
        ) -> int | str:
            uid = gen._id("users") if user_id is None else user_id
            local = uid if isinstance(uid, int) else int(str(uid).split("~")[1])
            gen._write(
                "users",
                gen._user(
                    uid, name, created, f"e{local}" if login else None, "students.example.edu"
                ),
            )
            return uid

        self.teacher = teachers[0] if teachers else gen._teacher(rng)
        self.ta = user(("渡辺 健二", "渡辺, 健二", "健二"))
        self.test_student = user(("Test Student", "Student, Test", "Test Student"), login=False)
        self.two_sections = user(("Lucía Fernández-Ortega", "Fernández-Ortega, Lucía", "Lucía"))
        local = gen._id("users")
        self.shard_user = user(
            ("Мария Ивановна Петрова", "Петрова, Мария Ивановна", "Маша"), user_id=f"1~{local}"
        )
        self.shard_ref = SHARD + local  # the same user, by its global id
        self.arabic = user(("محمد بن عبد الله", "عبد الله, محمد بن", "محمد"))
        self.chinese = user(("王小明", "王小明", "小明"))
        self.comma = user(("Martin Luther King, Jr.", "King, Martin Luther, Jr.", "Martin"))
        self.emoji = user(("Zoë 🌟 Ångström", "Ångström, Zoë 🌟", "Zoë 🌟"))
        self.invited = user(
            ("Ngozi Okonkwo-Adeyemi", "Okonkwo-Adeyemi, Ngozi", "Ngozi"), login=False
        )
        self.observer = user(("فاطمة السيد", "السيد, فاطمة", "فاطمة"))

        regulars = students[:4]
        specials: list[tuple[int | str, int | str]] = [
            (self.two_sections, self.two_sections),
            (self.shard_user, self.shard_ref),
            (self.arabic, self.arabic),
            (self.chinese, self.chinese),
            (self.comma, self.comma),
            (self.emoji, self.emoji),
            (self.invited, self.invited),
            (self.test_student, self.test_student),
        ]
        self.roster = list(regulars) + [gen._traits(rng, uid, ref) for uid, ref in specials]

    def write(self) -> None:
        gen, rng = self.gen, self.rng
        start, end = _TERMS[_FALL - 1][3], _TERMS[_FALL - 1][4]
        assert start is not None and end is not None
        course = _Course(
            id=gen._id("courses"),
            term_start=start,
            term_end=end,
            over=False,
            weights={},
            apply_weights=True,
            letters=True,
            late_policy=True,
            teacher=self.teacher,
        )
        record = gen._course_record(
            course,
            name="My favourite class ✨",
            code="EDGE-001",
            sis="2026FA-EDGE-00001",
            term=_FALL,
            account=1,
            uuid=f"{rng.getrandbits(160):040x}",
            state="available",
        )
        record["original_name"] = "Edge cases: Мир, 世界, عالم 🌍"
        gen._write("courses", record)
        s1 = gen._section(course, "Section A", "2026FA-EDGE-1")
        s2 = gen._section(course, "Section B", "2026FA-EDGE-2")
        work = gen._group(course, "Assignments", 1, 60.0, {})
        exams = gen._group(course, "Exams", 2, 40.0, {})
        ungraded = gen._group(course, "Ungraded", 3, 0.0, {})

        def at(month: int, day: int) -> int:  # 23:59:59 in Denver
            return _epoch(2026, month, day, 5, 59, 59) + DAY

        def assignment(
            name: str,
            group: int,
            points: float | None,
            grading_type: str,
            due: int | None,
            types: list[str],
            **extra: Any,
        ) -> _Assignment:
            t = 0.5 if due is None else (due - start) / (end - start)
            a = _Assignment(
                id=gen._id("assignments"),
                name=name,
                group_id=group,
                position=len([x for x in course.assignments if x.group_id == group]) + 1,
                points=points,
                grading_type=grading_type,
                due=due,
                due_text=_ts(due),
                t=t,
                online=types[0] in ("online_upload", "online_text_entry", "online_quiz"),
                submission_types=types,
                **extra,
            )
            course.assignments.append(a)
            return a

        upload = ["online_upload"]
        a_points = assignment(
            "Points homework",
            work,
            10.0,
            "points",
            at(9, 9),
            upload,
            # HTML as Canvas stores it: quotes, a newline, a tab, a backslash, non-ASCII.
            description='<p class="intro">Résumé: read <a href="https://example.edu/r?a=1&amp;b=2">'
            "this</a>.</p>\n<pre>\tC:\\Users\\student</pre>",
        )
        a_percent = assignment("Percent lab", work, 20.0, "percent", at(9, 16), upload)
        a_letter = assignment(
            "Letter essay", work, 100.0, "letter_grade", at(9, 23), ["online_text_entry"]
        )
        assignment("GPA project", exams, 100.0, "gpa_scale", at(9, 30), ["on_paper"])
        assignment("Pass/fail reflection", work, 5.0, "pass_fail", at(10, 4), upload)
        assignment("Reading log", ungraded, None, "not_graded", None, ["not_graded"])
        assignment("Extra credit: museum visit", work, 0.0, "points", at(10, 7), upload)
        a_quiz = assignment(
            "Quiz 1",
            work,
            10.0,
            "points",
            at(9, 14),
            ["online_quiz"],
            quiz_id=gen._id("quizzes"),
            essay=True,
        )
        a_offset = assignment(
            "Early-morning lab", work, 10.0, "points", _epoch(2026, 9, 1, 14), upload
        )
        a_offset.due_text = "2026-09-01T08:00:00-06:00"  # the same instant, with an offset
        assignment("Final project", work, 50.0, "points", at(12, 1), upload)
        assignment(
            "Midterm exam", exams, 100.0, "points", at(10, 8), ["on_paper"], post_manually=True
        )
        assignment("Practice set", work, 10.0, "points", at(9, 18), upload, omit=True)
        for a in course.assignments:
            gen._write("assignments", gen._assignment_record(course, a, rng))

        created = start - 10 * DAY
        gen._enrollment(course, self.teacher, s1, "TeacherEnrollment", created, rng)
        gen._enrollment(course, self.ta, s1, "TaEnrollment", created, rng, role=("Grader", 20))

        cells = [gen._cells(course, student, rng) for student in self.roster]
        rows = {student.id: row for row, student in enumerate(self.roster)}
        col = {a.id: i for i, a in enumerate(course.assignments)}

        def cell(user: int | str, a: _Assignment) -> dict[str, Any]:
            return cells[rows[user]][col[a.id]]

        def fresh(user: int | str, a: _Assignment) -> tuple[dict[str, Any], int]:
            """The user's submission to ``a``, back to a placeholder, and ``a``'s due date."""
            s = cells[rows[user]][col[a.id]]
            s |= _PLACEHOLDER
            s["cached_due_date"] = a.due_text
            assert a.due is not None or a.grading_type == "not_graded"
            return s, a.due or 0

        # Placeholders (attempt null) for the invited student; the test student tried one.
        for user in (self.invited, self.test_student):
            for a in course.assignments:
                fresh(user, a)
        s, due = fresh(self.test_student, a_points)
        s |= {"submission_type": "online_upload", "attempt": 1, "workflow_state": "submitted"}
        s["submitted_at"] = _ts(due - 2 * HOUR)
        # Excused: no score, no grade.
        s, due = fresh(self.chinese, a_points)
        gen._excuse(s, a_points, due + DAY, course.teacher)
        # Late, under the late policy: 9 points entered, 2 deducted, 7 kept.
        s, due = fresh(self.emoji, a_points)
        s |= {
            "submission_type": "online_upload",
            "attempt": 1,
            "late": True,
            "seconds_late": 2 * DAY - HOUR,
        }
        s["submitted_at"] = _ts(due + 2 * DAY - HOUR)
        gen._graded(s, a_points, 7.0, 9.0, 2.0, due + 3 * DAY, course.teacher)
        # Missing: marked by the teacher with a zero; and missing with nothing at all.
        s, due = fresh(self.arabic, a_percent)
        gen._graded(s, a_percent, 0.0, 0.0, None, due + 2 * DAY, course.teacher)
        s |= {"missing": True, "late_policy_status": "missing"}
        s, due = fresh(self.shard_user, a_percent)
        s["missing"] = True
        # An extended due date, handed in within it.
        s, due = fresh(self.two_sections, a_letter)
        s |= {
            "submission_type": "online_text_entry",
            "attempt": 1,
            "late_policy_status": "extended",
        }
        s["submitted_at"] = _ts(due + 2 * DAY)
        s["cached_due_date"] = _ts(due + 3 * DAY)
        gen._graded(s, a_letter, 91.0, 91.0, None, due + 5 * DAY, course.teacher)
        # Graded by the quiz engine (negative grader_id); one awaits review of its essay.
        assert a_quiz.quiz_id is not None
        for user, state in ((self.arabic, "graded"), (self.emoji, "pending_review")):
            s, due = fresh(user, a_quiz)
            s |= {"submission_type": "online_quiz", "attempt": 1, "submitted_at": _ts(due - DAY)}
            gen._graded(s, a_quiz, 8.0, 8.0, None, due - DAY + 600, -a_quiz.quiz_id)
            s["workflow_state"] = state
        # A grade the caller may not see: its four keys are removed from the file.
        s, due = fresh(self.comma, a_letter)
        s |= {"submission_type": "online_text_entry", "attempt": 1, "submitted_at": _ts(due - DAY)}
        gen._graded(s, a_letter, 88.0, 88.0, None, due + 4 * DAY, course.teacher)
        hidden_ids = frozenset({s["id"]})

        before = gen._regrade(course, cells, [student.id for student in self.roster], hidden_ids)
        for row, (student, subs) in enumerate(zip(self.roster, cells, strict=True)):
            grades = _grades(course, subs, student.id)
            changed = row in before and before[row] != grades
            sections = [s1, s2] if student.id == self.two_sections else [(s1, s2)[row % 2]]
            for section in sections:
                gen.changed_enrollments += changed
                kind = (
                    "StudentViewEnrollment"
                    if student.id == self.test_student
                    else "StudentEnrollment"
                )
                gen._enrollment(
                    course,
                    student.id,
                    section,
                    kind,
                    created + HOUR,
                    rng,
                    grades=grades,
                    state="invited" if student.id == self.invited else "active",
                    student=student,
                )
        gen._enrollment(
            course,
            self.observer,
            s1,
            "ObserverEnrollment",
            created + DAY,
            rng,
            associated_user=self.arabic,
        )
        for subs in cells:
            for s in subs:
                if s["id"] in hidden_ids:
                    s = {k: v for k, v in s.items() if k not in _HIDDEN_KEYS}
                gen._write("submissions", s)
