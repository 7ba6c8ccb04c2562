"""``tracker db …``: migrations and the health of the connection."""

from __future__ import annotations

import click

from tracker import db, migrate


@click.group("db")
def group() -> None:
    """Migrations, the server in use and its health."""


@group.command("migrate")
def migrate_cmd() -> None:
    """Apply every pending migration."""
    url = db.database_url()
    applied = migrate.apply(url)
    with db.connect(url) as conn:
        version = db.server_version(conn)
    click.echo(f"{version} at {db.mask_url(url)}")
    click.echo(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
