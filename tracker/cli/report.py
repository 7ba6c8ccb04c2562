"""``tracker report NAME``: run one of the DBA reports of ``sql/reports/`` and print its rows.

The same SQL files run under psql (``psql -v course_id=42 -f sql/reports/NAME.sql``);
this command runs them through :func:`tracker.analytics.run_report` and renders the rows.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tracker import analytics, db
from tracker.cli.options import ID, format_option
from tracker.cli.output import render


def _cell(value: Any, fmt: str) -> Any:
    """Arrays and JSON as one cell for a table or CSV: a list of texts "; "-joined in a
    table, anything else as compact JSON text. JSON output keeps them as they are."""
    if fmt == "json" or not isinstance(value, (list, tuple, dict)):
        return value
    texts = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    if fmt == "table" and texts:
        return "; ".join(value)
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


@click.command("report")
@click.argument("name", type=click.Choice(list(analytics.REPORTS)), metavar="NAME")
@click.option("--course", "course_id", type=ID,
              help="Only this course (default: every course).")
@click.option("--student", "user_id", type=ID,
              help="Only this student's rows (reports that take a student).")
@format_option
def command(name: str, course_id: int | None, user_id: int | None, fmt: str) -> None:
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

    --student applies to grade_momentum, missing_work, student_progress_history,
    latest_risk and grade_changes. Exit codes: 0 ok, 1 findings (a student at high or critical risk, or
    missing work), 2 bad input.
    """
    if user_id is not None and "user_id" not in analytics.REPORTS[name]:
        raise click.BadParameter(f"report {name} does not take a student", param_hint="--student")
    with db.connect_read() as conn:
        result = analytics.run_report(conn, name, course_id=course_id, user_id=user_id)
    rows = [{c: _cell(v, fmt) for c, v in row.items()} for row in result.rows]
    render(rows, fmt, title=name.replace("_", " "), columns=result.columns)
    if result.findings:
        sys.exit(1)
