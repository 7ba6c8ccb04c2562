"""``tracker report NAME``: run one of the DBA reports of ``sql/reports/`` and print its rows.

The same SQL files run under psql (``psql -v course_id=42 -f sql/reports/NAME.sql``);
this command runs them through :func:`tracker.analytics.run_report` and renders the rows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tracker import analytics, db, digests, html, privacy
from tracker.cli.options import FORMATS, ID, out_option, pseudonymize_option
from tracker.cli.output import check_html, render, write_to

#: The digests ready to send, by format and by the report they render (``--format md``).
#: Any other format prints the rows as they are (a table, JSON or CSV), or draws them (html).
DIGESTS: dict[str, dict[str, Callable[[analytics.Report], str]]] = {
    "md": {"risk_changes": digests.risk_changes_markdown},
}

def _cell(value: Any, fmt: str) -> Any:
    """Arrays and JSON as one cell for a table or CSV: a list of texts "; "-joined in a
    table, anything else as compact JSON text. JSON output keeps them as they are."""
    if fmt == "json" or not isinstance(value, (list, tuple, dict)):
        return value
    texts = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if fmt == "table" and texts:
        return "; ".join(value)
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


#: The reports whose HTML page draws each student's recent graded work beside their row.
TRAJECTORIES = ("at_risk_students", "grade_momentum", "latest_risk")


@click.command("report")
@click.argument("name", type=click.Choice(list(analytics.REPORTS)), metavar="NAME")
@click.option("--course", "course_id", type=ID,
              help="Only this course (default: every course).")
@click.option("--student", "user_id", type=ID,
              help="Only this student's rows (reports that take a student).")
@click.option("--assignment", "assignment_id", type=ID,
              help="Only this assignment's rows (score_history).")
@click.option("--since-sync", "since_sync_id", type=ID,
              help="risk_changes: compare the latest sync with this one "
                   "(default: the sync before the latest).")
@click.option("--format", "fmt", type=click.Choice((*FORMATS, *DIGESTS, "html")),
              default="table", show_default=True,
              help="table for people; json or csv for scripts; md: a digest ready to send "
                   "(risk_changes); html: one self-contained page with charts (needs pip "
                   "install 'tracker[html]').")
@out_option
@pseudonymize_option
def command(name: str, course_id: int | None, user_id: int | None,
            assignment_id: int | None, since_sync_id: int | None, fmt: str,
            out: Path | None, pseudonymize: bool) -> None:
    """Run the report NAME and print its rows.

    \b
    at_risk_students          risk score, category and reasons per active student
    grade_momentum            slope, r² and trend of each student's graded work
    course_statistics         enrolled, mean and median score, distribution, missing rate
    missing_work              every submission Canvas marks missing
    student_progress_history  each recorded change of a student's course grades
    latest_risk               each student's risk as the last sync (or program) assessed it
    predicted_final           predicted final score, 95% interval and its method
    grade_changes             who changed which grade when (Canvas's Grade Change Log)
    score_history             every score, grade and state of each submission, by sync
    risk_changes              whose risk category rose or fell since the sync before
    active_students           who is in each course (one row per student and course)
    student_standing          score, grade, missing, late, last activity, latest risk

    --student applies to grade_momentum, missing_work, student_progress_history,
    latest_risk, grade_changes, score_history and student_standing; --assignment to
    score_history; --since-sync to risk_changes. --format html draws each course's score
    distribution (course_statistics) and each student's recent graded work beside their
    row (at_risk_students, grade_momentum, latest_risk); --out writes it to a file. Exit
    codes: 0 ok, 1 findings (a student at high or critical risk, newly so for
    risk_changes, or missing work), 2 bad input.

    Privacy: course_statistics shows no figures for a course of fewer students than
    $TRACKER_MIN_GROUP (default: the database's tracker.min_group, else 5), only
    suppressed = true. --pseudonymize (json and csv) replaces user ids, names, sortable
    names, emails, login and SIS ids by keyed hashes for sharing with researchers.
    """
    if user_id is not None and "user_id" not in analytics.REPORTS[name]:
        raise click.BadParameter(f"report {name} does not take a student", param_hint="--student")
    if assignment_id is not None and "assignment_id" not in analytics.REPORTS[name]:
        raise click.BadParameter(f"report {name} does not take an assignment",
                                 param_hint="--assignment")
    if since_sync_id is not None and "since_sync_id" not in analytics.REPORTS[name]:
        raise click.BadParameter(f"report {name} does not take a sync", param_hint="--since-sync")
    if fmt in DIGESTS and name not in DIGESTS[fmt]:
        raise click.BadParameter(f"report {name} has no {fmt} digest (reports that have one: "
                                 f"{', '.join(DIGESTS[fmt])})", param_hint="--format")
    check_html(fmt, out)
    pseudonyms = None
    if pseudonymize:
        if fmt not in ("json", "csv"):
            raise click.BadParameter("pseudonymized rows are for files to share: use --format "
                                     "json or csv", param_hint="--pseudonymize")
        pseudonyms = privacy.Pseudonyms.from_env()
    with db.connect_read() as conn:
        result = analytics.run_report(conn, name, course_id=course_id, user_id=user_id,
                                      assignment_id=assignment_id, since_sync_id=since_sync_id)
        trajectories = None
        if fmt == "html" and name in TRAJECTORIES:
            trajectories = {(m.user_id, m.course_id): m.points
                            for m in analytics.course_momentum(conn, course_id)}
    if fmt == "html":
        page = html.report_page(result, trajectories=trajectories)
        with write_to(out) as f:
            f.write(page.encode())
        sys.exit(1 if result.findings else 0)
    if fmt in DIGESTS:
        click.echo(DIGESTS[fmt][name](result), nl=False)
    else:
        rows = [{c: _cell(v, fmt) for c, v in (pseudonyms.row(row) if pseudonyms else row).items()}
                for row in result.rows]
        render(rows, fmt, title=name.replace("_", " "), columns=result.columns)
    if result.findings:
        sys.exit(1)
