"""A sync's work grows with the records it handles, not with the size of a course.

Large courses once made one lifecycle statement quadratic: the planner, with no
statistics of what the sync had just written, chose a nested loop over an unindexed
temporary table (issue 13). These tests run real syncs of a school of a few large
courses under ``sqlfiles.explaining()`` and bound, for every statement, the rows its
plan actually handled — counted by EXPLAIN (ANALYZE), never timed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tracker import analytics, sample, sync
from tracker.sqlfiles import Plan, explaining

#: 4 courses of 1,500 students: the shape that went quadratic, at a size the suite affords.
TALL = {"students": 6000, "courses": 4, "assignments_per_course": 2, "courses_per_student": 1}
#: Rows a statement may handle per record of the bundle. A sound plan handles each row a
#: few times (scans, joins, the rows it writes); the quadratic one handled thousands.
ROWS_PER_RECORD = 12


def rows_handled(node: dict[str, Any]) -> float:
    """The rows a plan node and those below it produced or threw away, over all loops."""
    loops = node.get("Actual Loops", 1)
    own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
           + node.get("Rows Removed by Join Filter", 0)
           + node.get("Rows Removed by Index Recheck", 0)) * loops
    return own + sum(rows_handled(child) for child in node.get("Plans", ()))


def heaviest(plans: list[Plan]) -> list[tuple[str, float]]:
    by_statement = [(p.name, rows_handled(p.plan["Plan"])) for p in plans]
    return sorted(by_statement, key=lambda item: -item[1])


@pytest.fixture(scope="module")
def tall_bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The school, and the same school with 1% of its scores regraded."""
    first, regraded = tmp_path_factory.mktemp("tall"), tmp_path_factory.mktemp("tall_r1")
    sample.generate(first, **TALL, edge_cases=False)
    sample.generate(regraded, **TALL, edge_cases=False, revision=1)
    return first, regraded


@pytest.fixture
def tall_bundle(tall_bundles: tuple[Path, Path]) -> Path:
    return tall_bundles[0]


def records(bundle: Path) -> int:
    return sum(sum(1 for _ in f.open()) for f in bundle.glob("*.ndjson"))


def over_bound(plans: list[Plan], bound: int) -> list[tuple[str, int]]:
    return [(name, int(rows)) for name, rows in heaviest(plans) if rows > bound]


def test_every_statement_of_syncs_and_an_undo_of_large_courses_is_linear(
        conn: psycopg.Connection[Any], tall_bundles: tuple[Path, Path]) -> None:
    first, regraded = tall_bundles
    bound = ROWS_PER_RECORD * records(first)
    steps = (("first sync", lambda: sync.sync_bundle(conn, first)),
             ("unchanged re-sync", lambda: sync.sync_bundle(conn, first)),
             ("1% re-sync", lambda: sync.sync_bundle(conn, regraded)),
             ("undo", lambda: sync.undo(conn)))
    for step, run in steps:
        with explaining() as plans:
            result = run()
        if step == "first sync":
            assert isinstance(result, sync.SyncReport)
            assert result.counts["submissions"].inserted == 12000
            assert {"lifecycle.find_missing", "lifecycle.find_returned"} <= {p.name for p in plans}
        if step == "1% re-sync":
            assert isinstance(result, sync.SyncReport)
            assert 0 < result.counts["submissions"].updated < 12000 / 10
        assert over_bound(plans, bound) == [], f"{step}: statements beyond {bound} rows handled"


def test_every_report_of_one_large_course_is_linear_in_that_course(
        conn: psycopg.Connection[Any], tall_bundle: Path) -> None:
    sync.sync_bundle(conn, tall_bundle)
    course_id = conn.execute("SELECT min(id) FROM canvas.courses").fetchone()[0]
    bound = ROWS_PER_RECORD * records(tall_bundle) // TALL["courses"]
    for name in analytics.REPORTS:
        with explaining() as plans:
            report = analytics.run_report(conn, name, course_id=course_id)
        assert [p.name for p in plans] == [f"reports.{name}"]
        if name == "at_risk_students":
            assert len(report.rows) > 100  # a large course: some of its 1,500 are at risk
        # predicted_final reads each submission of the course three times: its items twice
        # (canvas.final_projection states them NOT MATERIALIZED, so that one student's
        # projection reads that student's submissions only: migration 0023) and once for
        # the momentum and current score of canvas.student_factors_as_of.
        passes = 3 if name == "predicted_final" else 1
        assert over_bound(plans, passes * bound) == [], f"{name}: beyond {bound} rows handled"


def test_explaining_runs_each_statement_once_for_real(conn: psycopg.Connection[Any],
                                                      tall_bundle: Path) -> None:
    with explaining() as plans:
        report = sync.sync_bundle(conn, tall_bundle)
    assert plans, "no statement was explained"
    stored = conn.execute("SELECT count(*) FROM canvas.submissions").fetchone()
    assert stored == (report.counts["submissions"].inserted,) == (12000,)
    history = conn.execute(
        "SELECT count(*) FROM lifecycle.objects WHERE first_seen_sync_id = %s",
        [report.sync_id]).fetchone()
    assert history is not None and history[0] > 12000  # users, enrollments, courses, …
