"""Writes that can meet a deadlock or a serialization failure run again (db.run_in_transaction).

Each test makes the failure happen for real, with a second connection: it holds a row
that tracker's transaction will need, waits until that transaction waits for it, then
asks for something tracker's transaction holds (a deadlock: PostgreSQL stops tracker's
side, whose deadlock_timeout runs out first), or commits a change to that row under
tracker's REPEATABLE READ snapshot (a serialization failure). Either way tracker's
transaction runs again from the start and succeeds, once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, ANA, BIOLOGY, course_part, find, tiny_institution, write_bundle
from conftest import client_kwargs

from tracker import db, lifecycle, sync, tags

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)

RETRY = re.compile(r"transaction failed with (\w+) \(attempt 1 of 5\); retrying in [\d.]+ s")


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The errors tracker retried after, in order."""
    return [m.group(1) for r in caplog.records if (m := RETRY.fullmatch(r.getMessage()))]


def _wait_for_lock_wait(url: str, other_pid: int) -> None:
    """Until a session of this database other than ``other_pid`` waits for a lock."""
    with psycopg.connect(url, autocommit=True, **client_kwargs()) as watcher:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s", (other_pid,)).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
    raise AssertionError("tracker's transaction never waited for the held row")


def _collide(url: str, work: Callable[[psycopg.Connection[Any]], Any], *, hold: str,
             then: str | None = None, isolation: psycopg.IsolationLevel | None = None) -> Any:
    """Run ``work`` on a connection of its own while another transaction runs ``hold``
    (locking a row work needs); once work waits for it, the other runs ``then`` (a lock
    work holds: a deadlock) or, with none, commits (under ``isolation`` REPEATABLE READ:
    a serialization failure). Returns what work returned."""
    outcome: dict[str, Any] = {}
    with psycopg.connect(url, **client_kwargs()) as other:
        other.execute("SET LOCAL deadlock_timeout = '60s'")  # tracker's side detects it
        row = other.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        other.execute(hold)

        def run() -> None:
            try:
                with db.connect(url, autocommit=True) as conn:
                    if isolation is not None:
                        conn.isolation_level = isolation
                    outcome["value"] = work(conn)
            except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        _wait_for_lock_wait(url, row[0])
        if then is not None:
            other.execute(then)  # waits until PostgreSQL stops tracker's side
        other.commit()
        worker.join(60)
    assert not worker.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_tag_merge_that_deadlocks_runs_again(db_url: str, autocommit_conn: Any,
                                               caplog: pytest.LogCaptureFixture) -> None:
    autocommit_conn.execute("INSERT INTO userdata.tags (name, created_by) "
                            "VALUES ('maths', 'ms.k'), ('math', 'ms.k')")
    with caplog.at_level(logging.WARNING, logger="tracker.db"):
        report = _collide(
            db_url, lambda c: tags.merge(c, ["maths"], "math", actor="ms.k"),
            hold="SELECT id FROM userdata.tags WHERE name = 'maths' FOR UPDATE",
            then="SELECT pg_advisory_xact_lock_shared(hashtextextended('tracker.userdata.tags', 0))")

    assert _retries(caplog) == ["DeadlockDetected"]
    assert (report.into, report.merged) == ("math", ("maths",))
    assert [t.name for t in tags.list_tags(autocommit_conn)] == ["math"]
    assert [(s.alias, s.canonical) for s in tags.synonyms(autocommit_conn)] == [("maths", "math")]


def test_a_sync_that_deadlocks_on_a_shared_user_runs_again(
    db_url: str, autocommit_conn: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "first", data))
    term_id = data["courses"][0]["enrollment_term_id"]
    find(data, "terms", term_id)["name"] = "Spring, renamed"
    find(data, "users", ANA)["name"] = "Ana Alves-Costa"
    algebra = write_bundle(tmp_path / "algebra", course_part(data, ALGEBRA))

    # The other transaction stands for a sync of another course that wrote Ana first
    # and then wants the term this sync wrote before it reached Ana.
    with caplog.at_level(logging.WARNING, logger="tracker.db"):
        report = _collide(
            db_url, lambda c: sync.sync_bundle(c, algebra),
            hold=f"SELECT 1 FROM canvas.users WHERE id = {ANA} FOR UPDATE",
            then=f"SELECT 1 FROM canvas.terms WHERE id = {term_id} FOR UPDATE")

    assert _retries(caplog) == ["DeadlockDetected"]
    assert report.counts["users"].updated == 1 and report.counts["terms"].updated == 1
    runs = sync.list_runs(autocommit_conn)
    assert [(r.sync_id, r.status) for r in runs] == [(report.sync_id, "succeeded"),
                                                     (1, "succeeded")]
    names = autocommit_conn.execute(
        "SELECT (SELECT name FROM canvas.users WHERE id = %s), "
        "(SELECT name FROM canvas.terms WHERE id = %s)", (ANA, term_id)).fetchone()
    assert names == ("Ana Alves-Costa", "Spring, renamed")


def test_an_approval_that_meets_a_concurrent_update_runs_again(
    db_url: str, autocommit_conn: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "full", data))
    gone = data["assignments"][0]["id"]  # an assignment deleted in Canvas since
    data["assignments"] = [a for a in data["assignments"] if a["id"] != gone]
    data["submissions"] = [x for x in data["submissions"] if x["assignment_id"] != gone]
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "gone", data))
    kind, object_id = "assignment", gone
    missing = f"{kind}:{object_id}"
    status = "SELECT status FROM lifecycle.objects WHERE kind = %s AND id = %s"
    assert autocommit_conn.execute(status, (kind, object_id)).fetchone() == ("missing",)

    with caplog.at_level(logging.WARNING, logger="tracker.db"):
        report = _collide(
            db_url, lambda c: lifecycle.approve(c, [missing], approved_by="principal"),
            hold=f"UPDATE lifecycle.objects SET status = status "
                 f"WHERE kind = '{kind}' AND id = {object_id}",
            isolation=psycopg.IsolationLevel.REPEATABLE_READ)

    assert _retries(caplog) == ["SerializationFailure"]
    assert (kind, object_id) in {(a.kind, a.id) for a in report.approved}
    assert autocommit_conn.execute(status, (kind, object_id)).fetchone() == ("pending_deletion",)


def test_concurrent_first_syncs_sharing_a_new_user_count_it_inserted_once(
    db_url: str, autocommit_conn: Any, tmp_path: Path
) -> None:
    data = tiny_institution()
    bundles = [write_bundle(tmp_path / str(c), course_part(data, c)) for c in (ALGEBRA, BIOLOGY)]
    shared = {u["id"] for u in course_part(data, ALGEBRA)["users"]} & {
        u["id"] for u in course_part(data, BIOLOGY)["users"]}
    assert shared  # the two courses share students

    reports: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(path: Path) -> None:
        try:
            with db.connect(db_url, autocommit=True) as conn:
                start.wait()
                reports.append(sync.sync_bundle(conn, path))
        except Exception as exc:  # noqa: BLE001 - asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in bundles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    users = [r.counts["users"] for r in reports]
    total = autocommit_conn.execute("SELECT count(*) FROM canvas.users").fetchone()[0]
    assert sum(u.inserted for u in users) == total  # each user inserted by one sync
    assert sum(u.unchanged for u in users) == len(shared)  # and found by the other
