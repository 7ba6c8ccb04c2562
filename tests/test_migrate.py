"""tracker.migrate: applying, rolling back, status, changed files, new migrations, health.

The migrations are checked by their effect on the catalog: applying them all,
rolling them all back and applying them again gives the same catalog, and plain
``yoyo apply`` gives the same catalog as tracker.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tracker import MIGRATIONS_DIR, ROOT, migrate
from tracker.errors import ConfigurationError, MigrationError

#: The repository's migrations in order (their numbers order them), read from the folder
#: so that a new migration needs no change here.
ALL = sorted(
    p.stem
    for p in MIGRATIONS_DIR.iterdir()
    if p.suffix in (".sql", ".py") and not p.name.endswith(".rollback.sql")
)
LATEST, BEFORE_LATEST = ALL[-1], ALL[-2]
#: The latest migration written in SQL, with a .rollback.sql (0011_rules is Python).
LATEST_SQL = max(p.name.removesuffix(".rollback.sql")
                 for p in MIGRATIONS_DIR.glob("*.rollback.sql"))
NEXT = f"{len(ALL) + 1:04d}"  # the number the next new migration gets
LAYER_SCHEMAS = ["canvas", "history", "userdata", "lifecycle", "tracker"]
#: The schemas the catalog snapshot covers: every schema but the system's and ``public``
#: (which holds only yoyo's and tracker's bookkeeping; see BOOKKEEPING).
MIGRATED_SCHEMAS = "n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'public')"
#: What a database holds outside the layer schemas once every migration is rolled back.
BOOKKEEPING = [
    "_tracker_migration_hash",
    "_yoyo_log",
    "_yoyo_migration",
    "_yoyo_version",
    "yoyo_lock",
]

# Each query lists one kind of object in the migrated schemas, by name (never by oid).
CATALOG_QUERIES = {
    "schemas": """
        SELECT n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text,
               obj_description(n.oid, 'pg_namespace')
        FROM pg_namespace AS n
        WHERE {schemas}
    """,
    "relations": """
        SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relrowsecurity,
               pg_get_userbyid(c.relowner), c.relacl::text, obj_description(c.oid, 'pg_class'),
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {schemas}
    """,
    "columns": """
        SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               a.attacl::text, col_description(c.oid, a.attnum)
        FROM pg_attribute AS a
        JOIN pg_class AS c ON c.oid = a.attrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {schemas}
          AND a.attnum > 0
          AND NOT a.attisdropped
    """,
    "constraints": """
        SELECT n.nspname, coalesce(c.relname, t.typname), con.conname, con.contype,
               pg_get_constraintdef(con.oid), con.condeferrable, con.convalidated
        FROM pg_constraint AS con
        JOIN pg_namespace AS n ON n.oid = con.connamespace
        LEFT JOIN pg_class AS c ON c.oid = con.conrelid
        LEFT JOIN pg_type AS t ON t.oid = con.contypid
        WHERE {schemas}
    """,
    "indexes": """
        SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {schemas}
    """,
    "sequences": """
        SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
               s.seqmax, s.seqmin, s.seqcache, s.seqcycle
        FROM pg_sequence AS s
        JOIN pg_class AS c ON c.oid = s.seqrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {schemas}
    """,
    "triggers": """
        SELECT n.nspname, c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)
        FROM pg_trigger AS t
        JOIN pg_class AS c ON c.oid = t.tgrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {schemas}
          AND NOT t.tgisinternal
    """,
    "functions": """
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
               CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END,
               pg_get_userbyid(p.proowner), p.proacl::text, obj_description(p.oid, 'pg_proc')
        FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE {schemas}
    """,
    "types": """
        SELECT n.nspname, t.typname, t.typtype, pg_get_userbyid(t.typowner), t.typacl::text
        FROM pg_type AS t
        JOIN pg_namespace AS n ON n.oid = t.typnamespace
        WHERE {schemas}
    """,
    "policies": """
        SELECT n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
               p.polroles::regrole[]::text, pg_get_expr(p.polqual, p.polrelid),
               pg_get_expr(p.polwithcheck, p.polrelid)
        FROM pg_policy AS p
        JOIN pg_class AS c ON c.oid = p.polrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE {schemas}
    """,
    "default_privileges": """
        SELECT n.nspname, pg_get_userbyid(d.defaclrole), d.defaclobjtype, d.defaclacl::text
        FROM pg_default_acl AS d
        JOIN pg_namespace AS n ON n.oid = d.defaclnamespace
        WHERE {schemas}
    """,
}


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every object in the migrated schemas, with its definition, owner and privileges."""
    with psycopg.connect(url) as conn:
        return {
            kind: sorted(
                conn.execute(query.format(schemas=MIGRATED_SCHEMAS)).fetchall(),
                key=lambda row: tuple("" if v is None else str(v) for v in row),
            )
            for kind, query in CATALOG_QUERIES.items()
        }


def public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    return [r[0] for r in rows]


def applied_ids(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    return [s.id for s in migrate.status(url, directory=directory) if s.applied]


def yoyo(*args: str) -> subprocess.CompletedProcess[str]:
    """The yoyo command installed next to this Python, run from the repository (yoyo.ini)."""
    script = Path(sys.executable).with_name("yoyo")
    return subprocess.run(
        [str(script), *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A copy of the repository's migrations that a test may edit."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


# -- apply and rollback --------------------------------------------------------------


def test_rolling_everything_back_and_applying_again_gives_the_same_catalog(empty_db_url):
    assert migrate.apply(empty_db_url) == ALL
    first = catalog(empty_db_url)
    assert {row[0] for row in first["schemas"]} >= set(LAYER_SCHEMAS)
    for kind in ("relations", "columns", "constraints", "indexes", "triggers", "functions"):
        assert first[kind], f"the snapshot found no {kind}"

    assert migrate.rollback(empty_db_url, count=len(ALL)) == ALL[::-1]
    assert catalog(empty_db_url) == {kind: [] for kind in CATALOG_QUERIES}
    assert public_tables(empty_db_url) == BOOKKEEPING

    assert migrate.apply(empty_db_url) == ALL
    assert catalog(empty_db_url) == first


def test_status_lists_every_migration_pending_then_applied_in_order(empty_db_url):
    before = migrate.status(empty_db_url)
    assert before == [migrate.MigrationStatus(i, False, None, False) for i in ALL]

    started = datetime.now(UTC)
    migrate.apply(empty_db_url)
    after = migrate.status(empty_db_url)

    assert [(s.id, s.applied, s.changed, s.changed_files, s.file_missing) for s in after] == [
        (i, True, False, (), False) for i in ALL
    ]
    times = [s.applied_at for s in after]
    assert all(t is not None and t.tzinfo == UTC for t in times)
    assert times == sorted(times)
    # the server's clock and this process's may differ a little
    assert abs((times[0] - started).total_seconds()) < 60


def test_apply_with_nothing_pending_applies_nothing(db_url):
    assert migrate.apply(db_url) == []
    assert applied_ids(db_url) == ALL


def test_rollback_rolls_back_the_most_recent_migrations_first(db_url):
    assert migrate.rollback(db_url) == [LATEST]
    assert migrate.rollback(db_url, count=2) == [ALL[-2], ALL[-3]]
    assert applied_ids(db_url) == ALL[:-3]


def test_rollback_of_more_than_is_applied_rolls_back_everything(db_url):
    assert migrate.rollback(db_url, count=99) == ALL[::-1]
    assert migrate.rollback(db_url, count=1) == []


def test_rollback_dry_run_changes_nothing(db_url):
    assert migrate.rollback(db_url, count=2, dry_run=True) == [LATEST, BEFORE_LATEST]
    assert applied_ids(db_url) == ALL


def test_rollback_refuses_a_count_below_one(db_url):
    with pytest.raises(MigrationError, match="^count must be 1 or more, not 0$"):
        migrate.rollback(db_url, count=0)


def test_rollback_refuses_when_the_database_has_migrations_the_directory_lacks(
    db_url, migrations_copy
):
    for path in migrations_copy.glob(f"{LATEST}.*"):
        path.unlink()
    with pytest.raises(MigrationError) as caught:
        migrate.rollback(db_url, directory=migrations_copy)
    assert str(caught.value) == (
        f"the database has migrations applied that {migrations_copy} does not hold: "
        f"{LATEST}. Roll them back with the version of tracker that has them, then try again."
    )
    assert applied_ids(db_url) == ALL


def test_a_failing_migration_is_rolled_back_and_stops_the_run(empty_db_url, migrations_copy):
    broken = migrations_copy / f"{NEXT}_broken.sql"
    broken.write_text(
        f"-- depends: {LATEST}\n"
        "CREATE TABLE canvas.widgets (id bigint PRIMARY KEY);\n"
        "CREATE TABLE canvas.terms (id bigint);\n"
    )
    with pytest.raises(MigrationError) as caught:
        migrate.apply(empty_db_url, directory=migrations_copy)
    assert str(caught.value) == (
        f'migration {NEXT}_broken failed and was rolled back: relation "terms" already exists. '
        f"Fix {broken} and run `tracker db migrate` again (applied before it: {', '.join(ALL)})."
    )
    assert applied_ids(empty_db_url, migrations_copy) == ALL
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('canvas.widgets')").fetchone() == (None,)


def test_a_failing_rollback_is_undone_and_leaves_the_migration_applied(db_url, migrations_copy):
    rollback_file = migrations_copy / f"{LATEST_SQL}.rollback.sql"
    rollback_file.write_text("CREATE TABLE public.probe (id int);\nDROP TABLE canvas.nothing;\n")
    after = ALL[ALL.index(LATEST_SQL) + 1:][::-1]
    with pytest.raises(MigrationError) as caught:
        migrate.rollback(db_url, len(after) + 1, directory=migrations_copy)
    assert str(caught.value) == (
        f'rolling back {LATEST_SQL} failed and was undone: table "nothing" does not exist. '
        f"Fix {rollback_file} and try again"
        + (f" (rolled back before it: {', '.join(after)})." if after else ".")
    )
    assert applied_ids(db_url) == ALL[: ALL.index(LATEST_SQL) + 1]
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT to_regclass('public.probe')").fetchone()
    assert row == (None,)  # the rollback's first statement was undone too


def test_apply_waits_for_yoyos_lock_and_says_who_holds_it(db_url):
    with psycopg.connect(db_url) as conn:  # another process's migration, as yoyo records it
        conn.execute("INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 4242424)")
    with pytest.raises(MigrationError) as caught:
        migrate.apply(db_url, lock_timeout=0.2)
    assert str(caught.value).startswith(
        f"another migration holds yoyo's lock on {db_url} (Process 4242424 has locked this database"
    )
    assert "yoyo break-lock" in str(caught.value)


def test_apply_accepts_a_libpq_key_value_string(empty_db_url):
    conninfo = make_conninfo("", **conninfo_to_dict(empty_db_url))
    assert "://" not in conninfo
    assert migrate.apply(conninfo) == ALL
    assert applied_ids(conninfo) == ALL


def test_apply_to_a_closed_port_names_the_masked_url(unused_port):
    url = f"postgresql://alice:s3cret@127.0.0.1:{unused_port}/postgres"
    with pytest.raises(ConfigurationError) as caught:
        migrate.apply(url)
    assert str(caught.value).startswith(
        f"cannot connect to postgresql://alice:***@127.0.0.1:{unused_port}/postgres: "
    )
    assert "s3cret" not in str(caught.value)


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- changed files -------------------------------------------------------------------


def test_status_notices_an_applied_migration_whose_file_changed(empty_db_url, migrations_copy):
    migrate.apply(empty_db_url, directory=migrations_copy)
    with (migrations_copy / "0003_canvas.sql").open("a") as f:
        f.write("\n-- an edit after the fact\n")

    statuses = {s.id: s for s in migrate.status(empty_db_url, directory=migrations_copy)}

    assert statuses["0003_canvas"].changed is True
    assert statuses["0003_canvas"].changed_files == ("0003_canvas.sql",)
    assert [i for i, s in statuses.items() if s.changed] == ["0003_canvas"]


def test_status_notices_a_changed_rollback_file(db_url, migrations_copy):
    # db_url's migrations were applied from the repository's files, which the copy equals
    rollback_file = migrations_copy / f"{LATEST_SQL}.rollback.sql"
    rollback_file.write_text(rollback_file.read_text() + "\n-- edited\n")
    statuses = migrate.status(db_url, directory=migrations_copy)
    assert [(s.id, s.changed_files) for s in statuses if s.changed] == [
        (LATEST_SQL, (f"{LATEST_SQL}.rollback.sql",))
    ]


def test_applying_again_does_not_hide_a_changed_file(db_url, migrations_copy):
    (migrations_copy / "0002_journal.sql").write_text(
        (migrations_copy / "0002_journal.sql").read_text() + "\n-- edited\n"
    )
    assert migrate.apply(db_url, directory=migrations_copy) == []
    changed = [s.id for s in migrate.status(db_url, directory=migrations_copy) if s.changed]
    assert changed == ["0002_journal"]


def test_a_rolled_back_and_reapplied_migration_is_recorded_afresh(db_url, migrations_copy):
    latest = next(p for p in migrations_copy.glob(f"{LATEST}.*")
                  if not p.name.endswith(".rollback.sql"))
    latest.write_text(latest.read_text() + ("\n# edited\n" if latest.suffix == ".py"
                                            else "\n-- edited\n"))
    assert migrate.rollback(db_url, directory=migrations_copy) == [LATEST]
    assert migrate.apply(db_url, directory=migrations_copy) == [LATEST]
    statuses = migrate.status(db_url, directory=migrations_copy)
    assert [s.changed for s in statuses] == [False] * len(ALL)


def test_status_reports_an_applied_migration_whose_file_is_gone(db_url, migrations_copy):
    for path in migrations_copy.glob(f"{LATEST}.*"):
        path.unlink()
    last = migrate.status(db_url, directory=migrations_copy)[-1]
    assert (last.id, last.applied, last.changed, last.file_missing) == (
        LATEST,
        True,
        True,
        True,
    )


def test_migrations_applied_by_plain_yoyo_are_unknown_until_tracker_records_them(empty_db_url):
    yoyo("apply", "--batch", "--database", migrate.yoyo_url(empty_db_url))
    assert [(s.applied, s.changed) for s in migrate.status(empty_db_url)] == [(True, None)] * len(
        ALL
    )
    assert migrate.check(empty_db_url).unrecorded == tuple(ALL)

    assert migrate.apply(empty_db_url) == []

    assert [(s.applied, s.changed) for s in migrate.status(empty_db_url)] == [(True, False)] * len(
        ALL
    )


def test_a_migration_rolled_back_and_reapplied_by_plain_yoyo_is_unknown_again(db_url):
    yoyo("rollback", "--batch", "--database", migrate.yoyo_url(db_url))
    yoyo("apply", "--batch", "--database", migrate.yoyo_url(db_url))
    changed = {s.id: s.changed for s in migrate.status(db_url)}
    assert changed == {**{i: False for i in ALL[:-1]}, LATEST: None}


# -- plain yoyo agrees with tracker ----------------------------------------------------


def test_plain_yoyo_apply_gives_the_same_catalog_as_tracker(empty_db_url, db_url):
    # db_url is a copy of the template, which tracker's apply migrated
    yoyo("apply", "--batch", "--database", migrate.yoyo_url(empty_db_url))
    assert catalog(empty_db_url) == catalog(db_url)
    assert public_tables(empty_db_url) == [t for t in BOOKKEEPING if t != "_tracker_migration_hash"]
    assert applied_ids(empty_db_url) == ALL


def test_yoyo_list_shows_what_status_shows(db_url):
    migrate.rollback(db_url, count=2)
    listed = yoyo("list", "--batch", "--database", migrate.yoyo_url(db_url)).stdout
    rows = [line.split()[:2] for line in listed.splitlines()[2:] if line.strip()]
    assert rows == [["A" if s.applied else "U", s.id] for s in migrate.status(db_url)]
    assert [r[0] for r in rows] == ["A"] * (len(ALL) - 2) + ["U", "U"]


# -- new -----------------------------------------------------------------------------


def test_new_writes_the_next_migration_depending_on_the_latest(migrations_copy):
    sql_path, rollback_path = migrate.new("add_widgets", directory=migrations_copy)
    assert sql_path == migrations_copy / f"{NEXT}_add_widgets.sql"
    assert rollback_path == migrations_copy / f"{NEXT}_add_widgets.rollback.sql"
    assert sql_path.read_text() == (
        f"-- {NEXT}_add_widgets: say what this migration changes, and why.\n"
        f"-- depends: {LATEST}\n\n"
    )
    assert rollback_path.read_text() == (
        f"-- Undoes {NEXT}_add_widgets: drop what it creates, in reverse order.\n\n"
    )


def test_new_in_an_empty_folder_starts_at_0001_with_no_dependency(tmp_path):
    sql_path, _ = migrate.new("first", directory=tmp_path)
    assert sql_path.name == "0001_first.sql"
    assert "depends" not in sql_path.read_text()


def test_a_new_migration_applies_and_rolls_back(db_url, migrations_copy):
    sql_path, rollback_path = migrate.new("add_widgets", directory=migrations_copy)
    sql_path.write_text(sql_path.read_text() + "CREATE TABLE canvas.widgets (id bigint);\n")
    rollback_path.write_text(rollback_path.read_text() + "DROP TABLE canvas.widgets;\n")

    assert migrate.apply(db_url, directory=migrations_copy) == [f"{NEXT}_add_widgets"]
    assert migrate.rollback(db_url, directory=migrations_copy) == [f"{NEXT}_add_widgets"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('canvas.widgets')").fetchone() == (None,)


@pytest.mark.parametrize(
    "name", ["Add_widgets", "add-widgets", "add widgets", "1st", "_add", "add__widgets", "add_", ""]
)
def test_new_refuses_a_name_that_is_not_lowercase_snake_case(migrations_copy, name):
    with pytest.raises(MigrationError, match="is not lowercase snake_case"):
        migrate.new(name, directory=migrations_copy)
    assert sorted(p.name for p in migrations_copy.iterdir()) == sorted(
        p.name for p in MIGRATIONS_DIR.iterdir()
    )


# -- check ---------------------------------------------------------------------------


def test_check_on_a_migrated_database_is_healthy(db_url, pg):
    health = migrate.check(db_url)
    assert health.healthy and health.current and health.connected
    assert health.server_version == f"PostgreSQL {pg.version.split()[0]}"
    assert (health.applied, health.pending, health.changed, health.error) == (
        tuple(ALL),
        (),
        (),
        None,
    )
    assert health.latency_ms is not None and health.latency_ms > 0


def test_check_with_pending_migrations_is_unhealthy(empty_db_url):
    health = migrate.check(empty_db_url)
    assert (health.connected, health.healthy, health.pending) == (True, False, tuple(ALL))


def test_check_with_a_changed_migration_is_unhealthy(db_url, migrations_copy):
    (migrations_copy / "0001_schemas.sql").write_text("-- rewritten\n")
    health = migrate.check(db_url, directory=migrations_copy)
    assert (health.healthy, health.pending, health.changed) == (False, (), ("0001_schemas",))


def test_check_of_an_unreachable_server_is_unhealthy_and_masks_the_password(unused_port):
    url = f"postgresql://alice:s3cret@127.0.0.1:{unused_port}/postgres"
    health = migrate.check(url)
    masked = f"postgresql://alice:***@127.0.0.1:{unused_port}/postgres"
    assert (health.url, health.connected, health.healthy) == (masked, False, False)
    assert health.error is not None
    assert health.error.startswith(f"cannot connect to {masked}: ")
    assert "s3cret" not in repr(health)


def test_the_documents_keep_no_statistics_and_the_old_ones_are_cleared(db_url, tmp_path):
    """Migration 0026: ANALYZE skips layer 1's documents (raw) and keeps every other
    column's statistics; those it kept before the migration are gone after it (the test
    server's role is a superuser, or the server is PostgreSQL 18: the migration may)."""
    from bundles import tiny_institution, write_bundle

    from tracker import sync

    documents = ("SELECT count(*) FILTER (WHERE attname = 'raw'), count(*) FROM pg_stats"
                 " WHERE schemaname = 'canvas' AND tablename = 'users'")
    since = ALL[ALL.index("0026_documents_without_statistics"):]  # it and any newer
    with psycopg.connect(db_url, autocommit=True) as conn:
        sync.sync_bundle(conn, write_bundle(tmp_path / "b", tiny_institution()))
        assert migrate.rollback(db_url, count=len(since)) == since[::-1]
        conn.execute("ANALYZE canvas.users")
        raw, columns = conn.execute(documents).fetchone()
        assert raw == 1 and columns > 5
        assert migrate.apply(db_url) == since
        assert conn.execute(documents).fetchone() == (0, columns - 1)
        conn.execute("ANALYZE canvas.users")
        assert conn.execute(documents).fetchone() == (0, columns - 1)
        assert conn.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'canvas' AND attname = 'raw'"
        ).fetchone()[0] == 0
