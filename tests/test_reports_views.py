"""The views for BI tools (schema reports, migration 0018_reports_views): each the SELECT
of a report of sql/reports without its filters and order, kept in step with its file
here — the same columns, and the same rows on the school of tests/school.py synced
three times (a teacher, the test student and an inactive student among its people).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql
from school import A5, ANA, BEN, C1, C2, CY, DEE, EVE, FAY, TESS, School

from tracker import analytics

#: Each view of schema reports and the report of sql/reports it is the SELECT of.
VIEWS = {
    "latest_risk": "latest_risk",
    "active_students": "active_students",
    "student_standing": "student_standing",
    "score_history": "score_history",
}
TIM = 20  # a teacher of Algebra


@pytest.fixture
def school(conn: psycopg.Connection[Any], synced_school: School, tmp_path) -> School:
    """The school synced three times: a teacher joins and Ben's A1 is regraded (7 → 9);
    then Ben misses A5."""
    s = synced_school
    s.user(TIM, "Tim Teacher", sortable="Teacher, Tim")
    s.enroll(1009, TIM, C1, type="TeacherEnrollment")
    s.find("submissions", 5007).update(score=9.0, grade="9.0")
    s.sync(conn, tmp_path)
    s.find("submissions", 5011)["missing"] = True
    s.sync(conn, tmp_path)
    conn.commit()
    return s


def view_rows(conn: psycopg.Connection[Any], view: str) -> tuple[tuple[str, ...], list[dict]]:
    with conn.cursor() as cur:
        cur.execute(pgsql.SQL("SELECT * FROM reports.{}").format(pgsql.Identifier(view)))
        columns = tuple(c.name for c in cur.description or ())
        return columns, [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def ordered(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=repr)


def test_the_reports_schema_holds_exactly_these_views(conn):
    found = conn.execute("SELECT c.relname, c.relkind FROM pg_class AS c "
                         "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = 'reports' ORDER BY 1").fetchall()
    assert found == [(view, "v") for view in sorted(VIEWS)]
    assert set(VIEWS.values()) <= set(analytics.REPORTS)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_view_gives_the_rows_of_its_report(conn, school, view):
    columns, rows = view_rows(conn, view)
    report = analytics.run_report(conn, VIEWS[view])
    assert columns == report.columns
    assert rows and ordered(rows) == ordered(list(report.rows))


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_no_view_shows_a_teacher_the_test_student_or_an_inactive_student(conn, school, view):
    _, rows = view_rows(conn, view)
    assert {r["user_id"] for r in rows} <= {ANA, BEN, CY, DEE, FAY}
    assert not {TIM, TESS, EVE} & {r["user_id"] for r in rows}


def test_a_filter_on_a_view_is_the_reports_filter(conn, school):
    for view, filters in (("student_standing", {"course_id": C1, "user_id": ANA}),
                          ("score_history", {"user_id": BEN, "assignment_id": A5}),
                          ("latest_risk", {"course_id": C2}),
                          ("active_students", {"course_id": C2})):
        where = pgsql.SQL(" AND ").join(
            pgsql.SQL("{} = {}").format(pgsql.Identifier(k), pgsql.Literal(v))
            for k, v in filters.items())
        found = conn.execute(pgsql.SQL("SELECT * FROM reports.{} WHERE {}").format(
            pgsql.Identifier(view), where)).fetchall()
        report = analytics.run_report(conn, VIEWS[view], **filters)
        assert found and sorted(found, key=repr) == sorted(
            (tuple(r.values()) for r in report.rows), key=repr), view


def test_student_standing_counts_missing_and_late_work_as_the_reports_do(conn, school):
    standing = {(r["user_id"], r["course_id"]): r
                for r in analytics.run_report(conn, "student_standing").rows}
    assert set(standing) == {(ANA, C1), (BEN, C1), (CY, C1), (DEE, C1), (FAY, C2)}
    ana = standing[(ANA, C1)]
    # A5 missing; A8 excused (never missing); A4 late.
    assert (ana["current_score"], ana["missing"], ana["late"], ana["risk_category"]) == (
        62, 1, 1, "high")
    assert ana["risk_reasons"][0] == "current score 62.0%"
    assert (standing[(BEN, C1)]["missing"], standing[(DEE, C1)]["missing"]) == (1, 0)
    assert standing[(DEE, C1)]["current_score"] is None
    missing = analytics.run_report(conn, "missing_work").rows
    for key, row in standing.items():
        assert row["missing"] == sum((m["user_id"], m["course_id"]) == key for m in missing)
    latest = {(r["user_id"], r["course_id"]): r for r in
              analytics.run_report(conn, "latest_risk").rows}
    assert {k: (r["risk_category"], r["risk_score"]) for k, r in standing.items()} == {
        k: (r["category"], r["risk_score"]) for k, r in latest.items()}


def test_active_students_lists_each_student_once_per_course_with_their_sections(conn, school):
    rows = analytics.run_report(conn, "active_students").rows
    assert [(r["course_id"], r["user_id"]) for r in rows] == [
        (C1, ANA), (C1, BEN), (C1, CY), (C1, DEE), (C2, FAY)]
    assert rows[0]["sections"] == ["Algebra (section)"]
    assert rows[0]["enrollment_ids"] == [1001]


def test_a_filter_on_score_history_reaches_the_index_beneath_its_window(conn, school):
    # The view's window is partitioned by the columns a tool filters on, so PostgreSQL
    # pushes the condition down to the scan of history.submission_scores: a student's
    # history costs what the student's rows cost, not the whole table's window.
    conn.execute("SET LOCAL enable_seqscan = off")
    plan = [r[0] for r in conn.execute(
        f"EXPLAIN SELECT * FROM reports.score_history WHERE user_id = {BEN} AND course_id = {C1}")]
    scan = next(i for i, line in enumerate(plan) if "on submission_scores ss" in line)
    assert "Index Scan" in plan[scan], "\n".join(plan)
    assert any("WindowAgg" in line for line in plan[:scan]), "\n".join(plan)  # beneath it
    # Both conditions at the scan: in its index condition, or one of them (the planner's
    # choice of index on a school this small) as the scan's filter.
    conditions = " ".join(plan[scan + 1:scan + 3])
    assert f"user_id = {BEN}" in conditions and f"course_id = {C1}" in conditions, "\n".join(plan)
