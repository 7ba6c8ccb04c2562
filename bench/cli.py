"""The benchmark's command: ``python -m bench`` (and ``tracker bench``, which calls it).

It parses the options, calls :func:`bench.run.run`, prints the tables and writes the
JSON. Exit codes: 0 ran (targets met or not, unless ``--check``), 1 a step failed or,
with ``--check``, a target was missed, 2 bad options or no server.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console

from bench import live, report
from bench.child import ROOT
from bench.run import Options, python_command, run
from bench.scales import SCALES, SHAPES
from tracker.cli.output import run_guarded

DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"


def default_cache_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("tracker-bench")


@click.command("bench", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--scale", type=click.Choice(list(SCALES)), default="small", show_default=True,
              help="smoke (seconds), small (~50,000 submissions), medium (~250,000), "
                   "full (1,000,000), double (2,000,000), huge (10,000,000: not in CI, an hour "
                   "or more and about 30 GB of disk).")
@click.option("--shape", type=click.Choice([*SHAPES, "both"]),
              help="wide: many small courses (20 students each at small and up); tall: the "
                   "same submissions as few courses of 1,000 students (60 at smoke); both: "
                   "wide, then tall, in one run. Default: both at full, else wide.")
@click.option("--repeat", type=click.IntRange(min=1),
              help="Runs of each measurement (median reported). Default: 3; 1 at full, "
                   "double and huge, and 1 at smoke.")
@click.option("--database-url",
              help="An existing server to measure on (a URL whose user may create databases; "
                   "the run creates and drops its own). Default: a fresh embedded PostgreSQL.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where generated bundles are kept between runs. "
                   "[default: the user cache folder's tracker-bench]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_JSON, show_default=True, help="Write the results here as JSON.")
@click.option("--peer-rows", type=click.IntRange(min=0),
              help="Run each peer on the first N submissions and extrapolate (0: all of them). "
                   "Default: per scale.")
@click.option("--query-runs", type=click.IntRange(min=1),
              help="Runs of each query (p50, p95), after 10 to warm up. Default: the scale's, "
                   "and more until a second of samples.")
@click.option("--memory-check/--no-memory-check", default=None,
              help="Also sync a bundle twice the size once, to see that peak memory stays flat. "
                   "Default: on up to medium.")
@click.option("--no-peers", is_flag=True, help="Leave out the peers (SQLAlchemy, CD2-style upsert, DAP-style merge).")
@click.option("--no-queries", is_flag=True, help="Leave out the queries.")
@click.option("--psql", help="The psql the floor runs. Default: the embedded PostgreSQL's, "
                             "else the one on PATH.")
@click.option("--markdown", is_flag=True, help="Also print the tables as Markdown.")
@click.option("--live", "live_only", is_flag=True,
              help="Only the live step: tracker syncs (full, incremental unchanged, incremental "
                   "after 1% regraded) from a Canvas-like server of the bench's own. Part of "
                   "every run at full.")
@click.option("--no-live", is_flag=True,
              help="Leave out the live step (at full it adds about 10 minutes a shape).")
@click.option("--live-delay", type=click.FloatRange(min=0), default=live.DEFAULT_DELAY,
              show_default=True, help="Seconds the Canvas-like server takes per request.")
@click.option("--live-concurrency", type=click.IntRange(min=1),
              help="Passed to the live sync as --concurrency. Default: the sync's own.")
@click.option("--check", is_flag=True,
              help="Exit with 1 when a target is missed at any shape measured.")
def main(scale: str, shape: str | None, repeat: int | None, database_url: str | None, cache_dir: Path | None,
         json_path: Path, peer_rows: int | None, query_runs: int | None,
         memory_check: bool | None, no_peers: bool, no_queries: bool, psql: str | None,
         markdown: bool, live_only: bool, no_live: bool, live_delay: float,
         live_concurrency: int | None, check: bool) -> None:
    """Measure tracker beside the physical floor and its peers, on the same data, in one run.

    \b
    python -m bench --scale smoke          a few seconds: is the harness sound?
    python -m bench --scale small          ~50,000 submissions, 3 runs each
    python -m bench --scale full           1,000,000 submissions (the targets' size), both shapes
    python -m bench --shape tall           ~50,000 submissions as 2 courses of 1,000 students
    python -m bench --live                 only the live syncs, 100 ms a request
    """
    if live_only and no_live:
        raise click.UsageError("--live runs only the live step; --no-live leaves it out")
    chosen = SCALES[scale]
    shapes = chosen.shapes if shape is None else SHAPES if shape == "both" else (shape,)
    options = Options(
        scale=chosen, shapes=shapes, repeat=repeat or chosen.repeat,
        cache_dir=cache_dir or default_cache_dir(), database_url=database_url, psql=psql,
        peers=not no_peers, queries=not no_queries,
        memory_check=chosen.memory_check if memory_check is None else memory_check,
        peer_rows=peer_rows, query_runs=query_runs, command=python_command(),
        live=live_only or (chosen.live and not no_live), live_only=live_only, live_delay=live_delay,
        live_concurrency=live_concurrency)
    err = Console(stderr=True)
    started = time.perf_counter()

    def progress(text: str) -> None:
        if err.is_terminal:
            err.print(f"[dim]{time.perf_counter() - started:7.1f} s[/dim]  {text}",
                      highlight=False)

    runs = run_guarded(lambda: run(options, progress))
    report.write_json(runs, json_path)
    out = Console()
    if not out.is_terminal:
        out = Console(width=170)  # a file or a pipe: the table's width, not 80 columns
    report.print_results(runs, out)
    if markdown:
        click.echo(report.markdown(runs))
    click.echo(f"results written to {json_path}", err=True)
    if check and any(t.met is False for r in runs for t in r.targets):
        sys.exit(1)
