"""Growing past one server: every statement of the layers stays within courses.

A table with a ``course_id`` column (found in the catalog of the migrated test
database) can become partitioned by course, or a Citus table distributed by
``course_id``. A statement that touches one without filtering or joining on
``course_id`` reads every partition (every shard). Each statement of ``sql/canvas``,
``sql/history`` and ``sql/lifecycle`` that does so must be in :data:`CROSSES_COURSES`
with its reason (SCALING.md lists them); a new one fails here until it filters by
course or says why it cannot.

The check reads the text: a ``course_id`` compared (``=``, ``<>``, ``IN``, ``IS``,
``= ANY``) or joined on (``USING (… course_id …)``) anywhere in the statement counts.
It errs towards passing (a ``SET course_id = …`` would count too); the allow-list
errs towards failing (an entry that no longer needs to be there fails).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from tracker.sqlfiles import Statement, load_file, sql

FOLDERS = ("canvas", "history", "lifecycle")

#: A comparison or a join on course_id.
COURSE_PREDICATE = re.compile(
    r"\bcourse_id\s*(=|<>|\bIN\b|\bIS\b)"
    r"|(=|\bIN\b|\bANY\s*\()\s*\(?\s*(\w+\.)?course_id\b"
    r"|\bUSING\s*\([^)]*\bcourse_id\b",
    re.IGNORECASE)

BY_ID_FROM_STAGE = (
    "sync: rows found by their Canvas id (the primary key) from the sync's stage, which "
    "holds only the courses the sync has locked; partitioned by course, each row still "
    "lands in its course's partition, but the join does not prune: under Citus the join "
    "must also carry course_id (the stage has it) to route each row to one shard")
LIFECYCLE_BY_KIND_AND_ID = (
    "sync: lifecycle.objects found by (kind, id) from the sync's stages or before-images; "
    "terms and users (course_id null) are among them, so the statement spans courses and "
    "the shared objects")
CLEANUP = (
    "cleanup and restore: the objects approved for deletion (or archived by one cleanup "
    "run) in every course at once, with what depends on them, in one transaction: a "
    "school-wide operation by design, run rarely")
DDL_ONLY = "DDL: a temporary stage shaped LIKE the table; reads no rows"

#: Statement (folder.name) → why it touches a course-keyed table without course_id.
CROSSES_COURSES: dict[str, str] = {
    "canvas.create_grade_change_stages": DDL_ONLY,
    **{f"canvas.stage_{kind}": BY_ID_FROM_STAGE
       for kind in ("sections", "assignment_groups", "assignments", "enrollments", "submissions")},
    **{f"canvas.update_{kind}": BY_ID_FROM_STAGE
       for kind in ("sections", "assignment_groups", "assignments", "enrollments", "submissions")},
    "canvas.copy_first_sight_submissions": (
        "sync: COPY of new submissions, each row carrying the course_id the client took "
        "from its assignment (only the courses the sync has locked); reads no stored row. "
        "Partitioned or distributed, each row is routed by that course_id"),
    "history.append_enrollment_grades": BY_ID_FROM_STAGE,
    "history.stage_grade_changes": (
        "sync: Grade Change Log events found by their event id (unique across courses) to "
        "skip those stored before; the events' course is checked against the scope"),
    "history.append_grade_changes": (
        "sync: appends the staged events not already stored, by event id (unique across "
        "courses)"),
    **{f"lifecycle.{name}": LIFECYCLE_BY_KIND_AND_ID
       for name in ("record_first_seen", "find_returned", "save_lifecycle_before_images",
                    "apply_lifecycle_changes", "restore_lifecycle", "delete_first_seen")},
    **{f"lifecycle.{name}": CLEANUP
       for name in ("find_objects", "add_missing_roots", "add_approved_roots", "build_closure",
                    "closure_blockers", "lock_closure", "closure_nodes", "approve_closure",
                    "revoke_approval", "archive_lifecycle_rows", "archive_custom_fields",
                    "archive_tag_links", "delete_custom_fields", "delete_tag_links",
                    "mark_deleted", "run_object_courses", "restore_lifecycle_rows",
                    "reinsert_lifecycle_rows", "restore_notes", "restore_custom_fields",
                    "restore_tag_links", "restore_curriculum_courses",
                    "restore_missing_curricula", "restore_missing_tags")},
}


@pytest.fixture(scope="module")
def course_keyed(pg, template_db) -> frozenset[str]:
    """Every table of tracker's schemas with a course_id column, from the catalog."""
    with psycopg.connect(pg.url_for(template_db)) as conn:
        rows = conn.execute("""
            SELECT n.nspname || '.' || c.relname
            FROM pg_attribute AS a
            JOIN pg_class AS c ON c.oid = a.attrelid
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE a.attname = 'course_id'
              AND NOT a.attisdropped
              AND c.relkind IN ('r', 'p')
              AND n.nspname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker')
        """).fetchall()
    return frozenset(r[0] for r in rows)


def _statements() -> list[tuple[str, Statement]]:
    return [(f"{folder}.{s.name}", s) for folder in FOLDERS for s in getattr(sql, folder)]


def touched(statement: Statement, tables: frozenset[str]) -> list[str]:
    """The course-keyed tables the statement names (outside its comments)."""
    text = re.sub(r"--[^\n]*", "", statement.sql)
    return sorted(t for t in tables if re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE))


def within_courses(statement: Statement) -> bool:
    return COURSE_PREDICATE.search(re.sub(r"--[^\n]*", "", statement.sql)) is not None


def test_the_catalog_names_the_course_keyed_tables(course_keyed):
    assert {"canvas.submissions", "canvas.enrollments", "history.submission_scores",
            "lifecycle.objects"} <= course_keyed
    assert "canvas.users" not in course_keyed  # users and terms are shared by courses


def test_every_statement_on_a_course_keyed_table_filters_by_course(course_keyed):
    unscoped = {name: f"{s.where}: {', '.join(tables)}" for name, s in _statements()
                if (tables := touched(s, course_keyed)) and not within_courses(s)}
    new = {name: where for name, where in unscoped.items() if name not in CROSSES_COURSES}
    assert not new, (
        "these statements touch a course-keyed table without filtering or joining on "
        "course_id: add the filter, or add them to CROSSES_COURSES with the reason "
        f"(and to SCALING.md): {new}")
    outdated = sorted(CROSSES_COURSES.keys() - unscoped.keys())
    assert not outdated, f"these no longer cross courses: remove them from CROSSES_COURSES: {outdated}"


def test_the_check_tells_a_filtered_statement_from_one_that_is_not(course_keyed, tmp_path):
    path = tmp_path / "probe.sql"
    path.write_text("""
-- name: by_id
-- course_id = 3 in a comment does not count
SELECT score FROM canvas.submissions WHERE id = :'id'::bigint;

-- name: by_course
SELECT score FROM canvas.submissions WHERE course_id = ANY(:'course_ids'::bigint[]);

-- name: joined
SELECT s.score
FROM canvas.submissions AS s
JOIN canvas.assignments AS a ON a.id = s.assignment_id AND a.course_id = s.course_id;

-- name: users_only
SELECT name FROM canvas.users WHERE id = :'id'::bigint;
""")
    probe = load_file(path)
    assert [name for name, s in probe.items() if touched(s, course_keyed)] == [
        "by_id", "by_course", "joined"]
    assert [name for name, s in probe.items() if within_courses(s)] == ["by_course", "joined"]
