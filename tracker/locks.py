"""The sync lock of each course: two syncs of one course never interleave.

A transaction that writes a course's Canvas data or layer 0 holds the course's advisory
lock (``sql/tracker/journal.sql``) until it ends, taken in course-id order: a sync
(:mod:`tracker.sync`), and cleanup or restore of approved deletions
(:mod:`tracker.lifecycle`). Syncs of different courses run side by side, except beside
a first sync into empty tables, which holds them alone (:func:`share_loaded_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from tracker import db
from tracker.errors import SyncConflictError
from tracker.sqlfiles import sql


def lock_courses(conn: psycopg.Connection[Any], course_ids: Sequence[int], *, wait: bool) -> None:
    """Hold the sync locks of ``course_ids`` until the transaction ends (one statement).

    ``wait`` waits for the syncs holding them; otherwise SyncConflictError at once.
    Cleanup and restore of approved deletions take the same locks.
    """
    ids = sorted(set(course_ids))
    if not ids:
        return
    if wait:
        sql.tracker.wait_for_courses(conn, course_ids=ids)
        return
    busy = [r[0] for r in sql.tracker.busy_courses(conn, course_ids=ids)]
    if busy:
        named = ", ".join(str(c) for c in busy)
        raise SyncConflictError(
            f"course {named} is being synced by another process; try again when it "
            "finishes, or pass --wait (wait=True) to wait for it")


def share_loaded_tables(conn: psycopg.Connection[Any], *, wait: bool) -> None:
    """Share, until the transaction ends, the tables a school's first sync fills with
    their indexes dropped (migration 0021_bulk_load): while one does, it holds them alone
    (and, from its COPY of submissions, the tables their foreign keys reference: 0022).

    ``wait`` waits for it to end; otherwise SyncConflictError at once.
    """
    if wait:
        sql.tracker.wait_for_loaded_tables(conn)
        return
    try:
        with db.transaction(conn):
            sql.tracker.share_loaded_tables(conn)
    except psycopg.errors.LockNotAvailable:
        raise SyncConflictError(
            "another session holds canvas.submissions (a school's first sync, loading it in "
            "bulk, or a DBA's lock); try again when it ends, or pass --wait (wait=True) to "
            "wait for it") from None
