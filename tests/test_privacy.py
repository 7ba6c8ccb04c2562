"""Privacy (issue 18 item 6): small groups suppressed in course statistics, and
pseudonymized exports of notes and reports (tracker/privacy.py, migration 0020)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from typing import Any

import pytest
from command_line import tracker
from school import ANA, C1

from tracker import SQL_DIR, analytics, privacy, sample, sync, userdata
from tracker.errors import ConfigurationError
from tracker.sqlfiles import sql

KEY = "a secret of more than sixteen bytes"
REPORT = str(SQL_DIR / "reports" / "course_statistics.sql")


@pytest.fixture
def edge_school(conn, tmp_path) -> dict[str, int]:
    """The sample school with its edge-case course, of which only three students stay
    active: the course ids with at least 5 active students and with fewer."""
    generated = sample.generate(tmp_path / "s", students=30, courses=2, assignments_per_course=4,
                                courses_per_student=2)
    sync.sync_bundle(conn, generated.directory)
    conn.execute("""
        UPDATE canvas.enrollments SET enrollment_state = 'completed'
        WHERE course_id = (SELECT max(id) FROM canvas.courses)
          AND type = 'StudentEnrollment'
          AND user_id NOT IN (SELECT user_id FROM canvas.active_students
                              WHERE course_id = (SELECT max(id) FROM canvas.courses)
                              ORDER BY user_id LIMIT 3)""")
    conn.commit()
    counts = dict(conn.execute("SELECT course_id, count(DISTINCT user_id) "
                               "FROM canvas.active_students GROUP BY 1").fetchall())
    big = [c for c, n in counts.items() if n >= 5]
    small = [c for c, n in counts.items() if n < 5]
    assert big and small, counts
    return {"big": big[0], "small": small[0], "small_size": counts[small[0]]}


def by_course(rows: Any) -> dict[int, Any]:
    return {r.course_id if hasattr(r, "course_id") else r["course_id"]: r for r in rows}


def test_a_course_of_fewer_than_five_students_shows_no_figures(conn, edge_school, monkeypatch):
    monkeypatch.delenv(privacy.MIN_GROUP_ENV, raising=False)
    stats = by_course(analytics.course_statistics(conn))
    small, big = stats[edge_school["small"]], stats[edge_school["big"]]
    assert small.suppressed
    assert (small.enrolled, small.mean_score, small.median_score, small.score_distribution,
            small.missing, small.due, small.missing_rate) == (None,) * 7
    assert not big.suppressed
    assert big.enrolled >= 5 and big.score_distribution is not None and big.due is not None

    # TRACKER_MIN_GROUP moves the line: at the small course's own size it shows.
    monkeypatch.setenv(privacy.MIN_GROUP_ENV, str(edge_school["small_size"]))
    shown = by_course(analytics.run_report(conn, "course_statistics").rows)
    assert not shown[edge_school["small"]]["suppressed"]
    assert shown[edge_school["small"]]["enrolled"] == edge_school["small_size"]


def test_the_database_setting_is_the_default_and_the_variable_overrides_it(conn, edge_school):
    def suppressed(min_group: int | None) -> dict[int, bool]:
        rows = sql.reports.course_statistics(conn, course_id=None, min_group=min_group).fetchall()
        return {r[0]: r[-1] for r in rows}

    assert suppressed(None)[edge_school["small"]] and not suppressed(None)[edge_school["big"]]
    conn.execute("SET tracker.min_group = 1000")  # as ALTER DATABASE … SET would
    assert all(suppressed(None).values())
    assert not any(suppressed(1).values())
    conn.execute("SET tracker.min_group = 'many'")
    with pytest.raises(Exception, match="tracker.min_group is many"):
        suppressed(None)
    conn.rollback()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not on PATH")
def test_psql_and_python_suppress_the_same_courses(conn, db_url, edge_school, monkeypatch):
    def by_psql(min_group: str) -> list[list[str]]:
        done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-d", db_url,
                               "-v", "course_id=", "-v", f"min_group={min_group}", "-f", REPORT],
                              capture_output=True, text=True, check=True)
        return list(csv.reader(io.StringIO(done.stdout)))[1:]

    for given in ("", "1", "5"):
        if given:
            monkeypatch.setenv(privacy.MIN_GROUP_ENV, given)
        else:
            monkeypatch.delenv(privacy.MIN_GROUP_ENV, raising=False)
        python = {r["course_id"]: r["suppressed"]
                  for r in analytics.run_report(conn, "course_statistics").rows}
        psql = {int(r[0]): r[-1] == "t" for r in by_psql(given)}
        assert psql == python, given
        assert psql[edge_school["small"]] is (given != "1")
        assert psql[edge_school["big"]] is False


def test_a_bad_min_group_is_refused(monkeypatch):
    for bad in ("0", "-3", "five"):
        monkeypatch.setenv(privacy.MIN_GROUP_ENV, bad)
        with pytest.raises(ConfigurationError, match="TRACKER_MIN_GROUP"):
            privacy.min_group()


# -- pseudonyms ----------------------------------------------------------------------------------


def test_pseudonyms_are_stable_per_key_and_refuse_short_keys():
    one, same, other = (privacy.Pseudonyms(k.encode()) for k in (KEY, KEY, KEY + "!"))
    assert one.of("user", 42) == same.of("user", 42)
    assert one.of("user", 42) != other.of("user", 42)
    assert one.of("user", 42) != one.of("user", 43) != one.of("name", 43)
    assert one.of("user", 42).startswith("user-") and len(one.of("user", 42)) == 5 + privacy.DIGITS
    assert one.of("user", None) is None
    with pytest.raises(ConfigurationError, match="at least 16"):
        privacy.Pseudonyms(b"short")


def export(*args: str) -> Any:
    result = tracker(*args)
    assert result.exit_code in (0, 1), result.output
    return result.output


def test_notes_export_pseudonymizes_students_and_authors(synced_school, conn, db_url, monkeypatch):
    userdata.add_note(conn, f"user:{ANA}", "Struggles with fractions", author="ms.kowalski")
    userdata.add_note(conn, f"course:{C1}", "Room 12", author="mr.bennett")
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    first = export("notes", "export", "--pseudonymize")
    again = export("notes", "export", "--pseudonymize")
    assert first == again  # stable across exports with the same key
    rows = list(csv.DictReader(io.StringIO(first)))
    pseudonyms = privacy.Pseudonyms(KEY.encode())
    user_note = next(r for r in rows if r["subject_type"] == "user")
    course_note = next(r for r in rows if r["subject_type"] == "course")
    assert user_note["subject_id"] == pseudonyms.of("user", ANA)
    assert course_note["subject_id"] == str(C1)  # course ids stay
    assert user_note["author"] == pseudonyms.of("name", "ms.kowalski")
    assert "kowalski" not in first and "bennett" not in first and f",{ANA}," not in first
    lines = [json.loads(line) for line in export("notes", "export", "--pseudonymize",
                                                 "--format", "json").splitlines()]
    assert {d["subject_id"] for d in lines if d["subject_type"] == "user"} == {
        pseudonyms.of("user", ANA)}

    monkeypatch.setenv(privacy.KEY_ENV, KEY + "!")
    assert export("notes", "export", "--pseudonymize") != first  # another key, other names


def test_report_pseudonymizes_ids_and_names(synced_school, conn, db_url, monkeypatch):
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    plain = json.loads(export("report", "active_students", "--course", str(C1), "--format", "json"))
    hidden = export("report", "active_students", "--course", str(C1), "--format", "json",
                    "--pseudonymize")
    assert hidden == export("report", "active_students", "--course", str(C1), "--format", "json",
                            "--pseudonymize")
    rows = json.loads(hidden)
    assert [r["course_id"] for r in rows] == [r["course_id"] for r in plain]
    pseudonyms = privacy.Pseudonyms(KEY.encode())
    assert sorted(r["user_id"] for r in rows) == sorted(pseudonyms.of("user", r["user_id"])
                                                       for r in plain)
    for original in plain:  # no id, name, sortable name or SIS id of a person is left
        for column in ("user_id", "student", "sortable_name", "sis_user_id", "login_id", "email"):
            value = original.get(column)
            if value is not None:
                assert f'"{value}"' not in hidden and f": {value}," not in hidden, (column, value)
    csv_rows = list(csv.DictReader(io.StringIO(export(
        "report", "missing_work", "--format", "csv", "--pseudonymize"))))
    assert csv_rows and all(r["user_id"].startswith("user-") for r in csv_rows)
    assert all(r["student"].startswith("name-") for r in csv_rows)


def test_pseudonymize_is_refused_without_a_key_and_for_tables(synced_school, conn, db_url,
                                                              monkeypatch):
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    for args in (("notes", "export", "--pseudonymize"),
                 ("report", "active_students", "--format", "csv", "--pseudonymize")):
        result = tracker(*args)
        assert result.exit_code == 2 and privacy.KEY_ENV in result.output, result.output
    monkeypatch.setenv(privacy.KEY_ENV, "too short")
    result = tracker("report", "active_students", "--format", "json", "--pseudonymize")
    assert result.exit_code == 2 and "at least 16" in result.output
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    result = tracker("report", "active_students", "--pseudonymize")  # a table
    assert result.exit_code == 2 and "json or csv" in result.output
