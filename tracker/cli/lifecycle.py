"""``tracker lifecycle …``: missing Canvas objects, what depends on them, approved deletion
(thin wrappers over :mod:`tracker.lifecycle`).

Objects are written ``KIND:ID`` (``course:101``), or by their id alone when only one
kind has it.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from tracker import db, lifecycle
from tracker.cli.options import AT_LEAST_ONE, COUNT, FORMATS, ID, actor_option, format_option
from tracker.cli.output import render, to_json


@click.group("lifecycle")
def group() -> None:
    """Objects Canvas no longer lists: what depends on them, approval, cleanup, restore.

    Nothing is deleted until someone has seen what depends on it and approved; cleanup
    archives every row it removes, and restore brings a cleanup back.

    \b
    tracker lifecycle pending               missing for 3 syncs or 14 days, and approved
    tracker lifecycle impact course:101     what would go with it (summary and graph)
    tracker lifecycle approve course:101    or --kind enrollment, or --older-than 30
    tracker lifecycle cleanup               archive and remove what was approved
    tracker lifecycle cleanups              past cleanups
    tracker lifecycle restore 12            put cleanup 12 back
    """


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError("this changes data: pass --yes to confirm when not on a terminal")
    click.confirm(question, abort=True)


@group.command("pending")
@click.option("--min-syncs", type=AT_LEAST_ONE, default=3, show_default=True,
              help="Missing for at least this many full syncs of its course …")
@click.option("--min-days", type=click.FloatRange(min=0), default=14, show_default=True,
              help="… or for at least this many days.")
@click.option("--kind", "kinds", type=click.Choice(lifecycle.KINDS), multiple=True,
              help="Only objects of this kind (repeatable).")
@format_option
def pending_cmd(min_syncs: int, min_days: float, kinds: tuple[str, ...], fmt: str) -> None:
    """Objects pending deletion (and those approved), with what depends on each."""
    with db.connect() as conn:  # temporary tables (the closure): a hot standby has none
        found = lifecycle.pending(conn, min_syncs=min_syncs, min_days=min_days, kinds=kinds or None)
    if fmt == "table":
        render([{"object": str(p.ref), "name": p.name or "", "status": p.status,
                 "missing since": f"{p.missing_since:%Y-%m-%d}", "syncs": p.syncs_missed,
                 "days": f"{p.days_missing:.0f}", "children": p.dependents.child_objects,
                 "submissions": p.dependents.submissions, "history": p.dependents.history_rows,
                 "user data": p.dependents.user_data, "approved by": p.approved_by or ""}
                for p in found], fmt, title="pending deletions")
    else:
        render(found, fmt)


@group.command("impact")
@click.argument("obj", metavar="OBJECT")
@click.option("--format", "fmt", type=click.Choice((*FORMATS, "dot")), default="table",
              show_default=True, help="table (summary and tree), json (the graph), csv "
              "(summary), or dot (Graphviz).")
def impact_cmd(obj: str, fmt: str) -> None:
    """What would go with OBJECT: rows per table, and the objects that depend on it."""
    with db.connect() as conn:  # temporary tables: a hot standby has none
        impact = lifecycle.impact(conn, obj)
    if fmt == "json":
        click.echo(to_json(impact))
        return
    if fmt == "csv":
        render([{"relation": rel, "rows": n} for rel, n in impact.summary.items()], fmt)
        return
    if fmt == "dot":
        click.echo(_dot(impact))
        return
    render([{"relation": rel, "rows": n} for rel, n in impact.summary.items()], "table",
           title=f"{impact.root} {impact.name or ''} ({impact.status}): what goes with it")
    from rich.console import Console
    from rich.markup import escape
    from rich.tree import Tree

    nodes = {n.ref: n for n in impact.nodes}
    children: dict[lifecycle.ObjectRef, list[lifecycle.ObjectRef]] = {}
    for parent, child in impact.edges:
        children.setdefault(parent, []).append(child)
    shown: set[lifecycle.ObjectRef] = set()

    def label(ref: lifecycle.ObjectRef) -> str:
        node = nodes[ref]
        rows = ", ".join(f"{n} {rel.split('.')[1]}" for rel, n in node.rows.items())
        return escape(f"{ref} {node.name or ''} [{node.status}]" + (f": {rows}" if rows else ""))

    def grow(tree: Tree, ref: lifecycle.ObjectRef) -> None:
        for child in sorted(children.get(ref, [])):
            if child in shown:
                tree.add(escape(f"{child} (above)"))
                continue
            shown.add(child)
            grow(tree.add(label(child)), child)

    tree = Tree(label(impact.root))
    shown.add(impact.root)
    grow(tree, impact.root)
    Console().print(tree)
    for blocker in impact.blockers:
        click.echo(f"blocks deletion: {blocker}", err=True)


def _dot(impact: lifecycle.Impact) -> str:
    lines = ["digraph impact {", "  rankdir=LR;", "  node [shape=box];"]
    for node in impact.nodes:
        rows = "\\n".join(f"{n} {rel}" for rel, n in node.rows.items())
        name = (node.name or "").replace('"', "'")
        lines.append(f'  "{node.ref}" [label="{node.ref}\\n{name}\\n[{node.status}]'
                     f'{chr(92) + "n" + rows if rows else ""}"];')
    for parent, child in impact.edges:
        lines.append(f'  "{parent}" -> "{child}";')
    lines.append("}")
    return "\n".join(lines)


@group.command("approve")
@click.argument("objects", nargs=-1)
@click.option("--kind", "kinds", type=click.Choice(lifecycle.KINDS), multiple=True,
              help="Every missing object of this kind (repeatable).")
@click.option("--older-than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Every missing object missing for at least DAYS days.")
@actor_option
@format_option
def approve_cmd(objects: tuple[str, ...], kinds: tuple[str, ...], older_than: float | None,
                actor: str, fmt: str) -> None:
    """Approve the deletion of missing OBJECTS (and what depends on them), or of those
    chosen by --kind and/or --older-than. Records who approved (--by).

    Exit code 1 when some chosen objects had to be left (something depending on them is
    active again).
    """
    with db.connect() as conn:
        report = lifecycle.approve(conn, objects, approved_by=actor, kinds=kinds or None,
                                   older_than=timedelta(days=older_than) if older_than is not None
                                   else None)
    render(report.approved, fmt, title=f"approved by {actor}")
    for blocker in report.skipped:
        click.echo(f"left out: {blocker}", err=True)
    sys.exit(1 if report.skipped else 0)


@group.command("revoke")
@click.argument("objects", nargs=-1, required=True)
def revoke_cmd(objects: tuple[str, ...]) -> None:
    """Take back the approval of OBJECTS: they are missing again."""
    with db.connect() as conn:
        revoked = lifecycle.revoke(conn, objects)
    click.echo(f"approval taken back for {len(revoked)} object(s)"
               + (f": {', '.join(map(str, revoked))}" if revoked else ""))


@group.command("cleanup")
@click.argument("objects", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Report what would be archived; change nothing.")
@click.option("--reason", help="Why (kept with the archive).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@format_option
def cleanup_cmd(objects: tuple[str, ...], dry_run: bool, reason: str | None, yes: bool,
                actor: str, fmt: str) -> None:
    """Archive, then remove, the approved objects (all, or OBJECTS) and everything that
    depends on them, in one transaction. `tracker lifecycle restore` brings them back."""
    with db.connect() as conn:
        if not dry_run and not yes:
            preview = lifecycle.cleanup(conn, performed_by=actor, objects=objects or None,
                                        dry_run=True)
            if not preview.objects:
                click.echo("nothing to clean up: no object is approved for deletion "
                           "(tracker lifecycle pending)")
                return
            _confirm(yes, f"archive and remove {len(preview.objects)} object(s) and "
                          f"{sum(preview.counts.values()):,} row(s)?")
        report = lifecycle.cleanup(conn, performed_by=actor, objects=objects or None,
                                   reason=reason, dry_run=dry_run)
    if not report.objects and not report.skipped:
        click.echo("nothing to clean up: no object is approved for deletion")
        return
    if fmt == "json":
        click.echo(to_json(report))
        return
    title = ("dry run: would archive" if dry_run else f"cleanup {report.run_id}: archived") + \
        f" {len(report.objects)} object(s)"
    render([{"relation": rel, "rows": n} for rel, n in report.counts.items()], fmt, title=title)
    for blocker in report.skipped:
        click.echo(f"left: {blocker}", err=True)


@group.command("cleanups")
@click.option("--limit", type=COUNT, default=20, show_default=True)
@click.option("--all-kinds", is_flag=True, help="Retention runs and repairs too.")
@format_option
def cleanups_cmd(limit: int, all_kinds: bool, fmt: str) -> None:
    """Past cleanups (archive runs), newest first."""
    with db.connect_read() as conn:
        runs = lifecycle.list_cleanups(conn, limit=limit, kind=None if all_kinds else "cleanup")
    if fmt == "table":
        render([{"run": r.run_id, "kind": r.kind, "by": r.performed_by,
                 "at": f"{r.performed_at:%Y-%m-%d %H:%M}", "objects": len(r.objects),
                 "rows": sum(r.counts.values()), "reason": r.reason or "",
                 "restored": f"{r.restored_at:%Y-%m-%d %H:%M} by {r.restored_by}"
                 if r.restored_at else ""} for r in runs], fmt, title="archive runs")
    else:
        render(runs, fmt)


@group.command("restore")
@click.argument("run_id", type=ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@format_option
def restore_cmd(run_id: int, yes: bool, actor: str, fmt: str) -> None:
    """Put back everything cleanup RUN_ID archived. The objects are missing again."""
    _confirm(yes, f"restore cleanup {run_id}?")
    with db.connect() as conn:
        report = lifecycle.restore(conn, run_id, restored_by=actor)
    if fmt == "json":
        click.echo(to_json(report))
        return
    rows = [{"relation": rel, "restored": n, "kept as it is now": report.kept_current.get(rel, 0)}
            for rel, n in {**dict.fromkeys(report.kept_current, 0), **report.restored}.items()]
    render(rows, fmt, title=f"cleanup {run_id} restored")
