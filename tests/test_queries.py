"""tracker.queries: PyPika builders whose values are always bound, on a real PostgreSQL.

First PyPika's traps, each shown and then shown avoided; then each builder on small
hand-built data with known answers; keyset pagination; a property-based test throwing
hostile strings at every text filter (results must equal a plain Python filter over the
same rows, and nothing else may run); and EXPLAIN showing index use on the large tables.
"""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pypika import PostgreSQLQuery, Table
from pypika.terms import Criterion, PyformatParameter
from school import (  # tests/ is on sys.path (rootdir conftest, no package)
    A1,
    A2,
    A4,
    A5,
    A8,
    ANA,
    BEN,
    C1,
    C2,
    CY,
    DEE,
    EVE,
    FAY,
    School,
    at,
)

from tracker import queries, sample, sync
from tracker.errors import InvalidQueryError
from tracker.queries import enrollment_pages, submission_pages

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)


def ids(rows: Any, attr: str = "submission_id") -> list[int]:
    return [getattr(r, attr) for r in rows]


# -- PyPika's traps ------------------------------------------------------------------------------


def test_values_reach_the_server_as_parameters_never_as_text():
    hostile = "x'; DROP TABLE canvas.users; --"
    q = queries.enrollments_query(course_id=C1, role=hostile, search=hostile)
    assert hostile not in q.sql and "DROP" not in q.sql
    assert hostile in q.params.values()
    assert "%(p1)s::bigint" in q.sql


def test_the_text_does_not_depend_on_the_values():
    one = queries.grades_query(user_id=1, state="graded", due_after=date(2024, 1, 1))
    other = queries.grades_query(user_id=2, state="'; --", due_after=date(1999, 12, 31))
    assert one.sql == other.sql
    assert one.params != other.params


def test_each_call_numbers_its_parameters_afresh():
    first = queries.grades_query(user_id=ANA, course_id=C1)
    second = queries.grades_query(user_id=ANA, course_id=C1)
    assert first.sql == second.sql
    assert list(first.params) == list(second.params) == ["p1", "p2"]


def test_the_text_is_built_once_per_shape_and_is_the_same_as_a_fresh_build():
    first = queries.grades_query(user_id=[1, 2], missing=True, sort="score")
    queries.RENDERED.clear()
    fresh = queries.grades_query(user_id=[3], missing=False, sort="score")
    assert first.sql == fresh.sql
    assert queries.grades_query(user_id=3, missing=False, sort="score").sql != fresh.sql
    assert queries.grades_query(missing=False, user_id=[3], sort="score").sql != fresh.sql


def test_a_shared_pypika_parameter_object_would_keep_counting():
    # The trap the fresh binder avoids: PyPika's own parameter keeps its count.
    t = Table("t")
    query = PostgreSQLQuery.from_(t).select(t.a).where(t.b == 1)
    shared = PyformatParameter()
    assert "%(param1)s" in query.get_sql(parameter=shared)
    assert "%(param2)s" in query.get_sql(parameter=shared)


def test_dates_and_none_are_never_rendered_as_text():
    t = Table("t")
    # PyPika's own parameters turn a date into its ISO text, and None into the text
    # null pasted into the SQL ("n" = null, which is never true):
    shared = PyformatParameter()
    text = PostgreSQLQuery.from_(t).select(t.a).where(t.d == date(2024, 3, 1)).where(
        t.n == None).get_sql(parameter=shared)
    assert shared.get_parameters() == {"param1": "2024-03-01"}
    assert text.endswith('"n"=null')

    moment = datetime(2024, 3, 1, 12, tzinfo=UTC)
    q = queries.grades_query(due_after=moment, due_before=date(2024, 4, 1), course_id=None)
    assert "2024" not in q.sql and not re.search(r"\bnull\b", q.sql, re.IGNORECASE)
    assert list(q.params.values())[:2] == [moment, date(2024, 4, 1)]  # Python objects
    assert q.sql == queries.grades_query(due_after=moment, due_before=date(2024, 4, 1)).sql


def test_pypika_isin_of_nothing_is_invalid_sql_and_the_builders_never_render_it(conn, synced_school):
    t = Table("users", schema="canvas")
    broken = str(PostgreSQLQuery.from_(t).select(t.id).where(t.id.isin([])))
    assert broken.endswith("IN ()")
    with pytest.raises(psycopg.errors.SyntaxError), conn.transaction():
        conn.execute(broken)

    q = queries.enrollments_query(state=[], course_id=[])
    assert "IN ()" not in q.sql
    assert "= ANY(%(p1)s::text[])" in q.sql and "= ANY(%(p2)s::bigint[])" in q.sql
    assert queries.fetch_page(conn, q).rows == ()
    assert queries.grades(conn, user_id=[], limit=10).rows == ()
    assert queries.curriculum_students(conn, []) == queries.Page(rows=(), next_cursor=None)


def test_criterion_all_of_nothing_drops_the_where_and_the_builders_never_lean_on_it(conn, synced_school):
    t = Table("t")
    unfiltered = PostgreSQLQuery.from_(t).select(t.a).where(Criterion.all([]))
    assert str(unfiltered) == 'SELECT "a" FROM "t"'
    # With no filter at all a builder still keeps its own conditions (active students only).
    everyone = queries.grades(conn, limit=1000).rows
    assert " WHERE " in queries.grades_query().sql
    assert {r.user_id for r in everyone} == {ANA, BEN, CY, DEE, FAY}


def test_any_attribute_becomes_a_column_so_names_come_only_from_allow_lists():
    t = Table("submissions")
    assert str(PostgreSQLQuery.from_(t).select(t.no_such_column)) == \
        'SELECT "no_such_column" FROM "submissions"'
    with pytest.raises(InvalidQueryError, match="unknown filter 'no_such_column'"):
        queries.grades_query(no_such_column=1)
    with pytest.raises(InvalidQueryError, match="unknown sort key"):
        queries.grades_query(sort="score; DROP TABLE x")
    with pytest.raises(InvalidQueryError, match="unknown sort key"):
        queries.enrollments_query(sort="raw")
    with pytest.raises(InvalidQueryError, match="assignment_id"):
        queries.grades_query(assignment_id=1)  # a submissions filter, not a grades one


def test_every_allowed_filter_and_sort_key_runs_on_the_server(conn, synced_school):
    moment = at("2024-09-10")
    samples = {"ids": 1, "texts": ["graded"], "flag": True, "after": moment, "before": moment,
               "search": "a"}
    tables = {
        queries.grades_query: (submission_pages.FILTERS, queries.GRADE_FILTERS,
                               queries.GRADE_SORTS),
        queries.submissions_query: (submission_pages.FILTERS, queries.SUBMISSION_FILTERS,
                                    queries.SUBMISSION_SORTS),
        queries.enrollments_query: (enrollment_pages.FILTERS, queries.ENROLLMENT_FILTERS,
                                    queries.ENROLLMENT_SORTS),
    }
    for builder, (specs, allowed, sorts) in tables.items():
        for name in allowed:
            q = builder(**{name: samples[specs[name].kind]})
            queries.fetch_all(conn, q)
        for key in sorts:
            for descending in (False, True):
                queries.fetch_all(conn, builder(sort=key, descending=descending))


@pytest.mark.parametrize(("filters", "message"), [
    ({"user_id": "1"}, "expected a Canvas id"),
    ({"user_id": True}, "expected a Canvas id"),
    ({"user_id": [1, "2; --"]}, "expected a Canvas id"),
    ({"user_id": 2**63}, "expected a Canvas id"),
    ({"missing": "true"}, "expected True or False"),
    ({"due_after": "2024-01-01"}, "expected a date or an aware datetime"),
    ({"due_after": datetime(2024, 1, 1)}, "give a time zone"),
    ({"state": 3}, "expected text"),
    ({"state": "graded\x00"}, "NUL"),
    ({"limit": 0}, "limit"),
    ({"limit": 10_000}, "limit"),
    ({"descending": "yes"}, "descending"),
])
def test_values_of_the_wrong_type_are_refused_before_anything_runs(filters, message):
    with pytest.raises(InvalidQueryError, match=message):
        queries.grades_query(**filters)


def test_an_invalid_query_error_is_bad_input_for_the_command_line():
    assert InvalidQueryError.exit_code == 2
    assert issubclass(InvalidQueryError, ValueError)


# -- the builders, on known data -----------------------------------------------------------------


def test_grades_of_a_student_filtered_by_state_and_flags(conn, synced_school):
    every = queries.grades(conn, user_id=ANA, limit=100).rows
    # Ana: A1..A6 in course 1 plus the not-graded A7 and the excused A8, by due date.
    assert ids(every, "assignment_id") == [A1, A2, 103, A8, A4, 107, A5, 106]
    assert ids(queries.grades(conn, user_id=ANA, missing=True).rows, "assignment_id") == [A5]
    assert ids(queries.grades(conn, user_id=ANA, late=True).rows, "assignment_id") == [A4]
    assert ids(queries.grades(conn, user_id=ANA, excused=True).rows, "assignment_id") == [A8]
    graded = queries.grades(conn, user_id=ANA, state="graded", excused=False).rows
    assert [(r.assignment_id, r.score, r.percent) for r in graded] == [
        (A1, Decimal(9), Decimal("90.00")), (A2, Decimal(8), Decimal("80.00")),
        (103, Decimal(7), Decimal("70.00")), (A4, Decimal(6), Decimal("60.00"))]
    assert ids(queries.grades(conn, user_id=[ANA, BEN], state=["submitted", "unsubmitted"],
                              sort="assignment").rows, "user_id") == [ANA, BEN, ANA, BEN, ANA]


def test_grades_in_a_date_range_and_an_assignment_group(conn, synced_school):
    window = queries.grades(conn, user_id=ANA, due_after=at("2024-09-09"),
                            due_before=at("2024-09-23")).rows
    assert ids(window, "assignment_id") == [A2, 103, A8]  # 09-09 inclusive, 09-23 exclusive
    fay = queries.grades(conn, user_id=FAY, assignment_group_id=21).rows
    assert [r.assignment_group for r in fay] == ["Tests", "Tests"]


def test_grades_leave_out_the_test_student_and_inactive_enrollments(conn, synced_school):
    assert queries.grades(conn, user_id=[15, 16]).rows == ()  # Eve (inactive), the test student


def test_submissions_of_an_assignment_by_student_name(conn, synced_school):
    found = queries.submissions(conn, assignment_id=A1).rows
    assert [(r.student, r.score) for r in found] == [
        ("Ana Alves", Decimal(9)), ("Ben Brown", Decimal(7)), ("Cy Cross", Decimal(5)),
        ("Dee Diaz", Decimal(8))]
    late_ones = queries.submissions(conn, course_id=C1, late=True).rows
    assert ids(late_ones, "user_id") == [ANA]
    assert queries.submissions(conn, course_id=C2, state="graded", sort="score",
                               descending=True).rows[0].score == Decimal(70)


def test_enrollments_of_a_course_by_state_role_and_search(conn, synced_school):
    roster = queries.enrollments(conn, course_id=C1).rows
    # The test student is never listed; Eve's inactive enrollment is (state is a filter).
    assert [r.user_id for r in roster] == [ANA, BEN, CY, DEE, 15]
    active = queries.enrollments(conn, course_id=C1, state="active", sort="current_score",
                                 descending=True).rows
    assert [(r.user_id, r.current_score) for r in active] == [
        (DEE, None), (CY, Decimal("95.0")), (BEN, Decimal("75.0")), (ANA, Decimal("62.0"))]
    assert [r.user_id for r in queries.enrollments(conn, search="ALVES").rows] == [ANA]
    assert [r.user_id for r in queries.enrollments(conn, search="cross, c").rows] == [CY]
    assert [r.user_id for r in queries.enrollments(conn, search=f"S{BEN}").rows] == [BEN]
    assert queries.enrollments(conn, search="S1").rows == ()  # an SIS id matches whole
    assert queries.enrollments(conn, role="TeacherEnrollment").rows == ()


def test_search_treats_like_wildcards_as_themselves(conn, tmp_path):
    s = School()
    s.course(C1, "Algebra")
    for uid, name in ((1, "100% Sure"), (2, "Under_Score"), (3, "Back\\Slash"), (4, "Plain Name")):
        s.user(uid, name)
        s.enroll(uid * 10, uid, C1)
    s.sync(conn, tmp_path)
    for term, expected in (("%", [1]), ("_", [2]), ("\\", [3]), ("r_s", [2]), ("0%", [1]),
                           ("", [1, 4, 3, 2])):
        found = queries.enrollments(conn, search=term).rows
        assert sorted(r.user_id for r in found) == sorted(expected), term


def test_recent_activity_merges_submissions_and_grade_changes(conn, synced_school, tmp_path):
    found = queries.recent_activity(conn, since=at("2024-09-23"), until=at("2024-09-26"),
                                    course_id=C1)
    # A4 (due 09-23, handed in the evening before) was graded at 09-24 00:00 for Ana,
    # Ben and Cy; Ana handed in the not-graded A7 at the same moment. Newest first, then
    # by kind, then the newest row first.
    assert [(r.kind, r.user_id, r.assignment_id) for r in found] == [
        ("graded", CY, A4), ("graded", BEN, A4), ("graded", ANA, A4), ("submitted", ANA, 107)]
    assert queries.recent_activity(conn, since=at("2024-09-23"), until=at("2024-09-26"),
                                   user_id=ANA, kinds=["graded"])[0].assignment_id == A4

    synced_school.find("enrollments", 1002)["grades"]["current_score"] = 70.5
    synced_school.sync(conn, tmp_path)
    changes = queries.recent_activity(conn, since=date(2024, 1, 1), kinds=("grade_change",))
    assert [(r.user_id, r.previous_score, r.score) for r in changes] == [
        (BEN, Decimal("75.0"), Decimal("70.5"))]


def test_recent_activity_refuses_unknown_or_no_kinds():
    with pytest.raises(InvalidQueryError, match="unknown kind"):
        queries.recent_activity_query(since=date(2024, 1, 1), kinds=["deleted"])
    with pytest.raises(InvalidQueryError, match="non-empty"):
        queries.recent_activity_query(since=date(2024, 1, 1), kinds=[])
    with pytest.raises(InvalidQueryError, match="since"):
        queries.recent_activity_query(since="yesterday")  # type: ignore[arg-type]


def test_a_students_dashboard_in_one_query(conn, synced_school):
    (algebra,) = queries.dashboard(conn, ANA)
    assert (algebra.course_id, algebra.current_score, algebra.missing, algebra.late,
            algebra.graded) == (C1, Decimal("62.0"), 1, 1, 5)  # A1..A4 and the excused A8
    assert algebra.last_activity_at == at("2024-09-28T12:00")
    assert queries.dashboard(conn, 16) == []  # the test student has no dashboard
    assert ";" not in queries.dashboard_query(ANA).sql  # one statement


def tag_curricula(conn: psycopg.Connection[Any]) -> None:
    """web_dev holds Algebra (C1); data_science Algebra and Biology (C2); art nothing."""
    conn.execute("""
        INSERT INTO userdata.curricula (name, created_by)
        VALUES ('web_dev', 't'), ('data_science', 't'), ('art', 't')""")
    conn.execute("""
        INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by)
        SELECT id, course_id, 't'
        FROM userdata.curricula
        CROSS JOIN (VALUES (1), (2)) AS c (course_id)
        WHERE (name = 'web_dev' AND course_id = 1)
           OR (name = 'data_science' AND course_id IN (1, 2))""")


def test_students_of_curricula(conn, synced_school):
    tag_curricula(conn)
    found = queries.curriculum_students(conn, ["web_dev", "data_science"]).rows
    assert [(s.user_id, s.curricula, s.course_ids) for s in found] == [
        (ANA, ["data_science", "web_dev"], [C1]), (BEN, ["data_science", "web_dev"], [C1]),
        (CY, ["data_science", "web_dev"], [C1]), (DEE, ["data_science", "web_dev"], [C1]),
        (FAY, ["data_science"], [C2])]
    assert [s.user_id for s in queries.curriculum_students(conn, ("web_dev",)).rows] == [
        ANA, BEN, CY, DEE]
    paged = all_pages(conn, queries.curriculum_students, curricula=["web_dev", "data_science"],
                      limit=2)
    assert paged == list(found)
    assert queries.curriculum_students(conn, ["art"]).rows == ()
    with pytest.raises(InvalidQueryError, match="list of curriculum names"):
        queries.curriculum_students_query("web_dev")  # type: ignore[arg-type]


def test_students_of_every_curriculum_and_of_inactive_enrollments(conn, synced_school):
    tag_curricula(conn)
    both = ["web_dev", "data_science"]

    def students(curricula: list[str], **options: Any) -> list[int]:
        return ids(all_pages(conn, queries.curriculum_students, curricula=curricula, limit=2,
                             **options), "user_id")

    # Fay is in Biology only, of data_science alone; Eve's enrollment in Algebra is inactive.
    assert students(both, match="all") == [ANA, BEN, CY, DEE]
    assert students(both, include_inactive=True) == [ANA, BEN, CY, DEE, EVE, FAY]
    assert students(both, match="all", include_inactive=True) == [ANA, BEN, CY, DEE, EVE]
    assert students(["web_dev", "web_dev"], match="all") == [ANA, BEN, CY, DEE]  # named twice
    with pytest.raises(InvalidQueryError, match="match: 'any' or 'all'"):
        queries.curriculum_students_query(both, match="most")
    with pytest.raises(InvalidQueryError, match="include_inactive: expected True or False"):
        queries.curriculum_students_query(both, include_inactive="yes")  # type: ignore[arg-type]


def test_grades_as_of_a_date_come_from_layer_2(conn, synced_school):
    conn.execute("""
        INSERT INTO history.enrollment_grades
            (enrollment_id, course_id, user_id, sync_id, recorded_at, current_score, current_grade)
        VALUES (1001, 1, 11, 1, '2024-02-20T10:00:00Z', 88, 'B+'),
               (1001, 1, 11, 1, '2024-03-01T23:00:00Z', 84, 'B'),
               (1001, 1, 11, 1, '2024-03-02T08:00:00Z', 79, 'C+')""")
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    on_march_1 = queries.grades_as_of(conn, ANA, date(2024, 3, 1))  # the end of that day
    assert [(g.course_id, g.current_score, g.current_grade) for g in on_march_1] == [
        (C1, Decimal(84), "B")]
    at_noon = queries.grades_as_of(conn, ANA, at("2024-03-01T12:00"))
    assert [g.current_score for g in at_noon] == [Decimal(88)]
    assert queries.grades_as_of(conn, ANA, date(2024, 1, 1)) == []
    assert queries.grades_as_of(conn, ANA, date(2024, 3, 1), course_id=C2) == []


# -- keyset pagination ---------------------------------------------------------------------------


def all_pages(conn: psycopg.Connection[Any], fetch: Any, **options: Any) -> list[Any]:
    rows, cursor = [], None
    for _ in range(100):
        page = fetch(conn, cursor=cursor, **options)
        rows += page.rows
        cursor = page.next_cursor
        if cursor is None:
            return rows
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", queries.GRADE_SORTS)
def test_pages_of_grades_add_up_to_the_whole_list_nulls_included(conn, synced_school, sort, descending):
    whole = queries.grades(conn, course_id=C1, sort=sort, descending=descending, limit=1000)
    assert whole.next_cursor is None
    paged = all_pages(conn, queries.grades, course_id=C1, sort=sort, descending=descending,
                      limit=3)
    assert ids(paged) == ids(whole.rows)
    assert len(set(ids(paged))) == len(paged) == 25


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", queries.ENROLLMENT_SORTS)
def test_pages_of_enrollments_add_up_to_the_whole_list(conn, synced_school, sort, descending):
    whole = queries.enrollments(conn, sort=sort, descending=descending, limit=1000).rows
    paged = all_pages(conn, queries.enrollments, sort=sort, descending=descending, limit=2)
    assert ids(paged, "enrollment_id") == ids(whole, "enrollment_id")


@pytest.mark.parametrize("cursor", [
    "not base64 at all!", "", "W10", "eyJhIjoxfQ", "x" * 5000,
    # a cursor of another sort, and one whose value is not a timestamp
    "WzEsInNjb3JlIixmYWxzZSwiOSIsNTAwMV0",
    "WzEsImR1ZV9hdCIsZmFsc2UsIic7IERST1AgVEFCTEUgeDsgLS0iLDVd",
])
def test_a_cursor_this_query_did_not_make_is_refused(cursor):
    with pytest.raises(InvalidQueryError, match="cursor"):
        queries.grades_query(sort="due_at", cursor=cursor)


def test_a_cursor_is_opaque_but_carries_the_sort(conn, synced_school):
    page = queries.grades(conn, course_id=C1, sort="score", limit=2)
    assert page.next_cursor is not None and "score" not in page.next_cursor
    with pytest.raises(InvalidQueryError, match="cursor"):
        queries.grades(conn, course_id=C1, sort="due_at", cursor=page.next_cursor)
    with pytest.raises(InvalidQueryError, match="cursor"):
        queries.grades(conn, course_id=C1, sort="score", descending=True,
                       cursor=page.next_cursor)


# -- hostile strings are data --------------------------------------------------------------------

#: Characters and fragments that break naive SQL, LIKE patterns, psql or psycopg. Letters
#: are ASCII only: case-insensitive search folds case by the server's locale, and the
#: reference filter below folds with Python's; both agree on ASCII. Other scripts come
#: as characters without case.
ALPHABET = (string.ascii_letters + string.digits + string.punctuation + " \t\n"
            + "\u00a0\u200d\u200f\u2028世界عالم🌍✨\u0301")
FRAGMENTS = ["'", "''", '"', ";", "--", "/*", "*/", "\\", "\\'", "%", "_", "%s", "%(p1)s",
             "$1", "$$", ":name", ":'course_id'", "'; DROP TABLE canvas.users; --",
             "' OR '1'='1", "\\x00", "NULL", "null", "active", "graded", "StudentEnrollment"]
HOSTILE_NAMES = ["O'Brien; DROP TABLE canvas.users; --", "100% _Sure_ \\ Back",
                 '"Quoted" /* comment */ Name', "世界 🌍 ünïcödé", "Robert'); --"]
HOSTILE_ROLES = ["Grader'; DELETE FROM canvas.enrollments; --", "Teacher \\ %_ Aide",
                 "Ассистент 🌍", "$$ :'x' %(p1)s"]
HOSTILE_CURRICULA = ["web_dev", "data'science", "50% off_road", "--comment", "世界"]

text = st.one_of(st.text(alphabet=ALPHABET, max_size=12), st.sampled_from(FRAGMENTS),
                 st.sampled_from(HOSTILE_NAMES + HOSTILE_ROLES + HOSTILE_CURRICULA))
texts = st.one_of(text, st.lists(text, max_size=4))


def substrings(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).flatmap(
        lambda v: st.tuples(st.integers(0, len(v)), st.integers(0, len(v))).map(
            lambda ij: v[min(ij):max(ij)]))


@pytest.fixture
def hostile(conn, tmp_path) -> dict[str, Any]:
    """A school whose names, roles and curricula are hostile strings."""
    s = School()
    s.course(C1, "Algebra")
    s.course(C2, "Biology")
    s.group(10, C1)
    s.assignment(A1, C1, 10, due=at("2024-09-02"))
    for n, name in enumerate(HOSTILE_NAMES, start=1):
        upper = name.upper() if name.isascii() else name
        s.user(n, name, sortable=f"{upper}, x", sis=name)
        for course, role in ((C1, HOSTILE_ROLES[n % len(HOSTILE_ROLES)]), (C2, None)):
            s.enroll(n * 10 + course, n, course, role=role, state="active" if n % 2 else "invited")
        s.submit(100 + n, n, A1, score=float(n) if n % 2 else None)
    s.sync(conn, tmp_path)
    for n, name in enumerate(HOSTILE_CURRICULA):
        (cid,) = conn.execute("INSERT INTO userdata.curricula (name, created_by) VALUES (%s, 't') "
                              "RETURNING id", [name]).fetchone()
        if n % 2 == 0:
            conn.execute("INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, "
                         "added_by) VALUES (%s, %s, 't')", [cid, C1 if n else C2])
    tagged = {name: ({C1} if n else {C2}) if n % 2 == 0 else set()
              for n, name in enumerate(HOSTILE_CURRICULA)}
    return {"tagged": tagged}


def table_sizes(conn: psycopg.Connection[Any]) -> tuple[int, ...]:
    row = conn.execute("""
        SELECT (SELECT count(*) FROM canvas.users), (SELECT count(*) FROM canvas.enrollments),
               (SELECT count(*) FROM canvas.submissions), (SELECT count(*) FROM userdata.curricula),
               (SELECT count(*) FROM userdata.audit_log)""").fetchone()
    return tuple(row)


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def benign(value: Any) -> Any:
    return ["x"] * len(value) if isinstance(value, list) else "x"


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_strings_in_every_text_filter_are_only_data(conn, hostile, data):
    before = table_sizes(conn)
    every_enrollment = queries.enrollments(conn, limit=1000).rows
    every_grade = queries.grades(conn, limit=1000).rows
    names = [e.name for e in every_enrollment] + [e.sortable_name or "" for e in every_enrollment]
    target = data.draw(st.sampled_from(["state", "type", "role", "search", "grade_state",
                                        "submission_state", "curricula"]))
    if target == "search":
        value = data.draw(st.one_of(text, substrings(names)))
        q = queries.enrollments_query(search=value, limit=1000)
        found = queries.fetch_page(conn, q).rows
        term = value.lower()
        expected = [e for e in every_enrollment
                    if term in e.name.lower() or term in (e.sortable_name or "").lower()
                    or e.sis_user_id == value]
        assert q.sql == queries.enrollments_query(search="x", limit=1000).sql
    elif target in ("state", "type", "role"):
        real = sorted({getattr(e, "enrollment_state" if target == "state" else target) or ""
                       for e in every_enrollment})
        value = data.draw(st.one_of(texts, st.lists(st.sampled_from(real), max_size=2)))
        q = queries.enrollments_query(limit=1000, **{target: value})
        found = queries.fetch_page(conn, q).rows
        column = "enrollment_state" if target == "state" else target
        expected = [e for e in every_enrollment if getattr(e, column) in as_list(value)]
        assert q.sql == queries.enrollments_query(limit=1000, **{target: benign(value)}).sql
    elif target in ("grade_state", "submission_state"):
        value = data.draw(st.one_of(texts, st.lists(st.sampled_from(
            ["graded", "unsubmitted", "submitted"]), max_size=2)))
        builder = queries.grades_query if target == "grade_state" else queries.submissions_query
        q = builder(state=value, limit=1000, sort="due_at")
        found = queries.fetch_page(conn, q).rows
        expected = [g for g in sorted(every_grade, key=lambda g: g.submission_id)
                    if g.workflow_state in as_list(value)]
        found = tuple(sorted(found, key=lambda g: g.submission_id))
        assert q.sql == builder(state=benign(value), limit=1000, sort="due_at").sql
    else:
        value = data.draw(st.lists(st.one_of(text, st.sampled_from(HOSTILE_CURRICULA)),
                                   max_size=4))
        q = queries.curriculum_students_query(value, limit=1000)
        found = tuple(s.user_id for s in queries.fetch_all(conn, q))
        courses = set().union(*(hostile["tagged"].get(v, set()) for v in value))
        expected = sorted({e.user_id for e in every_enrollment
                           if e.course_id in courses and e.enrollment_state == "active"})
        found = tuple(sorted(found))
        assert q.sql == queries.curriculum_students_query(benign(value), limit=1000).sql
    event(f"{target}: {'some rows' if expected else 'no rows'}")
    assert list(found) == list(expected)
    assert table_sizes(conn) == before  # nothing else ran
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


TYPED_FILTERS = [
    *((queries.grades_query, name) for name in ("user_id", "course_id", "assignment_group_id",
                                                 "due_after", "due_before", "late", "missing",
                                                 "excused")),
    *((queries.submissions_query, name) for name in ("assignment_id", "course_id", "user_id",
                                                      "late", "missing", "excused")),
    *((queries.enrollments_query, name) for name in ("course_id", "user_id", "section_id")),
    *((lambda **kw: queries.recent_activity_query(**{"since": date(2024, 1, 1), **kw}), name)
      for name in ("since", "until", "user_id", "course_id")),
    *((lambda **kw: queries.grades_as_of_query(**{"user_id": 1, "as_of": date(2024, 1, 1),
                                                  **kw}), name)
      for name in ("user_id", "as_of", "course_id")),
    (lambda **kw: queries.dashboard_query(**kw), "user_id"),
]


@settings(max_examples=200, deadline=None)
@given(target=st.sampled_from(TYPED_FILTERS),
       value=st.one_of(text, st.lists(text, min_size=1, max_size=3)))
def test_hostile_strings_in_typed_filters_are_refused_before_anything_runs(target, value):
    builder, name = target
    with pytest.raises(InvalidQueryError):
        builder(**{name: value})


# -- index use -----------------------------------------------------------------------------------

LARGE_TABLES = {"submissions", "enrollments", "enrollment_grades", "submission_scores"}


def scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, relation) of every scan of a large table in an EXPLAIN (FORMAT JSON) plan."""
    found = []
    if plan.get("Relation Name") in LARGE_TABLES:
        found.append((plan["Node Type"], plan["Relation Name"]))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def test_selective_builder_queries_use_indexes_on_the_large_tables(conn, tmp_path):
    synced_school = sample.generate(tmp_path / "sample", students=480, courses=24,
                             assignments_per_course=15, courses_per_student=2)
    sync.sync_bundle(conn, synced_school.directory)
    conn.execute("ANALYZE")
    user_id, course_id, assignment_id = conn.execute("""
        SELECT s.user_id, s.course_id, s.assignment_id
        FROM canvas.submissions AS s
        JOIN canvas.enrollments AS e ON e.user_id = s.user_id AND e.course_id = s.course_id
        WHERE e.enrollment_state = 'active' AND e.type = 'StudentEnrollment'
        ORDER BY s.id LIMIT 1""").fetchone()
    conn.execute("INSERT INTO userdata.curricula (name, created_by) VALUES ('web_dev', 't')")
    conn.execute("INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by) "
                 "SELECT id, %s, 't' FROM userdata.curricula", [course_id])
    since = datetime(2026, 10, 1, tzinfo=UTC)
    selective = {
        "grades of a student": queries.grades_query(user_id=user_id),
        "grades of a student in a course": queries.grades_query(user_id=user_id,
                                                                course_id=course_id,
                                                                missing=False),
        "submissions of an assignment": queries.submissions_query(assignment_id=assignment_id),
        "submissions of a course": queries.submissions_query(course_id=course_id,
                                                             state="graded"),
        "enrollments of a course": queries.enrollments_query(course_id=course_id),
        "enrollments of a user": queries.enrollments_query(user_id=user_id),
        "activity of a student": queries.recent_activity_query(since=since, user_id=user_id),
        "activity in a course": queries.recent_activity_query(since=since, course_id=course_id),
        "dashboard": queries.dashboard_query(user_id),
        "grades as of": queries.grades_as_of_query(user_id, date(2027, 1, 1)),
        "students of curricula": queries.curriculum_students_query(["web_dev"]),
    }
    for what, q in selective.items():
        (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + q.sql, q.params).fetchone()[0]
        found = scans(plan["Plan"])
        assert found, what
        assert all(node != "Seq Scan" for node, _ in found), (what, found)
        queries.fetch_all(conn, q)  # and it runs


def test_explain_sees_bound_parameters_not_text(conn, synced_school):
    q = queries.grades_query(user_id=ANA, state="'; --")
    (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + q.sql, q.params).fetchone()[0]
    assert "DROP" not in json.dumps(plan)
    assert queries.grades(conn, user_id=ANA, state="'; --").rows == ()


def test_timezone_free_dates_work_as_parameters(conn, synced_school):
    conn.execute("SET LOCAL TimeZone = 'UTC'")  # a date starts at midnight in the session's zone
    found = queries.grades(conn, user_id=ANA, due_after=date(2024, 9, 20),
                           due_before=date(2024, 9, 24)).rows
    assert ids(found, "assignment_id") == [A8, A4]
    assert ids(queries.grades(conn, user_id=ANA, due_after=at("2024-09-30") - timedelta(seconds=1),
                              due_before=at("2024-10-01")).rows, "assignment_id") == [A5]
