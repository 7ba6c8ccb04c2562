"""tracker.stats and ``tracker db stats``: sizes, syncs, freshness and growth; ``tracker
db check``'s stale courses."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ALGEBRA, BIOLOGY, course_part, tiny_institution, write_bundle
from command_line import tracker
from test_maintenance import psql

from tracker import db, stats, sync
from tracker.errors import ConfigurationError


def _age_journal(conn: psycopg.Connection[Any], days: float) -> None:
    """Make every run of the journal finish ``days`` days earlier than it did."""
    conn.execute("UPDATE tracker.sync_runs SET started_at = started_at - make_interval(days => %s),"
                 " finished_at = finished_at - make_interval(days => %s)", (days, days))


# -- the settings ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("2d", 2 * 86400), ("36h", 36 * 3600), ("90m", 90 * 60), ("90min", 90 * 60),
    ("45s", 45), ("3600", 3600), (" 1 d ", 86400),
])
def test_a_duration_setting_takes_a_number_and_a_unit(monkeypatch, text, seconds):
    monkeypatch.setenv("TRACKER_STALE_AFTER", text)
    assert stats.stale_after_setting() == timedelta(seconds=seconds)


def test_the_staleness_limit_is_two_days_unless_set(monkeypatch):
    monkeypatch.delenv("TRACKER_STALE_AFTER", raising=False)
    assert stats.stale_after_setting() == timedelta(days=2)


@pytest.mark.parametrize("text", ["2 weeks", "1.5d", "-1d", "soon"])
def test_a_duration_setting_that_is_not_one_names_the_variable(monkeypatch, text):
    monkeypatch.setenv("TRACKER_STALE_AFTER", text)
    with pytest.raises(ConfigurationError, match=r"TRACKER_STALE_AFTER=.* is not a duration"):
        stats.stale_after_setting()


# -- collect -------------------------------------------------------------------------------


def test_stats_count_rows_sizes_syncs_and_growth(synced_conn):
    synced_conn.execute("ANALYZE")
    result = stats.collect(synced_conn, stale_after=timedelta(days=2))
    tables = {(t.schema_name, t.table_name): t for t in result.tables}
    for schema, table in [("canvas", "submissions"), ("canvas", "enrollments"),
                          ("history", "submission_scores"), ("lifecycle", "objects")]:
        row = synced_conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
        assert tables[schema, table].rows_estimated == row[0] > 0
        assert tables[schema, table].total_bytes >= tables[schema, table].table_bytes > 0
    canvas = next(layer for layer in result.layers if layer.schema_name == "canvas")
    of_canvas = [t for t in result.tables if t.schema_name == "canvas"]
    assert (canvas.tables, canvas.total_bytes) == (len(of_canvas),
                                                   sum(t.total_bytes for t in of_canvas))
    assert {s.status: s.runs for s in result.syncs} == {
        "running": 0, "succeeded": 1, "failed": 0, "undone": 0}

    run = sync.report(synced_conn).run
    assert [(c.course_id, c.last_sync_id, c.watched, c.stale) for c in result.courses] == [
        (ALGEBRA, run.sync_id, True, False), (BIOLOGY, run.sync_id, True, False)]
    assert all(0 <= c.age_seconds < 3600 for c in result.courses)
    appended = {g.kind: g.rows_appended for g in result.history_growth}
    assert appended == {kind: counts["history"] for kind, counts in run.counts.items()}
    assert appended["submissions"] > 0


def test_a_course_not_synced_within_the_limit_is_stale(autocommit_conn, tmp_path: Path):
    data = tiny_institution()
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "both", data))
    _age_journal(autocommit_conn, 3)
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "algebra", course_part(data, ALGEBRA)),
                     courses=[ALGEBRA])

    stale = stats.stale_courses(autocommit_conn, stale_after=timedelta(days=2))
    assert [(c.course_id, c.last_sync_id) for c in stale] == [(BIOLOGY, 1)]
    assert stale[0].age_seconds == pytest.approx(3 * 86400, abs=3600)
    assert stats.stale_courses(autocommit_conn, stale_after=timedelta(days=4)) == []


def test_an_undone_sync_does_not_count_and_a_concluded_course_is_not_watched(synced_conn, tmp_path):
    _age_journal(synced_conn, 3)
    again = sync.sync_bundle(synced_conn, write_bundle(tmp_path / "again", tiny_institution()))
    sync.undo(synced_conn, again.sync_id)
    synced_conn.execute("UPDATE canvas.courses SET workflow_state = 'completed' WHERE id = %s",
                        (BIOLOGY,))
    courses = stats.collect(synced_conn, stale_after=timedelta(days=2)).courses
    assert [(c.course_id, c.last_sync_id, c.watched, c.stale) for c in courses] == [
        (ALGEBRA, 1, True, True), (BIOLOGY, 1, False, False)]


def test_stats_script_runs_with_psql(synced_conn, db_url):
    result = psql(db_url, "stats.sql", "stale_after=2 days", "days=14")
    assert f"{ALGEBRA},Algebra" in result.stdout
    assert "succeeded,1," in result.stdout


# -- Prometheus ------------------------------------------------------------------------------

#: A sample line of the text exposition format: name, optional labels, a number.
SAMPLE = re.compile(r'(tracker_[a-z_]+)(\{(?:[a-z]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)')


def test_prometheus_text_has_help_and_type_before_each_metric(synced_conn):
    synced_conn.execute("ANALYZE")
    text = stats.prometheus(stats.collect(synced_conn, stale_after=timedelta(days=2)))
    declared: dict[str, set[str]] = {}
    samples: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            kind, name, _ = line[2:].split(" ", 2)
            declared.setdefault(name, set()).add(kind)
            continue
        match = SAMPLE.fullmatch(line)
        assert match, line
        assert declared.get(match[1]) == {"HELP", "TYPE"}, line  # declared before its samples
        samples[match[1] + (match[2] or "")] = match[3]
    submissions = synced_conn.execute("SELECT count(*) FROM canvas.submissions").fetchone()[0]
    assert samples['tracker_table_rows_estimated{schema="canvas",table="submissions"}'] == str(
        submissions)
    assert samples['tracker_sync_runs{status="succeeded"}'] == "1"
    assert samples[f'tracker_course_stale{{course="{ALGEBRA}"}}'] == "0"
    assert samples["tracker_stale_after_seconds"] == str(2 * 86400)
    assert float(samples[f'tracker_course_last_sync_age_seconds{{course="{BIOLOGY}"}}']) >= 0
    assert text.endswith("\n")


def test_a_label_value_is_escaped():
    course = stats.CourseFreshness(course_id=1, course_name='x', last_sync_id=None,
                                   last_synced_at=None, age_seconds=None, watched=True, stale=True)
    table = stats.TableStats(schema_name="canvas", table_name='we"ird\\name', rows_estimated=3,
                             table_bytes=8192, index_bytes=0, total_bytes=8192)
    text = stats.prometheus(stats.Stats(stale_after_seconds=60.0, days=1, layers=[],
                                        tables=[table], syncs=[], courses=[course],
                                        history_growth=[]))
    assert 'tracker_table_rows_estimated{schema="canvas",table="we\\"ird\\\\name"} 3' in text
    assert 'tracker_course_stale{course="1"} 1' in text


# -- the command line ---------------------------------------------------------------------------


def test_db_stats_prints_each_format(migrated_db, synced_conn):
    as_json = tracker("db", "stats", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert {s["status"]: s["runs"] for s in data["syncs"]}["succeeded"] == 1
    assert [c["course_id"] for c in data["courses"]] == [ALGEBRA, BIOLOGY]
    assert data["stale_after_seconds"] == 2 * 86400

    prom = tracker("db", "stats", "--format", "prometheus")
    assert prom.exit_code == 0, prom.output
    assert 'tracker_sync_runs{status="succeeded"} 1' in prom.stdout.splitlines()

    table = tracker("db", "stats")
    assert table.exit_code == 0, table.output
    for title in ("layers", "tables", "syncs by status", "courses: last successful sync"):
        assert title in table.stdout


def test_db_check_warns_about_stale_courses_and_exits_1(migrated_db, synced_conn, monkeypatch):
    fresh = tracker("db", "check")
    assert fresh.exit_code == 0, fresh.output
    assert "stale courses: none" in fresh.stdout.splitlines()

    _age_journal(synced_conn, 3)
    stale = tracker("db", "check")
    assert stale.exit_code == 1, stale.output
    assert "stale courses: 2 not synced within 2.0 days" in stale.stdout.splitlines()
    assert stale.stdout.splitlines()[-1] == "healthy:       NO"
    assert (f"WARNING: course {ALGEBRA} (Algebra I) was last synced successfully 3.0 days ago, "
            "longer than TRACKER_STALE_AFTER (2.0 days): check the nightly sync job.") in stale.stderr

    monkeypatch.setenv("TRACKER_STALE_AFTER", "96h")
    assert tracker("db", "check").exit_code == 0
    monkeypatch.setenv("TRACKER_STALE_AFTER", "4 days")
    bad = tracker("db", "check")
    assert bad.exit_code == 2
    assert "TRACKER_STALE_AFTER='4 days' is not a duration" in bad.stderr


def test_db_check_json_lists_the_stale_courses(migrated_db, synced_conn):
    _age_journal(synced_conn, 3)
    result = tracker("db", "check", "--json")
    assert result.exit_code == 1, result.output
    health = json.loads(result.stdout)
    assert (health["healthy"], health["stale_after_seconds"]) == (False, 2 * 86400)
    assert [c["course_id"] for c in health["stale_courses"]] == [ALGEBRA, BIOLOGY]


def test_the_statistics_connection_needs_no_write(db_url):
    with db.connect(db_url) as conn:
        conn.read_only = True
        assert stats.collect(conn).syncs  # every statement is a read
