"""The first-sight path: submissions of courses new to layer 1, typed here and copied straight in.

A course's first sync meets only submissions the database has never seen, and they are
nearly all of a school's rows. The checking path (:mod:`tracker.sync`) would copy each
document to a stage, type it there, compare it with nothing and insert it: the server
walks every submission three times while this process waits. Here each document is
parsed once (orjson), checked field by field with the checks of :mod:`tracker.canvas`,
typed, and streamed with its document as one row of ``COPY canvas.submissions``: the
server parses the ``raw`` jsonb and writes the row and its indexes, once, while this
process types the rows that follow (both cores at work). A sync whose bundle also holds
courses with submissions stored sends those by the checking path, record by record
(:func:`records_of` tells them apart by their assignment's course).

The path is an optimistic one. Whatever it cannot take as it is (a record that fails a
check, a submission of an assignment outside the new courses or of a user that is
nowhere, or a duplicate id, which PostgreSQL's primary key refuses) raises
:class:`Refused`, or a psycopg error, and the sync starts again by the checking path
alone, which writes the same rows or names every record and field at fault exactly as
it always has (the attempt leaves nothing behind but a sync id the sequence will not
give again). Values are written in
COPY's text form, as PostgreSQL's own casts of the document's text would read them
(``(doc ->> 'score')::numeric``), so both paths store the same rows. A number is sent
as the document writes it: a float's shortest form is the document's own text only when
the document is what orjson writes of it; otherwise (``9.50``, ``1E2``, more digits than
a float keeps) its numbers are read again as their exact decimal text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tracker import bundle, copytext
from tracker.ahead import ahead
from tracker.canvas import FIELDS, ID_TEXT, MAX_ID, NUMBER_TEXT, TIME_TEXT
from tracker.kinds import BY_NAME
from tracker.sqlfiles import sql

__all__ = ["Fresh", "Refused", "copy_submissions", "records_of"]

log = logging.getLogger(__name__)

#: How many rows go to the server at a time (and how often progress is told).
BATCH_ROWS = 5_000


class Refused(Exception):
    """A record the first-sight path does not take as it is: the checking path will."""


@dataclass(frozen=True)
class Fresh:
    """The submissions a sync leaves to this path: those of ``courses`` (courses with no
    submission stored) in ``file``; ``records`` marks them by record number when the
    file also holds submissions of stored courses (None: every record is theirs)."""

    file: Path
    courses: frozenset[int]
    records: bytearray | None


def records_of(file: Path, course_of: Mapping[int, int], courses: frozenset[int]) -> bytearray:
    """Which records of ``file`` are submissions of ``courses``, by record number (1: yes),
    their course found through their assignment (``course_of``). A record that is not
    JSON or names no known assignment is left to the checking path, which says why."""
    marks = bytearray(1)  # record numbers start at 1
    for raw in bundle.iter_documents(file):
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        assignment = _id(doc.get("assignment_id")) if type(doc) is dict else None
        marks.append(assignment is not None and course_of.get(int(assignment)) in courses)
    return marks


def copy_submissions(conn: psycopg.Connection[Any], fresh: Fresh, *, sync_id: int,
                     course_of: Mapping[int, int], users: Container[int],
                     progress: Callable[[int], None] | None = None) -> int:
    """Copy the submissions ``fresh`` holds into ``canvas.submissions`` as rows of sync
    ``sync_id``; how many. ``course_of`` gives the course of each assignment of the
    fresh courses, ``users`` every user stored. Raises :class:`Refused` (or a psycopg
    error) for what only the checking path takes; the caller rolls the transaction back.

    A thread types the rows, a few batches ahead of this one, which sends them
    (:func:`tracker.ahead.ahead`): the sending waits on the server with the interpreter's
    lock released, so typing goes on while the server writes."""
    done = 0
    with (sql.canvas.copy_first_sight_submissions.copy(conn) as cp,
          ahead(_batches(fresh, course_of, users, str(sync_id).encode())) as batches):
        for rows, chunk in batches:
            cp.write(chunk)
            done += rows
            if progress:
                progress(done)
    log.debug("first-sight path: %d submissions of %s copied", done, fresh.file.name)
    return done


def _batches(fresh: Fresh, course_of: Mapping[int, int], users: Container[int], sync: bytes
             ) -> Iterator[tuple[int, bytes]]:
    """The COPY's lines, :data:`BATCH_ROWS` at a time: (how many rows, their bytes)."""
    marks = fresh.records
    batch: list[bytes] = []
    for number, doc in enumerate(bundle.iter_documents(fresh.file), start=1):
        if marks is not None and not marks[number]:
            continue
        batch.append(_row(doc, number, course_of, users, sync))
        if len(batch) == BATCH_ROWS:
            yield len(batch), b"".join(batch)
            batch = []
    if batch:
        yield len(batch), b"".join(batch)


_REQUIRED = BY_NAME["submissions"].required
_NUMBERS = tuple(name for name, kind in FIELDS["submissions"].items() if kind == "number")

#: A field's value as COPY text, or None when the checks of tracker.canvas refuse it
#: (the checking path then says why). Dates are checked for their form only: a date
#: such as 2026-02-30 PostgreSQL refuses, and the checking path names.
Convert = Callable[[Any], "bytes | None"]


def _canvas_id(value: Any) -> int:
    """A Canvas id (an integer, or its text as digits or ``shard~local``) as the global id
    ``tracker.canvas_id`` makes of it."""
    if isinstance(value, int):
        return value
    shard, tilde, local = value.partition("~")
    return int(shard) * 10**13 + int(local) if tilde else int(value)


def _id(value: Any) -> bytes | None:
    if type(value) is not int and not (type(value) is str and ID_TEXT.fullmatch(value)):
        return None
    number = _canvas_id(value)
    return str(number).encode() if -MAX_ID <= number <= MAX_ID else None


def _string(value: Any) -> bytes | None:
    if type(value) is str:
        return None if "\x00" in value else copytext.text(value)
    return str(value).encode() if type(value) is int else None


def _number(value: Any) -> bytes | None:
    """The text ``numeric`` reads: the document's own (a float's, as orjson writes it, is
    the document's when :func:`_exact` kept it; a Decimal, when it read it again)."""
    if type(value) is float:
        return orjson.dumps(value)
    if type(value) is int or type(value) is Decimal:
        return str(value).encode()
    return value.encode() if type(value) is str and NUMBER_TEXT.fullmatch(value) else None


def _int(value: Any) -> bytes | None:
    return str(value).encode() if type(value) is int and -MAX_ID <= value <= MAX_ID else None


def _bool(value: Any) -> bytes | None:
    return b"t" if value is True else b"f" if value is False else None


def _time(value: Any) -> bytes | None:
    """PostgreSQL reads the ISO 8601 text, as ``tracker.canvas_time`` does."""
    return value.encode() if type(value) is str and TIME_TEXT.fullmatch(value) else None


def _one_of(allowed: frozenset[str] | set[str]) -> Convert:
    def convert(value: Any) -> bytes | None:
        return value.encode() if type(value) is str and value in allowed else None
    return convert


_CONVERT: dict[str, Convert] = {"id": _id, "string": _string, "number": _number, "int": _int,
                                "bool": _bool, "time": _time}


def _columns() -> list[tuple[str, Convert]]:
    """The document's fields in the order of ``canvas.submissions``' columns after
    ``id, course_id`` (set apart: the course comes from the assignment)."""
    fields = FIELDS["submissions"]
    names = ["assignment_id", "user_id", "anonymous_id", "submission_type", "score", "grade",
             "entered_score", "entered_grade", "excused", "attempt", "workflow_state", "late",
             "missing", "late_policy_status", "seconds_late", "points_deducted",
             "submitted_at", "graded_at", "posted_at", "cached_due_date", "grader_id"]
    return [(name, _CONVERT[fields[name]] if isinstance(fields[name], str)
             else _one_of(fields[name])) for name in names]


_COLUMNS = _columns()


def _exact(doc: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """``doc``, parsed from ``raw``, with numbers that keep the document's text: itself
    when it holds no float or is byte for byte what orjson writes of it (then each
    float's shortest form is its text in ``raw``), else ``raw`` read again with every
    float as the Decimal of its text (``9.50`` stays 9.50, as PostgreSQL reads it)."""
    if any(type(doc.get(name)) is float for name in _NUMBERS) and orjson.dumps(doc) != raw:
        return json.loads(raw, parse_float=Decimal)  # type: ignore[no-any-return]
    return doc


def _row(raw: bytes, number: int, course_of: Mapping[int, int], users: Container[int],
         sync: bytes) -> bytes:
    """One line of the COPY: the typed columns, the digest, the document and the sync."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refused(f"record {number:,} is not JSON") from None
    if type(doc) is not dict:
        raise Refused(f"record {number:,} is not a JSON object")
    doc = _exact(doc, raw)
    for name in _REQUIRED:
        if doc.get(name) is None:
            raise Refused(f"record {number:,} lacks {name}")
    get = doc.get
    fields = [_id(doc["id"]), b"", *[copytext.NULL if (value := get(name)) is None
                                     else convert(value) for name, convert in _COLUMNS]]
    if None in fields:
        raise Refused(f"record {number:,}: a field the checks refuse")
    course = course_of.get(_canvas_id(doc["assignment_id"]))
    if course is None:
        raise Refused(f"record {number:,}: an assignment outside the new courses")
    if (user := get("user_id")) is not None and _canvas_id(user) not in users:
        raise Refused(f"record {number:,}: a user that is nowhere")
    fields[1] = str(course).encode()
    fields.append(copytext.digest(raw))
    fields.append(copytext.document(raw))
    fields.append(sync)
    return b"\t".join(fields) + b"\n"  # type: ignore[arg-type]  # None refused above
