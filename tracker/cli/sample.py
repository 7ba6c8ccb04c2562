"""``tracker sample``: write a synthetic school as a Canvas bundle (see :mod:`tracker.sample`)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import click

from tracker import sample
from tracker.cli.output import to_json

_DEFAULTS = {name: p.default for name, p in inspect.signature(sample.generate).parameters.items()}


@click.command("sample")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Directory to write the bundle into (created if need be; its bundle files are replaced).",
)
@click.option(
    "--students",
    type=click.IntRange(min=0),
    default=_DEFAULTS["students"],
    show_default=True,
    help="Number of students.",
)
@click.option(
    "--courses",
    type=click.IntRange(min=0),
    default=_DEFAULTS["courses"],
    show_default=True,
    help="Number of courses (a third of them in the past Spring term, completed: "
    "passed, failed or withdrawn).",
)
@click.option(
    "--assignments-per-course",
    type=click.IntRange(min=0),
    default=_DEFAULTS["assignments_per_course"],
    show_default=True,
    help="Assignments in each course.",
)
@click.option(
    "--courses-per-student",
    type=click.IntRange(min=0),
    default=_DEFAULTS["courses_per_student"],
    show_default=True,
    help="Courses each student takes (at most --courses).",
)
@click.option(
    "--seed",
    type=int,
    default=_DEFAULTS["seed"],
    show_default=True,
    help="Another seed, another school; the same seed, the same bytes.",
)
@click.option(
    "--revision",
    type=click.IntRange(min=0),
    default=_DEFAULTS["revision"],
    show_default=True,
    help="The same school after N rounds of regrading, each changing the score of about "
    "--changed-fraction of the submissions (and the affected enrollments' grades).",
)
@click.option(
    "--changed-fraction",
    type=click.FloatRange(0.0, 1.0),
    default=_DEFAULTS["changed_fraction"],
    show_default=True,
    help="Share of submissions each regrading round changes.",
)
@click.option("--gzip", "gz", is_flag=True, help="Write .ndjson.gz files instead of .ndjson.")
@click.option(
    "--no-edge-cases",
    "no_edge_cases",
    is_flag=True,
    help="Leave out the course of documented Canvas corner cases (test student, excused and "
    "hidden grades, shard-prefixed ids, every grading type, …).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
def command(
    out: str,
    students: int,
    courses: int,
    assignments_per_course: int,
    courses_per_student: int,
    seed: int,
    revision: int,
    changed_fraction: float,
    gz: bool,
    no_edge_cases: bool,
    as_json: bool,
) -> None:
    """Write a synthetic school as a Canvas bundle: ndjson files in the REST API's own shapes.

    Students have abilities, some decline over the term, some miss or hand in late;
    enrollment grades are computed from the submissions. The past (Spring) term's
    courses are over (concluded, or past their end date): each student saw the course
    through or withdrew, the final grade following from all their work, so some fail
    (under 60) and the first weeks' missing, late and falling work foretells it,
    noisily. The same options give byte-identical files. One million submissions:

    \b
      tracker sample --out big --students 20000 --courses 1000 \\
          --assignments-per-course 50 --courses-per-student 1

    `--revision 1` gives the same school with about 1% of the submission scores
    changed (`--revision 2`, another 1%, and so on): sync it after revision 0 to
    measure a re-sync.
    """
    if not out.strip():
        raise click.BadParameter("a directory is needed", param_hint="'--out'")
    if students and courses_per_student > courses:
        raise click.BadParameter(f"{courses_per_student} is more than --courses {courses}",
                                 param_hint="'--courses-per-student'")
    options: dict[str, Any] = dict(
        students=students,
        courses=courses,
        assignments_per_course=assignments_per_course,
        courses_per_student=courses_per_student,
        seed=seed,
        revision=revision,
        changed_fraction=changed_fraction,
        gzip=gz,
        edge_cases=not no_edge_cases,
    )
    try:
        summary = _generate(Path(out), options, progress=sys.stderr.isatty() and not as_json)
    except OSError as exc:
        raise click.BadParameter(f"cannot write into {out}: {exc.strerror or exc}",
                                 param_hint="'--out'") from None
    if as_json:
        click.echo(to_json(_plain(summary)))
        return
    _print(summary)


def _generate(out: Path, options: dict[str, Any], *, progress: bool) -> sample.SampleSummary:
    if progress:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("writing courses", total=None)
            return sample.generate(
                out,
                **options,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    return sample.generate(out, **options)


def _plain(summary: sample.SampleSummary) -> dict[str, Any]:
    return {
        "directory": str(summary.directory),
        "files": {kind: str(path) for kind, path in summary.files.items()},
        "counts": summary.counts(),
        "seed": summary.seed,
        "revision": summary.revision,
        "changed_submissions": summary.changed_submissions,
        "changed_enrollments": summary.changed_enrollments,
        "size_bytes": summary.size_bytes,
        "past_term": summary.past_term.as_dict(),
    }


def _print(summary: sample.SampleSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Canvas bundle in {summary.directory}")
    table.add_column("kind")
    table.add_column("records", justify="right")
    table.add_column("file")
    table.add_column("MB", justify="right")
    for kind, count in summary.counts().items():
        path = summary.files[kind]
        table.add_row(kind, f"{count:,}", path.name, f"{path.stat().st_size / 1e6:,.1f}")
    table.add_row(
        "total", f"{sum(summary.counts().values()):,}", "", f"{summary.size_bytes / 1e6:,.1f}"
    )
    console = Console()
    console.print(table)
    line = f"seed {summary.seed}, revision {summary.revision}"
    if summary.revision:
        line += (
            f": {summary.changed_submissions:,} submission scores and"
            f" {summary.changed_enrollments:,} enrollment grades differ from revision"
            f" {summary.revision - 1}"
        )
    console.print(line, highlight=False)
    past = summary.past_term
    console.print(
        f"past term: {past.passed:,} passed, {past.failed:,} failed, {past.withdrawn:,} withdrawn",
        highlight=False,
    )
