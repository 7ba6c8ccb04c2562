"""tracker.monitor: statements timed by name, slow ones logged without their values,
and the heaviest statements from pg_stat_statements (or how to enable it)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bundles import ANA, tiny_institution, write_bundle
from click.testing import CliRunner

from tracker import monitor, sync, userdata
from tracker.cli import main
from tracker.errors import NotFoundError
from tracker.sqlfiles import Statement, sql

HOOKED = "monitor.timed" in inspect.getsource(Statement.__call__)


@pytest.fixture(autouse=True)
def fresh_timings() -> Iterator[None]:
    monitor.reset()
    yield
    monitor.reset()


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def test_timed_counts_each_statement_by_name(monkeypatch):
    monkeypatch.setenv("TRACKER_SLOW_MS", "off")
    for _ in range(3):
        with monitor.timed("userdata.add_note"):
            pass
    assert monitor.timed_call("canvas.insert_new", lambda x: x * 2, 21) == 42
    with pytest.raises(ZeroDivisionError), monitor.timed("canvas.insert_new"):
        1 / 0  # noqa: B018 - a failing statement is counted too
    by_name = {t.name: t for t in monitor.timings()}
    assert (by_name["userdata.add_note"].calls, by_name["canvas.insert_new"].calls) == (3, 2)
    assert by_name["userdata.add_note"].slow == 0
    assert by_name["userdata.add_note"].mean_ms <= by_name["userdata.add_note"].max_ms + 1e-9


def test_slow_statements_are_logged_with_name_and_duration_only(monkeypatch, caplog):
    monkeypatch.setenv("TRACKER_SLOW_MS", "0")
    with caplog.at_level(logging.WARNING, logger="tracker.monitor"):
        monitor.record("userdata.add_note", 12.5)
    assert [r.getMessage() for r in caplog.records] == [
        "slow statement userdata.add_note: 12.5 ms (TRACKER_SLOW_MS=0)"]
    caplog.clear()
    monkeypatch.setenv("TRACKER_SLOW_MS", "100")
    with caplog.at_level(logging.WARNING, logger="tracker.monitor"):
        monitor.record("userdata.add_note", 99.9)
        monitor.record("userdata.add_note", 100.0)
    assert len(caplog.records) == 1
    assert {t.name: t.slow for t in monitor.timings()} == {"userdata.add_note": 2}


def test_the_threshold_comes_from_the_environment(monkeypatch, caplog):
    monkeypatch.delenv("TRACKER_SLOW_MS", raising=False)
    assert monitor.slow_threshold_ms() == 5000.0
    monkeypatch.setenv("TRACKER_SLOW_MS", "250")
    assert monitor.slow_threshold_ms() == 250.0
    monkeypatch.setenv("TRACKER_SLOW_MS", "off")
    assert monitor.slow_threshold_ms() is None
    monkeypatch.setenv("TRACKER_SLOW_MS", "fast please")
    with caplog.at_level(logging.WARNING, logger="tracker.monitor"):
        assert monitor.slow_threshold_ms() == 5000.0
    assert "is not a number of milliseconds" in caplog.text


@pytest.mark.skipif(not HOOKED, reason="Statement.__call__ does not call monitor.timed yet")
def test_every_statement_tracker_runs_is_timed_and_values_never_reach_the_log(
        db, tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setenv("TRACKER_SLOW_MS", "0")
    sync.sync_bundle(db, write_bundle(tmp_path / "b", tiny_institution()))
    secret = "Ana disclosed a medical condition"
    with caplog.at_level(logging.DEBUG, logger="tracker.monitor"):
        userdata.add_note(db, f"user:{ANA}", secret, author="ms.k")
    names = {t.name for t in monitor.timings()}
    assert {"canvas.insert_new", "lifecycle.apply_lifecycle_changes", "userdata.add_note"} <= names
    assert "slow statement userdata.add_note: " in caplog.text
    assert secret not in caplog.text and "ms.k" not in caplog.text


def test_statements_are_recognized_in_pg_stat_statements_normalized_text():
    stmt = sql.userdata.list_notes
    # pg_stat_statements replaces constants by $n after the statement's own parameters
    as_recorded = stmt.numbered().replace("'user'", "$9")
    names = monitor._known_statements()
    assert names[monitor.fingerprint(as_recorded)] == "userdata.list_notes"
    assert names[monitor.fingerprint(sql.canvas.insert_new.numbered(
        table="canvas.users", stage="pg_temp.stage_users"))] == "canvas.insert_new"


def test_top_says_how_to_enable_pg_stat_statements_when_it_cannot_report(db, db_url, monkeypatch):
    status = monitor.stat_statements_status(db)
    if status.ready:  # a server set up for it: the report names tracker's statements
        userdata.list_notes(db)
        top = monitor.top(db, limit=50)
        assert top and all(t.calls > 0 for t in top)
        return
    with pytest.raises(NotFoundError) as caught:
        monitor.top(db)
    message = str(caught.value)
    assert message.startswith("pg_stat_statements is not enabled. To enable it: (1) ")
    if not status.preloaded:
        assert "shared_preload_libraries = 'pg_stat_statements'" in message
    if not status.installed:
        assert "CREATE EXTENSION pg_stat_statements;" in message
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["monitor", "top"])
    assert result.exit_code == 1
    assert "pg_stat_statements is not enabled" in result.output


def test_how_to_enable_lists_only_the_missing_steps():
    assert monitor.StatStatementsStatus(True, True, True).how_to_enable() == \
        "pg_stat_statements is enabled"
    text = monitor.StatStatementsStatus(True, False, True).how_to_enable()
    assert text == ("pg_stat_statements is not enabled. To enable it: (1) in this database, as a "
                    "superuser or its owner: CREATE EXTENSION pg_stat_statements;")
    assert "postgresql-contrib" in monitor.StatStatementsStatus(False, False, False).how_to_enable()
