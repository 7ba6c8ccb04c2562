"""The ``tracker`` command: a thin layer over the library's functions.

Each command group lives in a module of its own (``tracker/cli/db.py`` for
``tracker db …``) and only parses options, calls a library function and renders
its result. Exit codes: 0 ok, 1 findings or failure, 2 bad input or usage.
"""

from __future__ import annotations

import logging

import click

from tracker import __version__, logs
from tracker.cli.output import run_guarded


class TrackerGroup(click.Group):
    """Maps tracker's expected errors to their exit codes, with no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        return run_guarded(lambda: super(TrackerGroup, self).invoke(ctx))


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tracker")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug) to stderr.")
@click.option("--log-format", type=click.Choice(logs.FORMATS, case_sensitive=False), envvar=logs.FORMAT_ENV,
              default="text", show_default=True, show_envvar=True,
              help="How logs look on stderr: text for people, json (one object a line, with "
                   "statement, sync and count fields) for a log collector.")
def main(verbose: int, log_format: str) -> None:
    """Keep a school's Canvas LMS data in PostgreSQL and ask questions about students.

    The server is DATABASE_URL; with none set, tracker starts an embedded
    PostgreSQL in $TRACKER_HOME (default: the platform's user data folder).
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logs.configure(level, log_format.lower())


def _register() -> None:
    from tracker.cli import db, demo, sync

    main.add_command(db.group)
    main.add_command(sync.group)
    main.add_command(demo.command)

    from tracker.cli import sample

    main.add_command(sample.command)

    from tracker.cli import report, risk, student

    main.add_command(report.command)
    main.add_command(student.command)
    main.add_command(risk.group)

    from tracker.cli import bench

    main.add_command(bench.command)

    from tracker.cli import lifecycle, maintenance, userdata

    for command in (*userdata.commands, lifecycle.group, *maintenance.commands):
        main.add_command(command)


_register()
