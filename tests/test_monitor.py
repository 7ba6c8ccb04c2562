"""tracker.monitor: statements timed by name, slow ones logged without their values."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundles import ANA, tiny_institution, write_bundle

from tracker import monitor, sync, userdata
from tracker.sqlfiles import Statement

HOOKED = "monitor.timed" in inspect.getsource(Statement.__call__)


@pytest.fixture(autouse=True)
def fresh_timings() -> Iterator[None]:
    monitor.reset()
    yield
    monitor.reset()


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
        autocommit_conn, tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setenv("TRACKER_SLOW_MS", "0")
    sync.sync_bundle(autocommit_conn, write_bundle(tmp_path / "b", tiny_institution()))
    secret = "Ana disclosed a medical condition"
    with caplog.at_level(logging.DEBUG, logger="tracker.monitor"):
        userdata.add_note(autocommit_conn, f"user:{ANA}", secret, author="ms.k")
    names = {t.name for t in monitor.timings()}
    assert {"canvas.insert_new", "lifecycle.apply_lifecycle_changes", "userdata.add_note"} <= names
    assert "slow statement userdata.add_note: " in caplog.text
    assert secret not in caplog.text and "ms.k" not in caplog.text
