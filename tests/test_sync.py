"""tracker.sync: the specification of a sync, on a real PostgreSQL (no mocks).

Every test builds a small bundle by hand (``bundles.py``), syncs it with the
functions a user calls, and checks the exact rows the layers end with. The
connection is in autocommit, as the command line's is idle between calls: each
sync is then a transaction of its own, committed or rolled back whole.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import (  # tests/ is on sys.path (rootdir conftest, no package)
    ALGEBRA,
    ANA,
    BEN,
    BIOLOGY,
    SHARD_USER,
    Bundle,
    course_part,
    find,
    global_id,
    large_bundle,
    live_institution,
    serve_institution,
    tiny_institution,
    without,
    write_bundle,
)
from canvas_server import CanvasServer
from conftest import estimated_rows
from psycopg import sql as pgsql

from tracker import canvas_api, maintenance, sync
from tracker.errors import InvalidDataError, NotFoundError, SyncConflictError, SyncError

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)
from tracker.sqlfiles import sql
from tracker.sync import GradeChange, TableCounts

LAYERS = ("canvas", "history", "lifecycle")
ALL_SCHEMAS = (*LAYERS, "userdata", "tracker")
KINDS = ("terms", "courses", "sections", "users", "assignment_groups", "assignments",
         "enrollments", "submissions")

#: Rows the tiny institution fills, table by table (as ``row_counts`` gives them).
TINY_ROWS = {
    "canvas.terms": 1,
    "canvas.courses": 2,
    "canvas.sections": 3,
    "canvas.users": 5,
    "canvas.assignment_groups": 3,
    "canvas.assignments": 5,
    "canvas.enrollments": 8,
    "canvas.submissions": 7,
    "history.enrollment_grades": 6,  # the six enrollments of student types
    "history.submission_scores": 7,
    "history.course_snapshots": 2,  # each course's statistics at that moment
    "history.risk_assessments": 4,  # each active student's risk in each course
    "lifecycle.objects": 27,  # every object but submissions
}  # every other table of layers 1, 2 and 0 stays empty
EMPTY_ROWS: dict[str, int] = {}


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def other_db_url(pg: Any, template_db: str) -> Iterator[str]:
    """A second fresh, migrated database (to compare two ways of syncing the same data)."""
    name = f"tracker_other_{time.monotonic_ns()}"
    with psycopg.connect(pg.admin_url, autocommit=True) as c:
        c.execute(pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            pgsql.Identifier(name), pgsql.Identifier(template_db)))
    yield pg.url_for(name)
    with psycopg.connect(pg.admin_url, autocommit=True) as c:
        c.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            pgsql.Identifier(name)))


def bundle_dir(tmp_path: Path, data: Bundle, name: str = "bundle") -> Path:
    """``data`` written as a bundle directory of its own under ``tmp_path``."""
    return write_bundle(tmp_path / name, data)


def _tables(conn: psycopg.Connection[Any],
            schemas: tuple[str, ...]) -> list[tuple[str, str, list[str]]]:
    """(schema, table, primary key columns) of every table in ``schemas``."""
    return conn.execute(
        """
        SELECT n.nspname, c.relname,
               array(SELECT a.attname
                     FROM unnest(i.indkey) WITH ORDINALITY AS k (attnum, n)
                     JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     ORDER BY k.n)
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_index AS i ON i.indrelid = c.oid AND i.indisprimary
        WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')
        ORDER BY 1, 2
        """,
        (list(schemas),),
    ).fetchall()


VOLATILE = ("recorded_at", "assessed_at", "first_seen_at", "missing_since")


def dump(conn: psycopg.Connection[Any], schemas: tuple[str, ...] = LAYERS, *,
         volatile: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in ``schemas``, as JSON, ordered by primary key.

    ``volatile=False`` leaves out the columns that hold the clock (when a row was
    recorded or first seen), to compare databases synced at different moments.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for schema, table, key in _tables(conn, schemas):
        order = pgsql.SQL(", ").join(pgsql.Identifier(k) for k in key) if key else pgsql.SQL("1")
        found = conn.execute(pgsql.SQL("SELECT to_jsonb(t) FROM {} AS t ORDER BY {}").format(
            pgsql.Identifier(schema, table), order)).fetchall()
        docs = [r[0] for r in found]
        if not volatile:
            docs = [{k: v for k, v in d.items() if k not in VOLATILE} for d in docs]
        out[f"{schema}.{table}"] = docs
    return out


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """How many rows each table of layers 1, 2 and 0 holds, empty tables left out."""
    return {name: len(found) for name, found in dump(conn).items() if found}


def rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows ``query`` returns."""
    return conn.execute(query, params or None).fetchall()


def unchanged(data: Bundle) -> dict[str, TableCounts]:
    """The counts of a sync that finds every object of ``data`` as stored."""
    return {kind: TableCounts(unchanged=len(data[kind])) for kind in KINDS}


def changed_institution() -> Bundle:
    """The tiny institution after a week of grading: two scores changed, one submission
    excused, one enrollment's grade changed, and two changes that are no grade change
    (a submission posted, an enrollment's activity)."""
    data = tiny_institution()
    find(data, "submissions", 501).update(score=10.0, grade="10", entered_score=10.0,
                                          entered_grade="10")
    find(data, "submissions", 506).update(score=91.0, grade="A-")
    find(data, "submissions", 502).update(score=None, grade=None, excused=True)
    find(data, "submissions", 504)["posted_at"] = "2026-09-21T08:00:00Z"
    find(data, "enrollments", 401)["grades"].update(current_score=90.0, current_grade="A-")
    find(data, "enrollments", 407)["last_activity_at"] = "2026-09-30T09:00:00Z"
    return data


def wait_until(what: str, check: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# A sync in a process of its own: prints its outcome as one JSON line.
SYNC_PROCESS = """
import json, sys
from pathlib import Path
import psycopg
from tracker import sync
from tracker.errors import TrackerError

url, path, wait, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "wait", sys.argv[4]
with psycopg.connect(url, autocommit=True, application_name=name) as conn:
    try:
        result = sync.sync_bundle(conn, path, wait=wait)
    except TrackerError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps({"sync_id": result.sync_id, "scope": list(result.scope_course_ids)}))
"""


def start_sync_process(url: str, path: Path, *, name: str,
                       wait: bool = False) -> subprocess.Popen[str]:
    """Start ``sync_bundle(path)`` in another Python process, connected as ``name``."""
    return subprocess.Popen(
        [sys.executable, "-c", SYNC_PROCESS, url, str(path), "wait" if wait else "fail", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def outcome(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """What the sync process printed, once it has finished."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def backend_waiting_for_lock(conn: psycopg.Connection[Any], name: str, *,
                             locktype: str = "advisory", relation: str | None = None) -> int | None:
    """The server process of the client ``name`` when it waits for a lock, else None."""
    row = conn.execute(
        """
        SELECT a.pid
        FROM pg_stat_activity AS a
        JOIN pg_locks AS l ON l.pid = a.pid
        WHERE a.application_name = %s
          AND NOT l.granted
          AND l.locktype = %s
          AND (%s::regclass IS NULL OR l.relation = %s::regclass)
        """,
        (name, locktype, relation, relation),
    ).fetchone()
    return row[0] if row else None


def hold_course_lock(url: str, course_id: int) -> psycopg.Connection[Any]:
    """A connection holding the advisory lock a sync of ``course_id`` takes, in an open
    transaction: it stands for a sync of that course in progress. Close it to release."""
    holder = psycopg.connect(url)
    assert sql.tracker.busy_courses(holder, course_ids=[course_id]).fetchall() == []
    return holder


# -- 1. the first sync ---------------------------------------------------------------------------


def test_first_sync_inserts_every_object_with_history_and_lifecycle(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = tiny_institution()

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data))

    assert result.sync_id == 1 and result.kind == "full" and not result.dry_run
    assert result.scope_course_ids == (ALGEBRA, BIOLOGY)
    assert result.counts == {
        kind: TableCounts(inserted=len(data[kind]),
                          # enrollments: six students' grades, four active students' risk
                          history={"enrollments": 6 + 4, "submissions": 7,
                                   "courses": 2}.get(kind, 0))
        for kind in KINDS
    }
    assert row_counts(autocommit_conn) == TINY_ROWS

    # layer 2: one row per student enrollment (the test student's included), one per submission
    assert rows(autocommit_conn, "SELECT enrollment_id, sync_id, current_score, current_grade "
                    "FROM history.enrollment_grades ORDER BY enrollment_id") == [
        (401, 1, Decimal("85.5"), "B"), (402, 1, Decimal("70.0"), "C-"),
        (403, 1, Decimal("92.0"), "A-"), (404, 1, Decimal("92.0"), "A-"),
        (406, 1, None, None), (407, 1, Decimal("88.0"), "B+"),
    ]
    assert rows(autocommit_conn,
                "SELECT submission_id, course_id, score, grade, excused, workflow_state "
                "FROM history.submission_scores ORDER BY submission_id") == [
        (501, ALGEBRA, Decimal("9.0"), "9", False, "graded"),
        (502, ALGEBRA, Decimal("7.0"), "7", False, "graded"),
        (503, ALGEBRA, None, None, True, "graded"),  # excused: no score
        (504, ALGEBRA, Decimal("0.0"), "complete", False, "graded"),
        (505, ALGEBRA, None, None, False, "submitted"),  # score hidden: unknown
        (506, BIOLOGY, Decimal("88.0"), "B+", False, "graded"),
        (507, ALGEBRA, None, None, False, "unsubmitted"),
    ]

    # layer 0: every object but submissions, active, first seen by this sync, in its course
    lifecycle = rows(autocommit_conn, "SELECT kind, id, course_id FROM lifecycle.objects "
                         "WHERE status = 'active' AND first_seen_sync_id = 1 "
                         "AND missing_since_sync_id IS NULL ORDER BY kind, id")
    assert lifecycle == sorted([
        ("term", 1, None), ("course", 101, 101), ("course", 102, 102),
        ("section", 1011, 101), ("section", 1012, 101), ("section", 1021, 102),
        ("user", 1, None), ("user", 2, None), ("user", 9, None), ("user", 99, None),
        ("user", SHARD_USER, None),
        # the groups' course comes from their assignments (Canvas sends none)
        ("assignment_group", 201, 101), ("assignment_group", 202, 101),
        ("assignment_group", 203, 102),
        ("assignment", 301, 101), ("assignment", 302, 101), ("assignment", 303, 101),
        ("assignment", 304, 102), ("assignment", 305, 102),
        *[("enrollment", e, 101) for e in (401, 402, 403, 404, 405, 406)],
        ("enrollment", 407, 102), ("enrollment", 408, 102),
    ])
    assert rows(autocommit_conn,
                "SELECT id, course_id FROM canvas.assignment_groups ORDER BY id") == [
        (201, ALGEBRA), (202, ALGEBRA), (203, BIOLOGY)]

    # the shard-prefixed id "1~1001" is the global id wherever it is referenced
    assert rows(autocommit_conn, "SELECT id, name FROM canvas.users WHERE id > 1000") == [
        (SHARD_USER, "Cy Cross")]
    assert rows(autocommit_conn, "SELECT id, user_id, course_section_id FROM canvas.enrollments "
                    "WHERE user_id = %s ORDER BY id", SHARD_USER) == [
        (403, SHARD_USER, 1011), (404, SHARD_USER, 1012)]  # one user, two sections
    assert rows(autocommit_conn,
                "SELECT id FROM canvas.submissions WHERE user_id = %s", SHARD_USER) == [(503,)]
    assert rows(autocommit_conn,
                "SELECT enrollment_id FROM history.enrollment_grades WHERE user_id = %s "
                "ORDER BY 1", SHARD_USER) == [(403,), (404,)]
    assert rows(autocommit_conn,
                "SELECT submission_id FROM history.submission_scores WHERE user_id = %s",
                SHARD_USER) == [(503,)]
    assert rows(autocommit_conn,
                "SELECT count(*) FROM canvas.enrollments WHERE user_id = 1001")[0][0] == 0

    # the test student is kept, flagged
    assert rows(autocommit_conn,
                "SELECT id, user_id FROM canvas.enrollments WHERE is_test_student") == [
        (406, 99)]

    # typed columns: null and 0 points, grades out of the nested object, offsets as instants
    assert rows(autocommit_conn, "SELECT id, points_possible, grading_type FROM canvas.assignments "
                    "ORDER BY id") == [
        (301, Decimal("10.0"), "points"), (302, None, "not_graded"),
        (303, Decimal(0), "pass_fail"), (304, Decimal(100), "letter_grade"),
        (305, Decimal(20), "percent")]
    assert rows(autocommit_conn,
                "SELECT current_score, final_score, current_grade FROM canvas.enrollments "
                "WHERE id = 402") == [(Decimal("70.0"), Decimal("65.25"), "C-")]
    assert rows(autocommit_conn,
                "SELECT current_score FROM canvas.enrollments WHERE id = 405") == [(None,)]
    assert rows(autocommit_conn, "SELECT due_at FROM canvas.assignments WHERE id = 301") == [
        (datetime(2026, 9, 16, 5, 59, tzinfo=UTC),)]  # 23:59 at -06:00
    assert rows(autocommit_conn,
                "SELECT id, submitted_at FROM canvas.submissions WHERE id IN (501, 505) "
                "ORDER BY id") == [
        (501, datetime(2026, 9, 16, 4, 10, tzinfo=UTC)),  # 22:10 at -06:00
        (505, datetime(2026, 9, 10, 6, 30, tzinfo=UTC))]  # 12:00 at +05:30
    assert rows(autocommit_conn,
                "SELECT last_activity_at FROM canvas.enrollments WHERE id = 407") == [
        (datetime(2026, 9, 23, 12, 30, tzinfo=UTC),)]
    assert rows(autocommit_conn,
                "SELECT grader_id FROM canvas.submissions WHERE id = 504") == [(-7,)]

    # raw is each object whole, as sent: absent keys stay absent
    for kind in KINDS:
        stored = dict(rows(autocommit_conn, f"SELECT id, raw FROM canvas.{kind}"))
        assert stored == {global_id(obj["id"]): obj for obj in data[kind]}, kind
    hidden = rows(autocommit_conn,
                  "SELECT score, grade, raw FROM canvas.submissions WHERE id = 505")[0]
    assert hidden[:2] == (None, None)
    assert not {"score", "grade", "entered_score", "entered_grade"} & hidden[2].keys()
    assert "email" not in rows(autocommit_conn, "SELECT raw FROM canvas.users WHERE id = 2")[0][0]

    # the journal
    run = sync.get_run(autocommit_conn, 1)
    assert (run.status, run.kind, run.scope_course_ids, run.error) == (
        "succeeded", "full", [ALGEBRA, BIOLOGY], None)
    assert run.counts == {k: vars(v) for k, v in result.counts.items()}
    assert run.finished_at is not None and run.undone_at is None
    assert rows(autocommit_conn,
                "SELECT count(*) FROM tracker.sync_changes")[0][0] == 0  # nothing overwritten


def test_json_escapes_in_a_bundle_arrive_byte_for_byte(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = tiny_institution()
    name = 'Ana "Ace" Alves \\ O\'Neil\ttab\nline é 😀'
    find(data, "users", ANA)["name"] = name
    path = bundle_dir(tmp_path, data)
    # Rails escapes HTML in JSON: "<p>" comes as "\u003cp\u003e"
    assignments = path / "assignments.ndjson"
    assignments.write_bytes(assignments.read_bytes().replace(
        b"<p>Do the <b>fractions</b>.</p>", b"\\u003cp\\u003eDo \\/ \\\\ it\\u003c/p\\u003e"))

    sync.sync_bundle(autocommit_conn, path)

    assert rows(autocommit_conn,
                "SELECT name, raw ->> 'name' FROM canvas.users WHERE id = 1") == [(name, name)]
    assert rows(autocommit_conn,
                "SELECT raw ->> 'description' FROM canvas.assignments WHERE id = 301") == [
        ("<p>Do / \\ it</p>",)]


# -- 2. idempotence ------------------------------------------------------------------------------


def _flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make ``conn``'s server process publish its table statistics now (PostgreSQL 15+
    otherwise holds them back for up to a second or more after a transaction)."""
    conn.execute("SELECT pg_stat_force_next_flush()")


def _tuple_writes(url: str) -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and deleted so far, per table, as the statistics say."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("SELECT pg_stat_clear_snapshot()")
        return {
            f"{schema}.{table}": (ins, upd, dele)
            for schema, table, ins, upd, dele in c.execute(
                "SELECT schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del "
                "FROM pg_stat_user_tables WHERE schemaname = ANY(%s)", (list(ALL_SCHEMAS),))
        }


def test_resyncing_the_same_bundle_writes_nothing_but_its_journal_row(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    if autocommit_conn.info.server_version < 150000:
        pytest.skip("pg_stat_force_next_flush() needs PostgreSQL 15")
    data = tiny_institution()
    path = bundle_dir(tmp_path, data)
    sync.sync_bundle(autocommit_conn, path)
    _flush_stats(autocommit_conn)
    before_rows, before_writes = dump(autocommit_conn), _tuple_writes(db_url)
    assert before_writes["canvas.submissions"] == (7, 0, 0)  # the statistics do see the writes

    result = sync.sync_bundle(autocommit_conn, path)
    _flush_stats(autocommit_conn)

    assert result.counts == unchanged(data)
    assert result.changed == 0
    assert dump(autocommit_conn) == before_rows
    after_writes = _tuple_writes(db_url)
    delta = {t: tuple(a - b for a, b in zip(after_writes[t], before_writes[t], strict=True))
             for t in after_writes}
    assert {"canvas.submissions", "history.submission_scores", "lifecycle.objects",
            "tracker.sync_changes"} < delta.keys()
    assert delta == {t: (1, 1, 0) if t == "tracker.sync_runs" else (0, 0, 0) for t in delta}
    assert [(r.sync_id, r.status) for r in sync.list_runs(autocommit_conn)] == [
        (2, "succeeded"), (1, "succeeded")]


def test_a_sync_that_outgrows_what_the_planner_knows_refreshes_its_statistics(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # Autovacuum would analyze too, later, after the commit: keep it out of the way, so
    # that what the planner knows here is what the syncs told it.
    for table in ("canvas.enrollments", "canvas.submissions", "canvas.users"):
        autocommit_conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path / "tiny", tiny_institution()))
    students = "SELECT * FROM canvas.active_students WHERE course_id = 700"
    assert estimated_rows(autocommit_conn, students) <= 2  # no such course yet

    # A course of 100 students after a school of a few: the statistics of the tiny school
    # would have the planner expect one student, and nest its loops on that.
    sync.sync_bundle(autocommit_conn, large_bundle(tmp_path / "big", students=100,
                                                   assignments=10))
    assert estimated_rows(autocommit_conn, students) >= 50
    assert estimated_rows(
        autocommit_conn, "SELECT * FROM canvas.submissions WHERE course_id = 700") >= 500


# -- 3. history of a known change set ------------------------------------------------------------


def test_a_change_set_appends_exactly_its_history_rows_and_reports_the_grade_change(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "monday"))
    data = changed_institution()

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "friday"))

    assert result.counts == {
        **unchanged(data),
        "courses": TableCounts(unchanged=2, history=1),  # Algebra's statistics moved
        # Ana's grade; Ana's and Ben's risk in Algebra
        "enrollments": TableCounts(updated=2, unchanged=6, history=1 + 2),
        "submissions": TableCounts(updated=4, unchanged=3, history=3),
    }
    # Ana's score rose to 90 (0.35 × 4.5 / 40 = 0.039 before); Ben's one late submission
    # was excused (0.10 of late work and 0.175 of his score of 70 before).
    assert rows(autocommit_conn, "SELECT user_id, course_id, score, category, factors -> 'reasons' "
                    "FROM history.risk_assessments WHERE sync_id = 2 ORDER BY user_id") == [
        (ANA, ALGEBRA, Decimal("0.0"), "low", []),
        (BEN, ALGEBRA, Decimal("0.175"), "low", ["current score 70.0%"])]
    assert rows(autocommit_conn,
                "SELECT enrollment_id, user_id, course_id, current_score, final_score, "
                "current_grade FROM history.enrollment_grades WHERE sync_id = 2") == [
        (401, ANA, ALGEBRA, Decimal("90.0"), Decimal("80.0"), "A-")]
    assert rows(autocommit_conn,
                "SELECT submission_id, score, grade, excused FROM history.submission_scores "
                "WHERE sync_id = 2 ORDER BY submission_id") == [
        (501, Decimal("10.0"), "10", False),
        (502, None, None, True),
        (506, Decimal("91.0"), "A-", False),
    ]
    assert row_counts(autocommit_conn) == {**TINY_ROWS, "history.enrollment_grades": 7,
                              "history.submission_scores": 10, "history.course_snapshots": 3,
                              "history.risk_assessments": 6}
    # layer 1 holds the new values; the journal, the rows they replaced
    assert rows(autocommit_conn, "SELECT id, score, excused, sync_id FROM canvas.submissions "
                    "WHERE id IN (501, 502, 506) ORDER BY id") == [
        (501, Decimal("10.0"), False, 2), (502, None, True, 2), (506, Decimal("91.0"), False, 2)]
    assert rows(autocommit_conn,
                "SELECT relation, row_id, before -> 'score' FROM tracker.sync_changes "
                "WHERE sync_id = 2 AND relation = 'canvas.submissions' ORDER BY row_id") == [
        ("canvas.submissions", 501, 9.0), ("canvas.submissions", 502, 7.0),
        ("canvas.submissions", 504, 0.0), ("canvas.submissions", 506, 88.0)]

    change = sync.report(autocommit_conn)

    assert change.run.sync_id == 2
    assert change.grade_changes == [
        GradeChange(user_id=ANA, student="Ana Alves", course_id=ALGEBRA, course="Algebra I",
                    score_before=Decimal("85.5"), score_after=Decimal("90.0"),
                    change=Decimal("4.5"), grade_before="B", grade_after="A-"),
    ]


# -- 4. absent keys ------------------------------------------------------------------------------


def test_a_key_absent_in_the_resync_keeps_its_known_value_and_counts_as_unchanged(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "first"))
    before = dump(autocommit_conn)
    data = tiny_institution()
    for key in ("score", "grade", "entered_score", "entered_grade"):  # no permission this time
        del find(data, "submissions", 501)[key]
    del find(data, "users", ANA)["email"]
    del find(data, "enrollments", 401)["grades"]

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "hidden"))

    assert result.counts == unchanged(data)
    assert dump(autocommit_conn) == before  # score 9, the email and the grades stay known, raw included
    assert rows(autocommit_conn,
                "SELECT score, raw -> 'score' FROM canvas.submissions WHERE id = 501") == [
        (Decimal("9.0"), 9.0)]


def test_a_grade_left_out_of_the_grades_object_keeps_its_known_value(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "first"))
    before = dump(autocommit_conn)
    data = tiny_institution()
    grades = find(data, "enrollments", 401)["grades"]
    del grades["final_score"]  # a student's token sees posted scores only

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "partial"))

    assert result.counts == unchanged(data)
    assert dump(autocommit_conn) == before


def test_a_key_sent_as_null_is_a_change_unlike_an_absent_one(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "first"))
    data = tiny_institution()
    find(data, "submissions", 501).update(score=None, grade=None)

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "nulled"))

    assert result.counts["submissions"] == TableCounts(updated=1, unchanged=6, history=1)
    assert rows(autocommit_conn,
                "SELECT score, grade FROM canvas.submissions WHERE id = 501") == [(None, None)]


# -- 5. missing and reactivated ------------------------------------------------------------------


def test_objects_gone_from_a_full_sync_are_marked_missing_and_reactivated_when_back(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    full = tiny_institution()
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, full, "full"))
    gone = without(without(without(full, "enrollments", 404), "assignments", 302),
                   "submissions", 505)  # the assignment's only submission goes with it

    second = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, gone, "gone"))

    assert second.counts == {
        **unchanged(gone),
        "assignments": TableCounts(unchanged=4, missing=1),
        "enrollments": TableCounts(unchanged=7, missing=1),
    }
    missing = ("SELECT kind, id, missing_since_sync_id FROM lifecycle.objects "
               "WHERE status = 'missing' ORDER BY kind, id")
    assert rows(autocommit_conn, missing) == [("assignment", 302, 2), ("enrollment", 404, 2)]
    assert rows(autocommit_conn, "SELECT count(*) FROM lifecycle.objects WHERE status = 'missing' "
                    "AND missing_since IS NOT NULL")[0][0] == 2
    assert row_counts(autocommit_conn) == TINY_ROWS  # soft: every Canvas row is still there

    # an incremental sync of a partial bundle marks nothing missing
    partial = {"courses": [find(full, "courses", ALGEBRA)],
               "assignments": [find(full, "assignments", 301)],
               "enrollments": [find(full, "enrollments", 401)]}
    lifecycle_before = dump(autocommit_conn, ("lifecycle",))
    third = sync.sync_bundle(autocommit_conn,
                             bundle_dir(tmp_path, partial, "partial"), incremental=True)
    assert third.kind == "incremental"
    assert all(c.missing == 0 and c.reactivated == 0 for c in third.counts.values())
    assert dump(autocommit_conn, ("lifecycle",)) == lifecycle_before

    fourth = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, full, "back"))

    assert fourth.counts == {
        **unchanged(full),
        "assignments": TableCounts(unchanged=5, reactivated=1),
        "enrollments": TableCounts(unchanged=8, reactivated=1),
    }
    assert rows(autocommit_conn, missing) == []
    assert rows(autocommit_conn, "SELECT count(*) FROM lifecycle.objects WHERE status = 'active' "
                    "AND missing_since IS NULL")[0][0] == 27


# -- 6. undo -------------------------------------------------------------------------------------


def test_undo_returns_every_layer_to_exactly_what_it_was(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    full = tiny_institution()
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, full, "first"))
    sync.sync_bundle(autocommit_conn,
                     bundle_dir(tmp_path, without(full, "enrollments", 404), "second"))
    before = dump(autocommit_conn)
    # the sync to undo: grades change, an enrollment comes back, an assignment goes
    # missing, a user is renamed, a new student arrives with an enrollment and a submission
    data = without(without(changed_institution(), "assignments", 302), "submissions", 505)
    find(data, "users", 2)["name"] = "Benjamin Brown"
    data["users"].append({"id": 3, "name": "Dee Dale", "sortable_name": "Dale, Dee"})
    data["enrollments"].append({"id": 409, "user_id": 3, "course_id": BIOLOGY,
                                "course_section_id": 1021, "type": "StudentEnrollment",
                                "enrollment_state": "invited", "grades": {"current_score": None}})
    data["submissions"].append({"id": 508, "assignment_id": 304, "user_id": 3,
                                "workflow_state": "unsubmitted", "score": None})
    third = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "third"))
    assert third.counts == {
        **unchanged(data),
        "courses": TableCounts(unchanged=2, history=1),
        "users": TableCounts(inserted=1, updated=1, unchanged=4),
        "assignments": TableCounts(unchanged=4, missing=1),
        "enrollments": TableCounts(inserted=1, updated=2, unchanged=6, reactivated=1,
                                   history=2 + 2),  # grades; risk assessments
        "submissions": TableCounts(inserted=1, updated=4, unchanged=2, history=4),
    }
    assert dump(autocommit_conn) != before

    run = sync.undo(autocommit_conn)

    assert (run.sync_id, run.status) == (3, "undone") and run.undone_at is not None
    assert dump(autocommit_conn) == before
    assert [(r.sync_id, r.status) for r in sync.list_runs(autocommit_conn)] == [
        (3, "undone"), (2, "succeeded"), (1, "succeeded")]
    # and the undone changes can be synced again
    again = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "third"))
    assert again.counts == third.counts


def test_undo_of_a_first_sync_empties_layers_0_to_2(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution()))

    sync.undo(autocommit_conn, 1)

    assert row_counts(autocommit_conn) == EMPTY_ROWS
    assert sync.get_run(autocommit_conn, 1).status == "undone"
    with pytest.raises(NotFoundError):
        sync.undo(autocommit_conn)  # nothing left that succeeded


def test_undo_refuses_a_sync_whose_rows_a_later_sync_changed(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s1"))
    find(data, "submissions", 501)["score"] = 9.5
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s2"))
    find(data, "submissions", 501)["score"] = 8.0
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s3"))
    before = dump(autocommit_conn, ALL_SCHEMAS)

    with pytest.raises(SyncConflictError, match=r"cannot undo sync 2: sync 3 changed 1 of its "
                                                r"rows in canvas\.submissions"):
        sync.undo(autocommit_conn, 2)
    with pytest.raises(SyncConflictError, match="cannot undo sync 1: sync 2 changed"):
        sync.undo(autocommit_conn, 1)
    assert dump(autocommit_conn, ALL_SCHEMAS) == before

    sync.undo(autocommit_conn)  # the latest, sync 3
    sync.undo(autocommit_conn)  # then sync 2
    with pytest.raises(SyncConflictError,
                       match="sync 3 was undone already; only a sync that succeeded"):
        sync.undo(autocommit_conn, 3)

    assert rows(autocommit_conn,
                "SELECT score FROM canvas.submissions WHERE id = 501") == [(Decimal("9.0"),)]
    assert [(r.sync_id, r.status) for r in sync.list_runs(autocommit_conn)] == [
        (3, "undone"), (2, "undone"), (1, "succeeded")]


@pytest.mark.parametrize("relation", ["history.submission_scores", "history.risk_assessments"])
def test_undo_refuses_a_sync_whose_older_history_retention_archived_since(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path, relation: str
) -> None:
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s1"))
    find(data, "submissions", 501)["score"] = 9.5
    find(data, "enrollments", 401)["grades"]["current_score"] = 60.0  # Ana's risk rises
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s2"))
    autocommit_conn.commit()
    # every history row with a newer one in its series is due: 501's score of sync 1, or
    # Ana's risk in Algebra of sync 1
    maintenance.set_retention(autocommit_conn, relation, timedelta(milliseconds=1), actor="dba")
    autocommit_conn.commit()
    retention = maintenance.run_retention(autocommit_conn, actor="dba")
    assert retention.archived == {relation: 1}
    before = dump(autocommit_conn, ALL_SCHEMAS)

    with pytest.raises(SyncConflictError, match=rf"cannot undo sync 2: retention run\(s\) "
                                                rf"{retention.run_id} \(1 rows\) since archived"):
        sync.undo(autocommit_conn, 2)
    assert dump(autocommit_conn, ALL_SCHEMAS) == before
    # a retention run done before a sync started does not stand in the way of its undo
    find(data, "submissions", 502)["score"] = 6.0
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data, "s3"))
    assert sync.undo(autocommit_conn).status == "undone"


def test_undo_with_no_sync_is_not_found(autocommit_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(NotFoundError, match="no sync has succeeded yet"):
        sync.undo(autocommit_conn)
    with pytest.raises(NotFoundError, match="there is no sync 42"):
        sync.undo(autocommit_conn, 42)


# -- 7. dry run ----------------------------------------------------------------------------------


def test_a_dry_run_reports_the_real_counts_and_leaves_the_database_as_it_was(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    for step, data in enumerate([tiny_institution(), changed_institution()]):
        path = bundle_dir(tmp_path, data, f"step{step}")
        before = dump(autocommit_conn, ALL_SCHEMAS)

        dry = sync.sync_bundle(autocommit_conn, path, dry_run=True)

        assert dump(autocommit_conn, ALL_SCHEMAS) == before  # the journal included
        assert dry.dry_run and dry.sync_id is None
        real = sync.sync_bundle(autocommit_conn, path)
        assert dry.counts == real.counts
        assert dry.changed == real.changed > 0


# -- 8. bad bundles ------------------------------------------------------------------------------


def _lines(path: Path, kind: str, *lines: bytes) -> Path:
    (path / f"{kind}.ndjson").write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _edited(edit: Callable[[Bundle], Any]) -> Callable[[Path], Path]:
    """A case: the tiny institution with ``edit`` applied, written under the test's folder."""
    def build(tmp_path: Path) -> Path:
        data = tiny_institution()
        edit(data)
        return bundle_dir(tmp_path, data, "bad")
    return build


def _invalid_json_line(tmp_path: Path) -> Path:
    path = bundle_dir(tmp_path, tiny_institution(), "bad")
    good = (path / "submissions.ndjson").read_bytes().splitlines()
    return _lines(path, "submissions", good[0], good[1], b'{"id": 503, "assignment_id": 301,')


def _array_record(tmp_path: Path) -> Path:
    path = bundle_dir(tmp_path, tiny_institution(), "bad")
    good = (path / "users.ndjson").read_bytes().splitlines()
    return _lines(path, "users", good[0], b"[1, 2]", *good[2:])


def _empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


#: case -> (how to build the bundle, what the error says about it)
BAD_BUNDLES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "invalid JSON line": (
        _invalid_json_line, "submissions.ndjson record 3: not valid JSON"),
    "record that is an array": (
        _array_record, "users.ndjson record 2: expected a JSON object, got array"),
    "enrollment without user_id": (
        _edited(lambda d: find(d, "enrollments", 403).pop("user_id")),
        "enrollments.ndjson record 3 (id 403): user_id: missing"),
    "score that is not a number": (
        _edited(lambda d: find(d, "submissions", 502).update(score="abc")),
        'submissions.ndjson record 2 (id 502): score: expected a number, got "abc"'),
    "due_at yesterday": (
        _edited(lambda d: find(d, "assignments", 303).update(due_at="yesterday")),
        ('assignments.ndjson record 3 (id 303): due_at: expected an ISO 8601 timestamp with a '
         'zone, such as 2026-09-01T08:00:00Z, got "yesterday"')),
    "due_at without a zone": (
        _edited(lambda d: find(d, "assignments", 303).update(due_at="2026-09-20 06:00")),
        'assignments.ndjson record 3 (id 303): due_at: expected an ISO 8601 timestamp'),
    "excused yes": (
        _edited(lambda d: find(d, "submissions", 504).update(excused="yes")),
        'submissions.ndjson record 4 (id 504): excused: expected true or false, got "yes"'),
    "submission workflow_state bogus": (
        _edited(lambda d: find(d, "submissions", 504).update(workflow_state="bogus")),
        ("submissions.ndjson record 4 (id 504): workflow_state: expected one of deleted, "
         'graded, pending_review, submitted, unsubmitted, got "bogus"')),
    "enrollment type Bogus": (
        _edited(lambda d: find(d, "enrollments", 405).update(type="Bogus")),
        ("enrollments.ndjson record 5 (id 405): type: expected one of DesignerEnrollment, "
         "ObserverEnrollment, StudentEnrollment, StudentViewEnrollment, TaEnrollment, "
         'TeacherEnrollment, got "Bogus"')),
    "duplicate ids (one in shard form)": (
        _edited(lambda d: d["users"].append({"id": SHARD_USER, "name": "Cy again"})),
        "users.ndjson records 3, 6: id 10000000001001 occurs 2 times"),
    "submission of an unknown assignment": (
        _edited(lambda d: d["submissions"].append(
            {"id": 508, "assignment_id": 4999, "user_id": ANA, "workflow_state": "graded"})),
        ("submissions.ndjson record 8 (id 508): assignment_id 4999 is neither in this bundle "
         "nor in the database")),
    "enrollment of an unknown user": (
        _edited(lambda d: d["enrollments"].append(
            {"id": 409, "user_id": 777, "course_id": ALGEBRA, "type": "StudentEnrollment",
             "enrollment_state": "active"})),
        ("enrollments.ndjson record 9 (id 409): user_id 777 is neither in this bundle nor in "
         "the database")),
    "group of an unknown course": (
        _edited(lambda d: d["assignment_groups"].append({"id": 299, "name": "Orphans"})),
        "assignment_groups.ndjson record 4 (id 299): course_id: unknown"),
    "id over 2^63-1": (
        _edited(lambda d: d["submissions"].append(
            {"id": 2**63, "assignment_id": 301, "user_id": ANA, "workflow_state": "graded"})),
        "submissions.ndjson record 8 (id 9223372036854775808): id: expected a Canvas id"),
    "missing bundle directory": (
        lambda tmp_path: tmp_path / "nowhere", "nowhere does not exist"),
    "empty directory": (_empty_dir, "empty holds no Canvas bundle file"),
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES), ids=list(BAD_BUNDLES))
def test_a_bad_bundle_is_refused_naming_record_id_and_field_and_writes_nothing(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path, case: str
) -> None:
    build, expected = BAD_BUNDLES[case]
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "good"))
    before = dump(autocommit_conn, ALL_SCHEMAS)
    path = build(tmp_path)

    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, path)

    assert expected in str(caught.value)
    if "record" in expected:  # one bad record: one problem, naming it
        assert len(caught.value.problems) == 1 and expected in caught.value.problems[0]
    assert dump(autocommit_conn,
                ALL_SCHEMAS) == before  # tracker.sync_runs included: not even journaled


def test_several_errors_in_one_bundle_are_reported_together(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = tiny_institution()
    find(data, "assignments", 303)["due_at"] = "yesterday"
    find(data, "enrollments", 405)["type"] = "Bogus"
    find(data, "submissions", 502)["score"] = "abc"
    find(data, "submissions", 504)["workflow_state"] = "bogus"

    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data))

    assert [p.split(": expected")[0] for p in caught.value.problems] == [
        "assignments.ndjson record 3 (id 303): due_at",
        "enrollments.ndjson record 5 (id 405): type",
        "submissions.ndjson record 2 (id 502): score",
        "submissions.ndjson record 4 (id 504): workflow_state",
    ]
    assert row_counts(autocommit_conn) == EMPTY_ROWS


def test_missing_keys_in_several_files_are_reported_together(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = tiny_institution()
    del find(data, "enrollments", 403)["user_id"]
    del find(data, "submissions", 506)["assignment_id"]
    del find(data, "submissions", 507)["workflow_state"]

    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data))

    assert [p.split(": missing")[0] for p in caught.value.problems] == [
        "enrollments.ndjson record 3 (id 403): user_id",
        "submissions.ndjson record 6 (id 506): assignment_id",
        "submissions.ndjson record 7 (id 507): workflow_state",
    ]
    assert row_counts(autocommit_conn) == EMPTY_ROWS


def test_a_sync_of_named_courses_refuses_records_of_others_and_unknown_courses(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # The named courses are what the sync locks and journals: a record of another course
    # would be written outside the lock, and an id that is nowhere is a typing error.
    path = bundle_dir(tmp_path, tiny_institution())
    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, path, courses=[ALGEBRA])
    assert caught.value.problems == [
        (f"the bundle holds records of 1 course(s) not named ({BIOLOGY}): name them too, "
         "or name none to sync every course of the bundle")]
    with pytest.raises(InvalidDataError) as caught:
        sync.sync_bundle(autocommit_conn, path, courses=[ALGEBRA, BIOLOGY, 424242])
    assert caught.value.problems == [
        "course 424242 is named but is neither in the bundle nor stored: check the id"]
    assert row_counts(autocommit_conn) == EMPTY_ROWS and sync.list_runs(autocommit_conn) == []
    # Named exactly, the bundle syncs.
    assert sync.sync_bundle(autocommit_conn, path, courses=[BIOLOGY, ALGEBRA]).scope_course_ids == (
        ALGEBRA, BIOLOGY)


# -- 9. concurrency ------------------------------------------------------------------------------


def test_a_sync_of_a_course_another_sync_holds_fails_fast_with_a_conflict(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    path = bundle_dir(tmp_path, tiny_institution())
    with hold_course_lock(db_url, ALGEBRA):
        result = outcome(start_sync_process(db_url, path, name="tracker-second"))

    assert result["error"] == "SyncConflictError"
    assert "course 101 is being synced by another process" in result["message"]
    assert row_counts(autocommit_conn) == EMPTY_ROWS
    assert sync.list_runs(autocommit_conn) == []


def test_an_incremental_bundle_of_submissions_alone_takes_its_courses_lock(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, tiny_institution(), "first"))
    only_submissions = {"submissions": tiny_institution()["submissions"]}
    path = bundle_dir(tmp_path, only_submissions, "submissions")
    with hold_course_lock(db_url, ALGEBRA):
        with pytest.raises(SyncConflictError, match=f"course {ALGEBRA} is being synced"):
            sync.sync_bundle(autocommit_conn, path, incremental=True)
    assert sync.sync_bundle(autocommit_conn,
                            path, incremental=True).scope_course_ids == (ALGEBRA, BIOLOGY)


def test_a_waiting_sync_of_a_held_course_runs_once_the_holder_finishes(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    path = bundle_dir(tmp_path, tiny_institution())
    with hold_course_lock(db_url, ALGEBRA) as holder:
        proc = start_sync_process(db_url, path, name="tracker-waiter", wait=True)
        wait_until("the second sync to wait for the course lock",
                   lambda: backend_waiting_for_lock(autocommit_conn, "tracker-waiter"))
        assert proc.poll() is None
        assert row_counts(autocommit_conn) == EMPTY_ROWS
        holder.commit()  # the first sync finishes

        result = outcome(proc)

    assert result == {"sync_id": 1, "scope": [ALGEBRA, BIOLOGY]}
    assert row_counts(autocommit_conn) == TINY_ROWS


def test_syncs_of_different_courses_run_side_by_side(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    data = tiny_institution()
    algebra = bundle_dir(tmp_path, course_part(data, ALGEBRA), "algebra")
    biology = bundle_dir(tmp_path, course_part(data, BIOLOGY), "biology")

    with hold_course_lock(db_url, ALGEBRA):
        biology_result = outcome(start_sync_process(db_url, biology, name="tracker-biology"))
    with hold_course_lock(db_url, BIOLOGY):
        algebra_result = outcome(start_sync_process(db_url, algebra, name="tracker-algebra"))

    assert biology_result == {"sync_id": 1, "scope": [BIOLOGY]}
    assert algebra_result == {"sync_id": 2, "scope": [ALGEBRA]}
    assert row_counts(autocommit_conn) == TINY_ROWS

    # and truly at once, with no lock held: both succeed
    find(data, "submissions", 501)["score"] = 10.0
    find(data, "submissions", 506)["score"] = 91.0
    algebra = bundle_dir(tmp_path, course_part(data, ALGEBRA), "algebra2")
    biology = bundle_dir(tmp_path, course_part(data, BIOLOGY), "biology2")
    procs = [start_sync_process(db_url, algebra, name="tracker-algebra"),
             start_sync_process(db_url, biology, name="tracker-biology")]
    assert sorted(outcome(p)["scope"][0] for p in procs) == [ALGEBRA, BIOLOGY]
    assert rows(autocommit_conn, "SELECT id, score FROM canvas.submissions WHERE id IN (501, 506) "
                    "ORDER BY id") == [(501, Decimal("10.0")), (506, Decimal("91.0"))]


def test_a_shared_row_a_concurrent_sync_stored_first_counts_as_unchanged(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # Two syncs of different courses both stage Ana as new; the one that commits first
    # stores her, the other's INSERT … ON CONFLICT DO NOTHING keeps that row. Here a
    # trigger plays the first sync: the moment this sync writes its term, Ana's staged
    # row is stored, before this sync writes its users.
    autocommit_conn.execute("""
        CREATE FUNCTION pg_temp.store_ana_first() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO canvas.users SELECT (s.rec).* FROM pg_temp.stage_users AS s WHERE s.id = 1;
            RETURN NULL;
        END $$""")
    autocommit_conn.execute("CREATE TRIGGER store_ana_first AFTER INSERT ON canvas.terms "
               "FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.store_ana_first()")
    data = tiny_institution()

    result = sync.sync_bundle(autocommit_conn, bundle_dir(tmp_path, data))

    assert result.counts["users"] == TableCounts(inserted=len(data["users"]) - 1, unchanged=1)
    assert row_counts(autocommit_conn) == TINY_ROWS
    assert rows(autocommit_conn,
                "SELECT name FROM canvas.users WHERE id = %s", ANA) == [("Ana Alves",)]


# -- 10. a killed sync ---------------------------------------------------------------------------


def test_a_sync_killed_halfway_leaves_nothing_and_the_next_sync_succeeds(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    path = large_bundle(tmp_path / "big")  # 50,000 submissions
    # Halfway, deterministically: a reader's SHARE lock lets the sync stage everything and
    # write every table before submissions, and stops it at its first write to submissions.
    with psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE canvas.submissions IN SHARE MODE")
        proc = start_sync_process(db_url, path, name="tracker-killed")
        try:
            pid = wait_until("the sync to reach canvas.submissions", lambda: (
                backend_waiting_for_lock(autocommit_conn, "tracker-killed", locktype="relation",
                                         relation="canvas.submissions")))
            written = rows(autocommit_conn, "SELECT l.relation::regclass::text FROM pg_locks AS l "
                               "WHERE l.pid = %s AND l.granted AND l.mode = 'RowExclusiveLock' "
                               "AND l.relation = ANY(%s::regclass[]) ORDER BY 1", pid,
                           ["canvas.enrollments", "canvas.users", "tracker.sync_runs"])
            assert [r[0] for r in written] == [
                "canvas.enrollments", "canvas.users", "tracker.sync_runs"]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    # The server process notices its client is gone and rolls the transaction back.
    wait_until("the killed sync's server process to end", lambda: not rows(
        autocommit_conn, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", pid))

    assert proc.returncode == -signal.SIGKILL
    assert row_counts(autocommit_conn) == EMPTY_ROWS
    assert sync.list_runs(autocommit_conn) == []

    result = sync.sync_bundle(autocommit_conn, path)

    assert result.sync_id is not None
    assert result.counts["submissions"] == TableCounts(inserted=50_000, history=50_000)
    assert rows(autocommit_conn, "SELECT count(*) FROM canvas.submissions")[0][0] == 50_000


# -- 11. the live path ---------------------------------------------------------------------------

V1 = "/api/v1"
TOKEN = "7~LiveSyncTestToken"


def test_a_live_sync_ends_with_the_rows_of_the_same_bundle_synced_from_disk(
    autocommit_conn: psycopg.Connection[Any], other_db_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(canvas_api, "BACKOFF_BASE_SECONDS", 0.01)  # retry at once, not in 1 s
    monkeypatch.setattr(canvas_api, "LOW_WATER_PAUSE_CAP_SECONDS", 0.01)
    data = live_institution()
    throttled = f"{V1}/courses/{ALGEBRA}/students/submissions"

    with CanvasServer(TOKEN) as server:
        serve_institution(server, data)
        server.fail_once(throttled, "throttle")
        live = sync.sync_canvas(autocommit_conn,
                                server.base_url, TOKEN, course_ids=[ALGEBRA, BIOLOGY])
        statuses = [h.status for h in server.hits_for(throttled)]
        base_url = server.base_url

    assert statuses == [403, 200]  # throttled once, then retried
    assert (live.kind, live.source, live.scope_course_ids) == ("full", base_url, (ALGEBRA, BIOLOGY))
    # The same objects on disk, as the fetch writes them: each group with its endpoint's course.
    for group in data["assignment_groups"]:
        group["course_id"] = ALGEBRA if group["id"] in (201, 202) else BIOLOGY
    with psycopg.connect(other_db_url, autocommit=True) as disk_db:
        disk = sync.sync_bundle(disk_db, bundle_dir(tmp_path, data))
        assert live.counts == disk.counts
        assert dump(autocommit_conn, volatile=False) == dump(disk_db, volatile=False)
    assert row_counts(autocommit_conn) == TINY_ROWS
    assert TOKEN not in json.dumps(dump(autocommit_conn,
                                        ALL_SCHEMAS), default=str)  # not even in the journal


def test_an_incremental_live_sync_asks_since_the_watermark_and_lands_the_regrade(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = live_institution()
    clock = [datetime(2026, 11, 1, 12, tzinfo=UTC)]  # Canvas's, in its Date headers
    submissions = f"{V1}/courses/{ALGEBRA}/students/submissions"

    with CanvasServer(TOKEN, clock=lambda: clock[0]) as server:
        serve_institution(server, data)
        full = sync.sync_canvas(autocommit_conn, server.base_url, TOKEN,
                                course_ids=[ALGEBRA, BIOLOGY], fetch_dir=tmp_path / "fetch")
        regraded = next(s for s in server._lists[submissions].items if s["id"] == 501)
        regraded |= {"score": 6.0, "grade": "6", "entered_score": 6.0, "entered_grade": "6",
                     "graded_at": "2026-11-01T15:00:00Z"}
        clock[0] = datetime(2026, 11, 2, 12, tzinfo=UTC)
        server.hits.clear()
        nightly = sync.sync_canvas(autocommit_conn, server.base_url, TOKEN,
                                   course_ids=[ALGEBRA, BIOLOGY], incremental=True,
                                   fetch_dir=tmp_path / "fetch")
        asked = [h.query for h in server.hits_for(submissions)]
        marks = rows(autocommit_conn, "SELECT sync_id, course_id, canvas_time "
                     "FROM tracker.fetch_watermarks ORDER BY sync_id, course_id")
        # An undone run's watermark no longer counts: the next asks since the full sync's.
        sync.undo(autocommit_conn, nightly.sync_id)
        server.hits.clear()
        sync.sync_canvas(autocommit_conn, server.base_url, TOKEN, course_ids=[ALGEBRA],
                         incremental=True)
        asked_after_undo = [h.query for h in server.hits_for(submissions)]

    assert full.fetch is not None and full.fetch.incremental == 0
    assert nightly.kind == "incremental"
    assert nightly.fetch is not None and nightly.fetch.incremental == 2
    assert sorted(q.get("graded_since", q.get("submitted_since")) for q in asked) == [
        ["2026-11-01T11:00:00Z"], ["2026-11-01T11:00:00Z"]]  # the watermark less an hour
    assert nightly.counts["submissions"].updated == 1
    assert nightly.counts["submissions"].missing == 0  # a partial fetch marks nothing missing
    assert rows(autocommit_conn, "SELECT score FROM canvas.submissions WHERE id = 501") == [
        (Decimal("6.0"),)]
    assert marks == [
        (full.sync_id, ALGEBRA, datetime(2026, 11, 1, 12, tzinfo=UTC)),
        (full.sync_id, BIOLOGY, datetime(2026, 11, 1, 12, tzinfo=UTC)),
        (nightly.sync_id, ALGEBRA, datetime(2026, 11, 2, 12, tzinfo=UTC)),
        (nightly.sync_id, BIOLOGY, datetime(2026, 11, 2, 12, tzinfo=UTC))]
    assert [(r.kind, r.status) for r in sync.list_runs(autocommit_conn)][1:] == [
        ("incremental", "undone"), ("full", "succeeded")]
    assert not (tmp_path / "fetch").exists()  # the fetch is removed once synced

    assert asked_after_undo == asked


def test_grade_change_events_fetched_by_overlapping_live_syncs_are_stored_once(
    autocommit_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    data = live_institution()
    clock = [datetime(2026, 11, 1, 12, tzinfo=UTC)]

    def event(event_id: str, created_at: str) -> dict[str, Any]:
        return {"id": event_id, "created_at": created_at, "event_type": "grade_change",
                "grade_before": "8", "grade_after": "9", "excused_before": False,
                "excused_after": False, "graded_anonymously": False,
                "links": {"assignment": 301, "course": ALGEBRA, "student": ANA, "grader": -7}}

    log = f"{V1}/audit/grade_change/courses/{ALGEBRA}"
    # Saved 15 minutes before the first fetch: inside the next fetch's hour of overlap.
    early = event("ev-1", "2026-11-01T11:45:00Z")
    with CanvasServer(TOKEN, clock=lambda: clock[0]) as server:
        serve_institution(server, data)
        server.add_list(f"{V1}/audit/grade_change/courses/{BIOLOGY}", [], compound=True)
        server.add_list(log, [early], compound=True, since={"start_time": "created_at"})
        first = sync.sync_canvas(autocommit_conn, server.base_url, TOKEN,
                                 course_ids=[ALGEBRA, BIOLOGY], fetch_dir=tmp_path / "f")
        server.add_list(log, [event("ev-2", "2026-11-01T18:00:00Z"), early], compound=True,
                        since={"start_time": "created_at"})
        clock[0] = datetime(2026, 11, 2, 12, tzinfo=UTC)
        second = sync.sync_canvas(autocommit_conn, server.base_url, TOKEN,
                                  course_ids=[ALGEBRA, BIOLOGY], incremental=True,
                                  fetch_dir=tmp_path / "f")
        asked = server.hits_for(log)[-1].query

    assert asked["start_time"] == ["2026-11-01T11:00:00Z"]
    assert rows(autocommit_conn, "SELECT event_id, sync_id, grader_id FROM history.grade_changes "
                "ORDER BY event_id") == [("ev-1", first.sync_id, -7), ("ev-2", second.sync_id, -7)]
    assert second.counts["grade_changes"] == TableCounts(unchanged=1, history=1)


# -- 12. a failed run ----------------------------------------------------------------------------


def test_a_failed_sync_is_journaled_with_its_error_and_writes_nothing_else(
    autocommit_conn: psycopg.Connection[Any], db_url: str, tmp_path: Path
) -> None:
    path = bundle_dir(tmp_path, tiny_institution())
    # Fail deterministically: another session holds canvas.submissions, and this one
    # gives up waiting for a lock after 200 ms.
    with psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE canvas.submissions IN SHARE MODE")
        autocommit_conn.execute("SET lock_timeout = '200ms'")
        with pytest.raises(SyncError) as raised:
            sync.sync_bundle(autocommit_conn, path)
    autocommit_conn.execute("RESET lock_timeout")
    failure = raised.value
    assert isinstance(failure.__cause__, psycopg.errors.LockNotAvailable)
    assert failure.statement == "canvas.update_submissions"  # the first to write there
    assert re.fullmatch(r"sql/canvas/write\.sql:\d+(:\d+)?", failure.location or "")
    assert str(failure).startswith(
        f"the sync of courses {ALGEBRA}, {BIOLOGY} failed in canvas.update_submissions "
        f"({failure.location}): canceling statement due to lock timeout. Nothing of it was kept")

    [run] = sync.list_runs(autocommit_conn)
    assert (run.status, run.kind, run.source) == ("failed", "full", str(path.resolve()))
    assert run.scope_course_ids == sorted([ALGEBRA, BIOLOGY])
    assert run.error == "LockNotAvailable: canceling statement due to lock timeout"
    assert run.finished_at is not None and run.counts == {}
    assert row_counts(autocommit_conn) == EMPTY_ROWS
    assert rows(autocommit_conn, "SELECT count(*) FROM tracker.sync_changes")[0][0] == 0
    with pytest.raises(SyncConflictError,
                       match=r"failed \(it wrote nothing\); only a sync that succeeded"):
        sync.undo(autocommit_conn, run.sync_id)

    assert sync.sync_bundle(autocommit_conn,
                            path).sync_id == run.sync_id + 1  # the next one succeeds
    assert row_counts(autocommit_conn) == TINY_ROWS


def test_a_schools_courses_are_told_by_their_number_and_range() -> None:
    assert sync.courses_text([]) == "no course"
    assert sync.courses_text([42]) == "course 42"
    assert sync.courses_text([42, 43]) == "courses 42, 43"
    school = list(range(10_001, 20_001))
    assert sync.courses_text(school) == "10,000 courses, 10001 to 20000"
