"""The SQL file loader: tokenizing, parameters, errors that point at file:line, the trees.

Every statement runs on a real PostgreSQL (the ``conn`` fixture); the last tests
check that each statement of the project's own ``sql/`` tree prepares against the
migrated schema.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg.rows import dict_row

import tracker
from tracker.errors import NotFoundError, SqlFileError
from tracker.sqlfiles import Statement, load_dir, load_file, sql


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented, first newline dropped) to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).removeprefix("\n"), encoding="utf-8")
    return path


def one(tmp_path: Path, text: str) -> Statement:
    """The only statement of a file holding ``text``."""
    (stmt,) = load_file(write(tmp_path / "q.sql", text)).values()
    return stmt


# ------------------------------------------------------------------ the file format


def test_header_doc_and_allow_lines_are_read_and_the_sql_starts_at_its_own_line(tmp_path):
    path = write(tmp_path / "users.sql", """
        -- Statements about users (the file's header, ignored).

        -- name: user_count
        -- How many rows a table has.
        --
        -- Second paragraph.
        -- allow table_name: pg_catalog.pg_am, pg_catalog.pg_namespace
        SELECT count(*)
        FROM :"table_name";

        -- name: echo
        SELECT :'x'::text AS x
    """)
    statements = load_file(path)
    assert list(statements) == ["user_count", "echo"]
    count, echo = statements.values()
    assert count.doc == "How many rows a table has.\n\nSecond paragraph."
    assert (count.path, count.line, count.column) == (path, 8, 1)
    assert count.sql == 'SELECT count(*)\nFROM :"table_name"'
    assert count.params == ()
    assert dict(count.identifiers) == {
        "table_name": ("pg_catalog.pg_am", "pg_catalog.pg_namespace")
    }
    assert (echo.doc, echo.line, echo.sql) == ("", 12, "SELECT :'x'::text AS x")
    assert echo.query == "SELECT %(x)s::text AS x"


def test_values_become_bound_parameters_and_literals_stay_as_written(tmp_path, conn):
    stmt = one(tmp_path, """
        -- name: answer
        SELECT :'a'::int + 1 AS answer,
               'literal :''b''' AS quoted,
               $$ :'c' $$ AS dollar
    """)
    assert stmt.params == ("a",)
    assert stmt.query.startswith("SELECT %(a)s::int + 1 AS answer,")
    assert stmt(conn, a=41).fetchone() == (42, "literal :'b'", " :'c' ")
    # A value is never pasted into the text: a quote in it is just a character.
    text = one(tmp_path, "-- name: echo\nSELECT :'v'::text")
    assert text(conn, v="x'); DROP TABLE y; --").fetchone() == ("x'); DROP TABLE y; --",)


def test_a_parameter_used_twice_is_one_parameter(tmp_path, conn):
    stmt = one(tmp_path, "-- name: twice\nSELECT :'n'::int * :'m'::int + :'n'::int")
    assert stmt.params == ("n", "m")
    assert stmt.numbered() == "SELECT $1::int * $2::int + $1::int"
    assert stmt(conn, n=3, m=5).fetchone() == (18,)


def test_percent_signs_are_doubled_for_psycopg_and_reach_the_server_single(tmp_path, conn):
    with_params = one(tmp_path, """
        -- name: percent
        SELECT 'abc' LIKE 'a%' AS starts, 7 % 2 AS odd, :'x'::text LIKE '%b%' AS has_b
    """)
    assert "'a%%'" in with_params.query and "7 %% 2" in with_params.query
    assert "'a%'" in with_params.numbered()
    assert with_params(conn, x="abc").fetchone() == (True, 1, True)
    without_params = one(tmp_path, "-- name: modulo\nSELECT 5 % 3, '100%' -- 50% of all\n")
    assert without_params(conn).fetchone() == (2, "100%")


def test_strings_comments_dollar_bodies_and_quoted_identifiers_hold_no_parameters(
    tmp_path, conn
):
    stmt = one(tmp_path, r"""
        -- name: tricky
        SELECT 'x :''a'' :"b" :c' AS s,            -- comment :'d' :"e" :f
               E'it\'s :''g''' AS e,
               E'\'' || :'real' || E'\'' AS wrapped,
               t."col :'h'" AS quoted,
               /* outer /* nested :'i' */ still :j */ 1 AS n,
               $fn$ :'k'; :"l" $fn$ AS tagged,
               $$:'m';$$ AS plain
        FROM (SELECT 1 AS "col :'h'") AS t
    """)
    assert stmt.params == ("real",)
    assert stmt.identifiers == {}
    assert stmt(conn, real="x").fetchone() == (
        """x :'a' :"b" :c""", "it's :'g'", "'x'", 1, 1, """ :'k'; :"l" """, ":'m';"
    )


def test_casts_slices_and_quoted_identifiers_with_colons_are_not_parameters(tmp_path, conn):
    stmt = one(tmp_path, """
        -- name: casts
        SELECT :'x'::bigint * 2 AS doubled,
               (ARRAY[10, 20, 30])[2:3] AS slice,
               (ARRAY[10, 20, 30])[:1] AS head,
               5::text AS five,
               1 AS "a:'b'",
               2 AS ":c"
    """)
    assert stmt.params == ("x",)
    cur = stmt(conn, x=42)
    assert cur.fetchone() == (84, [20, 30], [10], "5", 1, 2)
    assert [c.name for c in cur.description] == ["doubled", "slice", "head", "five", "a:'b'", ":c"]


def test_positional_dollar_is_not_a_dollar_quote(tmp_path):
    stmt = one(tmp_path, "-- name: positional\nSELECT $1::int, :'x'::int, $2 -- :'y'\n")
    assert stmt.params == ("x",)


def test_a_dollar_quoted_function_body_with_semicolons_is_one_statement(tmp_path, conn):
    statements = load_file(write(tmp_path / "functions.sql", """
        -- name: create_twice
        CREATE FUNCTION pg_temp.twice(n int) RETURNS int LANGUAGE plpgsql AS $body$
        BEGIN
            -- :'not_a_parameter'; nor is :"this"
            RETURN n * 2;
        END;
        $body$;

        -- name: call_twice
        SELECT pg_temp.twice(:'n'::int)
    """))
    assert statements["create_twice"].params == ()
    assert statements["create_twice"].sql.endswith("$body$")
    statements["create_twice"](conn)
    assert statements["call_twice"](conn, n=21).fetchone() == (42,)


def test_row_factory_shapes_the_rows(tmp_path, conn):
    stmt = one(tmp_path, "-- name: pair\nSELECT :'a'::int AS a, 'b' AS b")
    assert stmt(conn, row_factory=dict_row, a=1).fetchall() == [{"a": 1, "b": "b"}]


def test_numbered_text_prepares_on_the_server(tmp_path, conn):
    stmt = one(tmp_path, "-- name: add\nSELECT :'a'::int + :'b'::int AS total -- 100%\n")
    assert stmt.numbered() == "SELECT $1::int + $2::int AS total"
    conn.execute(f"PREPARE add_two AS {stmt.numbered()}")  # type: ignore[arg-type]
    assert conn.execute("EXECUTE add_two(40, 2)").fetchone() == (42,)


def test_copy_statements_stream_rows_in_and_out(tmp_path, conn):
    statements = load_file(write(tmp_path / "copy.sql", """
        -- name: create_temp_scores
        CREATE TEMP TABLE scores (id int, label text);

        -- name: copy_scores_in
        COPY scores (id, label) FROM STDIN;

        -- name: copy_scores_out
        COPY (SELECT id, label || ' 100%' FROM scores ORDER BY id) TO STDOUT;
    """))
    statements["create_temp_scores"](conn)
    with statements["copy_scores_in"].copy(conn) as copy:
        copy.write_row((2, "b"))
        copy.write_row((1, "a"))
    with statements["copy_scores_out"].copy(conn) as copy:
        rows = list(copy.rows())
    assert rows == [("1", "a 100%"), ("2", "b 100%")]


# ------------------------------------------------------------- identifier parameters

ALLOWED = """
    -- name: count_rows
    -- allow table_name: pg_catalog.pg_am, pg_namespace
    SELECT count(*) > 0
    FROM :"table_name"
    WHERE :'minimum'::int >= 0
"""


def test_an_allowed_identifier_is_rendered_quoted_and_schema_qualified(tmp_path, conn):
    stmt = one(tmp_path, ALLOWED)
    assert stmt.params == ("minimum",)
    assert stmt.query == 'SELECT count(*) > 0\nFROM :"table_name"\nWHERE %(minimum)s::int >= 0'
    assert stmt.numbered(table_name="pg_catalog.pg_am") == (
        'SELECT count(*) > 0\nFROM "pg_catalog"."pg_am"\nWHERE $1::int >= 0'
    )
    assert stmt(conn, table_name="pg_catalog.pg_am", minimum=0).fetchone() == (True,)
    assert stmt(conn, table_name="pg_namespace", minimum=0).fetchone() == (True,)


@pytest.mark.parametrize("hostile", ["users; DROP TABLE x", "pg_class", "PG_AM", 42])
def test_an_identifier_outside_the_allow_list_is_refused(tmp_path, conn, hostile):
    stmt = one(tmp_path, ALLOWED)
    with pytest.raises(SqlFileError) as raised:
        stmt(conn, table_name=hostile, minimum=0)
    assert str(raised.value) == (
        f"{stmt.path}:3: statement 'count_rows': {hostile!r} is not an allowed value of "
        ':"table_name" (allowed: pg_catalog.pg_am, pg_namespace)'
    )
    with pytest.raises(SqlFileError, match="is not an allowed value"):
        stmt.numbered(table_name=hostile)


def test_numbered_needs_the_identifiers(tmp_path):
    stmt = one(tmp_path, ALLOWED)
    with pytest.raises(SqlFileError) as raised:
        stmt.numbered()
    assert str(raised.value) == (
        f"{stmt.path}:3: statement 'count_rows': missing parameter 'table_name' "
        "(it takes: table_name)"
    )


# ---------------------------------------------------------------------- load errors


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("-- name: a\nSELECT 'abc\n", 2, 8, "unterminated string: no closing '"),
        ("-- name: a\nSELECT E'abc\\'\n", 2, 8, "unterminated E'' string: no closing '"),
        ('-- name: a\nSELECT 1 AS "abc\n', 2, 13, 'unterminated quoted identifier: no closing "'),
        ("-- name: a\nSELECT 1 /* a /* b */\n", 2, 10, "unterminated /* comment: no closing */"),
        ("-- name: a\nSELECT $x$ body $y$\n", 2, 8, "no closing $x$"),
        ("-- name: a\nSELECT\n  1 + :count\n", 3, 7, "bare :count is refused"),
        ("-- name: a\nSELECT :{?flag}\n", 2, 8, "psql's :{?name} test is refused"),
        ("-- name: a\n\\set x 1\nSELECT 1\n", 2, 1, "psql backslash commands are refused"),
        ("-- name: a\nSELECT 1;\nSELECT 2;\n", 3, 1, "a second statement in 'a'"),
        ("-- name: a\nSELECT 1; SELECT 2\n", 2, 11, "a second statement in 'a'"),
        ("-- header\nSELECT 0;\n-- name: a\nSELECT 1\n", 2, 1, "SQL outside a named statement"),
        ("-- name: Bad-Name\nSELECT 1\n", 1, 1, "statement name 'Bad-Name' is not a snake_case"),
        ("-- name: a\n-- only a doc\n", 1, 1, "statement 'a' has no SQL"),
        ("-- name: a\nSELECT :'x' FROM :\"x\"\n", 2, 18, ":'x' and :\"x\" in one statement"),
        ("-- name: a\nSELECT * FROM :\"t\"\n", 2, 15, ':"t" has no allow-list'),
        ("-- name: a\n-- allow t: users\nSELECT 1\n", 2, 1, "'-- allow t' but 'a' has no :\"t\""),
        ("-- name: a\n-- allow t: x; y\nSELECT :\"t\"\n", 2, 1, "'x; y' is not a name"),
        ("-- name: a\nSELECT :'row_factory'\n", 2, 8, "'row_factory' is reserved"),
    ],
)
def test_parse_errors_name_the_file_line_and_column(tmp_path, text, line, column, message):
    path = tmp_path / "broken.sql"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SqlFileError) as raised:
        load_file(path)
    assert str(raised.value).startswith(f"{path}:{line}:{column}: ")
    assert message in str(raised.value)


def test_a_duplicate_name_in_one_file_names_both_places(tmp_path):
    path = write(tmp_path / "dup.sql", """
        -- name: same
        SELECT 1;

        -- name: same
        SELECT 2;
    """)
    with pytest.raises(SqlFileError) as raised:
        load_file(path)
    assert str(raised.value) == (
        f"{path}:5: duplicate statement name 'same', first defined at {path}:2"
    )


def test_a_duplicate_name_in_two_files_of_a_folder_names_both_files(tmp_path):
    first = write(tmp_path / "canvas" / "a.sql", "-- name: same\nSELECT 1\n")
    second = write(tmp_path / "canvas" / "b.sql", "-- doc\n\n-- name: same\nSELECT 2\n")
    write(tmp_path / "reports" / "c.sql", "-- name: same\nSELECT 3\n")  # another folder: fine
    with pytest.raises(SqlFileError) as raised:
        load_dir(tmp_path)
    assert str(raised.value) == (
        f"{second}:4: duplicate statement name 'same', first defined at {first}:2"
    )


@pytest.mark.parametrize(
    ("relative", "message"),
    [("stray.sql", "SQL files live one folder deep"),
     ("reports/deep/x.sql", "SQL files live one folder deep")],
)
def test_sql_files_outside_a_folder_are_refused(tmp_path, relative, message):
    path = write(tmp_path / relative, "-- name: a\nSELECT 1\n")
    with pytest.raises(SqlFileError) as raised:
        load_dir(tmp_path)
    assert str(raised.value).startswith(f"{path}:1: {message}")


def test_a_statement_name_that_would_hide_a_folder_attribute_is_refused(tmp_path):
    path = write(tmp_path / "reports" / "x.sql", "-- name: statements\nSELECT 1\n")
    with pytest.raises(SqlFileError) as raised:
        load_dir(tmp_path)
    assert str(raised.value).startswith(f"{path}:2: statement name 'statements' is reserved")


# ---------------------------------------------------------------------- call errors


def test_missing_and_unknown_parameters_name_the_statement_file_and_line(tmp_path, conn):
    stmt = one(tmp_path, "-- header\n-- name: pair\nSELECT :'a'::int, :'b'::int\n")
    with pytest.raises(SqlFileError) as raised:
        stmt(conn, a=1)
    assert str(raised.value) == (
        f"{stmt.path}:3: statement 'pair': missing parameter 'b' (it takes: a, b)"
    )
    with pytest.raises(SqlFileError) as raised:
        stmt(conn, a=1, b=2, c=3, d=4)
    assert str(raised.value) == (
        f"{stmt.path}:3: statement 'pair': unknown parameters 'c', 'd' (it takes: a, b)"
    )
    none = one(tmp_path, "-- name: constant\nSELECT 1\n")
    with pytest.raises(SqlFileError) as raised:
        none(conn, a=1)
    assert str(raised.value) == (
        f"{none.path}:2: statement 'constant': unknown parameter 'a' (it takes: no parameters)"
    )


# -------------------------------------------------------------------- server errors

SERVER_ERRORS = """
    -- Statements that fail on the server.

    -- name: bad_cast
    -- The statement starts on line 5; the bad literal is on its line 3 (file line 7).
    SELECT
        :'a'::int AS a,
        :'b'::int + 'abc'::int AS b;

    -- name: no_such_column
    SELECT :'x'::int + :'y'::int
    FROM pg_catalog.pg_am
    WHERE :'x'::int = no_such_column

    -- name: divide_by_zero
    SELECT 1 / :'zero'::int
"""


def test_a_server_error_keeps_its_class_and_gets_a_note_with_the_file_line(tmp_path, conn):
    statements = load_file(write(tmp_path / "errors.sql", SERVER_ERRORS))
    path = tmp_path / "errors.sql"
    with pytest.raises(pg_errors.InvalidTextRepresentation) as raised:
        statements["bad_cast"](conn, a=1, b=2)
    assert raised.value.__notes__ == [f"{path}:7:17: in SQL statement 'bad_cast'"]
    conn.rollback()
    with pytest.raises(pg_errors.UndefinedColumn) as raised:
        statements["no_such_column"](conn, x=1, y=2)
    # Placeholders differ in length from :'x'; the column is the file's.
    assert raised.value.__notes__ == [f"{path}:12:19: in SQL statement 'no_such_column'"]
    conn.rollback()


def test_a_server_error_without_a_position_names_the_statement_line(tmp_path, conn):
    statements = load_file(write(tmp_path / "errors.sql", SERVER_ERRORS))
    with pytest.raises(pg_errors.DivisionByZero) as raised:
        statements["divide_by_zero"](conn, zero=0)
    assert raised.value.__notes__ == [
        f"{tmp_path / 'errors.sql'}:15: in SQL statement 'divide_by_zero'"
    ]


def test_a_unique_violation_can_be_caught_by_its_psycopg_class(tmp_path, conn):
    statements = load_file(write(tmp_path / "unique.sql", """
        -- name: create_temp_ids
        CREATE TEMP TABLE ids (id int PRIMARY KEY)

        -- name: insert_id
        INSERT INTO ids (id)
        VALUES (:'id'::int)
    """))
    statements["create_temp_ids"](conn)
    statements["insert_id"](conn, id=1)
    with pytest.raises(pg_errors.UniqueViolation) as raised:
        statements["insert_id"](conn, id=1)
    assert raised.value.__notes__ == [f"{tmp_path / 'unique.sql'}:5: in SQL statement 'insert_id'"]


# ----------------------------------------------------------------------------- trees


def test_a_tree_gives_statements_by_folder_and_by_file_in_order(tmp_path, conn):
    write(tmp_path / "reports" / "b.sql", "-- name: third\nSELECT 3\n")
    write(tmp_path / "reports" / "a.sql", "-- name: second\nSELECT 2;\n-- name: first\nSELECT 1\n")
    write(tmp_path / "canvas" / "x.sql", "-- name: upsert\nSELECT :'n'::int\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / ".hidden").mkdir()
    write(tmp_path / ".hidden" / "x.sql", "not SQL at all")
    tree = load_dir(tmp_path)
    assert [f.name for f in tree.folders()] == ["canvas", "empty", "reports"]
    assert [s.name for s in tree] == ["upsert", "second", "first", "third"]
    assert [s.name for s in tree.reports] == ["second", "first", "third"]
    assert list(tree.file("reports/a.sql")) == ["second", "first"]
    assert tree.file(Path("reports") / "b.sql")["third"] is tree.reports.third
    assert tree.canvas.upsert(conn, n=7).fetchone() == (7,)
    assert len(tree.empty) == 0
    with pytest.raises(AttributeError, match="has no statement named 'nope'"):
        tree.reports.nope  # noqa: B018
    with pytest.raises(AttributeError, match="has no folder named 'nope'"):
        tree.nope  # noqa: B018
    with pytest.raises(NotFoundError, match="no such SQL file"):
        tree.file("reports/nope.sql")


def test_the_project_sql_tree_loads_lazily_from_the_sql_dir():
    tree = load_dir(tracker.SQL_DIR)
    assert sql.root == tracker.SQL_DIR
    assert [(s.path, s.name) for s in sql] == [(s.path, s.name) for s in tree]


_PREPARABLE = re.compile(
    r"\(*\s*(SELECT|INSERT|UPDATE|DELETE|MERGE|VALUES|WITH|TABLE)\b", re.IGNORECASE
)
_COPY_OUT = re.compile(r"\bTO\s+STDOUT\b", re.IGNORECASE)
# Failures that depend on the NULLs a check passes, not on the statement's text.
_DATA_DEPENDENT = ("22", "23", "P0")


def check(conn: psycopg.Connection[Any], stmt: Statement, idents: dict[str, str]) -> None:
    """Make the server parse and plan ``stmt``: PREPARE it, or else run it with NULLs."""
    if _PREPARABLE.match(stmt.sql):
        conn.execute(f"PREPARE tracker_check AS {stmt.numbered(**idents)}")  # type: ignore[arg-type]
        conn.execute("DEALLOCATE tracker_check")
        return
    params: dict[str, Any] = {**dict.fromkeys(stmt.params), **idents}  # values are NULL
    try:
        if stmt.sql[:4].upper() == "COPY":
            with stmt.copy(conn, **params) as copy:
                if _COPY_OUT.search(stmt.sql):
                    list(copy)
        else:
            stmt(conn, **params)
    except psycopg.Error as exc:
        if not (exc.sqlstate or "").startswith(_DATA_DEPENDENT):
            raise


def identifier_choices(stmt: Statement) -> Iterator[dict[str, str]]:
    """Identifier values to try ``stmt`` with (one empty dict if it has none).

    First the allow-lists paired by position (the i-th table with the i-th staging
    table; a shorter list starts over), then every other combination.
    """
    names, lists = list(stmt.identifiers), list(stmt.identifiers.values())
    size = max(map(len, lists), default=1)
    yield from ({n: v[i % len(v)] for n, v in zip(names, lists, strict=True)} for i in range(size))
    yield from (dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists))


def statement_failures(
    conn: psycopg.Connection[Any], stmt: Statement, *, savepoints: bool = True
) -> list[str]:
    """Check ``stmt``; every allowed identifier value must work in some combination.

    The loader does not know which values go together (``dangling_references``
    pairs each staging table with its own columns), so a value passes when one
    combination holding it passes. If no positional pair passes, the text itself
    is broken: the other combinations are not tried. Each try runs in a savepoint
    unless ``savepoints`` is false (in autocommit, for VACUUM and its kind).
    """
    pending = {(n, v) for n, allowed in stmt.identifiers.items() for v in allowed}
    pending = pending or {("", "")}
    errors: dict[tuple[str, str], str] = {}
    tried: set[tuple[tuple[str, str], ...]] = set()
    passed_any = False
    positional = max(map(len, stmt.identifiers.values()), default=1)
    for k, idents in enumerate(identifier_choices(stmt)):
        items = tuple(idents.items()) or (("", ""),)
        if k == positional and not passed_any:
            break  # no positional pair passed: the text itself is broken
        if items in tried or pending.isdisjoint(items):
            continue
        tried.add(items)
        try:
            with conn.transaction() if savepoints else contextlib.nullcontext():
                check(conn, stmt, idents)
        except pg_errors.ActiveSqlTransaction:
            raise
        except psycopg.Error as exc:
            for item in items:
                errors.setdefault(item, f"{idents or ''} {exc}".strip())
        else:
            passed_any = True
            pending.difference_update(items)
            if not pending:
                break
    return [f"{stmt.where}: {stmt.name}: {errors[item]}" for item in sorted(pending)]


def check_tree(conn: psycopg.Connection[Any], root: Path) -> list[str]:
    """Check every statement of the tree at ``root``; return one line per failure.

    All in one rolled-back transaction: first the create_temp… statements of every
    folder, in tree order (they make the temp staging tables that statements of
    other folders read in the same sync), then each other statement in savepoints.
    What a utility statement does (CREATE ROLE) stays for the statements after it,
    as in a DBA's script.
    Statements PostgreSQL refuses inside a transaction (VACUUM, CREATE INDEX
    CONCURRENTLY) are checked afterwards in autocommit: the database is the test's own.
    """
    tree = load_dir(root)
    failures: list[str] = []
    later: list[Statement] = []
    with conn.transaction(force_rollback=True):
        for stmt in tree:
            if stmt.name.startswith("create_temp"):
                stmt(conn)
        for stmt in tree:
            if not stmt.name.startswith("create_temp"):
                try:
                    failures += statement_failures(conn, stmt)
                except pg_errors.ActiveSqlTransaction:
                    later.append(stmt)
    conn.autocommit = True
    for stmt in later:
        failures += statement_failures(conn, stmt, savepoints=False)
    conn.autocommit = False
    return failures


def test_every_project_statement_prepares_against_the_migrated_schema(conn):
    failures = check_tree(conn, tracker.SQL_DIR)
    assert failures == [], "\n".join(failures)


def test_the_tree_check_runs_staging_first_and_reports_only_broken_statements(tmp_path, conn):
    write(tmp_path / "canvas" / "a_staging.sql", """
        -- name: create_temp_stage
        CREATE TEMP TABLE stage (id bigint, label text) ON COMMIT DROP;
    """)
    write(tmp_path / "canvas" / "b_use.sql", """
        -- name: merge_stage
        INSERT INTO stage (id, label)
        SELECT id, label FROM stage WHERE id = ANY(:'ids'::bigint[]);

        -- name: copy_stage
        COPY stage (id, label) FROM STDIN;

        -- name: count_in
        -- allow table_name: stage, pg_catalog.pg_am
        SELECT count(*) FROM :"table_name" WHERE :'n'::int > 0;

        -- name: comment_on
        COMMENT ON SCHEMA canvas IS 'Canvas objects as the API gives them: 100%';

        -- name: vacuum_table
        -- allow table_name: pg_catalog.pg_am, pg_catalog.pg_nope
        VACUUM (ANALYZE) :"table_name";

        -- name: misspelt
        SELECT lable FROM stage WHERE id = :'id'::bigint;
    """)
    write(tmp_path / "reports" / "x.sql", """
        -- name: reads_another_folders_stage
        SELECT id FROM stage;

        -- name: column_of_table
        -- Valid pairs: (stage, label), (pg_am, amname), (pg_namespace, nspname);
        -- pg_class has no column in the list and amnane is a typo.
        -- allow table_name: pg_catalog.pg_am, stage, pg_catalog.pg_namespace, pg_catalog.pg_class
        -- allow column_name: label, amname, nspname, amnane
        SELECT :"column_name" FROM :"table_name";
    """)
    failures = check_tree(conn, tmp_path)
    x, b_use = tmp_path / "reports" / "x.sql", tmp_path / "canvas" / "b_use.sql"
    assert [f.split(" ", 1)[0] for f in failures] == [
        f"{b_use}:20:", f"{x}:9:", f"{x}:9:", f"{b_use}:17:"  # VACUUM: checked last
    ]
    assert 'column "lable" does not exist' in failures[0]
    assert "'column_name': 'amnane'" in failures[1] and 'column "amnane"' in failures[1]
    assert "'table_name': 'pg_catalog.pg_class'" in failures[2]
    assert 'relation "pg_catalog.pg_nope" does not exist' in failures[3]


def test_the_prepare_check_catches_a_misspelt_column(tmp_path, conn):
    stmt = one(tmp_path, """
        -- name: broken
        SELECT nspname, no_such_column
        FROM pg_catalog.pg_namespace
        WHERE oid = :'oid'::oid
    """)
    with pytest.raises(pg_errors.UndefinedColumn):
        check(conn, stmt, {})
