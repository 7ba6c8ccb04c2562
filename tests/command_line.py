"""One runner for the command line in the tests: ``tracker("db", "status")``."""

from __future__ import annotations

from click.testing import CliRunner, Result

from tracker.cli import main


def tracker(*args: str) -> Result:
    """Run ``tracker ARGS…`` in this process; the result holds its output and exit code."""
    return CliRunner().invoke(main, list(args), prog_name="tracker")
