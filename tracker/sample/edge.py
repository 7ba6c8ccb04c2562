"""The edge-case course ``edge_cases=True`` adds: every corner case of :data:`EDGE_CASES`.

It is written after the other courses (its users before any course), draws from a random
stream of its own and so never disturbs them, and exists at any scale.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from tracker.sample.dates import DAY, FALL, HOUR, TERMS, epoch, ts
from tracker.sample.grading import enrollment_grades
from tracker.sample.model import Assignment, Course, Ids, Student
from tracker.sample.names import Name
from tracker.sample.people import traits
from tracker.sample.records import PLACEHOLDER, assignment_record, course_record, user_record
from tracker.sample.school import School
from tracker.sample.work import cells, excuse, graded

EDGE_CASES: tuple[str, ...] = (
    "test student (StudentViewEnrollment) and its user, without login or personal fields",
    "one user with two enrollments in the course, in different sections",
    "an excused submission (score and grade null, excused true)",
    "assignments with points_possible null and 0 (extra credit)",
    "every grading_type: points, percent, letter_grade, gpa_scale, pass_fail, not_graded",
    "a submission without score, grade, entered_score, entered_grade (permission-hidden)",
    (
        "a user with a shard-prefixed string id '1~N', referenced so by its enrollment and by "
        "its global id 1x10^13+N in its submissions"
    ),
    "a due_at with an offset (2026-09-01T08:00:00-06:00)",
    "negative grader_id (quiz auto-grading)",
    "names in Arabic, Chinese, Cyrillic, with commas and an emoji",
    "unsubmitted placeholder submissions with attempt null",
    "an invited student whose user has no login or personal fields",
    "an observer enrollment (associated_user_id) and a TA under a custom role",
    (
        "late work with points_deducted, a missing submission, an extended due date, "
        "pending_review, unposted grades (post_manually), an assignment omitted from the final "
        "grade"
    ),
    "a course whose name is the caller's nickname (original_name holds the real one)",
)
"""What ``edge_cases=True`` adds, in one course of its own."""

SHARD = 10_000_000_000_000
"""Global id = shard x SHARD + local id."""

_USERS_CREATED = epoch(2026, 8, 3, 16)


class _Marked(NamedTuple):
    """The assignments the corner cases of submissions are made on."""

    points: Assignment
    percent: Assignment
    letter: Assignment
    quiz: Assignment


class _Gradebook:
    """The course's submissions, by user and assignment."""

    def __init__(
        self, roster: list[Student], course: Course, work: list[list[dict[str, Any]]]
    ) -> None:
        self._work = work
        self._rows = {student.id: row for row, student in enumerate(roster)}
        self._cols = {a.id: i for i, a in enumerate(course.assignments)}

    def fresh(self, user: int | str, a: Assignment) -> tuple[dict[str, Any], int]:
        """The user's submission to ``a``, back to a placeholder, and ``a``'s due date."""
        s = self._work[self._rows[user]][self._cols[a.id]]
        s |= PLACEHOLDER
        s["cached_due_date"] = a.due_text
        assert a.due is not None or a.grading_type == "not_graded"
        return s, a.due or 0


class EdgeCourse:
    """The edge-case course of one run.

    Its users are written at construction (the users file comes before any course);
    :meth:`write` writes the course itself after the others.
    """

    def __init__(self, school: School, students: list[Student], teachers: list[int]) -> None:
        self.school = school
        rng = self.rng = school.rng("edge")
        self.teacher = teachers[0] if teachers else school.teacher(rng)
        self.ta = self._user(("渡辺 健二", "渡辺, 健二", "健二"))
        self.test_student = self._user(
            ("Test Student", "Student, Test", "Test Student"), login=False
        )
        self.two_sections = self._user(
            ("Lucía Fernández-Ortega", "Fernández-Ortega, Lucía", "Lucía")
        )
        local = school.ids.new("users")
        self.shard_user = self._user(
            ("Мария Ивановна Петрова", "Петрова, Мария Ивановна", "Маша"), user_id=f"1~{local}"
        )
        self.shard_ref = SHARD + local  # the same user, by its global id
        self.arabic = self._user(("محمد بن عبد الله", "عبد الله, محمد بن", "محمد"))
        self.chinese = self._user(("王小明", "王小明", "小明"))
        self.comma = self._user(("Martin Luther King, Jr.", "King, Martin Luther, Jr.", "Martin"))
        self.emoji = self._user(("Zoë 🌟 Ångström", "Ångström, Zoë 🌟", "Zoë 🌟"))
        self.invited = self._user(
            ("Ngozi Okonkwo-Adeyemi", "Okonkwo-Adeyemi, Ngozi", "Ngozi"), login=False
        )
        self.observer = self._user(("فاطمة السيد", "السيد, فاطمة", "فاطمة"))

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
        self.roster = list(regulars) + [traits(rng, uid, ref) for uid, ref in specials]

    def _user(
        self, name: Name, *, login: bool = True, user_id: int | str | None = None
    ) -> int | str:
        """A new user's id (the user is written; without ``login``, without personal fields)."""
        uid = self.school.ids.new("users") if user_id is None else user_id
        local = uid if isinstance(uid, int) else int(str(uid).split("~")[1])
        self.school.write(
            "users",
            user_record(
                uid, name, _USERS_CREATED, f"e{local}" if login else None, "students.example.edu"
            ),
        )
        return uid

    def write(self) -> None:
        """The course, its sections, assignments, enrollments and submissions."""
        school, rng = self.school, self.rng
        course = self._course()
        sections = (
            school.section(course, "Section A", "2026FA-EDGE-1"),
            school.section(course, "Section B", "2026FA-EDGE-2"),
        )
        marked = self._assignments(course)
        for a in course.assignments:
            school.write("assignments", assignment_record(course, a, rng))
        created = course.term_start - 10 * DAY
        school.enrollment(course, self.teacher, sections[0], "TeacherEnrollment", created, rng)
        school.enrollment(
            course, self.ta, sections[0], "TaEnrollment", created, rng, role=("Grader", 20)
        )
        work = [cells(course, student, rng, school.ids) for student in self.roster]
        book = _Gradebook(self.roster, course, work)
        self._placeholders(book, course, marked)
        self._excused_and_late(book, course, marked)
        self._missing(book, course, marked)
        self._extended(book, course, marked)
        self._quiz_graded(book, marked)
        hidden = self._hidden_grade(book, course, marked)
        self._enroll_students(course, work, sections, created, hidden)
        school.enrollment(
            course,
            self.observer,
            sections[0],
            "ObserverEnrollment",
            created + DAY,
            rng,
            associated_user=self.arabic,
        )
        school.write_submissions(work, hidden)

    def _course(self) -> Course:
        """The course (Fall term, weighted groups, letter grades, a late policy); its record is
        written under the caller's nickname."""
        fall = TERMS[FALL - 1]
        assert fall.start is not None and fall.end is not None
        course = Course(
            id=self.school.ids.new("courses"),
            term_start=fall.start,
            term_end=fall.end,
            over=False,
            weights={},
            apply_weights=True,
            letters=True,
            late_policy=True,
            teacher=self.teacher,
        )
        record = course_record(
            course,
            name="My favourite class ✨",
            code="EDGE-001",
            sis="2026FA-EDGE-00001",
            term=FALL,
            account=1,
            uuid=f"{self.rng.getrandbits(160):040x}",
            state="available",
        )
        record["original_name"] = "Edge cases: Мир, 世界, عالم 🌍"
        self.school.write("courses", record)
        return course

    def _assignments(self, course: Course) -> _Marked:
        """The groups and assignments: every grading type, null and zero points, a due date
        with an offset, manual posting, one omitted from the final grade."""
        school = self.school
        add = functools.partial(_add, course, school.ids)
        work = school.group(course, "Assignments", 1, 60.0, {})
        exams = school.group(course, "Exams", 2, 40.0, {})
        ungraded = school.group(course, "Ungraded", 3, 0.0, {})
        upload = ["online_upload"]
        a_points = add(
            "Points homework",
            work,
            10.0,
            "points",
            _due(9, 9),
            upload,
            # HTML as Canvas stores it: quotes, a newline, a tab, a backslash, non-ASCII.
            description='<p class="intro">Résumé: read <a href="https://example.edu/r?a=1&amp;b=2">'
            "this</a>.</p>\n<pre>\tC:\\Users\\student</pre>",
        )
        a_percent = add("Percent lab", work, 20.0, "percent", _due(9, 16), upload)
        a_letter = add(
            "Letter essay", work, 100.0, "letter_grade", _due(9, 23), ["online_text_entry"]
        )
        add("GPA project", exams, 100.0, "gpa_scale", _due(9, 30), ["on_paper"])
        add("Pass/fail reflection", work, 5.0, "pass_fail", _due(10, 4), upload)
        add("Reading log", ungraded, None, "not_graded", None, ["not_graded"])
        add("Extra credit: museum visit", work, 0.0, "points", _due(10, 7), upload)
        quiz_id = school.ids.new("quizzes")
        a_quiz = add("Quiz 1", work, 10.0, "points", _due(9, 14), ["online_quiz"], quiz_id=quiz_id)
        a_quiz.essay = True
        a_offset = add("Early-morning lab", work, 10.0, "points", epoch(2026, 9, 1, 14), upload)
        a_offset.due_text = "2026-09-01T08:00:00-06:00"  # the same instant, with an offset
        add("Final project", work, 50.0, "points", _due(12, 1), upload)
        add("Midterm exam", exams, 100.0, "points", _due(10, 8), ["on_paper"], post_manually=True)
        add("Practice set", work, 10.0, "points", _due(9, 18), upload, omit=True)
        return _Marked(points=a_points, percent=a_percent, letter=a_letter, quiz=a_quiz)

    # -- the corner cases of submissions, each on a submission of its own ------------------------

    def _placeholders(self, book: _Gradebook, course: Course, marked: _Marked) -> None:
        """Placeholders (attempt null) for the invited student; the test student tried one."""
        for user in (self.invited, self.test_student):
            for a in course.assignments:
                book.fresh(user, a)
        s, due = book.fresh(self.test_student, marked.points)
        s |= {"submission_type": "online_upload", "attempt": 1, "workflow_state": "submitted"}
        s["submitted_at"] = ts(due - 2 * HOUR)

    def _excused_and_late(self, book: _Gradebook, course: Course, marked: _Marked) -> None:
        """Excused: no score, no grade. Late, under the late policy: 9 points entered, 2
        deducted, 7 kept."""
        a = marked.points
        s, due = book.fresh(self.chinese, a)
        excuse(s, a, due + DAY, course.teacher)
        s, due = book.fresh(self.emoji, a)
        s |= {
            "submission_type": "online_upload",
            "attempt": 1,
            "late": True,
            "seconds_late": 2 * DAY - HOUR,
        }
        s["submitted_at"] = ts(due + 2 * DAY - HOUR)
        graded(s, a, 7.0, 9.0, 2.0, due + 3 * DAY, course.teacher)

    def _missing(self, book: _Gradebook, course: Course, marked: _Marked) -> None:
        """Missing: marked by the teacher with a zero; and missing with nothing at all."""
        a = marked.percent
        s, due = book.fresh(self.arabic, a)
        graded(s, a, 0.0, 0.0, None, due + 2 * DAY, course.teacher)
        s |= {"missing": True, "late_policy_status": "missing"}
        s, due = book.fresh(self.shard_user, a)
        s["missing"] = True

    def _extended(self, book: _Gradebook, course: Course, marked: _Marked) -> None:
        """An extended due date, handed in within it."""
        a = marked.letter
        s, due = book.fresh(self.two_sections, a)
        s |= {
            "submission_type": "online_text_entry",
            "attempt": 1,
            "late_policy_status": "extended",
        }
        s["submitted_at"] = ts(due + 2 * DAY)
        s["cached_due_date"] = ts(due + 3 * DAY)
        graded(s, a, 91.0, 91.0, None, due + 5 * DAY, course.teacher)

    def _quiz_graded(self, book: _Gradebook, marked: _Marked) -> None:
        """Graded by the quiz engine (negative grader_id); one awaits review of its essay."""
        a = marked.quiz
        assert a.quiz_id is not None
        for user, state in ((self.arabic, "graded"), (self.emoji, "pending_review")):
            s, due = book.fresh(user, a)
            s |= {"submission_type": "online_quiz", "attempt": 1, "submitted_at": ts(due - DAY)}
            graded(s, a, 8.0, 8.0, None, due - DAY + 600, -a.quiz_id)
            s["workflow_state"] = state

    def _hidden_grade(self, book: _Gradebook, course: Course, marked: _Marked) -> frozenset[int]:
        """A grade the caller may not see: the ids of the submissions written without it."""
        a = marked.letter
        s, due = book.fresh(self.comma, a)
        s |= {"submission_type": "online_text_entry", "attempt": 1, "submitted_at": ts(due - DAY)}
        graded(s, a, 88.0, 88.0, None, due + 4 * DAY, course.teacher)
        return frozenset({s["id"]})

    def _enroll_students(
        self,
        course: Course,
        work: list[list[dict[str, Any]]],
        sections: tuple[int, int],
        created: int,
        hidden: frozenset[int],
    ) -> None:
        """The roster's enrollments (two for one user; the test student's and the invited
        student's of their own kind and state), their grades from their work once regraded."""
        school = self.school
        before = school.regrading.apply(
            course, work, [student.id for student in self.roster], hidden
        )
        for row, (student, subs) in enumerate(zip(self.roster, work, strict=True)):
            grades = enrollment_grades(course, subs, student.id)
            changed = row in before and before[row] != grades
            in_sections = [*sections] if student.id == self.two_sections else [sections[row % 2]]
            for section in in_sections:
                school.changed_enrollments += changed
                kind = (
                    "StudentViewEnrollment"
                    if student.id == self.test_student
                    else "StudentEnrollment"
                )
                school.enrollment(
                    course,
                    student.id,
                    section,
                    kind,
                    created + HOUR,
                    self.rng,
                    grades=grades,
                    state="invited" if student.id == self.invited else "active",
                    student=student,
                )


def _due(month: int, day: int) -> int:
    """23:59:59 in Denver on that day of 2026 (05:59:59Z the next day)."""
    return epoch(2026, month, day, 5, 59, 59) + DAY


def _add(
    course: Course,
    ids: Ids,
    name: str,
    group: int,
    points: float | None,
    grading_type: str,
    due: int | None,
    types: list[str],
    **extra: Any,
) -> Assignment:
    """A new assignment of ``course``, last in ``group``."""
    start, end = course.term_start, course.term_end
    t = 0.5 if due is None else (due - start) / (end - start)
    a = Assignment(
        id=ids.new("assignments"),
        name=name,
        group_id=group,
        position=len([x for x in course.assignments if x.group_id == group]) + 1,
        points=points,
        grading_type=grading_type,
        due=due,
        due_text=ts(due),
        t=t,
        online=types[0] in ("online_upload", "online_text_entry", "online_quiz"),
        submission_types=types,
        **extra,
    )
    course.assignments.append(a)
    return a
