"""``tracker student ID``: a student's whole story, per active course
(:func:`tracker.analytics.student_card`), as text, JSON or a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tracker import analytics, db, html
from tracker.cli.options import ID, out_option
from tracker.cli.output import check_html, render, to_json, write_to


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _when(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _risk_line(course: analytics.CourseCard) -> str:
    risk, change = course.risk, course.risk_change
    if risk is None or change is None:
        return "risk: none stored yet"
    line = f"risk: {risk.category} ({risk.score:.2f}, {_when(risk.assessed_at)})"
    if change.previous is not None:
        moved = ", ".join(f"{name} {before if before is not None else '?'} -> "
                          f"{after if after is not None else '?'}"
                          for name, before, after in change.moved)
        line += (f"; {change.direction} from {change.previous.category} "
                 f"({change.previous.score:.2f}, {_when(change.previous.assessed_at)})"
                 + (f"; factors moved: {moved}" if moved else ""))
    else:
        line += "; the first assessment stored"
    return line


def _print_card(card: analytics.StudentCard) -> None:
    click.echo(f"{card.name} (user {card.user_id}"
               + (f", SIS {card.sis_user_id}" if card.sis_user_id else "") + ")")
    if card.tags:
        click.echo(f"tags: {', '.join(card.tags)}")
    for name, value in card.fields.items():
        click.echo(f"{name}: {value}")
    for note in card.notes:
        click.echo(f"note {note.id} by {note.author}, {_when(note.created_at)}: {note.body}")
    if not card.courses:
        click.echo("not an active student of any course")
    for c in card.courses:
        click.echo("")
        click.echo(f"== {c.course} (course {c.course_id})")
        click.echo(f"current score: {_pct(c.current_score)}"
                   + (f" ({c.current_grade})" if c.current_grade else "")
                   + f"; {c.submitted} handed in of {c.due} due")
        slope = ("" if c.slope_per_week is None
                 else f", {c.slope_per_week:+.1f} points a week, r² {c.r2:.2f}")
        click.echo(f"momentum: {c.trend}{slope}" + (f"   {c.spark}" if c.spark else ""))
        if c.predicted_score is not None:
            click.echo(f"predicted final: {_pct(c.predicted_score)} "
                       f"(95%: {_pct(c.low)} to {_pct(c.high)}, {c.method})")
        click.echo(_risk_line(c))
        if c.risk is not None and c.risk.reasons:
            click.echo(f"reasons: {'; '.join(c.risk.reasons)}")
        if c.risk is not None and c.risk.factors:
            click.echo("factors: " + ", ".join(
                f"{f.name} {_num(f.value)} (risk {_num(f.risk)}, added {f.contribution:.3f})"
                for f in c.risk.factors))
        for label, items in (("missing", c.missing_work), ("late", c.late_work)):
            click.echo(f"{label}: " + (", ".join(
                f"{w.assignment} (due {_when(w.due_at)})" for w in items) or "none"))
        for why in c.notes:
            click.echo(f"({why})")
        if c.score_history:
            render([{"assignment": v.assignment, "recorded": f"{v.recorded_at:%Y-%m-%d %H:%M}",
                     "sync": v.sync_id, "score": v.score, "state": v.workflow_state,
                     "late": v.late, "missing": v.missing, "excused": v.excused}
                    for v in c.score_history], "table", title="score history")


@click.command("student")
@click.argument("user_id", type=ID, metavar="ID")
@click.option("--course", "course_id", type=ID,
              help="Only this course (default: every course the student is active in).")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "html")), default="table",
              show_default=True,
              help="table for people; json for scripts; html for one self-contained page "
                   "with charts (needs pip install 'tracker[html]').")
@out_option
def command(user_id: int, course_id: int | None, fmt: str, out: Path | None) -> None:
    """A student's whole story, per active course.

    Current score and grade; momentum (slope in points a week, r², trend) with a
    sparkline of the graded percentages (▁ 0% to █ 100%); the predicted final score
    with its 95% interval; missing and late work; the latest stored risk with its
    reasons and how it moved since the assessment before; every score of the recently
    changed submissions (layer 2); and the student's notes, tags and custom fields.

    Exit codes: 0 ok, 1 unknown student (or not active in --course), 2 bad input.
    """
    check_html(fmt, out)
    with db.connect_read() as conn:
        card = analytics.student_card(conn, user_id, course_id)
    if fmt == "html":
        page = html.student_page(card)
        with write_to(out) as f:
            f.write(page.encode())
    elif fmt == "json":
        click.echo(to_json(card))
    else:
        _print_card(card)
