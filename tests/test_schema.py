"""The migrated schema enforces the layer rules by itself, whoever writes.

History is append-only (a trigger), Canvas rows that history or userdata refer to cannot
be deleted (foreign keys), userdata refers only to Canvas objects that exist, every
change to userdata is audited, lifecycle states are consistent and Canvas states are the
documented ones (CHECK constraints), and Canvas ids are normalized by tracker.canvas_id().
Each test runs as the superuser on a fresh migrated database of its own.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

HISTORY_TABLES = ("enrollment_grades", "submission_scores", "course_snapshots", "risk_assessments",
                  "grade_changes")
#: Layer 2's other tables: the risk models learned and which one is active, and the
#: calibrations of the final-grade prediction (issue 15).
MODEL_TABLES = ("risk_models", "risk_model_activations", "projection_calibrations")
HISTORY_HINT = (
    "History rows are removed only by archiving or by undoing a sync "
    "(tracker lifecycle cleanup, tracker sync undo)."
)
ENROLLMENT_TYPES = (
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "DesignerEnrollment",
    "ObserverEnrollment",
    "StudentViewEnrollment",
)


def seed(conn: psycopg.Connection[Any]) -> None:
    """One sync run (sync_id 1), one Canvas object of each kind and one history row per table.

    Ids: term 1, course 10, user 100, assignment group 20, assignment 30,
    enrollment 40, submission 50.
    """
    row = conn.execute(
        "INSERT INTO tracker.sync_runs (kind, source) VALUES ('full', 'test') RETURNING sync_id"
    ).fetchone()
    assert row == (1,)
    conn.execute(
        """
        INSERT INTO canvas.terms (id, name, workflow_state, raw, sync_id)
        VALUES (1, 'Fall', 'active', '{}', 1);
        INSERT INTO canvas.courses (id, name, enrollment_term_id, workflow_state, raw, sync_id)
        VALUES (10, 'Biology', 1, 'available', '{}', 1);
        INSERT INTO canvas.users (id, name, raw, sync_id)
        VALUES (100, 'Ada', '{}', 1);
        INSERT INTO canvas.assignment_groups (id, course_id, name, raw, sync_id)
        VALUES (20, 10, 'Homework', '{}', 1);
        INSERT INTO canvas.assignments (id, course_id, assignment_group_id, name, grading_type,
                                        workflow_state, raw, sync_id)
        VALUES (30, 10, 20, 'Essay', 'points', 'published', '{}', 1);
        INSERT INTO canvas.enrollments (id, user_id, course_id, type, enrollment_state, raw, sync_id)
        VALUES (40, 100, 10, 'StudentEnrollment', 'active', '{}', 1);
        INSERT INTO canvas.submissions (id, course_id, assignment_id, user_id, workflow_state,
                                        late_policy_status, raw, sync_id)
        VALUES (50, 10, 30, 100, 'graded', 'none', '{}', 1);
        INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, recorded_at,
                                               current_score)
        VALUES (40, 10, 100, 1, now(), 91.5);
        INSERT INTO history.submission_scores (submission_id, course_id, assignment_id, user_id, sync_id,
                                               recorded_at, score, workflow_state)
        VALUES (50, 10, 30, 100, 1, now(), 8, 'graded');
        INSERT INTO history.course_snapshots (course_id, sync_id, recorded_at, enrolled_students)
        VALUES (10, 1, now(), 1);
        INSERT INTO history.risk_assessments (user_id, course_id, score, category, model_version)
        VALUES (100, 10, 0.2, 'low', 'test');
        INSERT INTO history.grade_changes (event_id, course_id, assignment_id, student_id, grader_id,
                                           sync_id, created_at, grade_before, grade_after, raw)
        VALUES ('e1', 10, 30, 100, -7, 1, now(), '8', '9', '{}');
        """
    )


@pytest.fixture
def seeded_conn(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The test's connection (autocommit) to a database holding the seed rows."""
    conn.autocommit = True
    seed(conn)
    return conn


def history_count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM history.{table}").fetchone()
    assert row is not None
    return int(row[0])


def constraint_definition(conn: psycopg.Connection[Any], exc: psycopg.Error) -> str:
    """The definition of the constraint an error names, e.g. ``CHECK ((score >= 0))``."""
    row = conn.execute(
        """
        SELECT pg_get_constraintdef(con.oid)
        FROM pg_constraint AS con
        JOIN pg_class AS rel ON rel.oid = con.conrelid
        JOIN pg_namespace AS nsp ON nsp.oid = rel.relnamespace
        WHERE nsp.nspname = %s AND rel.relname = %s AND con.conname = %s
        """,
        (exc.diag.schema_name, exc.diag.table_name, exc.diag.constraint_name),
    ).fetchone()
    assert row is not None, f"no constraint {exc.diag.constraint_name} on {exc.diag.table_name}"
    return str(row[0])


# ------------------------------------------------------------------ history is append-only


def test_every_history_table_has_the_append_only_triggers(seeded_conn):
    rows = seeded_conn.execute(
        """
        SELECT rel.relname, array_agg(tg.tgname ORDER BY tg.tgname)
        FROM pg_class AS rel
        JOIN pg_namespace AS nsp ON nsp.oid = rel.relnamespace
        LEFT JOIN pg_trigger AS tg ON tg.tgrelid = rel.oid AND tg.tgfoid = 'history.refuse_change'::regproc
        WHERE nsp.nspname = 'history' AND rel.relkind IN ('r', 'p')
        GROUP BY rel.relname
        ORDER BY rel.relname
        """
    ).fetchall()
    assert rows == [
        (table, [f"{table}_append_only", f"{table}_no_truncate"])
        for table in sorted(HISTORY_TABLES + MODEL_TABLES)
    ]


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_history_refuses_update_delete_and_truncate(table, seeded_conn):
    refusals = {}
    for operation, statement in {
        "UPDATE": f"UPDATE history.{table} SET course_id = course_id",
        "DELETE": f"DELETE FROM history.{table}",
        "TRUNCATE": f"TRUNCATE history.{table}",
    }.items():
        with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
            seeded_conn.execute(statement)
        diag = caught.value.diag
        refusals[operation] = (caught.value.sqlstate, diag.message_primary, diag.message_hint)
    assert refusals == {
        operation: ("42501", f"history.{table} is append-only: {operation} refused", HISTORY_HINT)
        for operation in ("UPDATE", "DELETE", "TRUNCATE")
    }
    assert history_count(seeded_conn, table) == 1


@pytest.mark.parametrize("path", ["undo", "archive"])
def test_history_rows_can_be_deleted_while_undoing_or_archiving(path, seeded_conn):
    with seeded_conn.transaction():
        seeded_conn.execute(f"SET LOCAL tracker.history_write = '{path}'")
        deleted = {
            table: seeded_conn.execute(f"DELETE FROM history.{table}").rowcount for table in HISTORY_TABLES
        }
    assert deleted == dict.fromkeys(HISTORY_TABLES, 1)
    assert [history_count(seeded_conn, table) for table in HISTORY_TABLES] == [0] * len(HISTORY_TABLES)


@pytest.mark.parametrize("path", ["undo", "archive"])
def test_history_tables_can_be_truncated_while_undoing_or_archiving(path, seeded_conn):
    with seeded_conn.transaction():
        seeded_conn.execute(f"SET LOCAL tracker.history_write = '{path}'")
        seeded_conn.execute("TRUNCATE " + ", ".join(f"history.{t}" for t in HISTORY_TABLES))
    assert [history_count(seeded_conn, table) for table in HISTORY_TABLES] == [0] * len(HISTORY_TABLES)


@pytest.mark.parametrize("path", ["undo", "archive"])
def test_history_rows_are_never_updated_even_while_undoing_or_archiving(path, seeded_conn):
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught, seeded_conn.transaction():
        seeded_conn.execute(f"SET LOCAL tracker.history_write = '{path}'")
        seeded_conn.execute("UPDATE history.enrollment_grades SET current_score = 0")
    assert (
        caught.value.diag.message_primary
        == "history.enrollment_grades is append-only: UPDATE refused"
    )
    assert seeded_conn.execute("SELECT current_score FROM history.enrollment_grades").fetchall() == [(91.5,)]


def test_history_write_values_other_than_undo_and_archive_do_not_unlock_deletes(seeded_conn):
    messages = {}
    for value in ("", "yes", "UNDO", "undo ", "archive,undo"):
        with pytest.raises(pg_errors.InsufficientPrivilege) as caught, seeded_conn.transaction():
            seeded_conn.execute("SELECT set_config('tracker.history_write', %s, true)", (value,))
            seeded_conn.execute("DELETE FROM history.course_snapshots")
        messages[value] = caught.value.diag.message_primary
    assert set(messages.values()) == {"history.course_snapshots is append-only: DELETE refused"}
    assert history_count(seeded_conn, "course_snapshots") == 1


def test_the_undo_permission_ends_with_its_transaction(seeded_conn):
    with seeded_conn.transaction():
        seeded_conn.execute("SET LOCAL tracker.history_write = 'undo'")
        assert seeded_conn.execute("DELETE FROM history.risk_assessments").rowcount == 1
    seeded_conn.execute(
        "INSERT INTO history.risk_assessments (user_id, score, category, model_version) "
        "VALUES (100, 0.5, 'medium', 'test')"
    )
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
        seeded_conn.execute("DELETE FROM history.risk_assessments")
    assert (
        caught.value.diag.message_primary
        == "history.risk_assessments is append-only: DELETE refused"
    )
    assert history_count(seeded_conn, "risk_assessments") == 1


# ------------------------------------------------------------------ Canvas rows others refer to


# (rows that make the reference, added as the superuser; the delete refused; the constraint named)
NEW_USER = "INSERT INTO canvas.users (id, name, raw, sync_id) VALUES (101, 'Bo', '{}', 1);"
NEW_COURSE = "INSERT INTO canvas.courses (id, name, workflow_state, raw, sync_id) VALUES (11, 'C', 'available', '{}', 1);"
REFERENCES = {
    "enrollment kept by its grade history": (
        "",
        "DELETE FROM canvas.enrollments WHERE id = 40",
        "enrollment_grades_enrollment_id_fkey",
    ),
    "submission kept by its score history": (
        "",
        "DELETE FROM canvas.submissions WHERE id = 50",
        "submission_scores_submission_id_fkey",
    ),
    "course kept by its snapshots": (
        NEW_COURSE
        + """
        INSERT INTO history.course_snapshots (course_id, recorded_at, enrolled_students)
        VALUES (11, now(), 0);
        """,
        "DELETE FROM canvas.courses WHERE id = 11",
        "course_snapshots_course_id_fkey",
    ),
    "course kept by its grade changes": (
        NEW_COURSE
        + """
        INSERT INTO history.grade_changes (event_id, course_id, sync_id, created_at, raw)
        VALUES ('e11', 11, 1, now(), '{}');
        """,
        "DELETE FROM canvas.courses WHERE id = 11",
        "grade_changes_course_id_fkey",
    ),
    "user kept by a risk assessment": (
        NEW_USER
        + """
        INSERT INTO history.risk_assessments (user_id, score, category, model_version)
        VALUES (101, 0.9, 'critical', 'test');
        """,
        "DELETE FROM canvas.users WHERE id = 101",
        "risk_assessments_user_id_fkey",
    ),
    "user kept by a note": (
        NEW_USER
        + """
        INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('user', 101, 'n', 'k');
        """,
        "DELETE FROM canvas.users WHERE id = 101",
        "notes_user_id_fkey",
    ),
    "course kept by a note": (
        NEW_COURSE
        + """
        INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('course', 11, 'n', 'k');
        """,
        "DELETE FROM canvas.courses WHERE id = 11",
        "notes_course_id_fkey",
    ),
    "assignment kept by a note": (
        """
        INSERT INTO canvas.assignments (id, course_id, name, raw, sync_id) VALUES (31, 10, 'Quiz', '{}', 1);
        INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('assignment', 31, 'n', 'k');
        """,
        "DELETE FROM canvas.assignments WHERE id = 31",
        "notes_assignment_id_fkey",
    ),
    "user kept by a custom field": (
        NEW_USER
        + """
        INSERT INTO userdata.custom_fields (subject_type, subject_id, name, value, author)
        VALUES ('user', 101, 'mentor', '"Cy"', 'k');
        """,
        "DELETE FROM canvas.users WHERE id = 101",
        "custom_fields_user_id_fkey",
    ),
    "course kept by a tag": (
        NEW_COURSE
        + """
        INSERT INTO userdata.tags (name, created_by) VALUES ('honors', 'k');
        INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by)
        VALUES ((SELECT id FROM userdata.tags), 'course', 11, 'k');
        """,
        "DELETE FROM canvas.courses WHERE id = 11",
        "tag_links_course_id_fkey",
    ),
    "course kept by a curriculum": (
        NEW_COURSE
        + """
        INSERT INTO userdata.curricula (name, created_by) VALUES ('web_dev', 'k');
        INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by)
        VALUES ((SELECT id FROM userdata.curricula), 11, 'k');
        """,
        "DELETE FROM canvas.courses WHERE id = 11",
        "curriculum_courses_course_id_fkey",
    ),
}


@pytest.mark.parametrize("case", REFERENCES)
def test_a_canvas_row_that_history_or_userdata_refers_to_cannot_be_deleted(case, seeded_conn):
    setup, delete, constraint = REFERENCES[case]
    if setup:
        seeded_conn.execute(setup)
    with pytest.raises(pg_errors.ForeignKeyViolation) as caught:
        seeded_conn.execute(delete)
    assert caught.value.sqlstate == "23503"
    assert caught.value.diag.constraint_name == constraint


@pytest.mark.parametrize(
    ("subject_type", "constraint_column"),
    [("user", "user_id"), ("course", "course_id"), ("assignment", "assignment_id")],
)
def test_userdata_about_a_canvas_object_that_does_not_exist_is_refused(
    subject_type, constraint_column, seeded_conn
):
    # 999 is no object at all; 10, 30, 100 exist but as another kind of object.
    other_kinds_id = {"user": 10, "course": 30, "assignment": 100}[subject_type]
    statements = {
        "notes": "INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES (%s, %s, 'n', 'k')",
        "custom_fields": "INSERT INTO userdata.custom_fields (subject_type, subject_id, name, value, author) "
        "VALUES (%s, %s, 'f', '1', 'k')",
        "tag_links": "INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by) "
        "VALUES ((SELECT id FROM userdata.tags), %s, %s, 'k')",
    }
    seeded_conn.execute("INSERT INTO userdata.tags (name, created_by) VALUES ('watch', 'k')")
    for table, statement in statements.items():
        for subject_id in (999, other_kinds_id):
            with pytest.raises(pg_errors.ForeignKeyViolation) as caught:
                seeded_conn.execute(statement, (subject_type, subject_id))
            assert caught.value.diag.constraint_name == f"{table}_{constraint_column}_fkey"
    assert seeded_conn.execute("SELECT count(*) FROM userdata.notes").fetchone() == (0,)


def test_a_note_needs_a_known_subject_type(seeded_conn):
    with pytest.raises(pg_errors.CheckViolation) as caught:
        seeded_conn.execute(
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
            "VALUES ('section', 10, 'n', 'k')"
        )
    assert caught.value.diag.constraint_name == "notes_subject_type_check"


# ------------------------------------------------------------------ the audit log


def audit_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        SELECT relation, action, old_row ->> 'body', new_row ->> 'body', changed_by
        FROM userdata.audit_log
        ORDER BY id
        """
    ).fetchall()


def test_the_audit_log_records_each_change_to_a_note_with_the_actor_the_application_names(seeded_conn):
    with seeded_conn.transaction():
        seeded_conn.execute("SET LOCAL tracker.actor = 'ms.k@school.example'")
        note_id = seeded_conn.execute(
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
            "VALUES ('user', 100, 'Missed two labs', 'ms.k') RETURNING id"
        ).fetchone()[0]
        seeded_conn.execute("UPDATE userdata.notes SET body = 'Missed three labs' WHERE id = %s", (note_id,))
        seeded_conn.execute("DELETE FROM userdata.notes WHERE id = %s", (note_id,))
    assert audit_rows(seeded_conn) == [
        ("userdata.notes", "INSERT", None, "Missed two labs", "ms.k@school.example"),
        ("userdata.notes", "UPDATE", "Missed two labs", "Missed three labs", "ms.k@school.example"),
        ("userdata.notes", "DELETE", "Missed three labs", None, "ms.k@school.example"),
    ]
    whole = seeded_conn.execute("SELECT new_row FROM userdata.audit_log ORDER BY id LIMIT 1").fetchone()[0]
    assert (whole["id"], whole["subject_type"], whole["subject_id"], whole["user_id"]) == (
        note_id,
        "user",
        100,
        100,
    )


def test_the_audit_log_names_the_database_role_when_no_actor_is_set(seeded_conn):
    with seeded_conn.transaction():
        seeded_conn.execute("SET LOCAL tracker.actor = 'ms.k'")
        seeded_conn.execute(
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
            "VALUES ('course', 10, 'first', 'ms.k')"
        )
    # the actor was LOCAL: the next transactions fall back to current_user
    seeded_conn.execute("UPDATE userdata.notes SET body = 'second'")
    with seeded_conn.transaction():
        seeded_conn.execute("SET LOCAL tracker.actor = ''")  # empty means unset
        seeded_conn.execute("DELETE FROM userdata.notes")
    user = seeded_conn.execute("SELECT current_user").fetchone()[0]
    assert audit_rows(seeded_conn) == [
        ("userdata.notes", "INSERT", None, "first", "ms.k"),
        ("userdata.notes", "UPDATE", "first", "second", user),
        ("userdata.notes", "DELETE", "second", None, user),
    ]


def test_a_refused_change_leaves_no_audit_entry(seeded_conn):
    with pytest.raises(pg_errors.ForeignKeyViolation):
        seeded_conn.execute(
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
            "VALUES ('user', 999, 'ghost', 'k')"
        )
    assert audit_rows(seeded_conn) == []


# ------------------------------------------------------------------ lifecycle states

LIFECYCLE_RULES = {
    "active": "CHECK (((status = 'active'::text) = (missing_since_sync_id IS NULL)))",
    "missing_since": "CHECK (((missing_since_sync_id IS NULL) = (missing_since IS NULL)))",
    "approved": "CHECK (((status = ANY (ARRAY['pending_deletion'::text, 'deleted'::text])) = "
    "(approved_by IS NOT NULL)))",
    "approved_at": "CHECK (((approved_by IS NULL) = (approved_at IS NULL)))",
    "deleted_at": "CHECK (((status = 'deleted'::text) = (deleted_at IS NOT NULL)))",
}
MISSING = {"missing_since_sync_id": 1, "missing_since": "2025-01-02"}
APPROVED = {"approved_by": "dba", "approved_at": "2025-01-03"}


def insert_object(conn: psycopg.Connection[Any], status: str, **columns: Any) -> None:
    values = {
        "kind": "user",
        "id": 100,
        "status": status,
        "first_seen_sync_id": 1,
        "first_seen_at": "2025-01-01",
        **columns,
    }
    names = ", ".join(values)
    placeholders = ", ".join(f"%({name})s" for name in values)
    conn.execute(f"INSERT INTO lifecycle.objects ({names}) VALUES ({placeholders})", values)


def test_lifecycle_accepts_each_consistent_state(seeded_conn):
    for object_id, (status, columns) in enumerate(
        [
            ("active", {}),
            ("missing", MISSING),
            ("pending_deletion", {**MISSING, **APPROVED}),
            ("deleted", {**MISSING, **APPROVED, "deleted_at": "2025-01-04"}),
        ]
    ):
        insert_object(seeded_conn, status, id=object_id, **columns)
    assert seeded_conn.execute("SELECT id, status FROM lifecycle.objects ORDER BY id").fetchall() == [
        (0, "active"),
        (1, "missing"),
        (2, "pending_deletion"),
        (3, "deleted"),
    ]


# An inconsistent state, and the rule (of LIFECYCLE_RULES) that refuses it.
INCONSISTENT_STATES = {
    "active with a missing_since": ("active", MISSING, "active"),
    "missing without a missing_since": ("missing", {}, "active"),
    "missing_since_sync_id without missing_since": (
        "missing",
        {"missing_since_sync_id": 1},
        "missing_since",
    ),
    "pending_deletion without approved_by": ("pending_deletion", MISSING, "approved"),
    "missing but approved": ("missing", {**MISSING, **APPROVED}, "approved"),
    "approved_by without approved_at": (
        "pending_deletion",
        {**MISSING, "approved_by": "dba"},
        "approved_at",
    ),
    "deleted without deleted_at": ("deleted", {**MISSING, **APPROVED}, "deleted_at"),
    "pending_deletion with a deleted_at": (
        "pending_deletion",
        {**MISSING, **APPROVED, "deleted_at": "2025-01-04"},
        "deleted_at",
    ),
    "active with a deleted_at": ("active", {"deleted_at": "2025-01-04"}, "deleted_at"),
}


def test_lifecycle_refuses_each_inconsistent_state(seeded_conn):
    refused_by = {}
    for case, (status, columns, _) in INCONSISTENT_STATES.items():
        with pytest.raises(pg_errors.CheckViolation) as caught:
            insert_object(seeded_conn, status, **columns)
        assert caught.value.diag.table_name == "objects"
        refused_by[case] = constraint_definition(seeded_conn, caught.value)
    assert refused_by == {
        case: LIFECYCLE_RULES[rule] for case, (_, _, rule) in INCONSISTENT_STATES.items()
    }
    assert seeded_conn.execute("SELECT count(*) FROM lifecycle.objects").fetchone() == (0,)


@pytest.mark.parametrize(
    ("status", "columns", "constraint"),
    [
        ("gone", MISSING, "objects_status_check"),
        ("active", {"kind": "submission"}, "objects_kind_check"),
    ],
    ids=["status", "kind"],
)
def test_lifecycle_refuses_unknown_statuses_and_kinds(status, columns, constraint, seeded_conn):
    with pytest.raises(pg_errors.CheckViolation) as caught:
        insert_object(seeded_conn, status, **columns)
    assert caught.value.diag.constraint_name == constraint


def test_a_lifecycle_row_names_a_sync_that_exists(seeded_conn):
    with pytest.raises(pg_errors.ForeignKeyViolation) as caught:
        insert_object(seeded_conn, "active", first_seen_sync_id=2)
    assert caught.value.diag.constraint_name == "objects_first_seen_sync_id_fkey"


# ------------------------------------------------------------------ Canvas states

# The states Canvas documents, per column, and the seed row each is tried on.
CANVAS_STATES = {
    ("terms", "workflow_state"): (1, ["active", "deleted"]),
    ("courses", "workflow_state"): (10, ["unpublished", "available", "completed", "deleted"]),
    ("assignments", "grading_type"): (
        30,
        ["points", "percent", "letter_grade", "gpa_scale", "pass_fail", "not_graded"],
    ),
    ("assignments", "workflow_state"): (
        30,
        [
            "published",
            "unpublished",
            "deleted",
            "duplicating",
            "failed_to_duplicate",
            "importing",
            "fail_to_import",
            "migrating",
            "failed_to_migrate",
        ],
    ),
    ("enrollments", "enrollment_state"): (
        40,
        ["active", "invited", "creation_pending", "completed", "inactive", "rejected", "deleted"],
    ),
    ("submissions", "workflow_state"): (
        50,
        ["submitted", "unsubmitted", "graded", "pending_review", "deleted"],
    ),
    ("submissions", "late_policy_status"): (50, ["late", "missing", "extended", "none"]),
}


def test_canvas_accepts_every_documented_state(seeded_conn):
    stored = {}
    for (table, column), (row_id, states) in CANVAS_STATES.items():
        for state in states:
            seeded_conn.execute(f"UPDATE canvas.{table} SET {column} = %s WHERE id = %s", (state, row_id))
            stored[table, column, state] = seeded_conn.execute(
                f"SELECT {column} FROM canvas.{table} WHERE id = %s", (row_id,)
            ).fetchone()[0]
    assert stored == {
        (table, column, state): state
        for (table, column), (_, states) in CANVAS_STATES.items()
        for state in states
    }


def test_canvas_refuses_an_undocumented_state(seeded_conn):
    refused_by = {}
    for (table, column), (row_id, _) in CANVAS_STATES.items():
        with pytest.raises(pg_errors.CheckViolation) as caught:
            seeded_conn.execute(f"UPDATE canvas.{table} SET {column} = 'bogus' WHERE id = %s", (row_id,))
        refused_by[table, column] = caught.value.diag.constraint_name
    assert refused_by == {
        (table, column): f"{table}_{column}_check" for table, column in CANVAS_STATES
    }
    assert seeded_conn.execute(
        "SELECT enrollment_state FROM canvas.enrollments WHERE id = 40"
    ).fetchone() == ("active",)
    assert seeded_conn.execute("SELECT grading_type FROM canvas.assignments WHERE id = 30").fetchone() == (
        "points",
    )


def test_an_enrollment_needs_a_known_type(seeded_conn):
    with pytest.raises(pg_errors.CheckViolation) as caught:
        seeded_conn.execute("UPDATE canvas.enrollments SET type = 'bogus' WHERE id = 40")
    assert caught.value.diag.constraint_name == "enrollments_type_check"


# ------------------------------------------------------------------ the test student


def test_is_test_student_is_true_exactly_for_student_view_enrollments(seeded_conn):
    for enrollment_id, enrollment_type in enumerate(ENROLLMENT_TYPES, start=41):
        seeded_conn.execute(
            "INSERT INTO canvas.enrollments (id, user_id, course_id, type, enrollment_state, is_test_student, "
            "raw, sync_id) VALUES (%s, 100, 10, %s, 'active', %s, '{}', 1)",
            (enrollment_id, enrollment_type, enrollment_type == "StudentViewEnrollment"),
        )
    flags = dict(
        seeded_conn.execute("SELECT type, is_test_student FROM canvas.enrollments WHERE id > 40").fetchall()
    )
    assert flags == {t: t == "StudentViewEnrollment" for t in ENROLLMENT_TYPES}


def test_is_test_student_cannot_disagree_with_the_enrollment_type(seeded_conn):
    refused_by = set()
    for statement in (
        "UPDATE canvas.enrollments SET is_test_student = true WHERE id = 40",
        "UPDATE canvas.enrollments SET type = 'StudentViewEnrollment' WHERE id = 40",
    ):
        with pytest.raises(pg_errors.CheckViolation) as caught:
            seeded_conn.execute(statement)
        refused_by.add(constraint_definition(seeded_conn, caught.value))
    assert refused_by == {"CHECK ((is_test_student = (type = 'StudentViewEnrollment'::text)))"}
    assert (
        seeded_conn.execute(
            "UPDATE canvas.enrollments SET type = 'StudentViewEnrollment', is_test_student = true WHERE id = 40"
        ).rowcount
        == 1
    )


def test_a_student_view_enrollment_written_without_the_flag_is_refused(seeded_conn):
    """The flag defaults to false, so a writer that forgets it for the test student is stopped."""
    with pytest.raises(pg_errors.CheckViolation) as caught:
        seeded_conn.execute(
            "INSERT INTO canvas.enrollments (id, user_id, course_id, type, enrollment_state, raw, sync_id) "
            "VALUES (41, 100, 10, 'StudentViewEnrollment', 'active', '{}', 1)"
        )
    assert constraint_definition(seeded_conn, caught.value) == (
        "CHECK ((is_test_student = (type = 'StudentViewEnrollment'::text)))"
    )
    assert seeded_conn.execute("SELECT count(*) FROM canvas.enrollments WHERE id = 41").fetchone() == (0,)


# ------------------------------------------------------------------ tracker.canvas_id()


def test_canvas_id_normalizes_numbers_numeric_strings_and_shard_ids(seeded_conn):
    expected = {
        "123": 123,
        '"123"': 123,
        '"1~123"': 10_000_000_000_123,
        '"7~0"': 70_000_000_000_000,
        '"12~345678"': 120_000_000_345_678,
        "9007199254740993": 9_007_199_254_740_993,  # 2**53 + 1: no trip through a double
        "9223372036854775807": 2**63 - 1,
        '"9223372036854775807"': 2**63 - 1,
        '"922337~2036854775807"': 2**63 - 1,
        "null": None,
    }
    got = {
        value: seeded_conn.execute("SELECT tracker.canvas_id(%s::jsonb)", (value,)).fetchone()[0]
        for value in expected
    }
    assert got == expected


def test_canvas_id_refuses_ids_past_the_64_bit_range(seeded_conn):
    for value in ("9223372036854775808", '"9223372036854775808"', '"922337~2036854775808"'):
        with pytest.raises(pg_errors.NumericValueOutOfRange):
            seeded_conn.execute("SELECT tracker.canvas_id(%s::jsonb)", (value,))


def test_canvas_id_refuses_what_is_not_an_id(seeded_conn):
    with pytest.raises(pg_errors.InvalidTextRepresentation):
        seeded_conn.execute("""SELECT tracker.canvas_id('"abc"'::jsonb)""")
