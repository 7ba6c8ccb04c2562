"""The registry of Canvas kinds: its orders hold, and the SQL that repeats its facts agrees."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from tracker import kinds
from tracker.kinds import BY_LIFECYCLE, BY_NAME, DELETE_ORDER, KINDS, NAMES, STAGE_ORDER
from tracker.sqlfiles import sql


def test_a_kind_refers_only_to_kinds_before_it():
    for n, kind in enumerate(KINDS):
        for ref in kind.parents:
            assert ref.parent in NAMES[:n], f"{kind.name}.{ref.field} refers to {ref.parent}, later"


def test_deletion_goes_children_first_and_every_kind_is_staged_once():
    assert DELETE_ORDER == tuple(reversed(KINDS))
    assert sorted(STAGE_ORDER, key=KINDS.index) == list(KINDS)


def test_each_kind_is_named_once_in_each_layer():
    assert len(set(NAMES)) == len({k.table for k in KINDS}) == len(KINDS)
    assert [k.name for k in KINDS if k.lifecycle is None] == ["submissions"]
    assert all(BY_NAME[k.name] is k for k in KINDS)
    assert all(BY_LIFECYCLE[k.lifecycle] is k for k in KINDS if k.lifecycle)
    assert all("id" in k.required for k in KINDS)


def test_a_kind_is_staged_after_the_stages_its_statement_reads():
    staged: list[str] = []
    for kind in STAGE_ORDER:
        text = getattr(sql.canvas, f"stage_{kind.name}").sql
        read = set(re.findall(r"pg_temp\.stage_(\w+)", text)) - {kind.name}
        assert read <= set(staged), f"stage_{kind.name} reads {sorted(read - set(staged))}, staged later"
        staged.append(kind.name)
    # the order matters: groups and submissions take their course from staged assignments
    assert "assignments" in re.findall(r"pg_temp\.stage_(\w+)", sql.canvas.stage_assignment_groups.sql)


def test_the_temporary_stages_are_made_for_every_kind():
    listed = re.search(r"ARRAY\[([^]]*)\]", sql.canvas.create_temp_stages.sql)
    assert listed is not None
    assert tuple(re.findall(r"'(\w+)'", listed.group(1))) == NAMES


def test_the_cleanup_closure_follows_the_references_of_the_tracked_kinds():
    edges = set(re.findall(
        r"SELECT '(\w+)', \w+\.(\w+), '(\w+)', \w+\.id\s+FROM (canvas\.\w+)",
        sql.lifecycle.build_closure.sql))
    assert edges == {
        (BY_NAME[ref.parent].lifecycle, ref.field, kind.lifecycle, kind.table)
        for kind in KINDS if kind.lifecycle for ref in kind.parents
    }


def test_the_cleanup_takes_the_submissions_of_their_parents():
    joins = set(re.findall(r"c\.kind = '(\w+)' AND s\.(\w+) = c\.id",
                           sql.lifecycle.collect_dependents.sql))
    parents = {(BY_NAME[ref.parent].lifecycle, ref.field) for ref in BY_NAME["submissions"].parents}
    assert parents <= joins
    # and those of their course, which Canvas leaves out of a submission (tracker derives it)
    assert joins - parents == {("course", "course_id")}


def test_layer_1_foreign_keys_point_to_kinds_before_them(conn: psycopg.Connection[Any]):
    rows = conn.execute("""
        SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
        FROM pg_constraint AS c
        WHERE c.contype = 'f'
          AND c.conrelid::regclass::text LIKE 'canvas.%'
          AND c.confrelid::regclass::text LIKE 'canvas.%'
    """).fetchall()
    order = [k.table for k in KINDS]
    assert rows
    for child, parent in rows:
        assert order.index(parent) <= order.index(child), f"{child} refers to {parent}, later"


def test_the_layer_2_tables_exist(conn: psycopg.Connection[Any]):
    for table in kinds.HISTORY_TABLES:
        assert conn.execute("SELECT to_regclass(%s)", [table]).fetchone() == (table,)
