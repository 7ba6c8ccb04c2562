"""A first sync fills its tables with their secondary indexes dropped and built once
after (migration 0021_bulk_load), and the tables of layer 1 with their foreign keys
dropped and added again after (0022_bulk_load_keys): only when the table is empty, ours
and free, and always leaving every index and key as the migrations made it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, BIOLOGY, course_part, tiny_institution, write_bundle
from conftest import unique_name

from tracker import db, sync
from tracker.errors import SyncConflictError
from tracker.kinds import KINDS

#: The tables of layer 1: a first sync fills each with its indexes and keys dropped.
LAYER_1 = tuple(kind.table for kind in KINDS)
#: The tables a first sync fills with their indexes dropped.
TABLES = (*LAYER_1, "history.submission_scores", "lifecycle.objects")

INDEXES = """
SELECT i.indexrelid::regclass::text AS name, i.indexrelid::bigint AS oid,
       pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
FROM pg_index AS i
WHERE i.indrelid = %s::regclass
ORDER BY 1
"""


FOREIGN_KEYS = """
SELECT c.conname, pg_get_constraintdef(c.oid) AS definition, c.convalidated
FROM pg_constraint AS c
WHERE c.conrelid = %s::regclass AND c.contype = 'f'
ORDER BY 1
"""


def _indexes(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    return conn.execute(INDEXES, (table,)).fetchall()


def _foreign_keys(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    return conn.execute(FOREIGN_KEYS, (table,)).fetchall()


def _definitions(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each index's name, definition and validity (not its oid: an index built again
    gets a new one)."""
    return [(name, definition, valid) for name, _, definition, valid in found]


def _constraint_owned(conn: psycopg.Connection[Any], table: str) -> set[str]:
    """The indexes of ``table`` that a constraint of its own owns (its primary key)."""
    return {r[0] for r in conn.execute(
        "SELECT c.conindid::regclass::text FROM pg_constraint AS c"
        " JOIN pg_index AS i ON i.indexrelid = c.conindid"
        " WHERE c.conrelid = %s::regclass AND i.indrelid = c.conrelid", (table,))}


def test_a_first_sync_builds_the_secondary_indexes_again_as_they_were(
        autocommit_conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    conn = autocommit_conn
    before = {t: _indexes(conn, t) for t in TABLES}
    keys = {t: _foreign_keys(conn, t) for t in LAYER_1}
    assert len(keys["canvas.submissions"]) == 3  # its assignment, course and user
    assert len(keys["canvas.enrollments"]) == 3  # its user, course and section
    path = write_bundle(tmp_path / "bundle", tiny_institution())

    sync.sync_bundle(conn, path)

    # The foreign keys were dropped for the load and added again: checked, as they were
    # (made after the primary key, which stays).
    for table in LAYER_1:
        assert _foreign_keys(conn, table) == keys[table], table
        if keys[table]:
            assert conn.execute(
                "SELECT min(oid::bigint) FROM pg_constraint WHERE conrelid = %s::regclass"
                " AND contype = 'f'", (table,)).fetchone()[0] > conn.execute(
                "SELECT oid::bigint FROM pg_constraint WHERE conrelid = %s::regclass"
                " AND contype = 'p'", (table,)).fetchone()[0], table

    for table in TABLES:
        after = _indexes(conn, table)
        assert _definitions(after) == _definitions(before[table])
        kept = _constraint_owned(conn, table)
        assert kept  # the primary key stays: no constraint is dropped
        for (name, old, _, _), (_, new, _, _) in zip(before[table], after, strict=True):
            # Built again (a new oid) unless a constraint owns it.
            assert (old == new) == (name in kept), name
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0

    # A second sync finds the tables filled: nothing is dropped.
    filled = {t: _indexes(conn, t) for t in TABLES}
    sync.sync_bundle(conn, path)
    assert {t: _indexes(conn, t) for t in TABLES} == filled


#: Each deferral, the table another session uses to stop it, and what it would drop.
DEFERRALS = [
    pytest.param("defer_indexes", "canvas.submissions", _indexes, id="indexes"),
    pytest.param("defer_foreign_keys", "canvas.users", _foreign_keys, id="foreign keys"),
]
Listing = Callable[[psycopg.Connection[Any], str], list[tuple[Any, ...]]]


@pytest.mark.parametrize(("deferral", "used", "listed"), DEFERRALS)
def test_nothing_is_dropped_while_another_session_uses_the_table_or_one_it_references(
        autocommit_conn: psycopg.Connection[Any], db_url: str, deferral: str, used: str,
        listed: Listing) -> None:
    before = listed(autocommit_conn, "canvas.submissions")
    with psycopg.connect(db_url) as reader:  # holds ACCESS SHARE until it ends
        reader.execute(f"SELECT count(*) FROM {used}")
        with psycopg.connect(db_url) as loader:
            assert loader.execute(f"SELECT tracker.{deferral}('canvas.submissions')"
                                  ).fetchone()[0] is None
            assert listed(loader, "canvas.submissions") == before
            # The lock asked for with NOWAIT was not queued: the reader goes on.
            assert reader.execute(f"SELECT count(*) FROM {used}").fetchone()[0] == 0


@pytest.mark.parametrize(("deferral", "used", "listed"), DEFERRALS)
def test_nothing_is_dropped_in_a_table_that_has_rows(
        synced_conn: psycopg.Connection[Any], deferral: str, used: str, listed: Listing) -> None:
    before = listed(synced_conn, "canvas.submissions")
    with synced_conn.transaction():
        assert synced_conn.execute(f"SELECT tracker.{deferral}('canvas.submissions')"
                                   ).fetchone()[0] is None
        assert listed(synced_conn, "canvas.submissions") == before


@pytest.mark.parametrize(("deferral", "used", "listed"), DEFERRALS)
def test_nothing_is_dropped_by_a_role_that_does_not_own_the_table(
        conn: psycopg.Connection[Any], deferral: str, used: str, listed: Listing) -> None:
    before = listed(conn, "canvas.submissions")
    role = unique_name("tracker_not_owner")
    conn.execute(f"CREATE ROLE {role}")  # rolled back with the test's transaction
    conn.execute(f"GRANT USAGE ON SCHEMA canvas, tracker TO {role}")
    conn.execute(f"SET ROLE {role}")
    assert conn.execute(f"SELECT tracker.{deferral}('canvas.submissions')").fetchone()[0] is None
    conn.execute("RESET ROLE")
    assert listed(conn, "canvas.submissions") == before
    conn.rollback()


@pytest.mark.parametrize("table", TABLES)
def test_the_dropped_indexes_come_back_with_a_rollback_or_a_build(
        conn: psycopg.Connection[Any], table: str) -> None:
    before = _indexes(conn, table)
    definitions = conn.execute("SELECT tracker.defer_indexes(%s)", (table,)).fetchone()[0]
    kept = _constraint_owned(conn, table)
    assert sorted(d.split(" ON ")[0].removeprefix("CREATE INDEX ") for d in definitions) == sorted(
        name.split(".")[-1] for name, *_ in before if name not in kept)
    assert [r[0] for r in _indexes(conn, table)] == sorted(kept)
    conn.rollback()
    assert _indexes(conn, table) == before

    definitions = conn.execute("SELECT tracker.defer_indexes(%s)", (table,)).fetchone()[0]
    conn.execute("SELECT tracker.build_indexes(%s)", (definitions,))
    assert _definitions(_indexes(conn, table)) == _definitions(before)
    conn.rollback()


def test_a_sync_beside_a_first_sync_that_holds_the_tables_is_refused_or_waits(
        db_url: str, tmp_path: Path) -> None:
    school = tiny_institution()
    algebra = write_bundle(tmp_path / "algebra", course_part(school, ALGEBRA))
    biology = write_bundle(tmp_path / "biology", course_part(school, BIOLOGY))
    with db.connect(db_url) as first, db.connect(db_url, autocommit=True) as second:
        first.execute("SELECT 1")  # the first sync's transaction, left open
        sync.sync_bundle(first, algebra)
        held = first.execute(
            "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock'"
            " AND relation = 'canvas.submissions'::regclass").fetchone()[0]
        assert held == 1  # its indexes were dropped: the table is its own until it ends
        with pytest.raises(SyncConflictError, match="a school's first sync"):
            sync.sync_bundle(second, biology)  # another course, refused at once

        # Waiting, the other sync goes on once the first one commits.
        def commit_soon() -> None:
            time.sleep(0.5)
            first.commit()

        committer = threading.Thread(target=commit_soon)
        committer.start()
        waited = sync.sync_bundle(second, biology, wait=True)
        committer.join()
    assert waited.scope_course_ids == (BIOLOGY,)
    assert waited.counts["submissions"].inserted > 0


def test_dropped_foreign_keys_come_back_with_a_rollback_or_refuse_a_row_when_added(
        conn: psycopg.Connection[Any]) -> None:
    keys = _foreign_keys(conn, "canvas.submissions")
    statements = conn.execute("SELECT tracker.defer_foreign_keys('canvas.submissions')"
                              ).fetchone()[0]
    assert sorted(s.split(" ADD CONSTRAINT ")[1].split(" ")[0] for s in statements) == [
        name for name, *_ in keys]
    assert _foreign_keys(conn, "canvas.submissions") == []
    conn.rollback()
    assert _foreign_keys(conn, "canvas.submissions") == keys

    # Added again over a row whose references are nowhere, the keys refuse it, as a
    # row-by-row check would have: the sync rolls back and starts again by the checking
    # path, which names the record.
    statements = conn.execute("SELECT tracker.defer_foreign_keys('canvas.submissions')"
                              ).fetchone()[0]
    conn.execute("INSERT INTO canvas.submissions (id, course_id, assignment_id, user_id,"
                 " workflow_state, raw, sync_id) VALUES (1, 7, 77, 777, 'graded', '{}', 1)")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="violates foreign key"):
        conn.execute("SELECT tracker.build_indexes(%s)", (statements,))
    conn.rollback()
    assert _foreign_keys(conn, "canvas.submissions") == keys
