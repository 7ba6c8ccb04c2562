"""``tracker notes|fields|tags|curricula …``: what people write about students, courses and
assignments (thin wrappers over :mod:`tracker.userdata` and :mod:`tracker.tags`).

A subject is written ``TYPE:ID``: ``user:42``, ``course:101``, ``assignment:301``. Who
makes a change is ``--by`` (default: $TRACKER_ACTOR, else the login name); the audit
log records it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from tracker import db, privacy, tags, userdata
from tracker.cli.options import COUNT, ID, actor_option, format_option, pseudonymize_option
from tracker.cli.output import render, to_json, write_to

FILE_FORMATS = click.Choice(userdata.FORMATS)


# -- notes ---------------------------------------------------------------------------------------


@click.group("notes")
def notes_group() -> None:
    """Notes about students, courses and assignments, with every edit kept.

    \b
    tracker notes add user:42 "Struggles with fractions"
    tracker notes list --subject user:42
    tracker notes history 7         every version of note 7, who and when
    tracker notes import notes.csv  thousands at once; all or nothing
    """


@notes_group.command("add")
@click.argument("subject")
@click.argument("body")
@actor_option
@format_option
def notes_add(subject: str, body: str, actor: str, fmt: str) -> None:
    """Write a note about SUBJECT (TYPE:ID)."""
    with db.connect() as conn:
        note = userdata.add_note(conn, subject, body, author=actor)
    render([note], fmt, title="note added")


@notes_group.command("show")
@click.argument("note_id", type=ID)
@format_option
def notes_show(note_id: int, fmt: str) -> None:
    """One note."""
    with db.connect_read() as conn:
        render([userdata.get_note(conn, note_id)], fmt)


@notes_group.command("edit")
@click.argument("note_id", type=ID)
@click.argument("body")
@actor_option
@format_option
def notes_edit(note_id: int, body: str, actor: str, fmt: str) -> None:
    """Rewrite a note (the old text stays in its history)."""
    with db.connect() as conn:
        render([userdata.update_note(conn, note_id, body, author=actor)], fmt, title="note edited")


@notes_group.command("delete")
@click.argument("note_id", type=ID)
@actor_option
def notes_delete(note_id: int, actor: str) -> None:
    """Delete a note (its history keeps it)."""
    with db.connect() as conn:
        note = userdata.delete_note(conn, note_id, author=actor)
    click.echo(f"note {note.id} about {note.subject_type}:{note.subject_id} deleted")


@notes_group.command("list")
@click.option("--subject", help="Only about this subject (TYPE:ID).")
@click.option("--type", "subject_type", type=click.Choice(userdata.SUBJECT_TYPES),
              help="Only about subjects of this type.")
@click.option("--author", help="Only by this author.")
@click.option("--contains", help="Only those containing this text (any case).")
@click.option("--before", "before_id", type=ID, help="Only older than this note id (next page).")
@click.option("--limit", type=COUNT, default=100, show_default=True)
@format_option
def notes_list(subject: str | None, subject_type: str | None, author: str | None,
               contains: str | None, before_id: int | None, limit: int, fmt: str) -> None:
    """Notes, newest first."""
    with db.connect_read() as conn:
        notes = userdata.list_notes(conn, subject=subject, subject_type=subject_type, author=author,
                                    contains=contains, before_id=before_id, limit=limit)
    render(notes, fmt, title="notes")


@notes_group.command("history")
@click.argument("note_id", type=ID)
@format_option
def notes_history(note_id: int, fmt: str) -> None:
    """Every change of one note: action, who, when, the text before and after."""
    with db.connect_read() as conn:
        entries = userdata.note_history(conn, note_id)
    if fmt == "table":
        render([{"when": f"{e.changed_at:%Y-%m-%d %H:%M:%S}", "who": e.changed_by,
                 "action": e.action, "before": (e.old_row or {}).get("body", ""),
                 "after": (e.new_row or {}).get("body", "")} for e in entries], fmt,
               title=f"history of note {note_id}")
    else:
        render(entries, fmt)


@notes_group.command("trail")
@click.argument("subject")
@click.option("--limit", type=COUNT, default=200, show_default=True)
@format_option
def notes_trail(subject: str, limit: int, fmt: str) -> None:
    """Every change to the notes, fields and tags of SUBJECT, oldest first."""
    with db.connect_read() as conn:
        entries = userdata.audit_trail(conn, subject, limit=limit)
    if fmt == "table":
        render([{"when": f"{e.changed_at:%Y-%m-%d %H:%M:%S}", "who": e.changed_by,
                 "what": e.relation.removeprefix("userdata."), "action": e.action,
                 "before": _short(e.old_row), "after": _short(e.new_row)} for e in entries],
               fmt, title=f"audit trail of {subject}")
    else:
        render(entries, fmt)


def _short(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    for key in ("body", "value", "tag_id", "name"):
        if key in row:
            return f"{key}={json.dumps(row[key], ensure_ascii=False)}"
    return ""


@notes_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=FILE_FORMATS,
              help="csv or json (default: from the file name).")
@actor_option
def notes_import(path: Path, file_format: str | None, actor: str) -> None:
    """Import notes from a CSV or JSON file, all or nothing.

    Columns: subject_type, subject_id, body; optional author, created_at, and id (the id
    of an existing note rewrites it: an edited export imports back without duplicates).
    Exit code 2, and nothing written, when a record is wrong.
    """
    with db.connect() as conn:
        report = userdata.import_notes(conn, path, actor=actor, format=file_format)
    click.echo(f"{path.name}: {report.records:,} record(s): {report.inserted:,} added, "
               f"{report.updated:,} updated, {report.unchanged:,} unchanged")


@notes_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.option("--format", "file_format", type=FILE_FORMATS, default="csv", show_default=True)
@click.option("--type", "subject_type", type=click.Choice(userdata.SUBJECT_TYPES))
@pseudonymize_option
def notes_export(out: Path | None, file_format: str, subject_type: str | None,
                 pseudonymize: bool) -> None:
    """Write every note as CSV or JSON lines (which notes import reads back).

    --pseudonymize, for sharing with researchers: students' ids (subject_id of a user) and
    authors become keyed hashes (user-…, name-…; HMAC-SHA256 with TRACKER_PSEUDONYM_KEY, at
    least 16 bytes), the same in every export with the same key. Course and assignment ids
    stay, and so do the bodies: read them for names before sharing.
    """
    pseudonyms = privacy.Pseudonyms.from_env() if pseudonymize else None
    with db.connect_read() as conn, write_to(out) as stream:
        rows = userdata.export_notes(conn, stream, format=file_format, subject_type=subject_type,
                                     pseudonyms=pseudonyms)
    if out:
        click.echo(f"{rows:,} note(s) written to {out}", err=True)


# -- custom fields -------------------------------------------------------------------------------


@click.group("fields")
def fields_group() -> None:
    """Custom fields of students, courses and assignments (any JSON value)."""


@fields_group.command("set")
@click.argument("subject")
@click.argument("name")
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="VALUE is JSON (a number, object, …).")
@actor_option
@format_option
def fields_set(subject: str, name: str, value: str, as_json: bool, actor: str, fmt: str) -> None:
    """Set field NAME of SUBJECT to VALUE (text, or JSON with --json)."""
    parsed: Any = value
    if as_json:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="VALUE") from None
    with db.connect() as conn:
        render([userdata.set_field(conn, subject, name, parsed, author=actor)], fmt)


@fields_group.command("get")
@click.argument("subject")
@click.argument("name", required=False)
@format_option
def fields_get(subject: str, name: str | None, fmt: str) -> None:
    """The fields of SUBJECT (or only NAME)."""
    with db.connect_read() as conn:
        render(userdata.get_fields(conn, subject, name=name), fmt, title=f"fields of {subject}")


@fields_group.command("delete")
@click.argument("subject")
@click.argument("name")
@actor_option
def fields_delete(subject: str, name: str, actor: str) -> None:
    """Delete field NAME of SUBJECT."""
    with db.connect() as conn:
        userdata.delete_field(conn, subject, name, author=actor)
    click.echo(f"field {name!r} of {subject} deleted")


@fields_group.command("list")
@click.option("--name", help="Only this field.")
@click.option("--type", "subject_type", type=click.Choice(userdata.SUBJECT_TYPES))
@click.option("--limit", type=COUNT, default=1000, show_default=True)
@format_option
def fields_list(name: str | None, subject_type: str | None, limit: int, fmt: str) -> None:
    """Custom fields of every subject."""
    with db.connect_read() as conn:
        render(userdata.list_fields(conn, name=name, subject_type=subject_type, limit=limit), fmt)


# -- tags ----------------------------------------------------------------------------------------


@click.group("tags")
def tags_group() -> None:
    """Tags on students, courses and assignments: one spelling per idea.

    Names are normalized (case, whitespace, Unicode) and follow the synonym list.

    \b
    tracker tags attach user:42 "at risk" honors
    tracker tags merge AtRisk at-risk --into "at risk"
    tracker tags suggest user:42
    """


@tags_group.command("attach")
@click.argument("subject")
@click.argument("names", nargs=-1, required=True)
@actor_option
@format_option
def tags_attach(subject: str, names: tuple[str, ...], actor: str, fmt: str) -> None:
    """Tag SUBJECT with NAMES; shows its tags afterwards."""
    with db.connect() as conn:
        render(tags.attach(conn, subject, names, actor=actor), fmt, title=f"tags of {subject}")


@tags_group.command("detach")
@click.argument("subject")
@click.argument("names", nargs=-1, required=True)
@actor_option
def tags_detach(subject: str, names: tuple[str, ...], actor: str) -> None:
    """Remove tags NAMES from SUBJECT."""
    with db.connect() as conn:
        removed = tags.detach(conn, subject, names, actor=actor)
    click.echo(f"{removed} tag(s) removed from {subject}")


@tags_group.command("of")
@click.argument("subject")
@format_option
def tags_of(subject: str, fmt: str) -> None:
    """The tags of SUBJECT."""
    with db.connect_read() as conn:
        render(tags.tags_of(conn, subject), fmt, title=f"tags of {subject}")


@tags_group.command("with")
@click.argument("name")
@click.option("--type", "subject_type", type=click.Choice(userdata.SUBJECT_TYPES))
@click.option("--limit", type=COUNT, default=1000, show_default=True)
@format_option
def tags_with(name: str, subject_type: str | None, limit: int, fmt: str) -> None:
    """The subjects tagged NAME, newest first."""
    with db.connect_read() as conn:
        render(tags.tagged_with(conn, name, subject_type=subject_type, limit=limit), fmt)


@tags_group.command("list")
@format_option
def tags_list(fmt: str) -> None:
    """Every tag and how often it is used, per subject type."""
    with db.connect_read() as conn:
        render(tags.list_tags(conn), fmt, title="tags")


@tags_group.command("merge")
@click.argument("sources", nargs=-1, required=True)
@click.option("--into", required=True, help="The tag to keep (created if need be).")
@actor_option
def tags_merge(sources: tuple[str, ...], into: str, actor: str) -> None:
    """Fold tags SOURCES into one: every link re-pointed in one transaction."""
    with db.connect() as conn:
        report = tags.merge(conn, sources, into, actor=actor)
    click.echo(f"merged {', '.join(report.merged) or 'nothing'} into {report.into!r}: "
               f"{report.links_moved} link(s) moved, {report.links_present} present already")


@tags_group.command("synonym")
@click.argument("alias")
@click.argument("canonical", required=False)
@click.option("--remove", is_flag=True, help="Forget ALIAS.")
@actor_option
def tags_synonym(alias: str, canonical: str | None, remove: bool, actor: str) -> None:
    """Make ALIAS stand for CANONICAL (an existing ALIAS tag is merged), or --remove it."""
    with db.connect() as conn:
        if remove:
            click.echo(f"{tags.normalize(alias)!r} no longer stands for "
                       f"{tags.remove_synonym(conn, alias, actor=actor)!r}")
            return
        if canonical is None:
            raise click.UsageError("give CANONICAL, the name ALIAS stands for (or --remove)")
        report = tags.add_synonym(conn, alias, canonical, actor=actor)
    click.echo(f"{tags.normalize(alias)!r} stands for {tags.normalize(canonical)!r}"
               + (f"; {report.links_moved} link(s) moved to it" if report else ""))


@tags_group.command("synonyms")
@format_option
def tags_synonyms(fmt: str) -> None:
    """The synonym list."""
    with db.connect_read() as conn:
        render(tags.synonyms(conn), fmt, title="tag synonyms")


@tags_group.command("suggest")
@click.argument("subject")
@click.option("--limit", type=COUNT, default=5, show_default=True)
@format_option
def tags_suggest(subject: str, limit: int, fmt: str) -> None:
    """Tags that co-occur with SUBJECT's own on similar subjects."""
    with db.connect_read() as conn:
        render(tags.suggest(conn, subject, limit=limit), fmt, title=f"suggested for {subject}")


@tags_group.command("trend")
@click.option("--period", type=click.Choice(tags.PERIODS), default="month", show_default=True)
@click.option("--since", type=click.DateTime(), help="From this date.")
@click.option("--tag", "names", multiple=True, help="Only this tag (repeatable).")
@format_option
def tags_trend(period: str, since: datetime | None, names: tuple[str, ...], fmt: str) -> None:
    """How tag use changed: links added, removed and in use, per period."""
    with db.connect_read() as conn:
        points = tags.usage_over_time(conn, period=period, names=names or None,
                                      since=since.astimezone() if since else None)
    render(points, fmt, title=f"tag use per {period}")


@tags_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=FILE_FORMATS)
@actor_option
def tags_import(path: Path, file_format: str | None, actor: str) -> None:
    """Import tag links (columns tag, subject_type, subject_id; optional tagged_by,
    tagged_at) from CSV or JSON, all or nothing."""
    with db.connect() as conn:
        report = tags.import_tags(conn, path, actor=actor, format=file_format)
    click.echo(f"{path.name}: {report.records:,} record(s): {report.inserted:,} link(s) added, "
               f"{report.unchanged:,} present already, {report.created:,} new tag(s)")


@tags_group.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.option("--format", "file_format", type=FILE_FORMATS, default="csv", show_default=True)
@click.option("--type", "subject_type", type=click.Choice(userdata.SUBJECT_TYPES))
def tags_export(out: Path | None, file_format: str, subject_type: str | None) -> None:
    """Write every tag link as CSV or JSON lines (which tags import reads back)."""
    with db.connect_read() as conn, write_to(out) as stream:
        rows = tags.export_tags(conn, stream, format=file_format, subject_type=subject_type)
    if out:
        click.echo(f"{rows:,} link(s) written to {out}", err=True)


# -- curricula -----------------------------------------------------------------------------------


@click.group("curricula")
def curricula_group() -> None:
    """Curricula (e.g. web_dev, data_science): named sets of courses and their students."""


@curricula_group.command("create")
@click.argument("name")
@click.option("--description")
@actor_option
def curricula_create(name: str, description: str | None, actor: str) -> None:
    """Create curriculum NAME."""
    with db.connect() as conn:
        userdata.create_curriculum(conn, name, description=description, actor=actor)
    click.echo(f"curriculum {name!r} created")


@curricula_group.command("add")
@click.argument("name")
@click.argument("course_ids", nargs=-1, type=ID, required=True)
@actor_option
def curricula_add(name: str, course_ids: tuple[int, ...], actor: str) -> None:
    """Put courses into curriculum NAME."""
    with db.connect() as conn:
        added = userdata.add_courses(conn, name, course_ids, actor=actor)
    click.echo(f"{len(added)} course(s) added to {name!r}")


@curricula_group.command("remove")
@click.argument("name")
@click.argument("course_ids", nargs=-1, type=ID, required=True)
@actor_option
def curricula_remove(name: str, course_ids: tuple[int, ...], actor: str) -> None:
    """Take courses out of curriculum NAME."""
    with db.connect() as conn:
        removed = userdata.remove_courses(conn, name, course_ids, actor=actor)
    click.echo(f"{len(removed)} course(s) removed from {name!r}")


@curricula_group.command("delete")
@click.argument("name")
@actor_option
def curricula_delete(name: str, actor: str) -> None:
    """Delete an empty curriculum."""
    with db.connect() as conn:
        userdata.delete_curriculum(conn, name, actor=actor)
    click.echo(f"curriculum {name!r} deleted")


@curricula_group.command("list")
@format_option
def curricula_list(fmt: str) -> None:
    """Every curriculum and how many courses it holds."""
    with db.connect_read() as conn:
        render(userdata.list_curricula(conn), fmt, title="curricula")


@curricula_group.command("courses")
@click.argument("name")
@format_option
def curricula_courses(name: str, fmt: str) -> None:
    """The courses of curriculum NAME."""
    with db.connect_read() as conn:
        render(userdata.curriculum_courses(conn, name), fmt, title=f"courses of {name}")


@curricula_group.command("students")
@click.argument("names", nargs=-1, required=True)
@click.option("--all", "match_all", is_flag=True, help="Only students in every curriculum named.")
@click.option("--include-inactive", is_flag=True,
              help="Count every student enrollment (invited, completed, inactive, deleted), "
                   "not only the active ones.")
@format_option
def curricula_students(names: tuple[str, ...], match_all: bool, include_inactive: bool,
                       fmt: str) -> None:
    """The students of curricula NAMES (of any of them, or with --all of each)."""
    with db.connect_read() as conn:
        students = userdata.curriculum_students(conn, names, match="all" if match_all else "any",
                                                include_inactive=include_inactive)
    if fmt == "json":
        click.echo(to_json(students))
    else:
        render([{**vars(s), "curricula": ", ".join(s.curricula),
                 "course_ids": ", ".join(map(str, s.course_ids))} for s in students], fmt,
               title=f"students of {', '.join(names)}")
    if fmt == "table" and sys.stdout.isatty():
        click.echo(f"{len(students)} student(s)")


commands = (notes_group, fields_group, tags_group, curricula_group)
