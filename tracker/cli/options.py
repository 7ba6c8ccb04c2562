"""The options and argument types the commands share: ids, counts, ``--format``, ``--by``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from tracker.arguments import BIGINT_MAX

FORMATS = ("table", "json", "csv")

#: An id (a Canvas object's, a sync run's, a note's): above 0 and within PostgreSQL's bigint.
ID = click.IntRange(1, BIGINT_MAX)
#: How many (rows, examples): 0 or more, within a bigint.
COUNT = click.IntRange(0, BIGINT_MAX)
#: How many, at least one.
AT_LEAST_ONE = click.IntRange(1, BIGINT_MAX)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json or csv for scripts.",
)


out_option = click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="With --format html: write the page to this file (default: stdout).",
)


def default_actor() -> str:
    """$TRACKER_ACTOR, else the name of the user running tracker."""
    try:
        return os.environ.get("TRACKER_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


def _named(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():
        raise click.BadParameter("say who makes the change (a name, not empty)")
    return value.strip()


actor_option = click.option(
    "--by", "actor", default=default_actor, show_default="$TRACKER_ACTOR or your login name",
    callback=_named, help="Who makes the change (recorded in the audit log).")

pseudonymize_option = click.option(
    "--pseudonymize", is_flag=True,
    help="Replace people's ids and names by keyed hashes (user-…, name-…; the key is "
         "$TRACKER_PSEUDONYM_KEY, at least 16 bytes): stable across exports with the same "
         "key, not reversible without it. Course and assignment ids stay.")
