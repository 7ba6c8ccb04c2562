"""``tracker sync …``: sync a bundle or a live Canvas, list runs, report and undo them."""

from __future__ import annotations

import dataclasses
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from tracker import db, html, migrate, sync
from tracker.canvas_api import DEFAULT_CONCURRENCY
from tracker.cli.options import COUNT, FORMATS, ID, out_option
from tracker.cli.output import check_html, print_report, progress_bar, render, to_json, write_to
from tracker.errors import ConfigurationError, MigrationError


@click.group("sync", invoke_without_command=True)
@click.option("--bundle", "bundle_dir", type=click.Path(path_type=Path),
              help="A directory of Canvas API JSON files (NAME.json, NAME.ndjson, optionally .gz).")
@click.option("--canvas-url", help="Fetch from a live Canvas instead (token: CANVAS_API_TOKEN).")
@click.option("--course", "courses", type=ID, multiple=True,
              help="Course id in the scope (repeatable); the bundle must hold no other "
                   "course's records, and a stored course it no longer holds is marked "
                   "missing. Default: every course in the bundle.")
@click.option("--account", type=ID, help="With --canvas-url: every course of this account.")
@click.option("--term", type=ID, help="With --account: only this term's courses.")
@click.option("--incremental", is_flag=True,
              help="Write only what is given; mark nothing missing. With --canvas-url: fetch "
                   "only the submissions graded or submitted since each course's last live "
                   "sync (everything else in full); see README for what that cannot see.")
@click.option("--concurrency", type=click.IntRange(1, 32), default=DEFAULT_CONCURRENCY,
              show_default=True,
              help="With --canvas-url: requests in flight at once (Canvas's throttle allows "
                   "about 6-8; throttling halves it for a while).")
@click.option("--overlap", type=click.IntRange(0), default=60, show_default=True,
              metavar="MINUTES",
              help="With --incremental: ask again for what changed this long before the last "
                   "fetch's watermark.")
@click.option("--resume", is_flag=True,
              help="With --canvas-url: keep the courses an interrupted fetch finished and "
                   "fetch only the rest.")
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
@click.option("--wait", is_flag=True, help="Wait for another sync of the same course instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def group(ctx: click.Context, bundle_dir: Path | None, canvas_url: str | None,
          courses: tuple[int, ...], account: int | None, term: int | None, incremental: bool,
          concurrency: int, overlap: int, resume: bool, dry_run: bool, wait: bool,
          as_json: bool) -> None:
    """Sync Canvas data into the database, in one transaction.

    \b
    tracker sync --bundle DIR                 full sync of the bundle's courses
    tracker sync --canvas-url URL --course 42 full sync of course 42 from a live Canvas
    tracker sync --canvas-url URL --account 1 --incremental
                                              what changed since the last live sync
    tracker sync list | report [ID] | undo [ID]

    The counts per table: layer 1 rows inserted, updated, unchanged; objects marked
    missing or back (layer 0); history rows appended (layer 2): a submission's scores,
    an enrollment's grades and its student's risk assessment, a course's snapshot; and
    the Grade Change Log's events appended (or already stored: unchanged).

    A live sync fetches every course of its scope first, side by side (--concurrency),
    into a folder of the user's cache, and writes only once all is fetched; --json
    reports the fetch's requests, most in flight and throttled answers under "fetch".

    Exit codes: 0 synced, 1 failure or conflict, 2 invalid input (nothing written).
    """
    if ctx.invoked_subcommand is not None:
        return
    if (bundle_dir is None) == (canvas_url is None):
        raise click.UsageError("give either --bundle DIR or --canvas-url URL (see --help)")
    if bundle_dir is not None and (account is not None or term is not None):
        raise click.UsageError("--account and --term choose courses of a live Canvas: with "
                               "--bundle, name courses with --course")
    if courses and account is not None:
        raise click.UsageError("name courses with --course or an account with --account, not both")
    if term is not None and account is None:
        raise click.UsageError("--term needs --account: the term's courses of that account")
    if bundle_dir is not None and resume:
        raise click.UsageError("--resume continues an interrupted fetch from --canvas-url")
    url = db.database_url()
    pending = [m.id for m in migrate.status(url) if not m.applied]
    if pending:
        raise MigrationError(f"{len(pending)} migration(s) pending ({', '.join(pending)}): "
                             "run tracker db migrate first")
    options: dict[str, Any] = dict(incremental=incremental, dry_run=dry_run, wait=wait)
    with db.connect(url) as conn, progress_bar(not as_json) as progress:
        if bundle_dir is not None:
            result = sync.sync_bundle(conn, bundle_dir, courses=list(courses) or None,
                                      progress=progress, **options)
        else:
            token = os.environ.get("CANVAS_API_TOKEN")
            if not token:
                raise ConfigurationError("set CANVAS_API_TOKEN to a Canvas access token to sync "
                                         "from a live Canvas")
            if not courses and account is None:
                raise click.UsageError("with --canvas-url, name --course ID (repeatable) or --account ID")
            result = sync.sync_canvas(conn, canvas_url or "", token, course_ids=list(courses) or None,
                                      account_id=account, term_id=term, concurrency=concurrency,
                                      overlap=timedelta(minutes=overlap), resume=resume,
                                      progress=progress, **options)
    print_report(result, as_json=as_json)


@group.command("list")
@click.option("--limit", type=COUNT, default=20, show_default=True,
              help="How many runs, newest first.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def list_cmd(limit: int, fmt: str) -> None:
    """The journal of sync runs, newest first."""
    with db.connect_read() as conn:
        runs = sync.list_runs(conn, limit=limit)
    if fmt == "table":
        rows = [{"sync": r.sync_id, "kind": r.kind, "status": r.status,
                 "started": f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                 "seconds": f"{(r.finished_at - r.started_at).total_seconds():.1f}" if r.finished_at else "",
                 "courses": len(r.scope_course_ids),
                 "written": _written(r.counts), "error": r.error or ""} for r in runs]
        render(rows, fmt, title="sync runs")
    else:
        render(runs, fmt)


def _written(counts: dict[str, Any]) -> int:
    keys = ("inserted", "updated", "missing", "reactivated", "history")
    return sum(int(c.get(k, 0)) for c in counts.values() for k in keys)


@group.command("report")
@click.argument("sync_id", type=ID, required=False)
@click.option("--limit", type=COUNT, default=50, show_default=True,
              help="How many grade changes to show.")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "html")), default="table",
              show_default=True,
              help="table for people; json for scripts; html for one self-contained page "
                   "(needs pip install 'tracker[html]').")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@out_option
def report_cmd(sync_id: int | None, limit: int, fmt: str, as_json: bool,
               out: Path | None) -> None:
    """What a sync (default: the latest) changed: per table, and per student's grades.

    --format html writes one self-contained page (to --out FILE, else stdout) to mail
    or print.
    """
    if as_json:
        fmt = "json"
    check_html(fmt, out)
    with db.connect_read() as conn:
        result = sync.report(conn, sync_id, limit=limit)
    if fmt == "html":
        page = html.sync_page(result)
        with write_to(out) as f:
            f.write(page.encode())
        return
    if fmt == "json":
        click.echo(to_json(result))
        return
    run = result.run
    columns = [f.name for f in dataclasses.fields(sync.TableCounts)]
    rows = [{"table": name, **{c: counts.get(c, 0) for c in columns}}
            for name, counts in run.counts.items()]
    render(rows, "table", title=f"sync {run.sync_id} ({run.kind}, {run.status})")
    render(result.grade_changes, "table", title="grades recorded by this sync")


@group.command("undo")
@click.argument("sync_id", type=ID, required=False)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def undo_cmd(sync_id: int | None, yes: bool) -> None:
    """Revert a sync (default: the latest): layers 1 and 0 as before it, its history rows removed."""
    with db.connect() as conn:
        run = sync.get_run(conn, sync_id)
        if not yes:
            if not sys.stdin.isatty():
                raise click.UsageError("undo changes data: pass --yes to confirm when not on a terminal")
            click.confirm(f"undo sync {run.sync_id} ({run.kind}, started {run.started_at:%Y-%m-%d %H:%M})?",
                          abort=True)
        undone = sync.undo(conn, run.sync_id)
    click.echo(f"sync {undone.sync_id} undone")
