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

from tracker import sample, sync
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
def tall_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tall")
    sample.generate(out, **TALL, edge_cases=False)
    return out


def records(bundle: Path) -> int:
    return sum(sum(1 for _ in f.open()) for f in bundle.glob("*.ndjson"))


def test_every_statement_of_a_first_sync_and_a_resync_of_large_courses_is_linear(
        conn: psycopg.Connection[Any], tall_bundle: Path) -> None:
    bound = ROWS_PER_RECORD * records(tall_bundle)
    for run in ("first sync", "unchanged re-sync"):
        with explaining() as plans:
            report = sync.sync_bundle(conn, tall_bundle)
        assert report.counts["submissions"].inserted == (12000 if run == "first sync" else 0)
        names = {p.name for p in plans}
        assert "lifecycle.find_missing" in names and "lifecycle.find_returned" in names
        over = [(name, int(rows)) for name, rows in heaviest(plans) if rows > bound]
        assert over == [], f"{run}: statements beyond {bound} rows handled"


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
