"""``tracker db …``: migrations, the server in use and its health.

Each command parses its options, calls one function of ``tracker.migrate`` (or
``tracker.db``) and renders the result; warnings go to stderr so that ``--json``
and ``--format csv`` output stays clean for scripts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import click

from tracker import MIGRATIONS_DIR, db, embedded, migrate, replica, stats
from tracker.cli.options import AT_LEAST_ONE, format_option
from tracker.cli.output import byte_size, render, rows_of, to_json
from tracker.errors import MigrationError

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")

directory_option = click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=MIGRATIONS_DIR,
    hidden=True,  # for tests and for trying migrations out in a scratch folder
)


@click.group("db")
def group() -> None:
    """Migrations, the server in use and its health.

    The server is DATABASE_URL; with none set, tracker starts an embedded
    PostgreSQL. Passwords are masked in everything these commands print.
    """


database_url_option = click.option(
    "--database-url",
    metavar="URL",
    help="The server itself, when DATABASE_URL is a transaction-mode pooler "
    "(default: $TRACKER_MIGRATE_URL, else DATABASE_URL).",
)


def _server(url: str, given: str | None = None) -> str:
    """``PostgreSQL 15.8 at postgresql://…`` and where the URL came from."""
    with db.connect(url) as conn:
        version = db.server_version(conn)
    if given:
        source = "from --database-url"
    elif os.environ.get("TRACKER_MIGRATE_URL", "").strip():
        source = "from TRACKER_MIGRATE_URL"
    elif os.environ.get("DATABASE_URL"):
        source = "from DATABASE_URL"
    else:
        source = f"embedded server in {embedded.home() / 'pgdata'}"
    return f"{version} at {db.mask_url(url)} ({source})"


def _warn_about(statuses: list[migrate.MigrationStatus], directory: Path) -> None:
    """A WARNING line on stderr for each applied migration whose files changed or are gone."""
    for s in statuses:
        if s.file_missing:
            click.echo(
                f"WARNING: migration {s.id} is applied but {directory} has no such file: "
                "the database is newer than this tracker; upgrade tracker.",
                err=True,
            )
        elif s.changed:
            click.echo(
                f"WARNING: migration {s.id} was applied, and since then "
                f"{' and '.join(s.changed_files)} changed. The database has what the file said "
                "then: put the change in a new migration (tracker db new NAME) instead.",
                err=True,
            )
    unrecorded = [s.id for s in statuses if s.applied and s.changed is None]
    if unrecorded:
        click.echo(
            "note: applied without tracker (plain yoyo apply), so not known whether their "
            f"files changed since: {', '.join(unrecorded)}. `tracker db migrate` records them.",
            err=True,
        )


@group.command("migrate")
@database_url_option
@json_option
@directory_option
def migrate_cmd(database_url: str | None, as_json: bool, directory: Path) -> None:
    """Apply every pending migration, under yoyo's lock.

    Says which server and PostgreSQL version it used and what it applied. The
    files and bookkeeping are yoyo's (plain `yoyo apply` does the same); tracker
    also records a checksum of each migration's files, so that `tracker db status`
    can tell when an applied migration was edited afterwards. Behind a transaction-mode
    pooler (TRACKER_POOLER=transaction) it needs the server itself: TRACKER_MIGRATE_URL
    or --database-url.
    """
    url = migrate.migration_url(database_url)
    server = _server(url, database_url)
    applied = migrate.apply(url, directory=directory)
    if as_json:
        click.echo(to_json({"server": server, "url": db.mask_url(url), "applied": applied}))
    else:
        click.echo(server)
        if applied:
            click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}")
        else:
            click.echo("nothing to apply: the schema is current")
    _warn_about(migrate.status(url, directory=directory), directory)


@group.command("status")
@format_option
@directory_option
def status_cmd(fmt: str, directory: Path) -> None:
    """List applied and pending migrations.

    Shows when each was applied and whether its .sql or .rollback.sql changed
    since; each changed one also gets a WARNING line on stderr. Exits 0 either
    way: `tracker db check` gives an exit code.
    """
    url = db.database_url()
    statuses = migrate.status(url, directory=directory)
    if fmt == "table":
        render([_human(s) for s in statuses], fmt, title=f"migrations at {db.mask_url(url)}")
        applied = sum(s.applied for s in statuses)
        click.echo(f"{applied} applied, {len(statuses) - applied} pending")
    elif fmt == "csv":
        rows = [{**asdict(s), "changed_files": " ".join(s.changed_files)} for s in statuses]
        render(rows, fmt)
    else:
        render(statuses, fmt)
    _warn_about(statuses, directory)


def _human(s: migrate.MigrationStatus) -> dict[str, str]:
    if s.file_missing:
        files = "MISSING"
    elif s.changed:
        files = "CHANGED: " + ", ".join(s.changed_files)
    elif s.applied and s.changed is None:
        files = "not recorded"
    else:
        files = "unchanged" if s.applied else ""
    return {
        "migration": s.id,
        "state": "applied" if s.applied else "pending",
        "applied at (UTC)": s.applied_at.strftime("%Y-%m-%d %H:%M:%S") if s.applied_at else "",
        "files": files,
    }


@group.command("rollback")
@click.option(
    "--count",
    "-n",
    type=AT_LEAST_ONE,
    default=1,
    show_default=True,
    help="How many of the most recent migrations to roll back.",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Do not ask for confirmation (required when not run from a terminal).",
)
@database_url_option
@json_option
@directory_option
def rollback_cmd(count: int, yes: bool, database_url: str | None, as_json: bool,
                 directory: Path) -> None:
    """Roll back the most recent migration(s), under yoyo's lock.

    Runs each migration's .rollback.sql, which drops what it created and the data
    in it. Asks for confirmation on a terminal; anywhere else it needs --yes.
    """
    if not yes and not sys.stdin.isatty():
        raise click.UsageError(
            "rolling back drops tables and their data: confirm with --yes "
            "(this is not a terminal, so tracker cannot ask)"
        )
    url = migrate.migration_url(database_url)
    server = _server(url, database_url)
    if not yes:
        plan = migrate.rollback(url, count, directory=directory, dry_run=True)
        if not plan:
            click.echo(f"{server}\nnothing to roll back: no migration is applied")
            return
        click.confirm(
            f"{server}\nRoll back {', '.join(plan)}? This drops what they created, "
            "and the data in it.",
            abort=True,
        )
    done = migrate.rollback(url, count, directory=directory)
    if as_json:
        click.echo(to_json({"server": server, "url": db.mask_url(url), "rolled_back": done}))
        return
    click.echo(server)
    if done:
        click.echo(f"rolled back {len(done)} migration(s): {', '.join(done)}")
    else:
        click.echo("nothing to roll back: no migration is applied")


@group.command("url")
def url_cmd() -> None:
    """Print the database URL tracker uses, with any password masked.

    With no DATABASE_URL set, this starts the embedded server and prints its URL.
    """
    click.echo(db.mask_url(db.database_url()))


def _valid_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        migrate.check_name(value)
    except MigrationError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@group.command("new")
@click.argument("name", callback=_valid_name)
@directory_option
def new_cmd(name: str, directory: Path) -> None:
    """Create the next migration and its rollback file.

    Writes NNNN_NAME.sql and NNNN_NAME.rollback.sql in migrations/.
    NAME is lowercase snake_case (e.g. add_course_tags). The new file depends on
    the latest migration; write its SQL, the SQL that undoes it in the rollback
    file, then run `tracker db migrate`.
    """
    for path in migrate.new(name, directory=directory):
        click.echo(f"created {path}")


@group.command("check")
@json_option
@directory_option
def check_cmd(as_json: bool, directory: Path) -> None:
    """Check the server, the schema and the syncs; exit 1 if unhealthy.

    Connects, reads the PostgreSQL version, times a few SELECT 1 and compares
    the applied migrations with the files. Then lists the courses still active in
    Canvas not synced successfully for TRACKER_STALE_AFTER (default 2d; also 36h,
    90m or seconds) and, with TRACKER_READ_URL set, how far the read replica lags
    behind (TRACKER_MAX_LAG, default 5m). Exits 0 when healthy, 1 when tracker
    cannot connect, a migration is pending or was changed after it was applied, a
    course is stale, or the replica cannot be reached or lags too far.
    """
    health = migrate.check(directory=directory)
    limit = stats.stale_after_setting()
    max_lag = replica.max_lag_setting()
    stale: list[stats.CourseFreshness] = []
    if health.connected and health.current:
        with db.connect() as conn:
            stale = stats.stale_courses(conn, stale_after=limit)
    lag = replica.status(max_lag=max_lag) if replica.configured() and health.connected else None
    healthy = health.healthy and not stale and (lag is None or lag.healthy)
    if as_json:
        click.echo(to_json({**asdict(health), "healthy": healthy,
                            "stale_after_seconds": limit.total_seconds(),
                            "stale_courses": stale, "replica": lag}))
    else:
        _print_health(health, stale, limit, lag, healthy)
    if lag is not None and lag.connected and not lag.healthy:
        click.echo(f"WARNING: the read replica {lag.url} lags {_age(lag.lag_seconds or 0)} "
                   f"({lag.lag_bytes or 0:,} bytes of WAL) behind the primary, more than "
                   f"TRACKER_MAX_LAG ({_age(lag.max_lag_seconds)}): reports read old data. "
                   "Check its replication (pg_stat_replication on the primary).", err=True)
    for course in stale:
        click.echo(f"WARNING: course {course.course_id} ({course.course_name}) "
                   + (f"was last synced successfully {_age(course.age_seconds)} ago"
                      if course.age_seconds is not None else "was never synced successfully")
                   + f", longer than TRACKER_STALE_AFTER ({_age(limit.total_seconds())}): "
                   "check the nightly sync job.", err=True)
    sys.exit(0 if healthy else 1)


def _age(seconds: float) -> str:
    """``3.5 days``, ``36.0 hours``, ``90 minutes``, ``4.2 s``: a duration for a person."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.1f} s"


def _print_health(h: migrate.Health, stale: list[stats.CourseFreshness], limit: timedelta,
                  lag: replica.ReplicaStatus | None, healthy: bool) -> None:
    lines = [("server", h.url)]
    if not h.connected:
        lines.append(("connected", f"no: {h.error}"))
    else:
        lines += [
            ("connected", f"yes, {h.server_version}"),
            ("latency", f"{h.latency_ms} ms (median of {migrate.PING_COUNT} SELECT 1)"),
            ("applied", str(len(h.applied))),
            ("pending", ", ".join(h.pending) or "none"),
            ("changed", ", ".join(h.changed) or "none"),
        ]
        if h.unrecorded:
            lines.append(("not recorded", ", ".join(h.unrecorded)))
        if h.current:
            lines.append(("stale courses", f"{len(stale)} not synced within "
                          f"{_age(limit.total_seconds())}" if stale else "none"))
    if lag is not None:
        lines.append(("read replica", lag.url))
        if not lag.connected:
            lines.append(("replica lag", f"unknown: {lag.error}"))
        elif not lag.in_recovery:
            lines.append(("replica lag", "none: TRACKER_READ_URL is not a replica (a primary)"))
        else:
            behind = f"{_age(lag.lag_seconds or 0)}, {lag.lag_bytes or 0:,} bytes of WAL"
            lines.append(("replica lag", f"{behind} (at most {_age(lag.max_lag_seconds)})"))
    lines.append(("healthy", "yes" if healthy else "NO"))
    for label, value in lines:
        click.echo(f"{label + ':':<15}{value}")


SIZES = ("table_bytes", "index_bytes", "total_bytes")


@group.command("stats")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "prometheus")),
              default="table", show_default=True,
              help="table for people, json for scripts, prometheus for node_exporter's "
                   "textfile collector.")
@click.option("--days", type=AT_LEAST_ONE, default=stats.DEFAULT_DAYS, show_default=True,
              help="How many days of layer 2's growth to show.")
def stats_cmd(fmt: str, days: int) -> None:
    """Rows and sizes per layer and table, syncs by status, each course's last
    successful sync and its age, layer 2's growth a day.

    Rows are the server's live-row counts (on a read replica, which keeps none,
    the planner's estimates as of each table's last VACUUM or ANALYZE). A course is
    stale when it is still active in Canvas and was not synced successfully for
    TRACKER_STALE_AFTER (default 2d). Reads TRACKER_READ_URL when set. Read-only and
    cheap enough for a monitoring job every few minutes:

    \b
    tracker db stats --format prometheus > DIR/tracker.prom.tmp
    mv DIR/tracker.prom.tmp DIR/tracker.prom
    """
    with db.connect_read() as conn:
        result = stats.collect(conn, days=days)
    if fmt == "prometheus":
        click.echo(stats.prometheus(result), nl=False)
    elif fmt == "json":
        click.echo(to_json(result))
    else:
        for title, items in (("layers", result.layers), ("tables", result.tables)):
            render([{**row, **{k: byte_size(row[k]) for k in SIZES}} for row in rows_of(items)],
                   "table", title=title)
        render(result.syncs, "table", title="syncs by status")
        render([{"course": c.course_id, "name": c.course_name, "last sync": c.last_sync_id,
                 "finished at": c.last_synced_at,
                 "age": "never" if c.age_seconds is None else _age(c.age_seconds),
                 "state": "STALE" if c.stale else ("ok" if c.watched else "not watched")}
                for c in result.courses], "table", title="courses: last successful sync")
        render(result.history_growth, "table",
               title=f"layer 2 rows appended a day (last {days} days, UTC)")
    for course in result.stale:
        click.echo(f"WARNING: course {course.course_id} is stale: not synced successfully "
                   f"within {_age(result.stale_after_seconds)}", err=True)

