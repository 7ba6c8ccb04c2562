"""Canvas's Grade Change Log in layer 2: a bundle's grade_changes file, synced.

Events as ``GET /api/v1/audit/grade_change/courses/:id`` lists them are appended to
``history.grade_changes`` once each, by their Canvas id, in the sync's transaction;
undo removes those a sync first stored; a bad event refuses the whole bundle; the
``grade_changes`` report reads them back through the loader, the command and psql.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import (
    ALGEBRA,
    ANA,
    BEN,
    BIOLOGY,
    SHARD_USER,
    TEACHER,
    course_part,
    tiny_institution,
    write_bundle,
)
from click.testing import CliRunner

import tracker
from tracker import lifecycle, sync
from tracker.cli import main
from tracker.errors import InvalidDataError
from tracker.sync import TableCounts


def event(event_id: str, created_at: str, *, course: Any = ALGEBRA, assignment: Any = 301,
          student: Any = ANA, grader: Any = TEACHER, before: str | None = "8",
          after: str | None = "9", **fields: Any) -> dict[str, Any]:
    """One event in Canvas's shape (only what a test changes is named)."""
    return {"id": event_id, "created_at": created_at, "event_type": "grade_change",
            "grade_before": before, "grade_after": after, "excused_before": False,
            "excused_after": False, "graded_anonymously": False, "version_number": 2,
            "request_id": f"req-{event_id}",
            "links": {"assignment": assignment, "course": course, "student": student,
                      "grader": grader, "page_view": None}, **fields}


#: The first fetch: a teacher's change, an autograder (quiz 77), an anonymous event with
#: no student and an id as a string, shard-prefixed ids, and a final-grade override.
FIRST = [
    event("e1", "2026-10-16T18:00:00Z"),
    event("e2", "2026-10-16T18:05:00Z", student=BEN, grader=-77, before=None, after="7"),
    event("e3", "2026-10-16T18:10:00-06:00", assignment="302", student=None,
          graded_anonymously=True),
    event("e4", "2026-10-17T09:00:00Z", course=str(ALGEBRA), student="1~1001", grader="1~9",
          excused_before=False, excused_after=True, before="5", after=None),
    event("e5", "2026-10-17T10:00:00Z", assignment="override", before="B", after="A-"),
]
#: The next fetch, whose window overlaps: e4 and e5 again, one new event (twice: Canvas
#: pages newest first, so an event can slide onto the next page).
SECOND = [FIRST[4], event("e6", "2026-10-18T08:00:00Z", before="9", after="10"), FIRST[3],
          event("e6", "2026-10-18T08:00:00Z", before="9", after="10")]

STORED = ("SELECT event_id, course_id, assignment_id, is_override, student_id, grader_id, "
          "created_at, grade_before, grade_after, excused_before, excused_after, "
          "graded_anonymously, event_type, version_number, raw ->> 'request_id' "
          "FROM history.grade_changes ORDER BY event_id")


def rows(conn: psycopg.Connection[Any], query: str = STORED) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall()


def bundle_with(tmp_path: Path, name: str, events: list[dict[str, Any]], *,
                school: bool = True) -> Path:
    data: dict[str, Any] = dict(tiny_institution()) if school else {}
    return write_bundle(tmp_path / name, {**data, "grade_changes": events})


@pytest.fixture
def first_sync(autocommit_conn, tmp_path) -> sync.SyncReport:
    return sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "first", FIRST))


def test_a_sync_stores_each_event_with_its_fields(autocommit_conn, first_sync):
    assert first_sync.counts["grade_changes"] == TableCounts(history=5)
    at = lambda text: datetime.fromisoformat(text).astimezone(UTC)
    assert rows(autocommit_conn) == [
        ("e1", ALGEBRA, 301, False, ANA, TEACHER, at("2026-10-16T18:00:00+00:00"), "8", "9",
         False, False, False, "grade_change", 2, "req-e1"),
        ("e2", ALGEBRA, 301, False, BEN, -77, at("2026-10-16T18:05:00+00:00"), None, "7",
         False, False, False, "grade_change", 2, "req-e2"),
        ("e3", ALGEBRA, 302, False, None, TEACHER, at("2026-10-17T00:10:00+00:00"), "8", "9",
         False, False, True, "grade_change", 2, "req-e3"),
        ("e4", ALGEBRA, 301, False, SHARD_USER, 10000000000009, at("2026-10-17T09:00:00+00:00"),
         "5", None, False, True, False, "grade_change", 2, "req-e4"),
        ("e5", ALGEBRA, None, True, ANA, TEACHER, at("2026-10-17T10:00:00+00:00"), "B", "A-",
         False, False, False, "grade_change", 2, "req-e5"),
    ]
    # the raw event is kept whole, and every row names the run that stored it
    assert rows(autocommit_conn, "SELECT DISTINCT sync_id FROM history.grade_changes") == [
        (first_sync.sync_id,)]
    assert rows(autocommit_conn, "SELECT raw FROM history.grade_changes WHERE event_id = 'e5'") == [
        (FIRST[4],)]
    # the journal counts them, as it counts the kinds
    run = sync.get_run(autocommit_conn, first_sync.sync_id)
    assert run.counts["grade_changes"]["history"] == 5


def test_an_overlapping_fetch_adds_only_new_events_and_undo_removes_only_those(
        autocommit_conn, first_sync, tmp_path):
    before = rows(autocommit_conn)
    second = sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "second", SECOND, school=False),
                              incremental=True)
    assert second.counts["grade_changes"] == TableCounts(unchanged=2, history=1)
    assert second.changed == 1  # the kinds' tables: nothing
    after = rows(autocommit_conn)
    assert [r[0] for r in after] == ["e1", "e2", "e3", "e4", "e5", "e6"]
    assert rows(autocommit_conn, "SELECT event_id, sync_id FROM history.grade_changes "
                                 "WHERE event_id IN ('e4', 'e6') ORDER BY 1") == [
        ("e4", first_sync.sync_id), ("e6", second.sync_id)]

    # the same again: nothing new
    again = sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "second", SECOND, school=False))
    assert (again.counts["grade_changes"], again.changed) == (TableCounts(unchanged=3), 0)

    sync.undo(autocommit_conn, again.sync_id)
    sync.undo(autocommit_conn, second.sync_id)
    assert rows(autocommit_conn) == before


def test_a_full_sync_of_grade_changes_alone_marks_nothing_missing(autocommit_conn, first_sync,
                                                                   tmp_path):
    statuses = "SELECT kind, id, status FROM lifecycle.objects ORDER BY kind, id"
    known = rows(autocommit_conn, statuses)
    report = sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "log", SECOND, school=False))
    assert report.scope_course_ids == (ALGEBRA,)
    assert (report.counts["grade_changes"], report.changed) == (
        TableCounts(unchanged=2, history=1), 1)
    assert rows(autocommit_conn, statuses) == known


def test_a_bundle_without_the_file_syncs_as_before(synced_conn):
    assert "grade_changes" not in sync.report(synced_conn).run.counts
    assert rows(synced_conn, "SELECT count(*) FROM history.grade_changes") == [(0,)]


def test_a_dry_run_stores_no_event(autocommit_conn, tmp_path):
    report = sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "dry", FIRST), dry_run=True)
    assert report.counts["grade_changes"] == TableCounts(history=5)
    assert rows(autocommit_conn, "SELECT count(*) FROM history.grade_changes") == [(0,)]


@pytest.mark.parametrize(("bad", "expected"), [
    ({"created_at": None},
     "grade_changes.ndjson record 2 (id e2): created_at: missing"),
    ({"created_at": "yesterday"},
     "grade_changes.ndjson record 2 (id e2): created_at: expected an ISO 8601 timestamp"),
    ({"id": {"uuid": "x"}},
     'grade_changes.ndjson record 2 (id {\'uuid\': \'x\'}): id: expected a non-blank string'),
    ({"links": {"course": ALGEBRA, "assignment": 301, "student": "abc", "grader": 9}},
     "grade_changes.ndjson record 2 (id e2): links.student: expected a Canvas id"),
    ({"links": {"course": ALGEBRA, "assignment": "overdrive", "student": 1, "grader": 9}},
     'grade_changes.ndjson record 2 (id e2): links.assignment: expected a Canvas id'),
    ({"links": {"course": None, "assignment": 301, "student": 1, "grader": 9}},
     "grade_changes.ndjson record 2 (id e2): links.course: missing"),
    ({"links": {"course": 999, "assignment": 301, "student": 1, "grader": 9}},
     ("grade_changes.ndjson record 2 (id e2): links.course 999 is neither in this bundle nor in "
      "the database")),
])
def test_a_bad_event_refuses_the_bundle_naming_record_and_field(autocommit_conn, tmp_path, bad,
                                                                expected):
    events = [FIRST[0], {**FIRST[1], **bad}, FIRST[2]]
    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "bad", events))
    assert [p for p in caught.value.problems if expected in p], caught.value.problems
    assert rows(autocommit_conn, "SELECT count(*) FROM history.grade_changes") == [(0,)]
    assert rows(autocommit_conn, "SELECT count(*) FROM tracker.sync_runs") == [(0,)]


def test_events_of_a_course_not_named_are_refused(synced_conn, tmp_path):
    only_log = bundle_with(tmp_path, "scope_log", [event("b1", "2026-10-16T18:00:00Z",
                                                         course=BIOLOGY, assignment=304)],
                           school=False)
    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(synced_conn, only_log, courses=[ALGEBRA])
    assert caught.value.problems == [
        (f"the bundle holds records of 1 course(s) not named ({BIOLOGY}): name them too, "
         "or name none to sync every course of the bundle")]
    assert rows(synced_conn, "SELECT count(*) FROM history.grade_changes") == [(0,)]
    # named, they are stored
    report = sync.sync_bundle(synced_conn, only_log, courses=[BIOLOGY], incremental=True)
    assert report.counts["grade_changes"] == TableCounts(history=1)


def test_the_append_only_trigger_refuses_update_and_delete(autocommit_conn, first_sync):
    for statement in ("UPDATE history.grade_changes SET grade_after = 'A'",
                      "DELETE FROM history.grade_changes"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
            autocommit_conn.execute(statement)
        assert "history.grade_changes is append-only" in str(caught.value)
    assert rows(autocommit_conn, "SELECT count(*) FROM history.grade_changes") == [(5,)]


# -- the report ----------------------------------------------------------------------------------

REPORT = ["assignment", "student", "grader", "grade", "excused", "anonymous", "event_id"]
EXPECTED = [  # newest first
    ["Fractions", "Ana Alves", "Tess Teacher", "9 → 10", None, False, "e6"],
    ["final grade override", "Ana Alves", "Tess Teacher", "B → A-", None, False, "e5"],
    ["Fractions", "Cy Cross", "user 10000000000009", "5 → –", "false → true", False, "e4"],
    ["Reflection", None, "Tess Teacher", "8 → 9", None, True, "e3"],
    ["Fractions", "Ben Brown", "autograder (tool 77)", "– → 7", None, False, "e2"],
    ["Fractions", "Ana Alves", "Tess Teacher", "8 → 9", None, False, "e1"],
]


def test_the_report_lists_who_changed_which_grade_newest_first(autocommit_conn, first_sync,
                                                               db_url, tmp_path, monkeypatch):
    sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "second", SECOND, school=False))
    monkeypatch.setenv("DATABASE_URL", db_url)
    done = CliRunner().invoke(main, ["report", "grade_changes", "--course", str(ALGEBRA),
                                     "--format", "json"], prog_name="tracker")
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)
    assert [[r[c] for c in REPORT] for r in found] == EXPECTED
    assert found[0]["created_at"].startswith("2026-10-18")
    ana = CliRunner().invoke(main, ["report", "grade_changes", "--course", str(ALGEBRA),
                                    "--student", str(ANA), "--format", "csv"], prog_name="tracker")
    assert ana.exit_code == 0 and [line.rsplit(",", 1)[-1] for line in
                                   ana.output.splitlines()[1:]] == ["e6", "e5", "e1"]
    table = CliRunner().invoke(main, ["report", "grade_changes"], prog_name="tracker")
    assert table.exit_code == 0 and "grade changes" in table.output


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not on PATH")
def test_the_report_runs_under_psql_as_the_dba_types_it(autocommit_conn, first_sync, db_url):
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-d", db_url, "-v",
         f"course_id={ALGEBRA}", "-v", f"user_id={BEN}", "-f",
         str(tracker.SQL_DIR / "reports" / "grade_changes.sql")],
        capture_output=True, text=True, check=False, env={"PGCLIENTENCODING": "UTF8",
                                                          "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    header, *lines = [line.split(",") for line in done.stdout.splitlines()]
    assert [dict(zip(header, line))["grader"] for line in lines] == ["autograder (tool 77)"]


def test_cleanup_of_a_course_archives_its_events_and_restore_puts_them_back(autocommit_conn,
                                                                            tmp_path):
    biology = event("b1", "2026-10-16T18:00:00Z", course=BIOLOGY, assignment=304)
    sync.sync_bundle(autocommit_conn, bundle_with(tmp_path, "full", [*FIRST, biology]))
    gone = write_bundle(tmp_path / "gone", course_part(tiny_institution(), ALGEBRA))
    sync.sync_bundle(autocommit_conn, gone, courses=[ALGEBRA, BIOLOGY])
    everything = rows(autocommit_conn)
    lifecycle.approve(autocommit_conn, [f"course:{BIOLOGY}"], approved_by="principal")

    report = lifecycle.cleanup(autocommit_conn, performed_by="dba")

    assert report.counts["history.grade_changes"] == 1
    assert [r[0] for r in rows(autocommit_conn)] == ["e1", "e2", "e3", "e4", "e5"]
    lifecycle.restore(autocommit_conn, report.run_id, restored_by="dba")
    assert rows(autocommit_conn) == everything
