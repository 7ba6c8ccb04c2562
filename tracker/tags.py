"""Tags on students, courses and assignments (layer 3): one spelling per idea.

A tag name is normalized before it is stored or looked up (:func:`normalize`): Unicode
NFC, case folded, surrounding whitespace removed and inner runs of whitespace made one
space; then a synonym list (``userdata.tag_synonyms``, managed with
:func:`add_synonym`) maps other spellings to one name: ``"AtRisk"`` can stand for
``"at risk"``.

- :func:`attach` / :func:`detach` / :func:`tags_of` / :func:`tagged_with`;
- :func:`merge`: fold duplicate tags into one, every link re-pointed in one transaction
  (safe while others are tagging: see ``sql/userdata/tags.sql``); the merged names
  become synonyms of the target, so later taggings with them land on the target;
- :func:`suggest`: tags that co-occur with a subject's own on similar subjects;
- :func:`list_tags` (counts of use) and :func:`usage_over_time` (how they changed, from the audit log);
- :func:`import_tags` / :func:`export_tags`: bulk CSV or JSON through ``COPY``, checked
  like the sync's input, nothing written unless every record is right.

Every writing function takes ``actor``, the person the audit log names.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import psycopg

from tracker import arguments, db, userdata
from tracker.errors import InvalidDataError, NotFoundError
from tracker.sqlfiles import sql
from tracker.userdata import ImportReport, Subject

log = logging.getLogger(__name__)

#: The columns (CSV) or keys (JSON) of a tag link record; the first three are required.
TAG_COLUMNS = ("tag", "subject_type", "subject_id", "tagged_by", "tagged_at")
#: The longest tag name, in characters (after normalization).
MAX_LENGTH = 100
PERIODS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    created_by: str
    created_at: datetime
    links: int
    users: int
    courses: int
    assignments: int
    first_tagged: datetime | None
    last_tagged: datetime | None


@dataclass(frozen=True)
class TagLink:
    tag: str
    subject_type: str
    subject_id: int
    tagged_by: str
    tagged_at: datetime


@dataclass(frozen=True)
class Synonym:
    alias: str
    canonical: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class MergeReport:
    """What :func:`merge` did: the tags folded into ``into`` and the links it moved."""

    into: str
    merged: tuple[str, ...]
    links_moved: int       # links re-pointed to the target
    links_present: int     # subjects the target was linked to already


@dataclass(frozen=True)
class Suggestion:
    tag: str
    score: Decimal   # the votes of similar subjects, weighted by how similar they are
    support: int     # how many similar subjects carry the tag


@dataclass(frozen=True)
class UsagePoint:
    tag: str
    period_start: datetime
    added: int
    removed: int
    total: int       # links at the end of the period


def normalize(name: str, synonyms: Mapping[str, str] | None = None) -> str:
    """The one spelling of a tag name: NFC, case folded, whitespace collapsed; then
    mapped through ``synonyms`` (normalized alias → canonical name) if given.

    >>> normalize("  At\\u00a0  Risk ")
    'at risk'
    """
    if not isinstance(name, str):
        raise InvalidDataError(f"a tag name is text, not {type(name).__name__}")
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    text = " ".join(text.split())
    if not text:
        raise InvalidDataError("a tag name cannot be empty or only whitespace")
    if len(text) > MAX_LENGTH:
        raise InvalidDataError(f"tag name {text[:20]!r}… is {len(text)} characters long; "
                               f"the limit is {MAX_LENGTH}")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise InvalidDataError(f"tag name {text!r} holds a control or format character")
    if synonyms:
        text = synonyms.get(text, text)
    return text


# -- tagging -----------------------------------------------------------------------------------


def attach(conn: psycopg.Connection[Any], subject: Subject | str, names: str | Iterable[str], *,
           actor: str) -> list[TagLink]:
    """Tag ``subject`` with ``names`` (normalized, synonyms followed; new tags created).
    Returns the subject's tags afterwards. A link that exists already is left as it is."""
    subject = Subject.parse(subject)
    wanted = _names(names)

    def work(conn: psycopg.Connection[Any]) -> list[TagLink]:
        userdata.act_as(conn, actor)
        sql.userdata.share_tag_catalog(conn)
        userdata.require_subject(conn, subject)
        for name in wanted:
            tag_id = _ensure_tag(conn, name, actor)
            sql.userdata.attach_tag(conn, tag_id=tag_id, subject_type=subject.type,
                                    subject_id=subject.id, actor=actor)
        return tags_of(conn, subject)

    return db.run_in_transaction(conn, work)


def detach(conn: psycopg.Connection[Any], subject: Subject | str, names: str | Iterable[str], *,
           actor: str) -> int:
    """Remove tags from ``subject``; returns how many links were removed."""
    subject = Subject.parse(subject)
    wanted = _names(names)

    def work(conn: psycopg.Connection[Any]) -> int:
        userdata.act_as(conn, actor)
        sql.userdata.share_tag_catalog(conn)
        ids = [row[0] for name in wanted
               if (row := sql.userdata.find_tag(conn, name=name).fetchone())]
        return sql.userdata.detach_tags(conn, tag_ids=ids, subject_type=subject.type,
                                        subject_id=subject.id).rowcount

    return db.run_in_transaction(conn, work)


def tags_of(conn: psycopg.Connection[Any], subject: Subject | str) -> list[TagLink]:
    """The tags of one subject, by name."""
    subject = Subject.parse(subject)
    return [TagLink(*row) for row in sql.userdata.tags_of(conn, subject_type=subject.type,
                                                          subject_id=subject.id)]


def tagged_with(conn: psycopg.Connection[Any], name: str, *, subject_type: str | None = None,
                limit: int = 1000) -> list[TagLink]:
    """The subjects a tag is linked to (optionally of one type), newest first."""
    limit = arguments.count("limit", limit)
    subject_type = userdata.check_subject_type(subject_type)
    tag_id = _tag_id(conn, normalize(name))
    return [TagLink(*row) for row in sql.userdata.tagged_with(
        conn, tag_id=tag_id, subject_type=subject_type, limit=limit)]


def list_tags(conn: psycopg.Connection[Any]) -> list[Tag]:
    """Every tag with its links per subject type, most used first."""
    return [Tag(*row) for row in sql.userdata.list_tags(conn)]



# -- synonyms and merging ----------------------------------------------------------------------


def synonyms(conn: psycopg.Connection[Any]) -> list[Synonym]:
    """The synonym list, by canonical name."""
    return [Synonym(*row) for row in sql.userdata.list_synonyms(conn)]


def add_synonym(conn: psycopg.Connection[Any], alias: str, canonical: str, *,
                actor: str) -> MergeReport | None:
    """Make ``alias`` stand for ``canonical`` from now on. If a tag named ``alias`` exists,
    it is merged into ``canonical`` (returns that merge's report)."""
    alias_name, canonical_name = normalize(alias), normalize(canonical)
    if alias_name == canonical_name:
        raise InvalidDataError(f"{alias!r} and {canonical!r} are one name once normalized "
                               f"({alias_name!r}): no synonym is needed")

    def work(conn: psycopg.Connection[Any]) -> MergeReport | None:
        userdata.act_as(conn, actor)
        sql.userdata.lock_tag_catalog(conn)
        target = _canonical(conn, canonical_name)
        if target == alias_name:
            raise InvalidDataError(f"{canonical!r} stands for {alias!r} already: remove that "
                                   "synonym first")
        if sql.userdata.find_tag(conn, name=alias_name).fetchone() and \
                _canonical(conn, alias_name) == alias_name:
            return _merge(conn, [alias_name], target, actor)
        sql.userdata.repoint_synonyms(conn, sources=[alias_name], target=target)
        sql.userdata.put_synonym(conn, alias=alias_name, canonical=target, actor=actor)
        return None

    return db.run_in_transaction(conn, work)


def remove_synonym(conn: psycopg.Connection[Any], alias: str, *, actor: str) -> str:
    """Forget a synonym; returns the name it stood for."""
    alias_name = normalize(alias)
    with db.transaction(conn):
        userdata.act_as(conn, actor)
        sql.userdata.lock_tag_catalog(conn)
        row = sql.userdata.delete_synonym(conn, alias=alias_name).fetchone()
    if row is None:
        raise NotFoundError(f"{alias_name!r} is not a synonym: tracker tags synonyms lists them")
    return str(row[0])


def merge(conn: psycopg.Connection[Any], sources: Sequence[str], into: str, *,
          actor: str) -> MergeReport:
    """Fold the tags ``sources`` into ``into`` (created if need be), in one transaction.

    Every link of a source tag is re-pointed to the target (keeping who tagged and when);
    a subject carrying both keeps one link. The source tags are removed and their names
    become synonyms of the target, so that tagging with them later lands on the target.
    Taggings running at the same time finish first or wait (no link is lost).
    """
    sources = arguments.names("sources", sources)
    if not sources:
        raise InvalidDataError("name the tags to merge")

    def work(conn: psycopg.Connection[Any]) -> MergeReport:
        userdata.act_as(conn, actor)
        sql.userdata.lock_tag_catalog(conn)
        target = _canonical(conn, normalize(into))
        names = [n for n in dict.fromkeys(_canonical(conn, normalize(s)) for s in sources)
                 if n != target]
        for name in names:
            _tag_id(conn, name)  # NotFoundError for a tag that does not exist
        return _merge(conn, names, target, actor)

    report = db.run_in_transaction(conn, work)
    target = report.into
    log.info("merged %d tag(s) into %r: %d link(s) moved", len(report.merged), target,
             report.links_moved)
    return report


def _merge(conn: psycopg.Connection[Any], names: Sequence[str], target: str,
           actor: str) -> MergeReport:
    """Merge existing tags ``names`` into ``target``; the catalog lock is held."""
    target_id = _ensure_tag(conn, target, actor)
    ids = [_tag_id(conn, n) for n in names]
    sql.userdata.lock_tags(conn, tag_ids=ids)
    moved = sql.userdata.move_links(conn, target_id=target_id, source_ids=ids).rowcount
    dropped = sql.userdata.drop_source_links(conn, source_ids=ids).rowcount
    sql.userdata.repoint_synonyms(conn, sources=list(names), target=target)
    for name in names:
        sql.userdata.put_synonym(conn, alias=name, canonical=target, actor=actor)
    sql.userdata.drop_tags(conn, tag_ids=ids)
    subjects = dropped  # links removed from the sources (one subject may have had several)
    return MergeReport(into=target, merged=tuple(names), links_moved=moved,
                       links_present=max(subjects - moved, 0))


# -- suggestions and analytics -----------------------------------------------------------------


def suggest(conn: psycopg.Connection[Any], subject: Subject | str, *,
            limit: int = 5) -> list[Suggestion]:
    """Tags ``subject`` does not have that co-occur with its own on similar subjects (of
    its type); for an untagged subject, the tags of its neighbours in layer 1 (a
    student's classmates, a course's curriculum and term, an assignment's course)."""
    subject, limit = Subject.parse(subject), arguments.count("limit", limit)
    return [Suggestion(*row) for row in sql.userdata.suggest_tags(
        conn, subject_type=subject.type, subject_id=subject.id, limit=limit)]


def usage_over_time(conn: psycopg.Connection[Any], *, period: str = "month",
                    since: datetime | None = None, names: Sequence[str] | None = None
                    ) -> list[UsagePoint]:
    """How each tag's use changed: per ``period`` (day, week, month, year), links added,
    removed, and the total at the end of the period, from the audit log."""
    if period not in PERIODS:
        raise InvalidDataError(f"period is one of {', '.join(PERIODS)}, not {period!r}")
    if since is not None and not isinstance(since, datetime):
        raise InvalidDataError(f"since: expected a datetime, got {since!r}")
    wanted = [normalize(n) for n in arguments.names("names", names)] if names else None
    return [UsagePoint(*row) for row in sql.userdata.usage_over_time(
        conn, period=period, since=since, tags=wanted)]


# -- bulk --------------------------------------------------------------------------------------


def import_tags(conn: psycopg.Connection[Any], path: str | os.PathLike[str], *, actor: str,
                format: str | None = None) -> ImportReport:
    """Import tag links from a CSV or JSON file in one transaction, through ``COPY``.

    Columns or keys: ``tag``, ``subject_type``, ``subject_id``, and optionally
    ``tagged_by`` (default ``actor``) and ``tagged_at``. Names are normalized and synonyms
    followed; missing tags are created. Every record is checked first; InvalidDataError
    lists the bad ones and nothing is written.
    """
    path = Path(path)
    fmt = userdata.file_format(path, format)
    with db.transaction(conn):
        userdata.act_as(conn, actor)
        sql.userdata.share_tag_catalog(conn)
        sql.userdata.create_import_tables(conn)
        records, problems = userdata.stage_records(conn, path, fmt, _tag_row,
                                                   sql.userdata.copy_import_tags,
                                                   columns=TAG_COLUMNS, default_actor=actor)
        if not problems:
            problems = userdata.subject_problems(conn, path, "pg_temp.import_tags")
        if problems:
            raise InvalidDataError(f"{path.name} is not valid; nothing was written:",
                                   problems[: userdata.PROBLEM_LIMIT])
        sql.userdata.resolve_imported_tags(conn)
        created = sql.userdata.insert_imported_tag_names(conn).rowcount
        inserted = sql.userdata.insert_imported_tag_links(conn).rowcount
    log.info("imported %d tag record(s): %d new link(s), %d new tag(s)", records, inserted, created)
    return ImportReport(source=str(path), records=records, inserted=inserted, updated=0,
                        unchanged=records - inserted, created=created)


def export_tags(conn: psycopg.Connection[Any], out: IO[bytes], *, format: str = "csv",
                subject_type: str | None = None) -> int:
    """Write every tag link to ``out`` as CSV (with a header) or JSON (one object a line),
    which :func:`import_tags` reads back. Returns the rows written."""
    if format not in userdata.FORMATS:
        raise InvalidDataError(f"unknown format {format!r}: use csv or json")
    subject_type = userdata.check_subject_type(subject_type)
    statement = sql.userdata.export_tags_csv if format == "csv" else sql.userdata.export_tags_json
    return userdata.copy_out(conn, statement, out, json_lines=format == "json",
                             subject_type=subject_type)


# -- helpers -----------------------------------------------------------------------------------


def _names(names: str | Iterable[str]) -> list[str]:
    items = [names] if isinstance(names, str) else list(names)
    if not items:
        raise InvalidDataError("name at least one tag")
    return list(dict.fromkeys(normalize(n) for n in items))


def _ensure_tag(conn: psycopg.Connection[Any], name: str, actor: str) -> int:
    """The id of the tag ``name`` stands for, created if need be."""
    for _ in range(5):
        row = sql.userdata.ensure_tag(conn, name=name, actor=actor).fetchone()
        if row is not None:
            return int(row[0])
    raise AssertionError(f"tag {name!r} could not be created nor found")  # pragma: no cover


def _canonical(conn: psycopg.Connection[Any], name: str) -> str:
    row = sql.userdata.canonical_name(conn, name=name).fetchone()
    assert row is not None
    return str(row[0])


def _tag_id(conn: psycopg.Connection[Any], name: str) -> int:
    row = sql.userdata.find_tag(conn, name=name).fetchone()
    if row is None:
        raise NotFoundError(f"there is no tag {name!r}: tracker tags list shows them")
    return int(row[0])


def _tag_row(record: Mapping[str, Any], *, default_actor: str) -> tuple[tuple[Any, ...], list[str]]:
    subject, errors = userdata.check_subject(record)
    tag = record.get("tag")
    name = None
    if tag in (None, ""):
        errors.append("tag: missing; every record needs it")
    else:
        try:
            name = normalize(tag)
        except InvalidDataError as exc:
            errors.append(f"tag: {exc}, got {userdata.show_value(tag)}")
    tagged_by = (userdata.record_text(record, "tagged_by", errors) or "").strip() or default_actor
    tagged_at = userdata.parse_time(record.get("tagged_at"))
    if isinstance(tagged_at, str):
        errors.append(f"tagged_at: {tagged_at}")
    if errors or subject is None:
        return (), errors
    return (name, subject.type, subject.id, tagged_by, tagged_at), []
