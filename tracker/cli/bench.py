"""``tracker bench``: the benchmark in the repository's ``bench/`` (see ``python -m bench --help``).

The benchmark is not part of the installed package: it lives beside it in a checkout,
so this command finds it there and hands it every argument.
"""

from __future__ import annotations

import sys

import click

import tracker
from tracker.errors import ConfigurationError


@click.command("bench", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """Measure tracker beside the floor and its peers (python -m bench; --help for options)."""
    if not (tracker.ROOT / "bench" / "cli.py").is_file():
        raise ConfigurationError(f"the benchmark lives in a checkout's bench/ folder and "
                                 f"{tracker.ROOT} has none; run it from a clone of the repository")
    if str(tracker.ROOT) not in sys.path:
        sys.path.insert(0, str(tracker.ROOT))
    from bench.cli import main

    main.main(args=list(args), prog_name="tracker bench")
