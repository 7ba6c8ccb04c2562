"""``tracker check``, ``tracker maintenance …`` and ``tracker monitor …``: integrity,
retention, optimization and query monitoring (thin wrappers over
:mod:`tracker.maintenance` and :mod:`tracker.stat_statements`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker import db, maintenance, stat_statements
from tracker.cli.options import AT_LEAST_ONE, COUNT, ID, actor_option, format_option
from tracker.cli.output import byte_size, render, to_json, write_to

# -- tracker check -------------------------------------------------------------------------------


@click.command("check")
@click.option("--fix", is_flag=True, help="Apply the safe repairs, in one transaction, and report them.")
@click.option("--examples", type=COUNT, default=5, show_default=True,
              help="Examples per finding.")
@click.option("--all", "show_all", is_flag=True, help="List the checks that found nothing too.")
@actor_option
@format_option
def check_command(fix: bool, examples: int, show_all: bool, actor: str, fmt: str) -> None:
    """Check that the layers agree: orphans, lifecycle vs layer 1, dangling references,
    history that goes backwards. Each finding comes with a count, examples and a repair.

    Exit code 1 when something is found (after --fix: when something is left), 0 when
    all is well. --fix archives what it removes (nothing is lost) and says what it did.
    """
    with db.connect() if fix else db.connect_read() as conn:
        if fix:
            fixed = maintenance.fix(conn, actor=actor, examples=examples)
            report = fixed.after
        else:
            report = maintenance.check(conn, examples=examples)
    if fmt == "json":
        click.echo(to_json({"findings": report.findings if not show_all else report.checks,
                            **({"repairs": fixed.repairs, "archive_run_id": fixed.archive_run_id,
                                "archived": fixed.archived} if fix else {})}))
    else:
        if fix:
            for repair in fixed.repairs:
                click.echo(f"repaired {repair.check_name}: {repair.rows:,} row(s)")
            if fixed.archive_run_id:
                click.echo(f"archived in run {fixed.archive_run_id}: "
                           + ", ".join(f"{n:,} {rel}" for rel, n in fixed.archived.items()))
            if not fixed.repairs:
                click.echo("nothing to repair automatically")
        shown = report.checks if show_all else report.findings
        if fmt == "csv":
            render([{**vars(f), "examples": " | ".join(f.examples)} for f in shown], fmt)
        else:
            _print_findings(shown)
            if report.ok:
                click.echo("all checks passed")
    sys.exit(0 if report.ok else 1)


def _print_findings(findings: tuple[maintenance.Finding, ...]) -> None:
    for f in findings:
        mark = "ok" if not f.found else f"{f.found:,} found"
        click.echo(f"{f.check_name}: {f.title}: {mark}")
        for example in f.examples:
            click.echo(f"    e.g. {example}")
        if f.found:
            click.echo(f"    repair{' (--fix)' if f.fixable else ''}: {f.repair}")


# -- tracker maintenance -------------------------------------------------------------------------


@click.group("maintenance")
def maintenance_group() -> None:
    """Upkeep: retention of history, archive export, VACUUM/ANALYZE and indexes.

    \b
    tracker maintenance policy history.submission_scores "2 years"
    tracker maintenance retention           archive history older than its policy
    tracker maintenance export-archive --relation history.submission_scores --out old.csv
    tracker maintenance optimize            what needs VACUUM/ANALYZE, unused indexes, sizes
    tracker maintenance vacuum              VACUUM (ANALYZE) the tables that need it
    """


@maintenance_group.command("policy")
@click.argument("relation", type=click.Choice(maintenance.HISTORY_TABLES))
@click.argument("keep", required=False)
@click.option("--remove", is_flag=True, help="Keep RELATION's rows forever.")
@actor_option
@format_option
def policy_cmd(relation: str, keep: str | None, remove: bool, actor: str, fmt: str) -> None:
    """Keep RELATION's history for KEEP (an interval: '2 years', '400 days')."""
    if (keep is None) != remove:
        raise click.UsageError("give KEEP (e.g. '2 years') or --remove")
    with db.connect() as conn:
        policies = maintenance.set_retention(conn, relation, None if remove else keep, actor=actor)
    render(policies, fmt, title="retention policies")


@maintenance_group.command("policies")
@format_option
def policies_cmd(fmt: str) -> None:
    """The retention policies, and how many rows each makes due now."""
    with db.connect_read() as conn:
        render(maintenance.retention_policies(conn), fmt, title="retention policies")


@maintenance_group.command("retention")
@click.option("--batch-size", type=AT_LEAST_ONE, default=5000, show_default=True)
@click.option("--max-batches", type=AT_LEAST_ONE, help="Stop after this many batches.")
@actor_option
def retention_cmd(batch_size: int, max_batches: int | None, actor: str) -> None:
    """Archive history older than its policy, in small batches that each commit."""
    with db.connect(autocommit=True) as conn:
        report = maintenance.run_retention(conn, actor=actor, batch_size=batch_size,
                                           max_batches=max_batches)
    if report.run_id is None:
        click.echo("nothing is due (tracker maintenance policies)")
        return
    click.echo(f"retention run {report.run_id}: {report.batches} batch(es), "
               + (", ".join(f"{n:,} {rel}" for rel, n in report.archived.items()) or "nothing")
               + " archived")


@maintenance_group.command("export-archive")
@click.option("--relation", help="Only rows of this table (e.g. history.submission_scores).")
@click.option("--run", "run_id", type=ID, help="Only rows of this archive run.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
def export_archive_cmd(relation: str | None, run_id: int | None, out: Path | None) -> None:
    """Archived rows as CSV (each row whole as JSON in row_data)."""
    with db.connect_read() as conn, write_to(out) as stream:
        rows = maintenance.export_archive(conn, stream, relation=relation, run_id=run_id)
    if out:
        click.echo(f"{rows:,} archived row(s) written to {out}", err=True)


@maintenance_group.command("optimize")
@format_option
def optimize_cmd(fmt: str) -> None:
    """Tables needing VACUUM or ANALYZE, unused and duplicate indexes, sizes."""
    with db.connect() as conn:
        report = maintenance.optimize_report(conn)
    if fmt != "table":
        click.echo(to_json(report)) if fmt == "json" else render(report.tables, fmt)
        return
    render([{"table": t.table_name, "rows": f"{t.live_rows:,}", "dead": f"{t.dead_rows:,}",
             "changed": f"{t.modified_since_analyze:,}", "size": byte_size(t.table_bytes),
             "indexes": byte_size(t.index_bytes),
             "needs": " ".join(w for w, on in (("VACUUM", t.needs_vacuum),
                                               ("ANALYZE", t.needs_analyze)) if on)}
            for t in report.tables], "table", title="tables")
    render([{"index": i.index_name, "table": i.table_name, "size": byte_size(i.index_bytes)}
            for i in report.unused_indexes], "table",
           title="indexes never used" + (f" since {report.stats_since:%Y-%m-%d}"
                                         if report.stats_since else ""))
    render([{"index": d.index_name, "covered by": d.covered_by, "kind": d.kind,
             "size": byte_size(d.index_bytes)} for d in report.duplicate_indexes], "table",
           title="duplicate indexes")
    if report.needing_vacuum_or_analyze:
        click.echo("tracker maintenance vacuum runs VACUUM (ANALYZE) on the tables that need it")


@maintenance_group.command("vacuum")
@click.argument("tables", nargs=-1)
def vacuum_cmd(tables: tuple[str, ...]) -> None:
    """VACUUM (ANALYZE) TABLES (schema.table), or every table that needs it."""
    with db.connect(autocommit=True) as conn:
        done = maintenance.vacuum(conn, list(tables) or None)
    click.echo(f"vacuumed and analyzed {len(done)} table(s)" + (f": {', '.join(done)}" if done else ""))


# -- tracker monitor -----------------------------------------------------------------------------


@click.group("monitor")
def monitor_group() -> None:
    """Query monitoring. Every statement tracker runs is timed by its name; those over
    TRACKER_SLOW_MS milliseconds (default 5000) are logged with name and duration only."""


@monitor_group.command("top")
@click.option("--limit", type=COUNT, default=10, show_default=True)
@format_option
def top_cmd(limit: int, fmt: str) -> None:
    """The heaviest statements, from pg_stat_statements (says how to enable it if need be)."""
    with db.connect() as conn:
        rows = stat_statements.top(conn, limit=limit)
    if fmt == "table":
        render([{"statement": r.name or " ".join(r.query.split())[:70], "calls": f"{r.calls:,}",
                 "total ms": f"{r.total_ms:,.1f}", "mean ms": f"{r.mean_ms:,.2f}",
                 "rows": f"{r.rows:,}"} for r in rows], fmt, title="heaviest statements")
    else:
        render(rows, fmt)


commands = (check_command, maintenance_group, monitor_group)
