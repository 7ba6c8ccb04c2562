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
check, a submission of an assignment outside the new courses, a duplicate id or a user
that is nowhere, which PostgreSQL's keys refuse) raises :class:`Refused`, or a psycopg
error, and the sync starts again by the checking path alone, which writes the same rows
or names every record and field at fault exactly as it always has (the attempt leaves
nothing behind but a sync id the sequence will not give again). Values are written in
COPY's text form, as PostgreSQL's own casts of the document's text would read them
(``(doc ->> 'score')::numeric``), so both paths store the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tracker import bundle, copytext
from tracker.canvas import FIELDS, field_problem
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
            assignment = doc.get("assignment_id") if isinstance(doc, dict) else None
            ok = assignment is not None and not field_problem("id", assignment)
        except orjson.JSONDecodeError:
            ok = False
        marks.append(ok and course_of.get(_canvas_id(assignment)) in courses)
    return marks


def copy_submissions(conn: psycopg.Connection[Any], fresh: Fresh, *, sync_id: int,
                     course_of: Mapping[int, int],
                     progress: Callable[[int], None] | None = None) -> int:
    """Copy the submissions ``fresh`` holds into ``canvas.submissions`` as rows of sync
    ``sync_id``; how many. ``course_of`` gives the course of each assignment of the
    fresh courses. Raises :class:`Refused` (or a psycopg error) for what only the
    checking path takes; the caller rolls the transaction back."""
    done = 0
    sync = str(sync_id).encode()
    marks = fresh.records
    with sql.canvas.copy_first_sight_submissions.copy(conn) as cp:
        batch: list[bytes] = []
        for number, doc in enumerate(bundle.iter_documents(fresh.file), start=1):
            if marks is not None and not marks[number]:
                continue
            batch.append(_row(doc, number, course_of, sync))
            if len(batch) == BATCH_ROWS:
                cp.write(b"".join(batch))
                done += len(batch)
                batch = []
                if progress:
                    progress(done)
        if batch:
            cp.write(b"".join(batch))
            done += len(batch)
    if progress:
        progress(done)
    log.debug("first-sight path: %d submissions of %s copied", done, fresh.file.name)
    return done


_TRUE, _FALSE = b"t", b"f"
_REQUIRED = BY_NAME["submissions"].required


def _canvas_id(value: Any) -> int:
    """A checked Canvas id as the global id ``tracker.canvas_id`` makes of it."""
    if isinstance(value, int):
        return value
    shard, tilde, local = value.partition("~")
    return int(shard) * 10**13 + int(local) if tilde else int(value)


def _number(value: Any) -> bytes:
    """A checked number as the text ``numeric`` reads (a float's shortest exact form)."""
    return (value if isinstance(value, str) else repr(value)).encode()


_FORMATS: dict[str, Callable[[Any], bytes]] = {
    "id": lambda v: str(_canvas_id(v)).encode(),
    "string": copytext.text,
    "number": _number,
    "int": lambda v: str(v).encode(),
    "bool": lambda v: _TRUE if v else _FALSE,
    "time": copytext.text,  # PostgreSQL reads the ISO 8601 text, as tracker.canvas_time does
}


def _columns() -> list[tuple[str, Any, Callable[[Any], bytes]]]:
    """The document's fields in the order of ``canvas.submissions``' columns after
    ``id, course_id`` (set apart: the course comes from the assignment)."""
    fields = FIELDS["submissions"]
    names = ["assignment_id", "user_id", "anonymous_id", "submission_type", "score", "grade",
             "entered_score", "entered_grade", "excused", "attempt", "workflow_state", "late",
             "missing", "late_policy_status", "seconds_late", "points_deducted",
             "submitted_at", "graded_at", "posted_at", "cached_due_date", "grader_id"]
    return [(name, fields[name], _FORMATS[fields[name]] if isinstance(
        fields[name], str) else copytext.text) for name in names]


_COLUMNS = _columns()


def _row(raw: bytes, number: int, course_of: Mapping[int, int], sync: bytes) -> bytes:
    """One line of the COPY: the typed columns, the digest, the document and the sync."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refused(f"record {number:,} is not JSON") from None
    if not isinstance(doc, dict):
        raise Refused(f"record {number:,} is not a JSON object")
    for name in _REQUIRED:
        if doc.get(name) is None:
            raise Refused(f"record {number:,} lacks {name}")
    problem = field_problem("id", doc["id"])
    if problem:
        raise Refused(f"record {number:,}: id")
    fields = [str(_canvas_id(doc["id"])).encode(), b""]
    for name, expected, form in _COLUMNS:
        value = doc.get(name)
        if value is None:
            fields.append(copytext.NULL)
            continue
        if field_problem(expected, value):
            raise Refused(f"record {number:,}: {name}")
        fields.append(form(value))
    course = course_of.get(_canvas_id(doc["assignment_id"]))
    if course is None:
        raise Refused(f"record {number:,}: an assignment outside the new courses")
    fields[1] = str(course).encode()
    fields.append(copytext.digest(raw))
    fields.append(copytext.document(raw))
    fields.append(sync)
    return b"\t".join(fields) + b"\n"
