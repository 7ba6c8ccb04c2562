"""tracker.lifecycle: missing objects, their impact, approval, cleanup and restore.

The scene of most tests: the tiny institution is synced, people write notes, fields,
tags and curricula about Biology (course 102) and its work, history gains a snapshot
and a risk assessment, then a full sync of both courses no longer sees Biology: the
course and everything in it are missing. From there each test walks one path.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, ANA, BIOLOGY, course_part, find, tiny_institution, write_bundle
from psycopg import sql as pgsql

from tracker import lifecycle, sync, tags, userdata
from tracker.errors import InvalidDataError, NotFoundError, SyncConflictError
from tracker.lifecycle import ObjectRef

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)

#: Biology and what is in it: a section, a group, two assignments, two enrollments.
BIOLOGY_OBJECTS = [ObjectRef("assignment", 304), ObjectRef("assignment", 305),
                   ObjectRef("assignment_group", 203), ObjectRef("course", BIOLOGY),
                   ObjectRef("enrollment", 407), ObjectRef("enrollment", 408),
                   ObjectRef("section", 1021)]
SCHEMAS = ("canvas", "history", "userdata", "lifecycle")


def dump(conn: psycopg.Connection[Any]) -> dict[str, list[Any]]:
    """Every row of layers 0-3 (the audit log aside: it only grows), ordered by key."""
    tables = conn.execute(
        """
        SELECT n.nspname, c.relname
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND c.relname <> 'audit_log'
        ORDER BY 1, 2
        """, (list(SCHEMAS),)).fetchall()
    out = {}
    for schema, table in tables:
        rows = conn.execute(pgsql.SQL("SELECT to_jsonb(t) FROM {} AS t").format(
            pgsql.Identifier(schema, table))).fetchall()
        out[f"{schema}.{table}"] = sorted((r[0] for r in rows), key=repr)
    return out


def without_biology(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The institution as Canvas lists it once Biology is gone (Algebra's part of it)."""
    return course_part(data, ALGEBRA)


def statuses(conn: psycopg.Connection[Any]) -> dict[ObjectRef, str]:
    return {ObjectRef(k, i): s for k, i, s in conn.execute(
        "SELECT kind, id, status FROM lifecycle.objects WHERE status <> 'active'")}


@pytest.fixture
def scene(autocommit_conn: psycopg.Connection[Any], tmp_path: Path) -> dict[str, Path]:
    """Biology with user data and history, then a full sync that no longer sees it."""
    full = write_bundle(tmp_path / "full", tiny_institution())
    gone = write_bundle(tmp_path / "gone", without_biology(tiny_institution()))
    sync.sync_bundle(autocommit_conn, full)
    userdata.add_note(autocommit_conn,
                      f"course:{BIOLOGY}", "Lab safety briefing done", author="ms.k")
    userdata.add_note(autocommit_conn, "assignment:304", "Rubric shared", author="ms.k")
    userdata.add_note(autocommit_conn, f"user:{ANA}", "Wants to study medicine", author="ms.k")
    userdata.set_field(autocommit_conn, f"course:{BIOLOGY}", "room", "Lab 2", author="ms.k")
    tags.attach(autocommit_conn, f"course:{BIOLOGY}", ["Science", "lab"], actor="ms.k")
    tags.attach(autocommit_conn, f"course:{ALGEBRA}", "science", actor="ms.k")
    userdata.create_curriculum(autocommit_conn, "life_sciences", actor="ms.k")
    userdata.add_courses(autocommit_conn, "life_sciences", [BIOLOGY, ALGEBRA], actor="ms.k")
    autocommit_conn.execute("INSERT INTO history.course_snapshots (course_id, sync_id, recorded_at, enrolled_students) "
               "VALUES (%s, 1, now(), 1)", (BIOLOGY,))
    autocommit_conn.execute("INSERT INTO history.risk_assessments (user_id, course_id, score, category, model_version) "
               "VALUES (%s, %s, 0.4, 'medium', 'v1'), (%s, NULL, 0.2, 'low', 'v1')",
               (ANA, BIOLOGY, ANA))
    sync.sync_bundle(autocommit_conn, gone, courses=[ALGEBRA, BIOLOGY])
    return {"full": full, "gone": gone}


# -- pending and impact --------------------------------------------------------------------------


def test_objects_missing_for_enough_syncs_or_days_are_pending_with_what_depends_on_them(autocommit_conn, scene):
    assert lifecycle.pending(autocommit_conn, min_syncs=2, min_days=None) == []
    pending = lifecycle.pending(autocommit_conn, min_syncs=1, min_days=None)
    assert [p.ref for p in pending] == BIOLOGY_OBJECTS
    course = next(p for p in pending if p.ref == ObjectRef("course", BIOLOGY))
    assert (course.name, course.status, course.syncs_missed, course.missing_since_sync_id) == (
        "Biology", "missing", 1, 2)
    assert course.dependents == lifecycle.Dependents(
        child_objects=6, submissions=1, history_rows=7, notes=2, custom_fields=1, tag_links=2,
        curricula=1)
    enrollment = next(p for p in pending if p.ref == ObjectRef("enrollment", 407))
    assert enrollment.name == "Ana Alves in Biology"
    assert enrollment.dependents.history_rows == 1

    sync.sync_bundle(autocommit_conn, scene["gone"], courses=[ALGEBRA, BIOLOGY])
    assert [p.syncs_missed for p in lifecycle.pending(autocommit_conn,
                                                      min_syncs=2, min_days=None)] == [2] * 7
    assert lifecycle.pending(autocommit_conn, min_syncs=None, min_days=10) == []
    autocommit_conn.execute("UPDATE lifecycle.objects SET missing_since = missing_since - interval '11 days' "
               "WHERE kind = 'course'")
    by_age = lifecycle.pending(autocommit_conn, min_syncs=5, min_days=10)
    assert [p.ref for p in by_age] == [ObjectRef("course", BIOLOGY)]
    assert by_age[0].days_missing >= 11
    assert [p.ref for p in lifecycle.pending(autocommit_conn,
                                             min_syncs=1, kinds=["enrollment"])] == [
        ObjectRef("enrollment", 407), ObjectRef("enrollment", 408)]


def test_the_impact_of_an_object_is_a_summary_and_a_dependency_graph(autocommit_conn, scene):
    impact = lifecycle.impact(autocommit_conn, f"course:{BIOLOGY}")

    assert (impact.root, impact.name, impact.status) == (ObjectRef("course", BIOLOGY), "Biology", "missing")
    assert impact.summary == {
        "lifecycle.objects": 7, "canvas.courses": 1, "canvas.sections": 1,
        "canvas.assignment_groups": 1, "canvas.assignments": 2, "canvas.enrollments": 2,
        "canvas.submissions": 1, "history.enrollment_grades": 1, "history.submission_scores": 1,
        "history.course_snapshots": 3, "history.risk_assessments": 2, "userdata.notes": 2,
        "userdata.custom_fields": 1, "userdata.tag_links": 2, "userdata.curriculum_courses": 1}
    assert impact.nodes[0].ref == ObjectRef("course", BIOLOGY)
    assert {n.ref for n in impact.nodes} == set(BIOLOGY_OBJECTS)
    c, s, g = ObjectRef("course", BIOLOGY), ObjectRef("section", 1021), ObjectRef("assignment_group", 203)
    assert set(impact.edges) == {
        (c, s), (c, g), (c, ObjectRef("assignment", 304)), (c, ObjectRef("assignment", 305)),
        (g, ObjectRef("assignment", 304)), (g, ObjectRef("assignment", 305)),
        (c, ObjectRef("enrollment", 407)), (c, ObjectRef("enrollment", 408)),
        (s, ObjectRef("enrollment", 407)), (s, ObjectRef("enrollment", 408))}
    rows = {n.ref: dict(n.rows) for n in impact.nodes}
    assert rows[ObjectRef("assignment", 304)] == {
        "canvas.submissions": 1, "history.submission_scores": 1, "userdata.notes": 1}
    assert rows[c]["userdata.tag_links"] == 2
    assert impact.blockers == ()
    assert lifecycle.impact(autocommit_conn, "1021").root == s  # an id alone, when one kind has it
    with pytest.raises(NotFoundError):
        lifecycle.impact(autocommit_conn, "course:999")
    for wrong in ("planet:3", "course:-5", "course:99999999999999999999", "1e3", "course:"):
        with pytest.raises(InvalidDataError, match="does not name an object"):
            lifecycle.impact(autocommit_conn, wrong)


# -- approval ------------------------------------------------------------------------------------


def test_approving_an_object_approves_what_depends_on_it_and_records_who(autocommit_conn, scene):
    report = lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    assert [ObjectRef(a.kind, a.id) for a in report.approved] == BIOLOGY_OBJECTS
    assert {a.approved_by for a in report.approved} == {"principal"}
    assert set(statuses(autocommit_conn).values()) == {"pending_deletion"}
    assert [p.approved_by for p in lifecycle.pending(autocommit_conn)] == ["principal"] * 7
    assert lifecycle.revoke(autocommit_conn, ["enrollment:408"]) == [ObjectRef("enrollment", 408)]
    assert statuses(autocommit_conn)[ObjectRef("enrollment", 408)] == "missing"


def test_approval_is_refused_for_active_objects_and_those_with_active_dependents(autocommit_conn, scene):
    with pytest.raises(InvalidDataError) as caught:
        lifecycle.approve(autocommit_conn,
                          [f"course:{ALGEBRA}", "course:999"], approved_by="principal")
    assert caught.value.problems == [
        ("course:101 is active: the latest sync of its scope saw it; only missing objects can be "
         "approved"),
        "course:999 is not in layer 0 (no sync has seen it)"]
    # an enrollment of Biology comes back (an incremental sync sees it): the course cannot go
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, write_bundle(scene["full"].parent / "back", {
        "enrollments": [find(data, "enrollments", 407)]}), incremental=True)
    with pytest.raises(InvalidDataError) as caught:
        lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    assert caught.value.problems == [
        "course:102: enrollment:407, which depends on it, is active (a sync saw it again)"]
    assert set(statuses(autocommit_conn).values()) == {"missing"}
    # by kind, what can go goes, and what cannot is reported
    report = lifecycle.approve(autocommit_conn,
                               kinds=["course", "assignment"], approved_by="principal")
    assert {(a.kind, a.id) for a in report.approved} == {("assignment", 304), ("assignment", 305)}
    assert [str(b.root) for b in report.skipped] == ["course:102"]


def test_approval_by_age(autocommit_conn, scene):
    autocommit_conn.execute("UPDATE lifecycle.objects SET missing_since = missing_since - interval '30 days' "
               "WHERE kind = 'assignment'")
    report = lifecycle.approve(autocommit_conn,
                               older_than=timedelta(days=20), approved_by="principal")
    assert sorted(ObjectRef(a.kind, a.id) for a in report.approved) == BIOLOGY_OBJECTS[:2]
    with pytest.raises(InvalidDataError, match="say what to approve"):
        lifecycle.approve(autocommit_conn, approved_by="principal")


# -- cleanup and restore -------------------------------------------------------------------------


def test_a_deletion_round_trip_missing_approved_cleaned_restored_loses_nothing(autocommit_conn, scene):
    missing = dump(autocommit_conn)
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    approved = dump(autocommit_conn)

    report = lifecycle.cleanup(autocommit_conn, performed_by="dba", reason="Biology was cancelled")

    assert report.objects == tuple(BIOLOGY_OBJECTS) and report.skipped == ()
    cleaned = dump(autocommit_conn)
    assert autocommit_conn.execute("SELECT count(*) FROM canvas.courses WHERE id = %s", (BIOLOGY,)).fetchone() == (0,)
    assert set(statuses(autocommit_conn).values()) == {"deleted"}
    # every row that left layers 1-3 is in the archive, whole; nothing else is
    removed = {(table, repr(row)) for table, rows in approved.items() if table != "lifecycle.objects"
               for row in rows if row not in cleaned[table]}
    archived = {(rel, repr(doc)) for rel, doc in autocommit_conn.execute(
        "SELECT relation, row_data FROM archive.rows WHERE run_id = %s AND relation <> "
        "'lifecycle.objects'", (report.run_id,))}
    assert removed == archived
    assert sum(report.counts.values()) - report.counts["lifecycle.objects"] == len(removed) == 21
    assert cleaned["userdata.notes"] == [n for n in approved["userdata.notes"]
                                         if n["subject_type"] == "user"]  # Ana's note stays
    run = lifecycle.list_cleanups(autocommit_conn)[0]
    assert (run.run_id, run.performed_by, run.reason, run.restored_at) == (
        report.run_id, "dba", "Biology was cancelled", None)

    restored = lifecycle.restore(autocommit_conn, report.run_id, restored_by="dba")

    assert restored.kept_current == {}
    assert dump(autocommit_conn) == missing  # as before approval: everything back, approval not restored
    assert set(statuses(autocommit_conn).values()) == {"missing"}
    with pytest.raises(SyncConflictError, match=f"cleanup {report.run_id} was restored already"):
        lifecycle.restore(autocommit_conn, report.run_id, restored_by="dba")
    actions = autocommit_conn.execute("SELECT action, changed_by, count(*) FROM userdata.audit_log "
                         "WHERE changed_by = 'dba' GROUP BY 1, 2 ORDER BY 1").fetchall()
    assert actions == [("DELETE", "dba", 6), ("INSERT", "dba", 6)]


def test_undo_of_a_sync_older_than_a_cleanup_is_refused_until_the_cleanup_is_restored(autocommit_conn, scene):
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    report = lifecycle.cleanup(autocommit_conn, performed_by="dba", reason="Biology was cancelled")
    latest = sync.list_runs(autocommit_conn)[0].sync_id  # the sync that marked Biology missing
    cleaned = dump(autocommit_conn)

    with pytest.raises(SyncConflictError, match=f"cleanup run\\(s\\) {report.run_id} removed"):
        sync.undo(autocommit_conn, latest)

    assert dump(autocommit_conn) == cleaned
    lifecycle.restore(autocommit_conn, report.run_id, restored_by="dba")
    assert sync.undo(autocommit_conn, latest).status == "undone"
    assert statuses(autocommit_conn) == {}  # nothing is missing any more: Biology is back as it was


def test_a_sync_between_approval_and_cleanup_that_brings_the_object_back_cancels_it(autocommit_conn, scene):
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    before = dump(autocommit_conn)

    result = sync.sync_bundle(autocommit_conn, scene["full"])

    assert result.counts["courses"].reactivated == 1
    assert statuses(autocommit_conn) == {}
    assert autocommit_conn.execute("SELECT count(*) FROM lifecycle.objects WHERE approved_by IS NOT NULL "
                      "OR approved_at IS NOT NULL OR missing_since IS NOT NULL").fetchone() == (0,)
    report = lifecycle.cleanup(autocommit_conn, performed_by="dba")
    assert (report.run_id, report.objects, report.counts) == (None, (), {})
    after = dump(autocommit_conn)
    # the sync appends a snapshot of Biology and the risk of its students
    changing = ("lifecycle.objects", "history.course_snapshots", "history.risk_assessments")
    assert {t: rows for t, rows in after.items() if t not in changing} == \
           {t: rows for t, rows in before.items() if t not in changing}
    for table in changing[1:]:
        assert [r for r in after[table] if r["sync_id"] != result.sync_id] == before[table]


def test_cleanup_leaves_an_approved_object_whose_dependent_came_back(autocommit_conn, scene):
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, write_bundle(scene["full"].parent / "back", {
        "enrollments": [find(data, "enrollments", 407)]}), incremental=True)

    report = lifecycle.cleanup(autocommit_conn, performed_by="dba")

    assert {str(b.root) for b in report.skipped} == {"course:102", "section:1021"}
    assert set(report.objects) == {ObjectRef("assignment", 304), ObjectRef("assignment", 305),
                                   ObjectRef("assignment_group", 203), ObjectRef("enrollment", 408)}
    assert autocommit_conn.execute("SELECT count(*) FROM canvas.courses WHERE id = %s", (BIOLOGY,)).fetchone() == (1,)
    assert statuses(autocommit_conn)[ObjectRef("course", BIOLOGY)] == "pending_deletion"
    assert ObjectRef("enrollment", 407) not in statuses(autocommit_conn)


def test_a_dry_run_cleanup_reports_and_writes_nothing(autocommit_conn, scene):
    with pytest.raises(InvalidDataError, match="course:102 is not approved for deletion"):
        lifecycle.cleanup(autocommit_conn, performed_by="dba", objects=[f"course:{BIOLOGY}"])
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    before = dump(autocommit_conn)
    report = lifecycle.cleanup(autocommit_conn, performed_by="dba", dry_run=True)
    assert report.dry_run and report.run_id is None and report.counts["canvas.courses"] == 1
    assert dump(autocommit_conn) == before
    assert lifecycle.list_cleanups(autocommit_conn) == []
    # cleaning up only some of the approved objects
    only = lifecycle.cleanup(autocommit_conn, performed_by="dba", objects=["enrollment:408"])
    assert only.objects == (ObjectRef("enrollment", 408),)
    assert statuses(autocommit_conn)[ObjectRef("enrollment", 408)] == "deleted"
    assert statuses(autocommit_conn)[ObjectRef("course", BIOLOGY)] == "pending_deletion"


def test_restore_keeps_what_came_back_since_and_finds_merged_tags_by_name(autocommit_conn, scene):
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")
    run = lifecycle.cleanup(autocommit_conn, performed_by="dba").run_id
    assert run is not None
    tags.merge(autocommit_conn,
               ["lab"], "laboratory", actor="ms.k")  # the archived link's tag is gone
    sync.sync_bundle(autocommit_conn, scene["full"])  # Biology is back in Canvas after all
    assert statuses(autocommit_conn) == {}

    restored = lifecycle.restore(autocommit_conn, run, restored_by="dba")

    assert restored.kept_current == {"lifecycle.objects": 7, "canvas.courses": 1,
                                     "canvas.sections": 1, "canvas.assignment_groups": 1,
                                     "canvas.assignments": 2, "canvas.enrollments": 2,
                                     "canvas.submissions": 1}
    assert restored.restored["userdata.notes"] == 2
    assert [t.tag for t in tags.tags_of(autocommit_conn,
                                        f"course:{BIOLOGY}")] == ["laboratory", "science"]
    assert [c.course_id for c in userdata.curriculum_courses(autocommit_conn,
                                                             "life_sciences")] == [ALGEBRA, BIOLOGY]
    # the archived score history is back beside the row the new sync recorded
    assert autocommit_conn.execute("SELECT count(*) FROM history.submission_scores WHERE submission_id = 506"
                      ).fetchone()[0] == 2
    assert statuses(autocommit_conn) == {}  # what a sync brought back stays active
    with pytest.raises(NotFoundError):
        lifecycle.restore(autocommit_conn, 999, restored_by="dba")


# -- the command line ----------------------------------------------------------------------------


def test_the_lifecycle_commands_walk_the_whole_path(autocommit_conn, db_url, scene, monkeypatch):
    from click.testing import CliRunner

    from tracker.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TRACKER_ACTOR", "principal")
    run = CliRunner().invoke
    missing = dump(autocommit_conn)

    pending = run(main, ["lifecycle", "pending", "--min-syncs", "1", "--format", "json"])
    assert pending.exit_code == 0, pending.output
    assert [(p["kind"], p["id"]) for p in json.loads(pending.output)] == [
        (r.kind, r.id) for r in BIOLOGY_OBJECTS]
    dot = run(main, ["lifecycle", "impact", f"course:{BIOLOGY}", "--format", "dot"])
    assert dot.exit_code == 0 and '"course:102" -> "section:1021";' in dot.output
    tree = run(main, ["lifecycle", "impact", str(BIOLOGY)])
    assert tree.exit_code == 0 and "enrollment:407 Ana Alves in Biology [missing]" in tree.output

    assert run(main, ["lifecycle", "approve", f"course:{ALGEBRA}"]).exit_code == 2
    approved = run(main, ["lifecycle", "approve", f"course:{BIOLOGY}", "--format", "json"])
    assert approved.exit_code == 0, approved.output
    assert {a["approved_by"] for a in json.loads(approved.output)} == {"principal"}

    refused = run(main, ["lifecycle", "cleanup"])  # not a terminal, no --yes
    assert refused.exit_code == 2 and "pass --yes" in refused.output
    cleaned = run(main, ["lifecycle", "cleanup", "--yes", "--by", "dba", "--format", "json"])
    assert cleaned.exit_code == 0, cleaned.output
    run_id = json.loads(cleaned.output)["run_id"]
    runs = run(main, ["lifecycle", "cleanups", "--format", "json"])
    assert [r["run_id"] for r in json.loads(runs.output)] == [run_id]

    restored = run(main, ["lifecycle", "restore", str(run_id), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert dump(autocommit_conn) == missing
    again = run(main, ["lifecycle", "restore", str(run_id), "--yes"])
    assert again.exit_code == 1 and "restored already" in again.output


def test_the_round_trip_loses_nothing_on_the_sample_school_with_its_edge_cases(autocommit_conn, tmp_path):
    """Every course of tracker.sample's school (the edge-case course included: shard ids,
    the test student, excused and hidden grades) cleaned up at once and restored."""
    import orjson

    from tracker import sample

    school = sample.generate(tmp_path / "school", students=30, courses=3,
                             assignments_per_course=4, courses_per_student=2)
    sync.sync_bundle(autocommit_conn, school.directory)
    courses = [orjson.loads(line)["id"] for line in
               (school.directory / "courses.ndjson").read_bytes().splitlines()]
    course_ids = [int(autocommit_conn.execute("SELECT tracker.canvas_id(%s::jsonb)",
                                 (orjson.dumps(c).decode(),)).fetchone()[0]) for c in courses]
    students = [r[0] for r in autocommit_conn.execute("SELECT DISTINCT user_id FROM canvas.enrollments "
                                         "WHERE type = 'StudentEnrollment' ORDER BY 1 LIMIT 5")]
    for n, user_id in enumerate(students):
        userdata.add_note(autocommit_conn, f"user:{user_id}", f"note {n}", author="ms.k")
        tags.attach(autocommit_conn, f"user:{user_id}", ["watch", f"group {n % 2}"], actor="ms.k")
    for course_id in course_ids:
        userdata.add_note(autocommit_conn, f"course:{course_id}", "course note", author="ms.k")
        tags.attach(autocommit_conn, f"course:{course_id}", "core", actor="ms.k")
    for (assignment_id,) in autocommit_conn.execute("SELECT id FROM canvas.assignments ORDER BY id LIMIT 6"):
        userdata.set_field(autocommit_conn,
                           f"assignment:{assignment_id}", "rubric", {"v": 2}, author="ms.k")
    empty = tmp_path / "empty"
    empty.mkdir()
    for kind in ("courses", "sections", "assignment_groups", "assignments", "enrollments",
                 "submissions"):
        (empty / f"{kind}.ndjson").write_bytes(b"")
    sync.sync_bundle(autocommit_conn,
                     empty, courses=course_ids)  # Canvas lists none of them any more
    missing = dump(autocommit_conn)
    # every object is missing but the terms and users, which courses share
    assert len(lifecycle.pending(autocommit_conn, min_syncs=1)) == \
        len(missing["lifecycle.objects"]) - school.terms - school.users

    lifecycle.approve(autocommit_conn, kinds=["course"], approved_by="principal")
    report = lifecycle.cleanup(autocommit_conn, performed_by="dba")

    assert autocommit_conn.execute("SELECT count(*) FROM canvas.submissions").fetchone() == (0,)
    assert autocommit_conn.execute("SELECT count(*) FROM userdata.notes WHERE subject_type = 'user'").fetchone() == (5,)
    assert report.counts["canvas.submissions"] == school.submissions
    assert report.counts["userdata.custom_fields"] == 6
    lifecycle.restore(autocommit_conn, report.run_id, restored_by="dba")
    assert dump(autocommit_conn) == missing
