"""What changed since the last sync: sql/reports/risk_changes.sql (whose risk category
rose or fell between two syncs' assessments, and what moved it), run by psql and by
Python, its Markdown digest, and ``tracker report risk_changes``, on the school of
tests/school.py synced three times.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from school import ANA, BEN, C1, School
from test_reports import psql, python_text

from tracker import analytics, digests
from tracker.cli import main
from tracker.errors import InvalidArgumentError, InvalidQueryError

GUS, HAL = 18, 19


@pytest.fixture
def three_syncs(conn: psycopg.Connection[Any], synced_school: School, tmp_path) -> School:
    """Sync 1: the school. Sync 2: Ben's current score falls to 40 (low → medium); Gus
    (new, a name holding markup, current score 30: medium) and Hal (new, 95: low) join
    Algebra; the test student's score falls too. Sync 3: Ben misses A5 and was late on A4
    (medium → high); Ana recovers (95, nothing missing or late: high → low)."""
    s = synced_school
    s.find("enrollments", 1002)["grades"]["current_score"] = 40.0
    s.find("enrollments", 1006)["grades"]["current_score"] = 0.0
    s.user(GUS, "Gus <script>alert(1)</script>", sortable="Grey, Gus")
    s.enroll(1007, GUS, C1, current=30.0)
    s.user(HAL, "Hal Hill", sortable="Hill, Hal")
    s.enroll(1008, HAL, C1, current=95.0)
    s.sync(conn, tmp_path)
    s.find("submissions", 5011)["missing"] = True
    s.find("submissions", 5010)["late"] = True
    s.find("enrollments", 1001)["grades"]["current_score"] = 95.0
    s.find("submissions", 5005)["missing"] = False
    s.find("submissions", 5004)["late"] = False
    s.sync(conn, tmp_path)
    conn.commit()
    return s


def changes(conn: psycopg.Connection[Any], **filters: Any) -> list[tuple[Any, ...]]:
    return [(r["user_id"], r["change"], r["newly_high"], r["category_before"], r["category"])
            for r in analytics.run_report(conn, "risk_changes", **filters).rows]


def test_the_last_sync_is_compared_with_the_one_before_it(conn, three_syncs):
    rows = analytics.run_report(conn, "risk_changes").rows
    assert [(r["user_id"], r["change"], r["newly_high"], r["category_before"], r["category"],
             r["since_sync_id"], r["sync_id"]) for r in rows] == [
        (BEN, "rose", True, "medium", "high", 2, 3),  # newly at high risk: first
        (ANA, "fell", False, "high", "low", 2, 3),
    ]
    ben, ana = rows
    # 0.35 (score) + 0.25 × 0.5 (1 of 5 due missing) + 0.1 × 0.5 (1 of 4 late)
    assert (ben["risk_score_before"], ben["risk_score"]) == (Decimal("0.35"), Decimal("0.525"))
    assert ben["factors_moved"] == ["share missing 0 → 0.2 (risk 0 → 0.5)",
                                    "share late 0 → 0.25 (risk 0 → 0.5)"]
    assert ana["factors_moved"] == ["current score 62 → 95 (risk 0.7 → 0)",
                                    "share missing 0.2 → 0 (risk 0.5 → 0)",
                                    "share late 0.25 → 0 (risk 0.5 → 0)"]
    assert ana["reasons"] == ["declining 10.0 points a week"]
    assert analytics.run_report(conn, "risk_changes").findings


def test_since_sync_compares_the_latest_with_an_older_sync(conn, three_syncs):
    # Since the first sync: Ben rose two steps; Gus is new at medium risk (Hal, new at
    # low risk, and the test student are not listed; Cy and Dee did not move).
    assert changes(conn, since_sync_id=1) == [
        (BEN, "rose", True, "low", "high"),
        (GUS, "new", False, None, "medium"),
        (ANA, "fell", False, "high", "low"),
    ]
    assert changes(conn, since_sync_id=1, course_id=C1) == changes(conn, since_sync_id=1)
    assert changes(conn, since_sync_id=1, course_id=2) == []


def test_a_rise_below_high_is_listed_but_is_no_finding(conn, synced_school, tmp_path):
    synced_school.find("enrollments", 1002)["grades"]["current_score"] = 40.0
    synced_school.sync(conn, tmp_path)
    report = analytics.run_report(conn, "risk_changes")
    assert changes(conn) == [(BEN, "rose", False, "low", "medium")]
    assert report.rows[0]["factors_moved"] == ["current score 75 → 40 (risk 0.38 → 1)"]
    assert not report.findings


def test_an_unchanged_resync_lists_nobody(conn, synced_school, tmp_path):
    synced_school.sync(conn, tmp_path)
    assert changes(conn) == []
    assert "No student's risk category moved" in digests.risk_changes_markdown(
        analytics.run_report(conn, "risk_changes"))


def test_a_sync_to_compare_with_must_be_an_older_succeeded_one(conn, three_syncs):
    with pytest.raises(InvalidArgumentError, match="since_sync_id 99: no sync has this id"):
        analytics.run_report(conn, "risk_changes", since_sync_id=99)
    with pytest.raises(InvalidArgumentError, match="since_sync_id 3: it is the latest"):
        analytics.run_report(conn, "risk_changes", since_sync_id=3)
    with pytest.raises(InvalidQueryError, match="takes no since_sync_id"):
        analytics.run_report(conn, "latest_risk", since_sync_id=1)


def test_psql_and_python_give_the_same_changes(conn, db_url, three_syncs):
    for filters in ({"course_id": None, "since_sync_id": None},
                    {"course_id": C1, "since_sync_id": 1},
                    {"course_id": None, "since_sync_id": 2}):
        by_psql = psql(db_url, "risk_changes", **filters)
        assert by_psql and by_psql == python_text(conn, "risk_changes", **filters), filters


def test_the_markdown_digest_reads_as_a_message_and_escapes_names(conn, three_syncs):
    md = digests.risk_changes_markdown(analytics.run_report(conn, "risk_changes",
                                                            since_sync_id=1))
    lines = md.splitlines()
    assert lines[0] == "# Risk changes: sync 1 → sync 3"
    assert lines[2] == "3 students' risk moved; 1 newly at high or critical risk."
    assert [line for line in lines if line.startswith("## ")] == [
        "## Newly at high or critical risk (1)", "## Risk rose (1)", "## Risk fell (1)"]
    ben = lines.index("- **Ben Brown** (S12), Algebra: low → **high** (risk 0.13 → 0.53)")
    assert lines[ben + 1:ben + 3] == [
        ("  - moved: current score 75 → 40 (risk 0.38 → 1); share missing 0 → 0.2 (risk 0 → 0.5); "
         "share late 0 → 0.25 (risk 0 → 0.5)"),
        "  - reasons: current score 40.0%; 1 of 5 due assignments missing; 1 of 4 submissions late"]
    assert "<script>" not in md
    assert ("- **Gus \\<script\\>alert(1)\\</script\\>**, Algebra: not assessed → **medium** "
            "(risk – → 0.35)") in lines
    assert digests.markdown_text("a*b_c [x](y) `z` <i>&amp;") == (
        "a\\*b\\_c \\[x\\](y) \\`z\\` \\<i\\>\\&amp;")


def tracker_cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), prog_name="tracker")


def test_the_command_exits_1_when_someone_newly_reached_high_risk(conn, db_url, three_syncs,
                                                                   monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    found = tracker_cli("report", "risk_changes", "--format", "json")
    assert found.exit_code == 1, found.output
    assert [r["user_id"] for r in json.loads(found.output)] == [BEN, ANA]
    md = tracker_cli("report", "risk_changes", "--since-sync", "1", "--format", "md")
    assert md.exit_code == 1 and md.output.startswith("# Risk changes: sync 1 → sync 3\n")
    # Since sync 2, in course 2: nobody moved.
    quiet = tracker_cli("report", "risk_changes", "--course", "2", "--format", "csv")
    assert quiet.exit_code == 0 and quiet.output.startswith("user_id,student,")
    table = tracker_cli("report", "risk_changes", "--since-sync", "2")
    assert table.exit_code == 1 and "risk changes" in table.output and "Ana" in table.output


def test_the_command_refuses_bad_input_with_exit_2(conn, db_url, three_syncs, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    for args in (("--since-sync", "99"), ("--since-sync", "3"), ("--since-sync", "x"),
                 ("--student", "11")):
        done = tracker_cli("report", "risk_changes", *args)
        assert done.exit_code == 2, (args, done.output)
    assert "since_sync_id 99: no sync has this id" in tracker_cli(
        "report", "risk_changes", "--since-sync", "99").output
    assert tracker_cli("report", "latest_risk", "--since-sync", "1").exit_code == 2
    wrong = tracker_cli("report", "latest_risk", "--format", "md")
    assert wrong.exit_code == 2 and "no md digest" in wrong.output
