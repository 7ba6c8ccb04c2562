"""The score history of submissions (history.submission_scores made readable): the report
sql/reports/score_history.sql, run by psql and by Python, and queries.score_history's
keyset pages over the view reports.score_history, on the school of tests/school.py
synced three times.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from school import A1, A5, ANA, BEN, C1, C2, CY, DEE, FAY, School
from test_reports import psql, python_text

from tracker import analytics, queries, sync
from tracker.errors import InvalidQueryError

TESS_A1, EVE_A1, BEN_A1, BEN_A5 = 5109, 5108, 5007, 5011


@pytest.fixture
def three_syncs(conn: psycopg.Connection[Any], synced_school: School, tmp_path) -> list[int]:
    """The school synced again twice: the second sync regrades Ben's A1 (7 → 9) and the
    test student's and Eve's (inactive) A1; the third grades Ben's missing-free A5 (late,
    6 points). Returns the three syncs' ids, oldest first."""
    s = synced_school
    for sid, score in ((BEN_A1, 9.0), (TESS_A1, 4.0), (EVE_A1, 3.0)):
        s.find("submissions", sid).update(score=score, grade=str(score))
    s.sync(conn, tmp_path)
    s.find("submissions", BEN_A5).update(score=6.0, grade="6.0", workflow_state="graded",
                                         late=True, submitted_at="2024-10-01T08:00:00Z",
                                         graded_at="2024-10-02T08:00:00Z")
    s.sync(conn, tmp_path)
    conn.commit()
    return [r.sync_id for r in reversed(sync.list_runs(conn))]


def steps(conn: psycopg.Connection[Any], **filters: Any) -> list[tuple[Any, ...]]:
    rows = analytics.run_report(conn, "score_history", **filters).rows
    return [(r["submission_id"], r["sync_id"], r["score"], r["previous_score"],
             r["workflow_state"], r["late"], r["changes"]) for r in rows]


def test_each_change_of_a_submission_is_a_step_with_the_sync_that_saw_it(conn, three_syncs):
    first, second, third = three_syncs
    assert steps(conn, user_id=BEN, assignment_id=A1) == [
        (BEN_A1, first, 7, None, "graded", False, ["first seen"]),
        (BEN_A1, second, 9, 7, "graded", False, ["score 7 → 9", "grade 7.0 → 9.0"]),
    ]
    assert steps(conn, user_id=BEN, assignment_id=A5) == [
        (BEN_A5, first, None, None, "unsubmitted", False, ["first seen"]),
        (BEN_A5, third, 6, None, "graded", True,
         ["score – → 6", "grade – → 6.0", "state unsubmitted → graded", "late"]),
    ]
    (row,) = [r for r in analytics.run_report(conn, "score_history", assignment_id=A5).rows
              if r["sync_id"] == third]
    run = sync.list_runs(conn)[0]
    assert (row["student"], row["course"], row["assignment"], row["synced_at"]) == (
        "Ben Brown", "Algebra", "Assignment 105", run.finished_at)


def test_the_test_student_and_inactive_students_never_appear(conn, three_syncs):
    everyone = analytics.run_report(conn, "score_history").rows
    assert {r["user_id"] for r in everyone} == {ANA, BEN, CY, DEE, FAY}
    assert not {TESS_A1, EVE_A1} & {r["submission_id"] for r in everyone}
    # One first step per submission of an active student, and Ben's two changes.
    firsts = [r for r in everyone if r["changes"] == ["first seen"]]
    assert len(firsts) == len({r["submission_id"] for r in everyone})
    assert len(everyone) - len(firsts) == 2
    assert {r["course_id"] for r in everyone} == {C1, C2}


def test_psql_and_python_give_the_same_steps(conn, db_url, three_syncs):
    for filters in ({"user_id": None, "course_id": None, "assignment_id": None},
                    {"user_id": BEN, "course_id": C1, "assignment_id": None},
                    {"user_id": None, "course_id": None, "assignment_id": A5},
                    {"user_id": BEN, "course_id": C1, "assignment_id": A1}):
        by_psql = psql(db_url, "score_history", **filters)
        assert by_psql and by_psql == python_text(conn, "score_history", **filters), filters


def test_the_builder_pages_through_the_same_steps_as_the_report(conn, three_syncs):
    report = {r["history_id"]: r for r in analytics.run_report(conn, "score_history").rows}
    seen: list[queries.ScoreStep] = []
    cursor = None
    while True:
        page = queries.score_history(conn, limit=7, cursor=cursor)
        seen += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [s.history_id for s in seen] == sorted(report)  # oldest first, by row in a sync
    assert {s.history_id: s.__dict__ for s in seen} == report


def test_the_builder_filters_and_sorts_newest_first(conn, three_syncs):
    first, second, third = three_syncs
    page = queries.score_history(conn, user_id=BEN, descending=True, limit=2)
    assert [(s.submission_id, s.sync_id) for s in page.rows] == [(BEN_A5, third),
                                                                 (BEN_A1, second)]
    rest = queries.score_history(conn, user_id=BEN, descending=True, limit=100,
                                 cursor=page.next_cursor)
    assert rest.next_cursor is None and {s.sync_id for s in rest.rows} == {first}
    seen_by_third = queries.score_history(conn, sync_id=third)
    # a filter on the sync keeps each step's comparison with the step before it
    assert [(s.submission_id, s.previous_score, s.changes[0]) for s in seen_by_third.rows] == [
        (BEN_A5, None, "score – → 6")]
    assert queries.score_history(conn, course_id=[], user_id=BEN).rows == ()
    assert len(queries.score_history(conn, course_id=[C2]).rows) == 6  # Fay's six
    bound = queries.score_history_query(user_id=[BEN, CY], sync_id=second, descending=True)
    assert bound.params == {"p1": [BEN, CY], "p2": second}
    assert '"sh"."user_id" = ANY(%(p1)s::bigint[])' in bound.sql


def test_the_builder_refuses_what_it_does_not_know(conn):
    with pytest.raises(InvalidQueryError, match="unknown filter 'student'"):
        queries.score_history_query(student=BEN)
    with pytest.raises(InvalidQueryError, match="sort"):
        queries.score_history_query(sort="score")
    with pytest.raises(InvalidQueryError, match="cursor"):
        queries.score_history(conn, cursor="not-a-cursor")


def test_an_undone_sync_takes_its_steps_with_it(conn, three_syncs):
    sync.undo(conn, three_syncs[-1])
    conn.commit()
    assert [s[1] for s in steps(conn, user_id=BEN, assignment_id=A5)] == [three_syncs[0]]
