"""The generator of one run: the school's people, then its courses one at a time.

Each course draws from a random stream of its own (seeded from ``seed`` and the course's
index), people from another, each regrading round from another: so a revision never
disturbs the school it regrades, and the edge-case course never disturbs the others.
"""

from __future__ import annotations

import math
import random
from typing import Any, NamedTuple

from tracker.sample.catalog import HOMEWORK, KINDS, PARTICIPATION, QUIZ, SUBJECTS, TEST
from tracker.sample.dates import DAY, FALL, HOUR, SNAPSHOT_EPOCH, SPRING, TERMS, Term, epoch, ts
from tracker.sample.grading import enrollment_grades
from tracker.sample.model import Assignment, Course, Ids, Options, Student, clamp
from tracker.sample.names import person_name
from tracker.sample.outcomes import Fate, Outcomes, fate, outcome
from tracker.sample.people import rosters, traits
from tracker.sample.records import (
    BASE_URL,
    HIDDEN_KEYS,
    assignment_record,
    course_record,
    enrollment_record,
    group_record,
    section_record,
    term_record,
    user_record,
)
from tracker.sample.regrade import Regrading
from tracker.sample.sink import Sink
from tracker.sample.work import cells


class School:
    """The state of one run: its sizes, id counters, sinks, and the regrading and its tally."""

    def __init__(self, sinks: dict[str, Sink], options: Options) -> None:
        self.sinks = sinks
        self.options = options
        self.ids = Ids()
        self.regrading = Regrading(
            [self.rng("revision", r) for r in range(1, options.revision + 1)],
            options.changed_fraction,
        )
        self.changed_enrollments = 0
        """Enrollments whose ``grades`` the last regrading round changed."""
        self.outcomes = Outcomes()
        """How the past term's student enrollments ended."""

    def rng(self, *parts: object) -> random.Random:
        """The random stream named by ``parts``, under this run's seed."""
        # A string seed is hashed with SHA-512: stable across runs and platforms.
        return random.Random(":".join(["tracker-sample", str(self.options.seed), *map(str, parts)]))

    def write(self, kind: str, record: dict[str, Any]) -> None:
        self.sinks[kind].write(record)

    def write_terms(self) -> None:
        for term in TERMS:
            self.write("terms", term_record(term))

    # -- people ----------------------------------------------------------------------------------

    def people(self) -> tuple[list[Student], list[int], list[list[int]]]:
        """The students, the teachers (one for three courses) and each course's roster (as
        indexes of the students), written as users as they are made."""
        o = self.options
        rng = self.rng("people")
        students = [self._student(rng) for _ in range(o.students)]
        teachers = [self.teacher(rng) for _ in range(math.ceil(o.courses / 3))]
        return students, teachers, rosters(rng, o.students, o.courses, o.courses_per_student)

    def _student(self, rng: random.Random) -> Student:
        user_id = self.ids.new("users")
        name = person_name(rng)
        created = epoch(2024, 6, 1) + rng.randrange(0, 420 * DAY)
        self.write(
            "users", user_record(user_id, name, created, f"s{user_id}", "students.example.edu")
        )
        return traits(rng, user_id, user_id)

    def teacher(self, rng: random.Random) -> int:
        """A new teacher's user id (the user is written)."""
        user_id = self.ids.new("users")
        created = epoch(2023, 7, 1) + rng.randrange(0, 700 * DAY)
        self.write(
            "users", user_record(user_id, person_name(rng), created, f"t{user_id}", "example.edu")
        )
        return user_id

    # -- one course ------------------------------------------------------------------------------

    def write_course(self, index: int, roster: list[Student], teacher: int) -> None:
        """Course ``index``, taught by ``teacher`` to ``roster``, and everything in it."""
        rng = self.rng("course", index)
        slot = _slot(index)
        course = self._new_course(index, slot, teacher, rng)
        sections = self._sections(course, index, slot, len(roster))
        self._assignments(course, rng, slot.subject)
        for a in course.assignments:
            self.write("assignments", assignment_record(course, a, rng))
        created = course.term_start - rng.randrange(3 * DAY, 20 * DAY)
        self.enrollment(course, teacher, sections[0], "TeacherEnrollment", created, rng)
        # A stream of its own for the past term's fates, so that the work draws as it always did.
        fated = self.rng("fate", index) if course.over else None
        fates = [fate(course, s, fated) if fated else Fate(s) for s in roster]
        work = [cells(course, f.student, rng, self.ids, f.withdrawn, fated) for f in fates]
        self._enroll_students(course, fates, work, sections, created, rng)
        self.write_submissions(work)

    def _new_course(self, index: int, slot: _Slot, teacher: int, rng: random.Random) -> Course:
        """The course's settings, drawn from ``rng``; its record is written."""
        term = slot.term
        assert term.start is not None and term.end is not None and term.sis_term_id is not None
        over = term.end <= SNAPSHOT_EPOCH
        course = Course(
            id=self.ids.new("courses"),
            term_start=term.start,
            term_end=term.end,
            over=over,
            weights={},
            apply_weights=rng.random() < 0.5,
            letters=rng.random() < 0.6,
            late_policy=rng.random() < 0.5,
            teacher=teacher,
        )
        # Over: concluded by hand ("completed"), or left to its end date ("available"), its
        # enrollments then still "active" (Canvas's enrollment_state does not follow dates).
        state = ("completed" if rng.random() < 0.6 else "available") if over else "available"
        n = len(SUBJECTS)
        self.write(
            "courses",
            course_record(
                course,
                name=f"{slot.subject} — Period {slot.period}",
                code=f"{slot.dept}-{101 + index % n}-{index // n + 1:02d}",
                sis=f"{term.sis_term_id}-{slot.dept}-{index + 1:05d}",
                term=term.id,
                account=slot.account,
                uuid=f"{rng.getrandbits(160):040x}",
                state=state,
            ),
        )
        course.concluded = state == "completed"
        return course

    def _sections(self, course: Course, index: int, slot: _Slot, students: int) -> list[int]:
        """One section, or two (A and B) for more than 28 students."""
        n = 2 if students > 28 else 1
        return [
            self.section(
                course,
                f"{slot.subject} P{slot.period}{'AB'[i] if n > 1 else ''}",
                f"{slot.term.sis_term_id}-{index + 1:05d}-{i + 1}",
            )
            for i in range(n)
        ]

    def section(self, course: Course, name: str, sis: str) -> int:
        """A new section's id (its record is written)."""
        section_id = self.ids.new("sections")
        self.write("sections", section_record(section_id, course, name, sis))
        return section_id

    def group(
        self, course: Course, name: str, position: int, weight: float, rules: dict[str, Any]
    ) -> int:
        """A new assignment group's id (its record is written, its weight is the course's)."""
        group_id = self.ids.new("assignment_groups")
        course.weights[group_id] = weight
        self.write("assignment_groups", group_record(group_id, name, position, weight, rules))
        return group_id

    def _assignments(self, course: Course, rng: random.Random, subject: str) -> None:
        """The course's assignments, and the groups that hold them (no group is left empty:
        Canvas leaves ``course_id`` out of a group, so a group is placed by its assignments)."""
        kinds = [_draw_kind(rng) for _ in range(self.options.assignments_per_course)]
        groups: dict[int, int] = {}
        for kind in sorted(set(kinds)):
            k = KINDS[kind]
            groups[kind] = self.group(course, k.group, len(groups) + 1, k.weight, {})
        numbers = [0] * len(KINDS)
        for i, kind in enumerate(kinds):
            numbers[kind] += 1
            course.assignments.append(
                self._assignment(course, rng, subject, kind, i, numbers[kind], groups[kind])
            )

    def _assignment(
        self,
        course: Course,
        rng: random.Random,
        subject: str,
        kind: int,
        i: int,
        number: int,
        group: int,
    ) -> Assignment:
        """The course's ``i``-th assignment, the ``number``-th of its ``kind``, in ``group``."""
        k = KINDS[kind]
        g = rng.random()
        grading_type = next(gt for gt, p in k.grading_types if g < p)
        points: float | None = rng.choice(k.points)
        if rng.random() < 0.03:
            grading_type, points = "not_graded", None
        t = clamp(
            (i + 0.5 + rng.uniform(-0.3, 0.3)) / self.options.assignments_per_course, 0.01, 0.99
        )
        # 23:59:59 in Denver: 05:59:59Z the next day (in daylight saving time).
        days = (course.term_end - course.term_start) // DAY
        midnight = course.term_start - course.term_start % DAY + int(t * days) * DAY
        due: int | None = midnight + DAY + 5 * HOUR + 59 * 60 + 59
        if kind == PARTICIPATION and rng.random() < 0.2:
            due = None
        quiz = kind == QUIZ
        post_manually = kind == TEST and rng.random() < 0.25
        name = f"{k.title} {number}" + (f": {subject}" if kind == HOMEWORK else "")
        online = kind in (HOMEWORK, QUIZ) and grading_type != "not_graded"
        return Assignment(
            id=self.ids.new("assignments"),
            name=name,
            group_id=group,
            position=number,
            points=points,
            grading_type=grading_type,
            due=due,
            due_text=ts(due),
            t=t,
            online=online,
            submission_types=(
                ["not_graded"] if grading_type == "not_graded" else list(k.submission_types)
            ),
            quiz_id=self.ids.new("quizzes") if quiz else None,
            essay=quiz and rng.random() < 0.15,
            post_manually=post_manually,
            posted=(
                due + 10 * DAY
                if post_manually and due is not None and (rng.random() < 0.8 or course.over)
                else None
            ),
            difficulty=rng.gauss(0.0, 0.05),
            multiple_attempts=kind == HOMEWORK and rng.random() < 0.3,
            description=(
                f'<p>Read <a href="{BASE_URL}/courses/{course.id}/pages/reading-{number}">'
                "the reading</a>, then answer the questions.</p>"
                if kind == HOMEWORK
                else None
            ),
        )

    def _enroll_students(
        self,
        course: Course,
        fates: list[Fate],
        work: list[list[dict[str, Any]]],
        sections: list[int],
        created: int,
        rng: random.Random,
    ) -> None:
        """The roster's enrollments, their grades from their ``work`` once regraded; in a term
        that is over, ``completed`` (or withdrawn), each outcome tallied."""
        before = self.regrading.apply(course, work, [f.student.id for f in fates])
        for row, (f, subs) in enumerate(zip(fates, work, strict=True)):
            student = f.student
            grades = enrollment_grades(course, subs, student.id)
            if row in before and before[row] != grades:
                self.changed_enrollments += 1
            if course.over:
                state = f.state or ("completed" if course.concluded else "active")
                self.outcomes = self.outcomes.add(outcome(state, grades))
            else:
                state = "inactive" if rng.random() < 0.02 else "active"
            self.enrollment(
                course,
                student.id,
                sections[row % len(sections)],
                "StudentEnrollment",
                created + rng.randrange(0, 5 * DAY),
                rng,
                grades=grades,
                state=state,
                student=student,
                until=f.withdrawn,
            )

    def enrollment(
        self,
        course: Course,
        user: int | str,
        section: int,
        kind: str,
        created: int,
        rng: random.Random,
        *,
        grades: dict[str, Any] | None = None,
        state: str = "active",
        student: Student | None = None,
        role: tuple[str, int] | None = None,
        associated_user: int | str | None = None,
        until: int | None = None,
    ) -> None:
        """Write an enrollment; its activity is drawn from ``rng`` (a student's follows their
        traits, and ends by ``until`` when they withdrew)."""
        last_activity, total = _activity(course, state, student, rng, until)
        self.write(
            "enrollments",
            enrollment_record(
                self.ids.new("enrollments"),
                course,
                user,
                section,
                kind,
                created,
                state=state,
                last_activity=last_activity,
                total_activity=total,
                grades=grades,
                role=role,
                associated_user=associated_user,
            ),
        )

    def write_submissions(
        self, work: list[list[dict[str, Any]]], hidden: frozenset[int] = frozenset()
    ) -> None:
        """Every submission of ``work``; those of ``hidden`` ids without their grade's keys."""
        for subs in work:
            for s in subs:
                if hidden and s["id"] in hidden:
                    s = {k: v for k, v in s.items() if k not in HIDDEN_KEYS}
                self.write("submissions", s)


class _Slot(NamedTuple):
    """Where a course sits in the catalogue: its subject, its period of the day, its term."""

    subject: str
    dept: str
    account: int
    period: int
    term: Term


def _slot(index: int) -> _Slot:
    subject, dept, account = SUBJECTS[index % len(SUBJECTS)]
    term = TERMS[(SPRING if index % 3 == 2 else FALL) - 1]
    return _Slot(subject, dept, account, index // len(SUBJECTS) % 7 + 1, term)


def _draw_kind(rng: random.Random) -> int:
    """A kind of assignment (an index of :data:`KINDS`), drawn by the kinds' shares."""
    r = rng.random()
    kind, share = 0, 0.0
    for kind, k in enumerate(KINDS):
        share += k.share
        if r < share:
            break
    return kind


def _activity(
    course: Course, state: str, student: Student | None, rng: random.Random, until: int | None
) -> tuple[int | None, int]:
    """An enrollment's ``last_activity_at`` (epoch seconds) and ``total_activity_time``."""
    end = min(course.term_end, SNAPSHOT_EPOCH, until or SNAPSHOT_EPOCH)
    if state == "invited":
        return None, 0
    if student is None:
        return end - rng.randrange(HOUR, 3 * DAY), rng.randrange(20, 120) * HOUR
    gap = rng.expovariate(1.0 / (6 * HOUR + (1.0 - student.activity) * 3 * DAY))
    if student.decline_start < end:
        gap += min(end - student.decline_start, 21 * DAY) * 0.7
    if state == "inactive" and until is None:  # deactivated a while ago
        gap += 15 * DAY
    last_activity = max(course.term_start, end - int(gap))
    elapsed_days = (end - course.term_start) / DAY
    return last_activity, int(elapsed_days * student.activity * rng.uniform(600, 2400))
