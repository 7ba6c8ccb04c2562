"""Rendering for the command line: tables for people, JSON or CSV for scripts, a sync's
progress and report, and errors."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg

from tracker import sync
from tracker.db import first_line
from tracker.errors import TrackerError

log = logging.getLogger(__name__)

T = TypeVar("T")

def run_guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn tracker's expected errors into a message on stderr and an exit code.

    An error the server raised that tracker did not foresee (a statement timeout, a
    read-only server, a lost connection) is reported the same way, with exit code 1; the
    traceback goes to the log (``-vv``).
    """
    try:
        return fn()
    except TrackerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except psycopg.Error as exc:
        log.debug("the database refused", exc_info=True)
        state = f" ({exc.sqlstate})" if exc.sqlstate else ""
        click.echo(f"error: the database refused{state}: {first_line(exc)} (-vv shows where)",
                   err=True)
        sys.exit(1)


def check_html(fmt: str, out: Path | None) -> None:
    """Before reading anything: ``--out`` only with ``--format html``, and an HTML page
    only when its libraries are installed (else say what to install; exit code 2)."""
    if out is not None and fmt != "html":
        raise click.BadParameter("--out writes an HTML page: give --format html too",
                                 param_hint="--out")
    if fmt == "html":
        from tracker import html

        html.require()


def write_to(path: Path | None) -> Any:
    """The file to write (closed afterwards), or stdout (left open); a file that cannot be
    opened is a bad ``--out`` (exit code 2)."""
    try:
        return click.open_file(str(path) if path else "-", "wb")
    except OSError as exc:
        raise click.BadParameter(f"cannot write {path}: {exc.strerror or exc}",
                                 param_hint="'--out'") from None


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """``value`` (dataclasses, rows, dates, decimals) as indented JSON."""
    return json.dumps(_plain(value), indent=2, ensure_ascii=False)


def byte_size(n: int) -> str:
    """A size for a person: ``512 B``, ``1.5 kB``, ``3.2 MB``, ``1,204.0 GB``."""
    size = float(n)
    for unit in ("B", "kB", "MB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GB"


def rows_of(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclasses or mappings as a list of plain dicts."""
    return [_plain(item) for item in items]


def render(items: Sequence[Any], fmt: str, *, title: str | None = None,
           columns: Sequence[str] | None = None) -> None:
    """Print rows as a table, JSON or CSV. CSV has a header line even with no rows when
    ``columns`` names them."""
    rows = rows_of(items)
    if fmt == "json":
        click.echo(to_json(rows))
        return
    if fmt == "csv":
        buf = io.StringIO()
        fieldnames = list(rows[0]) if rows else list(columns or ())
        if fieldnames:
            writer = csv.DictWriter(buf, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    columns = list(rows[0]) if rows else []
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    # A person's terminal sets the width; piped output gets room enough not to truncate.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(table if rows else f"{title + ': ' if title else ''}(none)")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[sync.Progress | None]:
    """A rich progress bar on a terminal (stderr); nothing when piped or asked for JSON."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total or None)

        yield update


def print_report(result: sync.SyncReport, *, as_json: bool) -> None:
    """A sync's counts per table (or the whole report as JSON)."""
    if as_json:
        click.echo(to_json({**vars(result), "changed": result.changed}))
        return
    what = "dry run (nothing written)" if result.dry_run else f"sync {result.sync_id}"
    rows = [{"table": name, **vars(counts)} for name, counts in result.counts.items()]
    fetch = result.fetch
    if fetch is not None:
        click.echo(f"fetched {fetch.courses:,} course(s) in {fetch.seconds:,.1f} s: "
                   f"{fetch.requests:,} requests, at most {fetch.max_in_flight} in flight, "
                   f"{fetch.throttled:,} throttled"
                   + (f"; {fetch.incremental:,} since their last live sync" if fetch.incremental else "")
                   + (f"; {fetch.resumed:,} kept from the interrupted fetch" if fetch.resumed else "")
                   + (f"; {len(fetch.gone):,} deleted in Canvas meanwhile, left out" if fetch.gone else "")
                   + ("; Grade Change Log not permitted, left out" if fetch.grade_changes_skipped else ""))
    render(rows, "table", title=f"{what}: {result.kind}, {len(result.scope_course_ids)} course(s)")
    click.echo(f"{result.changed:,} row(s) written in layers 0-2" if not result.dry_run
               else f"{result.changed:,} row(s) would be written in layers 0-2")
