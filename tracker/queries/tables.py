"""The tables and views the builders read, named for what they are, and the fixed
expressions and conditions over them that several builders share.

Each table carries the alias its SQL uses (``canvas.submissions AS s``). Who counts as an
active student is the database's view ``canvas.active_students`` (migration 0008: active
student enrollments, not the test student, not marked missing in layer 0); the planner
reads through it to the partial index of active students beneath. Checked against the
conditions spelled out (100,000 and 250,000 submissions, PostgreSQL 15, custom and generic
plans): the same plans and timings, but for grades as of a date, whose plan applies the
layer 0 anti-join before the course lookup instead of after (same indexes, same time).
"""

from __future__ import annotations

from pypika import Table
from pypika import functions as fn
from pypika.terms import ExistsCriterion, Term, ValueWrapper

from tracker.queries.terms import Sql, fixed, select_from

submissions = Table("submissions", schema="canvas", alias="s")
assignments = Table("assignments", schema="canvas", alias="a")
users = Table("users", schema="canvas", alias="u")
courses = Table("courses", schema="canvas", alias="c")
#: Every enrollment, whatever its state or type (:func:`tracker.queries.enrollments`).
enrollments = Table("enrollments", schema="canvas", alias="e")
#: The active student enrollments: the view, under the same alias as the table.
active_students = Table("active_students", schema="canvas", alias="e")
#: Layer 2's recorded course grades, and the same table read for the row recorded before.
enrollment_grades = Table("enrollment_grades", schema="history", alias="h")
earlier_grades = Table("enrollment_grades", schema="history", alias="hp")
curricula = Table("curricula", schema="userdata", alias="cu")
curriculum_courses = Table("curriculum_courses", schema="userdata", alias="cc")

#: A submission's due date: the student's own, else the assignment's.
DUE = fn.Coalesce(submissions.cached_due_date, assignments.due_at)
LATE = Sql("coalesce(s.late, false)")
#: Canvas's missing flag, or a teacher's late policy status 'missing'.
MISSING = Sql("coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing'")
EXCUSED = Sql("coalesce(s.excused, false)")
#: What a list of people is sorted by: the sortable name, else the name.
SORTABLE_NAME = fn.Coalesce(users.sortable_name, users.name)


def _not_missing(kind: str, id_term: Term) -> ExistsCriterion:
    """NOT EXISTS a layer 0 row saying the object of ``kind`` with this id is not active."""
    o = Table("objects", schema="lifecycle", alias=f"o_{kind}")
    gone = (select_from(o).select(1)
            .where(o.kind == ValueWrapper(kind))
            .where(o.id == id_term)
            .where(o.status != ValueWrapper("active")))
    return ExistsCriterion(gone).negate()


def _active_student_of(user_id: Term, course_id: Term) -> ExistsCriterion:
    """EXISTS an active student enrollment of this user in this course."""
    se = Table("active_students", schema="canvas", alias="se")
    return ExistsCriterion(select_from(se).select(1)
                           .where(se.user_id == user_id).where(se.course_id == course_id))


# The fixed conditions, rendered once. They hold no caller value.
#: The submission's student is an active student of its course.
ACTIVE_SUBMITTER = fixed(_active_student_of(submissions.user_id, submissions.course_id))
#: The submission's assignment is not marked missing in layer 0.
LIVE_ASSIGNMENT = fixed(_not_missing("assignment", submissions.assignment_id))
#: A student enrollment in any state, not the test student's.
ANY_STUDENT_ENROLLMENT = fixed((enrollments.type == ValueWrapper("StudentEnrollment"))
                               & enrollments.is_test_student.negate())
#: The enrollment is not marked missing in layer 0.
LIVE_ENROLLMENT = fixed(_not_missing("enrollment", enrollments.id))
