"""Layer 3: what people wrote about students, courses and assignments.

- Notes (:func:`add_note`, :func:`get_note`, :func:`update_note`, :func:`delete_note`,
  :func:`list_notes`) and custom fields (:func:`set_field`, :func:`get_fields`,
  :func:`delete_field`, :func:`list_fields`), each about a *subject*: a student (user),
  a course or an assignment that layer 1 holds, written ``user:42``.
- Every change is kept: the audit log (filled by triggers, with who made the change)
  reads back with :func:`note_history` and :func:`audit_trail`.
- Bulk import and export of notes (:func:`import_notes`, :func:`export_notes`): CSV or
  JSON, thousands of rows through ``COPY``, checked like a sync's input: a clear message
  per bad record, and nothing written unless every record is right.
- Curricula: named sets of courses (:func:`create_curriculum`, :func:`add_courses`,
  :func:`curriculum_students`, …).

Tags live in :mod:`tracker.tags`. Every function that writes takes the person's name
(``author``/``actor``), which the audit log records. The sync never writes here (and the
``tracker_sync`` role may not: ``sql/admin/roles.sql``). The SQL is in ``sql/userdata``.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from tracker import arguments, canvas, db, queries
from tracker.errors import InvalidDataError, NotFoundError
from tracker.privacy import Pseudonyms
from tracker.sqlfiles import sql

log = logging.getLogger(__name__)

SUBJECT_TYPES = ("user", "course", "assignment")
#: Formats of bulk files: CSV with a header line, or JSON (an array, or one object a line).
FORMATS = ("csv", "json")

#: A bulk import reports at most this many problems.
PROBLEM_LIMIT = 50
#: The columns (CSV) or keys (JSON) of a note record; the first three are required, and
#: updated_at, which an export writes, is read back and ignored.
NOTE_COLUMNS = ("subject_type", "subject_id", "body", "author", "created_at", "id",
                "updated_at")
_JSON_TYPES = {list: "array", str: "string", bool: "boolean", type(None): "null"}


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Subject:
    """What a note, custom field or tag is about: a user, a course or an assignment."""

    type: str
    id: int

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"

    @classmethod
    def parse(cls, value: Subject | str | tuple[str, int]) -> Subject:
        """``"user:42"`` (``"1~42"`` shard ids too), ``("user", 42)`` or a Subject."""
        if isinstance(value, Subject):
            subject = value
        elif isinstance(value, tuple):
            if len(value) != 2:
                raise InvalidDataError(f"{value!r} does not name a subject: write (TYPE, ID) "
                                       "or TYPE:ID (e.g. user:42)")
            subject = cls(value[0], arguments.one_id("subject id", value[1]))
        else:
            parsed = canvas.parse_ref(str(value))
            if parsed is None:
                raise InvalidDataError(f"{value!r} does not name a subject: write TYPE:ID, TYPE one "
                                       f"of {', '.join(SUBJECT_TYPES)} (e.g. user:42)")
            subject = cls(*parsed)
        if subject.type not in SUBJECT_TYPES:
            raise InvalidDataError(f"{subject.type!r} is not a subject type: notes, fields and "
                                   f"tags are about a {', '.join(SUBJECT_TYPES)}")
        return subject


@dataclass(frozen=True)
class Note:
    id: int
    subject_type: str
    subject_id: int
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    updated_by: str  # who changed it last (its author until someone edits it)


@dataclass(frozen=True)
class CustomField:
    subject_type: str
    subject_id: int
    name: str
    value: Any  # any JSON value
    author: str  # who set the value
    updated_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One change, as the audit log recorded it: the row before and after, who, when."""

    id: int
    relation: str
    action: str
    changed_by: str
    changed_at: datetime
    old_row: dict[str, Any] | None
    new_row: dict[str, Any] | None


@dataclass(frozen=True)
class ImportReport:
    """What a bulk import wrote. Notes: ``inserted`` new, ``updated`` changed bodies,
    ``unchanged`` rows as stored. Tags: ``inserted`` links, ``unchanged`` links present
    already, ``created`` new tags."""

    source: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    created: int = 0


@dataclass(frozen=True)
class Curriculum:
    id: int
    name: str
    description: str | None
    created_by: str
    created_at: datetime
    courses: int


@dataclass(frozen=True)
class CurriculumCourse:
    course_id: int
    name: str
    course_code: str | None
    term: str | None
    added_by: str
    added_at: datetime


# -- notes -------------------------------------------------------------------------------------


def add_note(conn: psycopg.Connection[Any], subject: Subject | str, body: str, *,
             author: str) -> Note:
    """Write a note about ``subject`` (which layer 1 must hold) as ``author``."""
    subject, body = Subject.parse(subject), _body(body)
    with db.transaction(conn):
        act_as(conn, author)
        require_subject(conn, subject)
        row = sql.userdata.add_note(conn, subject_type=subject.type, subject_id=subject.id,
                                    body=body, author=author).fetchone()
        assert row is not None
        return get_note(conn, row[0])


def get_note(conn: psycopg.Connection[Any], note_id: int) -> Note:
    """One note; NotFoundError if there is none of that id."""
    note_id = arguments.one_id("note_id", note_id)
    notes = _notes(conn, [note_id])
    if not notes:
        raise NotFoundError(f"there is no note {note_id}: tracker notes list shows them")
    return notes[0]


def update_note(conn: psycopg.Connection[Any], note_id: int, body: str, *, author: str) -> Note:
    """Rewrite a note's body as ``author`` (the audit log keeps the old text)."""
    note_id, body = arguments.one_id("note_id", note_id), _body(body)
    with db.transaction(conn):
        act_as(conn, author)
        note = get_note(conn, note_id)
        if note.body != body:
            sql.userdata.update_note(conn, id=note_id, body=body)
            note = get_note(conn, note_id)
        return note


def delete_note(conn: psycopg.Connection[Any], note_id: int, *, author: str) -> Note:
    """Delete a note as ``author``; returns it as it was (the audit log keeps it)."""
    note_id = arguments.one_id("note_id", note_id)
    with db.transaction(conn):
        act_as(conn, author)
        row = sql.userdata.delete_note(conn, id=note_id, actor=author).fetchone()
    if row is None:
        raise NotFoundError(f"there is no note {note_id}: tracker notes list shows them")
    return Note(*row)


def list_notes(
    conn: psycopg.Connection[Any],
    *,
    subject: Subject | str | None = None,
    subject_type: str | None = None,
    author: str | None = None,
    contains: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[Note]:
    """Notes, newest first: about one ``subject`` or ``subject_type``, by one ``author``,
    containing a text. Page on with ``before_id`` = the last id of a page."""
    parsed = Subject.parse(subject) if subject is not None else None
    before_id = arguments.optional_id("before_id", before_id)
    limit = arguments.count("limit", limit)
    subject_type = check_subject_type(subject_type)
    ids = [r[0] for r in sql.userdata.list_notes(
        conn, subject_type=parsed.type if parsed else subject_type,
        subject_id=parsed.id if parsed else None, author=author, contains=contains,
        before_id=before_id, limit=limit)]
    return sorted(_notes(conn, ids), key=lambda n: -n.id)


def note_history(conn: psycopg.Connection[Any], note_id: int) -> list[AuditEntry]:
    """Every change of one note, oldest first: its text before and after, who and when."""
    note_id = arguments.one_id("note_id", note_id)
    entries = [AuditEntry(*row) for row in sql.userdata.row_trail(conn, relation="userdata.notes",
                                                                  id=note_id)]
    if not entries:
        raise NotFoundError(f"the audit log knows no note {note_id}")
    return entries


def audit_trail(conn: psycopg.Connection[Any], subject: Subject | str, *,
                limit: int = 200) -> list[AuditEntry]:
    """The latest ``limit`` changes to the notes, custom fields and tags of one subject,
    oldest first."""
    subject, limit = Subject.parse(subject), arguments.count("limit", limit)
    rows = sql.userdata.subject_trail(conn, subject_type=subject.type, subject_id=subject.id,
                                      limit=limit).fetchall()
    return [AuditEntry(*row) for row in reversed(rows)]


# -- custom fields -----------------------------------------------------------------------------


def set_field(conn: psycopg.Connection[Any], subject: Subject | str, name: str, value: Any, *,
              author: str) -> CustomField:
    """Set a custom field of ``subject`` to ``value`` (any JSON value) as ``author``."""
    subject, name = Subject.parse(subject), name.strip()
    if not name:
        raise InvalidDataError("a custom field needs a name")
    with db.transaction(conn):
        act_as(conn, author)
        require_subject(conn, subject)
        sql.userdata.set_field(conn, subject_type=subject.type, subject_id=subject.id, name=name,
                               value=Jsonb(value), author=author)
        return get_fields(conn, subject, name=name)[0]


def get_fields(conn: psycopg.Connection[Any], subject: Subject | str, *,
               name: str | None = None) -> list[CustomField]:
    """The custom fields of ``subject`` (or only the one named), by name."""
    subject = Subject.parse(subject)
    return [CustomField(*row) for row in sql.userdata.get_fields(
        conn, subject_type=subject.type, subject_id=subject.id, name=name)]


def delete_field(conn: psycopg.Connection[Any], subject: Subject | str, name: str, *,
                 author: str) -> CustomField:
    """Delete one custom field as ``author``; returns it as it was."""
    subject = Subject.parse(subject)
    with db.transaction(conn):
        act_as(conn, author)
        row = sql.userdata.delete_field(conn, subject_type=subject.type, subject_id=subject.id,
                                        name=name).fetchone()
    if row is None:
        raise NotFoundError(f"{subject} has no custom field {name!r}")
    return CustomField(*row)


def list_fields(conn: psycopg.Connection[Any], *, name: str | None = None,
                subject_type: str | None = None, limit: int = 1000) -> list[CustomField]:
    """Custom fields of every subject, optionally of one name and subject type."""
    subject_type, limit = check_subject_type(subject_type), arguments.count("limit", limit)
    return [CustomField(*row) for row in sql.userdata.list_fields(
        conn, name=name, subject_type=subject_type, limit=limit)]


# -- bulk import and export of notes -----------------------------------------------------------


def import_notes(conn: psycopg.Connection[Any], path: str | os.PathLike[str], *, actor: str,
                 format: str | None = None) -> ImportReport:
    """Import notes from a CSV or JSON file in one transaction, through ``COPY``.

    Columns (CSV header) or keys (JSON objects): ``subject_type``, ``subject_id``,
    ``body``, and optionally ``author`` (default ``actor``), ``created_at`` (ISO 8601) and
    ``id``: a row with the id of an existing note rewrites that note's body (so an export
    edited and imported again updates, not duplicates); a row without one adds a note.
    Any other column or key is an error (``updated_at``, which an export writes, is
    ignored). Every record is checked first; InvalidDataError lists the bad ones (file, record
    number, field, what is wrong) and nothing is written.
    """
    path = Path(path)
    fmt = file_format(path, format)
    with db.transaction(conn):
        act_as(conn, actor)
        sql.userdata.create_import_tables(conn)
        records, problems = stage_records(conn, path, fmt, _note_row,
                                          sql.userdata.copy_import_notes,
                                          columns=NOTE_COLUMNS, default_author=actor)
        if not problems:
            problems = subject_problems(conn, path, "pg_temp.import_notes")
            problems += [f"{_label(path, n)}: id {i}: no note has this id; leave id empty to add "
                         "a new note" for n, i in sql.userdata.imported_notes_unknown_ids(
                             conn, limit=PROBLEM_LIMIT)]
            problems += [f"{path.name} records {', '.join(f'{n:,}' for n in nos)}: id {i} occurs "
                         f"{len(nos)} times; each note may appear once" for i, nos in
                         sql.userdata.imported_notes_duplicate_ids(conn, limit=PROBLEM_LIMIT)]
            problems += [f"{_label(path, n)}: note {i} is about {t}:{s}; a note cannot move to "
                         "another subject (leave id empty to add a new note)" for n, i, t, s in
                         sql.userdata.imported_notes_moved(conn, limit=PROBLEM_LIMIT)]
        if problems:
            raise InvalidDataError(f"{path.name} is not valid; nothing was written:",
                                   problems[:PROBLEM_LIMIT])
        updated = sql.userdata.update_imported_notes(conn).rowcount
        inserted = sql.userdata.insert_imported_notes(conn).rowcount
    with_id = records - inserted
    log.info("imported %d note record(s): %d new, %d updated", records, inserted, updated)
    return ImportReport(source=str(path), records=records, inserted=inserted, updated=updated,
                        unchanged=with_id - updated)


def export_notes(conn: psycopg.Connection[Any], out: IO[bytes], *, format: str = "csv",
                 subject_type: str | None = None, pseudonyms: Pseudonyms | None = None) -> int:
    """Write every note (optionally of one subject type) to ``out``: CSV with a header, or
    JSON (one object a line, which :func:`import_notes` reads back). Returns the rows.

    With ``pseudonyms``, the students' ids (``subject_id`` of a user) and the authors are
    their pseudonyms (:class:`tracker.privacy.Pseudonyms`); the bodies stay as written.
    """
    if format not in FORMATS:
        raise InvalidDataError(f"unknown format {format!r}: use {' or '.join(FORMATS)}")
    subject_type = check_subject_type(subject_type)
    statement = sql.userdata.export_notes_csv if format == "csv" else sql.userdata.export_notes_json
    if pseudonyms is None:
        return copy_out(conn, statement, out, json_lines=format == "json",
                        subject_type=subject_type)
    buffer = io.BytesIO()
    rows = copy_out(conn, statement, buffer, json_lines=format == "json",
                    subject_type=subject_type)
    pseudonyms.rewrite(buffer.getvalue(), out, json_lines=format == "json")
    return rows


def copy_out(conn: psycopg.Connection[Any], statement: Any, out: IO[bytes], *,
             json_lines: bool, **params: Any) -> int:
    """Run a ``COPY … TO STDOUT`` statement into ``out``; returns the data rows written.

    CSV passes through as PostgreSQL writes it; JSON rows (one text column) are unescaped
    from COPY's text format and written one a line.
    """
    with statement.copy(conn, **params) as copy:
        if json_lines:
            copy.set_types(["text"])
            for (doc,) in copy.rows():
                out.write(doc.encode() + b"\n")
        else:
            for data in copy:
                out.write(bytes(data))
        rows = copy.cursor.rowcount  # set once the data is read; reset when the cursor closes
    return max(rows, 0)


# -- curricula ---------------------------------------------------------------------------------


def create_curriculum(conn: psycopg.Connection[Any], name: str, *, actor: str,
                      description: str | None = None) -> Curriculum:
    """Create a curriculum (e.g. ``web_dev``); InvalidDataError if the name is taken."""
    name = name.strip()
    if not name:
        raise InvalidDataError("a curriculum needs a name (e.g. web_dev)")
    with db.transaction(conn):
        act_as(conn, actor)
        row = sql.userdata.create_curriculum(conn, name=name, description=description,
                                             actor=actor).fetchone()
        if row is None:
            raise InvalidDataError(f"a curriculum named {name!r} exists already")
    return get_curriculum(conn, name)


def get_curriculum(conn: psycopg.Connection[Any], name: str) -> Curriculum:
    for c in list_curricula(conn):
        if c.name == name:
            return c
    raise NotFoundError(f"there is no curriculum {name!r}: tracker curricula list shows them")


def list_curricula(conn: psycopg.Connection[Any]) -> list[Curriculum]:
    """Every curriculum with how many courses it holds, by name."""
    return [Curriculum(*row) for row in sql.userdata.list_curricula(conn)]


def delete_curriculum(conn: psycopg.Connection[Any], name: str, *, actor: str) -> None:
    """Delete an empty curriculum (take its courses out first)."""
    with db.transaction(conn):
        act_as(conn, actor)
        curriculum_id = _curriculum_id(conn, name)
        if curriculum_courses(conn, name):
            raise InvalidDataError(f"curriculum {name!r} still holds courses: remove them first")
        sql.userdata.delete_curriculum(conn, id=curriculum_id)


def add_courses(conn: psycopg.Connection[Any], name: str, course_ids: Sequence[int], *,
                actor: str) -> list[int]:
    """Put courses (which layer 1 must hold) into a curriculum; returns those added."""
    course_ids = arguments.ids("course_ids", course_ids)
    with db.transaction(conn):
        act_as(conn, actor)
        curriculum_id = _curriculum_id(conn, name)
        unknown = [r[0] for r in sql.userdata.unknown_courses(conn, course_ids=list(course_ids))]
        if unknown:
            raise NotFoundError(f"course{'s' * (len(unknown) > 1)} {', '.join(map(str, unknown))} "
                                "not in the database: sync them first")
        return sorted(r[0] for r in sql.userdata.add_curriculum_courses(
            conn, curriculum_id=curriculum_id, course_ids=list(course_ids), actor=actor))


def remove_courses(conn: psycopg.Connection[Any], name: str, course_ids: Sequence[int], *,
                   actor: str) -> list[int]:
    """Take courses out of a curriculum; returns those removed."""
    course_ids = arguments.ids("course_ids", course_ids)
    with db.transaction(conn):
        act_as(conn, actor)
        curriculum_id = _curriculum_id(conn, name)
        return sorted(r[0] for r in sql.userdata.remove_curriculum_courses(
            conn, curriculum_id=curriculum_id, course_ids=list(course_ids)))


def curriculum_courses(conn: psycopg.Connection[Any], name: str) -> list[CurriculumCourse]:
    """The courses of one curriculum, by name."""
    return [CurriculumCourse(*row) for row in sql.userdata.curriculum_course_list(
        conn, curriculum_id=_curriculum_id(conn, name))]


def curriculum_students(conn: psycopg.Connection[Any], names: Sequence[str], *,
                        match: str = "any", include_inactive: bool = False
                        ) -> list[queries.CurriculumStudent]:
    """Every student of a set of curricula (:func:`tracker.queries.curriculum_students`,
    all its pages): enrolled in a course of any of them (``match="any"``) or of each of
    them (``"all"``), by sortable name. Active enrollments only, unless
    ``include_inactive``. A name that is no curriculum is an error."""
    names = list(dict.fromkeys(n.strip() for n in arguments.names("names", names)))
    for name in names:
        _curriculum_id(conn, name)
    students: list[queries.CurriculumStudent] = []
    cursor = None
    while True:
        page = queries.curriculum_students(conn, names, match=match,
                                           include_inactive=include_inactive,
                                           limit=queries.MAX_LIMIT, cursor=cursor)
        students += page.rows
        if page.next_cursor is None:
            return students
        cursor = page.next_cursor


# -- shared helpers (tracker.tags uses them too) -----------------------------------------------


def act_as(conn: psycopg.Connection[Any], actor: str) -> None:
    """Name ``actor`` in the audit log of what this transaction changes (required)."""
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidDataError(f"say who makes this change (author/actor, a name; got {actor!r}): "
                               "the audit log records it")
    sql.userdata.set_actor(conn, actor=arguments.text("actor", actor))


def require_subject(conn: psycopg.Connection[Any], subject: Subject) -> str:
    """The name of ``subject`` (its layer 1 row); NotFoundError when it is not synced."""
    row = sql.userdata.subject_exists(conn, subject_type=subject.type, subject_id=subject.id).fetchone()
    if row is None:
        raise NotFoundError(f"{subject} is not in the database: notes, fields and tags are about "
                            f"the {subject.type}s tracker has synced")
    return str(row[0])


def _body(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidDataError(f"a note needs some text, not {body!r}")
    return arguments.text("body", body)


def _notes(conn: psycopg.Connection[Any], ids: Sequence[int]) -> list[Note]:
    return [Note(*row) for row in sql.userdata.get_notes(conn, ids=list(ids))]


def _curriculum_id(conn: psycopg.Connection[Any], name: str) -> int:
    row = sql.userdata.curriculum_id(conn, name=name.strip()).fetchone()
    if row is None:
        raise NotFoundError(f"there is no curriculum {name!r}: tracker curricula list shows them")
    return int(row[0])


def file_format(path: Path, given: str | None) -> str:
    """The format of a bulk file: ``given``, or the one its name ends in (:data:`FORMATS`)."""
    if given is not None:
        if given not in FORMATS:
            raise InvalidDataError(f"unknown format {given!r}: use {' or '.join(FORMATS)}")
        return given
    name = path.name.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")):
        return "json"
    raise InvalidDataError(f"{path.name}: say whether it is csv or json (the name ends in "
                           "neither .csv nor .json/.ndjson)")


def _label(path: Path, number: int) -> str:
    return canvas.record_label(path, number)


def _records(path: Path, fmt: str,
             columns: Sequence[str]) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """(record number, record) in file order; a record that cannot be read is a message.

    A CSV file whose header names a column not in ``columns``, that is not UTF-8 or
    whose quotes do not close is refused whole (InvalidDataError)."""
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file")
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, strict=True)
            try:
                header = reader.fieldnames or []
                if unknown := [c for c in header if c not in columns]:
                    raise InvalidDataError(
                        f"{path.name}: the header names {', '.join(map(repr, unknown))}, not "
                        f"a column of this import (the columns: {', '.join(columns)}); "
                        "nothing was written")
                for number, row in enumerate(reader, start=1):
                    if None in row:
                        yield number, (f"{len(header) + len(row[None])} columns, but the header "
                                       f"names {len(header)}")
                    else:
                        yield number, row
            except UnicodeDecodeError:
                line = _undecodable_line(path)
                raise InvalidDataError(f"{path.name} line {line} is not UTF-8 text: save the "
                                       "file as UTF-8; nothing was written") from None
            except csv.Error as exc:
                raise InvalidDataError(f"{path.name} line {reader.reader.line_num}: {exc} (a "
                                       "quote that does not close?); nothing was written") from None
        return
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    data = raw.removeprefix(b"\xef\xbb\xbf").strip()
    documents: Iterator[bytes]
    if data.startswith(b"["):  # one array of objects
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidDataError(f"{path.name} is not valid JSON ({exc}); nothing was "
                                   "written") from None
        documents = (orjson.dumps(item) for item in items)
    else:  # one object a line
        documents = (line for line in data.splitlines() if line.strip())
    for number, doc in enumerate(documents, start=1):
        yield number, _json_object(doc)


def _undecodable_line(path: Path) -> int:
    """The number of the first line of ``path`` that is not UTF-8 (0: none is)."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _json_object(doc: bytes) -> Mapping[str, Any] | str:
    try:
        value = orjson.loads(doc)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"expected a JSON object, got {_JSON_TYPES.get(type(value), 'number')}"
    return value


def stage_records(conn: psycopg.Connection[Any], path: Path, fmt: str, check: Any,
                  copy_statement: Any, *, columns: Sequence[str], **defaults: Any
                  ) -> tuple[int, list[str]]:
    """Check each record of ``path`` with ``check`` and COPY the good ones into the stage.

    ``columns`` are the keys a record may have. Returns (records read, problems). Stops
    copying at the first problem but keeps checking, to report up to the limit.
    """
    problems: list[str] = []
    records = 0
    with copy_statement.copy(conn) as copy:
        for number, record in _records(path, fmt, columns):
            records = number
            if isinstance(record, str):
                problems.append(f"{_label(path, number)}: {record}")
                continue
            row, errors = check(record, **defaults)
            errors = [*_key_problems(record, columns), *errors]
            if errors:
                problems += [f"{_label(path, number)}: {e}" for e in errors]
            elif not problems:
                copy.write_row((number, *row))
            if len(problems) >= PROBLEM_LIMIT:
                break
    if records == 0 and not problems:
        problems.append(f"{path.name}: no records")
    return records, problems


def _key_problems(record: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """Keys a record may not have, and text PostgreSQL cannot store."""
    unknown = [f"{key}: not a key of this import (the keys: {', '.join(columns)})"
               for key in record if key not in columns]
    nul = [f"{key}: holds a NUL character (\\u0000), which PostgreSQL text cannot hold"
           for key, value in record.items() if isinstance(value, str) and "\x00" in value]
    return unknown + nul


def record_text(record: Mapping[str, Any], key: str, errors: list[str]) -> str | None:
    """The text of ``key``, None when absent; a JSON value that is not a string is an error."""
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    errors.append(f"{key}: expected a string, got {show_value(value)}")
    return None


def check_subject_type(subject_type: str | None) -> str | None:
    """``subject_type`` if it is one of :data:`SUBJECT_TYPES` (or None: every type)."""
    if subject_type is not None and subject_type not in SUBJECT_TYPES:
        raise InvalidDataError(f"subject_type: {subject_type!r} is not a subject type "
                               f"({', '.join(SUBJECT_TYPES)})")
    return subject_type


def check_subject(record: Mapping[str, Any]) -> tuple[Subject | None, list[str]]:
    """The subject of a bulk record (``subject_type`` and ``subject_id``), or its problems,
    worded as the sync words a bad field (``tracker.canvas.field_problem``)."""
    errors = []
    subject_type, raw_id = record.get("subject_type"), record.get("subject_id")
    fields: tuple[tuple[str, Any, Any], ...] = (
        ("subject_type", subject_type, frozenset(SUBJECT_TYPES)), ("subject_id", raw_id, "id"))
    for name, value, kind in fields:
        if value in (None, ""):
            errors.append(f"{name}: missing; every record needs it")
        elif problem := canvas.field_problem(kind, value):
            errors.append(f"{name}: expected {problem}, got {show_value(value)}")
    subject_id = canvas.parse_canvas_id(str(raw_id).strip()) if not errors else None
    if errors or subject_id is None:
        return None, errors or [f"subject_id: expected a Canvas id, got {show_value(raw_id)}"]
    return Subject(str(subject_type), subject_id), []


def parse_time(value: Any) -> datetime | None | str:
    """An ISO 8601 time with a zone, None when empty; what is wrong (a string) when wrong."""
    if value in (None, ""):
        return None
    if problem := canvas.field_problem("time", value):
        return f"expected {problem}, got {show_value(value)}"
    return datetime.fromisoformat(str(value))


def show_value(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters, for a problem's message."""
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _note_row(record: Mapping[str, Any], *, default_author: str) -> tuple[tuple[Any, ...], list[str]]:
    subject, errors = check_subject(record)
    raw_body = record.get("body")
    if raw_body is None or (isinstance(raw_body, str) and not raw_body.strip()):
        errors.append("body: missing or empty; a note needs some text")
    body = record_text(record, "body", errors)
    author = (record_text(record, "author", errors) or "").strip() or default_author
    note_id = None
    raw_id = record.get("id")
    if raw_id not in (None, ""):
        if isinstance(raw_id, int) and not isinstance(raw_id, bool) and raw_id > 0:
            note_id = raw_id
        elif isinstance(raw_id, str) and raw_id.strip().isdigit():
            note_id = int(raw_id.strip())
        else:
            errors.append("id: expected the id of an existing note, or nothing, got "
                          f"{show_value(raw_id)}")
    created = parse_time(record.get("created_at"))
    if isinstance(created, str):
        errors.append(f"created_at: {created}")
    if errors or subject is None:
        return (), errors
    return (note_id, subject.type, subject.id, body, author, created), []


def subject_problems(conn: psycopg.Connection[Any], path: Path, stage: str) -> list[str]:
    """A problem for each staged record whose subject is not in the database."""
    return [f"{_label(path, n)}: {t} {i} is not in the database: sync it first, or leave the "
            "record out" for n, t, i in sql.userdata.imported_subjects_unknown(
                conn, stage=stage, limit=PROBLEM_LIMIT)]

