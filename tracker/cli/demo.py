"""``tracker demo``: the whole loop on a small synthetic school, start to finish.

Migrates the database (embedded unless DATABASE_URL is set), writes a small sample
school, syncs it, changes some grades, syncs again, shows what changed, and who is at
risk and why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from tracker import analytics, db, migrate, risk_models, sample, sync
from tracker.cli.output import print_report, progress_bar, render
from tracker.errors import NotFoundError

COURSES_PER_STUDENT = 4


@click.command("demo")
@click.option("--students", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Students in the sample school.")
@click.option("--courses", type=click.IntRange(COURSES_PER_STUDENT, 10_000), default=12,
              show_default=True,
              help=f"Courses in the sample school (each student takes {COURSES_PER_STUDENT}).")
@click.option("--changed-fraction", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Share of submission scores the second sync changes.")
def command(students: int, courses: int, changed_fraction: float) -> None:
    """Run the main loop on a synthetic school: migrate, sync, change grades, sync, report.

    It ends with the students at risk and why, and one student's momentum and predicted
    final score.
    """
    url = db.database_url()
    applied = migrate.apply()  # TRACKER_MIGRATE_URL when DATABASE_URL is a pooler
    with db.connect(url) as conn:
        click.echo(f"database: {db.server_version(conn)} at {db.mask_url(url)}"
                   f" ({len(applied)} migration(s) applied now)")
        with tempfile.TemporaryDirectory(prefix="tracker-demo-") as tmp:
            def school(folder: str, revision: int) -> sample.SampleSummary:
                return sample.generate(Path(tmp) / folder, students=students, courses=courses,
                                       assignments_per_course=15,
                                       courses_per_student=COURSES_PER_STUDENT,
                                       revision=revision, changed_fraction=changed_fraction)

            before = school("before", 0)
            click.echo(f"\n1. a sample school: {before.users:,} people, {before.courses:,} "
                       f"courses, {before.submissions:,} submissions; syncing it")
            with progress_bar(True) as progress:
                print_report(sync.sync_bundle(conn, before.directory, progress=progress),
                             as_json=False)

            later = school("after", 1)
            click.echo(f"\n2. a week later: {later.changed_submissions} submission score(s) and "
                       f"{later.changed_enrollments} course grade(s) changed in Canvas; syncing again")
            with progress_bar(True) as progress:
                result = sync.sync_bundle(conn, later.directory, progress=progress)
            print_report(result, as_json=False)

        changes = sync.report(conn, result.sync_id, limit=10).grade_changes
        click.echo("\n3. whose course grade moved the most (tracker sync report):")
        render([{"student": c.student, "course": c.course, "before": c.score_before,
                 "after": c.score_after, "change": c.change} for c in changes], "table",
               title="grade changes")

        risky = analytics.at_risk(conn, limit=8)
        click.echo("\n4. who is at risk (each sync stores its assessments in layer 2: "
                   "tracker report latest_risk; weights in README):")
        render([{"student": r.student, "course": r.course, "risk": f"{r.score:.2f}",
                 "category": r.category, "why": "; ".join(r.reasons)} for r in risky], "table",
               title="students at risk, most first")
        if risky:
            first = risky[0]  # the student most at risk
            trend = analytics.momentum(conn, first.user_id, first.course_id)
            guess = analytics.predict_final_grade(conn, first.user_id, first.course_id)
            slope = "n/a" if trend.slope_per_week is None else f"{trend.slope_per_week:+.1f}"
            click.echo(f"\n5. {first.student} in {first.course}: {trend.trend} "
                       f"({slope} points a week over {len(trend.points)} graded item(s))")
            if guess.predicted_score is not None:
                click.echo(f"   predicted final score {guess.predicted_score:.1f} "
                           f"(95% interval {guess.low:.1f} to {guess.high:.1f}; {guess.method})")
            else:
                click.echo(f"   no prediction: {guess.note}")
        conn.commit()
        try:
            ev = risk_models.evaluate(conn)
        except NotFoundError as e:  # a school with no past term
            click.echo(f"\n6. is the risk answer right? {e}")
        else:
            click.echo(f"\n6. is the risk answer right? On the past term's {ev.courses} courses "
                       f"as of week {ev.as_of_week} (tracker risk evaluate): "
                       + ", ".join(f"{s.model} AUC {s.auc}" for s in ev.scores)
                       + " (0.5 is a coin; tracker risk fit learns from them)")
        click.echo("\nNext: tracker sync list | tracker report latest_risk | "
                   "tracker risk fit | tracker sync undo --yes")
