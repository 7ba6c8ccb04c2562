"""What a program gets for a wrong argument: an error naming it, raised before anything
reaches the server, with the caller's transaction still usable."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from tracker import analytics, db, lifecycle, maintenance, sync, tags, userdata
from tracker.errors import InvalidArgumentError, TrackerError

Call = Callable[[psycopg.Connection[Any]], Any]

WRONG: dict[str, tuple[Call, str]] = {
    # None is not "any": the momentum report would have answered about another student.
    "momentum of no student": (lambda c: analytics.momentum(c, None, 1), "user_id: expected"),
    "momentum in no course": (lambda c: analytics.momentum(c, 1, None), "course_id: expected"),
    "prediction for a text id": (lambda c: analytics.predict_final_grade(c, "7", 1), "user_id"),
    "risk of course True": (lambda c: analytics.assess_risk(c, True), "course_id"),
    "statistics past bigint": (lambda c: analytics.course_statistics(c, 2**63), "course_id"),
    "snapshots of a list": (lambda c: analytics.course_snapshots(c, [1]), "course_id"),
    "report past bigint": (lambda c: analytics.run_report(c, "at_risk_students", course_id=2**64),
                           "course_id"),
    "snapshots of a text": (lambda c: analytics.record_course_snapshots(c, None, "10001"),
                            "course_ids: expected a list of ids"),
    "a run named by text": (lambda c: sync.get_run(c, "x"), "sync_id"),
    "runs, -1 of them": (lambda c: sync.list_runs(c, limit=-1), "limit: expected a whole number"),
    "a sync of courses '101'": (lambda c: sync.sync_bundle(c, ".", courses="101"),
                                "courses: expected a list of ids"),
    "note True": (lambda c: userdata.get_note(c, True), "note_id"),
    "notes, -1 of them": (lambda c: userdata.list_notes(c, limit=-1), "limit"),
    "note history of a text": (lambda c: userdata.note_history(c, "x"), "note_id"),
    "courses '10001' to a curriculum": (
        lambda c: userdata.add_courses(c, "web_dev", "10001", actor="ms.k"), "course_ids"),
    "a subject tuple with a text id": (lambda c: tags.tags_of(c, ("user", "x")), "subject id"),
    "a subject tuple of one": (lambda c: tags.tags_of(c, ("user",)), "does not name a subject"),
    "tagged with, -1 of them": (lambda c: tags.tagged_with(c, "x", limit=-1), "limit"),
    "a cleanup named by text": (lambda c: lifecycle.get_cleanup(c, "x"), "run_id"),
    "kinds as a text": (lambda c: lifecycle.pending(c, kinds="course"), "kinds: expected a list"),
    "an archive run named by text": (
        lambda c: maintenance.export_archive(c, io.BytesIO(), run_id="x"), "run_id"),
    "a note by nobody": (lambda c: userdata.add_note(c, "user:1", "hi", author=5), "author/actor"),
    "a note of a number": (lambda c: userdata.add_note(c, "user:1", 123, author="ms.k"),
                           "a note needs some text"),
    "fields of students": (lambda c: userdata.list_fields(c, subject_type="student"),
                           "'student' is not a subject type"),
    "tag links of students": (lambda c: tags.export_tags(c, io.BytesIO(), subject_type="student"),
                              "'student' is not a subject type"),
    "archive runs of a kind that is not": (lambda c: lifecycle.list_cleanups(c, kind="nope"),
                                           "kind: one of cleanup, retention, repair"),
    "a cleanup, dry run 'no'": (lambda c: lifecycle.cleanup(c, performed_by="dba", dry_run="no"),
                                "dry_run: expected True or False"),
    "approval of what is missing for -1 day": (
        lambda c: lifecycle.approve(c, approved_by="dba", older_than=timedelta(days=-1)),
        "older_than: expected a timedelta over zero"),
    "no attempt at all": (lambda c: db.run_in_transaction(c, lambda _: None, attempts=0),
                          "attempts: expected a whole number from 1 up"),
    # an empty text removed the policy, as None does: rows would have been kept forever
    "a retention of ''": (
        lambda c: maintenance.set_retention(c, "history.submission_scores", " ", actor="dba"),
        "keep: give an interval such as '2 years'"),
    "a retention of 5": (
        lambda c: maintenance.set_retention(c, "history.submission_scores", 5, actor="dba"),
        "keep: give an interval"),
    "the archive of a table never archived": (
        lambda c: maintenance.export_archive(c, io.BytesIO(), relation="nosuch.table"),
        "relation: 'nosuch.table' is never archived"),
}


@pytest.mark.parametrize("case", list(WRONG), ids=list(WRONG))
def test_a_wrong_argument_is_named_and_leaves_the_transaction_usable(conn, case):
    call, says = WRONG[case]
    conn.execute("SELECT 1")  # the caller's transaction is open
    with pytest.raises(TrackerError) as caught:
        call(conn)
    assert says in str(caught.value)
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_retention_run_checks_its_arguments_before_it_records_a_run(conn):
    conn.commit()
    for kwargs, says in (({"actor": "  "}, "actor"), ({"actor": "dba", "batch_size": 2**40},
                                                       "batch_size"),
                         ({"actor": "dba", "max_batches": 0}, "max_batches")):
        with pytest.raises(InvalidArgumentError, match=says):
            maintenance.run_retention(conn, **kwargs)
    assert conn.execute("SELECT count(*) FROM archive.runs").fetchone() == (0,)


def test_a_connection_whose_transaction_failed_is_refused_with_what_to_do(conn):
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    with pytest.raises(InvalidArgumentError, match=r"roll it back \(conn.rollback\(\)\)"):
        sync.list_runs(conn)
    # a writer too, which opens its savepoint before its first statement
    with pytest.raises(InvalidArgumentError, match=r"roll it back \(conn.rollback\(\)\)"):
        userdata.add_note(conn, "user:1", "hi", author="ms.k")
    conn.rollback()
    assert sync.list_runs(conn) == []
    conn.close()
    with pytest.raises(InvalidArgumentError, match="the connection is closed"):
        analytics.assess_risk(conn)


def test_a_lone_name_is_a_list_of_one_not_of_its_characters(conn):
    # "course:101" as objects would have been the objects "c", "o", "u", …
    assert lifecycle.revoke(conn, "course:101") == []
    with pytest.raises(TrackerError, match="there is no tag 'honors'"):
        tags.merge(conn, "honors", into="merit", actor="ms.k")
