"""``tracker bench``: the benchmark of a checkout's ``bench/`` (see ``python -m bench --help``).

The benchmark depends on tracker, not the reverse: tracker finds it by its entry point
(``tracker.bench`` in pyproject.toml), which an editable install of a checkout provides,
and hands it every argument.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from tracker.errors import ConfigurationError

NOT_INSTALLED = ("the benchmark is not installed: it is the bench/ folder of a checkout of "
                 "the repository; in a clone, pip install -e '.[bench]' installs it (then "
                 "tracker bench, or python -m bench)")


@click.command("bench", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """Measure tracker beside the floor and its peers (python -m bench; --help for options)."""
    found = list(entry_points(group="tracker.bench", name="main"))
    try:
        main = found[0].load() if found else None
    except ModuleNotFoundError as exc:  # installed once, since moved or deleted
        if exc.name not in ("bench", "bench.cli"):
            raise
        main = None
    if main is None:
        raise ConfigurationError(NOT_INSTALLED)
    main.main(args=list(args), prog_name="tracker bench")
