"""Logs a machine can read: ``--log-format json`` / ``TRACKER_LOG_FORMAT=json``."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from bundles import ANA, find, tiny_institution, write_bundle

from tracker import ROOT
from tracker.logs import JsonFormatter

#: Every record carries these, first.
BASE = ["time", "level", "logger", "message"]


def _tracker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``tracker ARGS`` in a process of its own (its stderr is what a collector reads)."""
    return subprocess.run([sys.executable, "-c", "from tracker.cli import main; main()", *args],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, **env})


def _with_password(url: str) -> str:
    """``url`` with a password in it (the test servers trust their users: it is ignored)."""
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user or 'postgres'}:s3cret-pw@{host}"))


@pytest.mark.direct("the child process connects without the test's pooler settings")
@pytest.mark.parametrize("how", ["option", "environment"])
def test_json_logs_are_one_object_a_line_with_the_structured_fields(
    migrated_db: str, tmp_path: Path, how: str
) -> None:
    data = tiny_institution()
    secret_name = find(data, "users", ANA)["name"]
    path = write_bundle(tmp_path / "bundle", data)
    env = {"DATABASE_URL": _with_password(migrated_db), "TRACKER_SLOW_MS": "0",
           "TRACKER_LOG_FORMAT": "json" if how == "environment" else "text"}
    args = ["-v", *(["--log-format", "json"] if how == "option" else []),
            "sync", "--bundle", str(path)]

    done = _tracker(*args, env=env)

    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert records and all(list(r)[:4] == BASE for r in records)
    statements = [r for r in records if "statement" in r]
    assert statements and all(r["level"] == "warning" and r["logger"] == "tracker.monitor"
                              and isinstance(r["ms"], float) for r in statements)
    assert "canvas.insert_new" in {r["statement"] for r in statements}
    [synced] = [r for r in records if "sync_id" in r]
    assert synced["logger"] == "tracker.sync" and synced["level"] == "info"
    assert synced["sync_id"] == 1 and synced["courses"] == sorted(
        c["id"] for c in data["courses"])
    assert synced["counts"]["users"]["inserted"] == len(data["users"])
    assert secret_name not in done.stderr  # no student's value
    assert "s3cret-pw" not in done.stderr + done.stdout  # no password


@pytest.mark.direct("the child process connects without the test's pooler settings")
def test_a_failed_sync_logs_its_statement_as_json(migrated_db: str, tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "bundle", tiny_institution())
    env = {"DATABASE_URL": migrated_db, "TRACKER_STATEMENT_TIMEOUT": "300ms",
           "TRACKER_LOG_FORMAT": "json"}
    with psycopg.connect(migrated_db) as blocker:
        blocker.execute("LOCK TABLE canvas.submissions IN SHARE MODE")
        done = _tracker("sync", "--bundle", str(path), env=env)

    assert done.returncode == 1
    *logged, printed = done.stderr.splitlines()
    [failure] = [json.loads(line) for line in logged]
    assert failure["level"] == "error" and failure["statement"] == "canvas.update_submissions"
    assert failure["sqlstate"] == "57014" and failure["location"].startswith("sql/canvas/")
    assert printed.startswith("error: the sync of course")  # the one line for people


def test_the_formatter_masks_urls_and_keeps_fields_plain() -> None:
    record = logging.LogRecord("tracker.db", logging.WARNING, __file__, 1,
                               "cannot reach %s", ("postgresql://app:hunter2@db:5432/school",),
                               None)
    record.courses = (101, 102)
    record.source = "postgres://app:hunter2@db/school"
    try:
        raise ValueError("bad\nsecond line")
    except ValueError:
        record.exc_info = sys.exc_info()
    entry: dict[str, Any] = json.loads(JsonFormatter().format(record))
    assert list(entry)[:4] == BASE
    assert entry["message"] == "cannot reach postgresql://app:***@db:5432/school"
    assert entry["source"] == "postgres://app:***@db/school"
    assert entry["courses"] == [101, 102]
    assert entry["error"] == "ValueError: bad"
    assert entry["time"].endswith("+00:00") and entry["level"] == "warning"


def test_an_unknown_log_format_is_a_usage_error(tmp_path: Path) -> None:
    done = _tracker("--log-format", "xml", "db", "url", env={"TRACKER_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "Invalid value for '--log-format'" in done.stderr
