"""tracker.stat_statements: the heaviest statements from pg_stat_statements, named when
they are tracker's, or how to enable it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tracker import stat_statements, userdata
from tracker.cli import main
from tracker.errors import NotFoundError
from tracker.sqlfiles import sql


def test_statements_are_recognized_in_pg_stat_statements_normalized_text():
    stmt = sql.userdata.list_notes
    # pg_stat_statements replaces constants by $n after the statement's own parameters
    as_recorded = stmt.numbered().replace("'user'", "$9")
    names = stat_statements.known_statements()
    assert names[stat_statements.fingerprint(as_recorded)] == "userdata.list_notes"
    assert names[stat_statements.fingerprint(sql.canvas.insert_new.numbered(
        table="canvas.users", stage="pg_temp.stage_users"))] == "canvas.insert_new"


def test_top_says_how_to_enable_pg_stat_statements_when_it_cannot_report(
        autocommit_conn, db_url, monkeypatch):
    status = stat_statements.stat_statements_status(autocommit_conn)
    if status.ready:  # a server set up for it: the report names tracker's statements
        userdata.list_notes(autocommit_conn)
        top = stat_statements.top(autocommit_conn, limit=50)
        assert top and all(t.calls > 0 for t in top)
        return
    with pytest.raises(NotFoundError) as caught:
        stat_statements.top(autocommit_conn)
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
    assert stat_statements.StatStatementsStatus(True, True, True).how_to_enable() == \
        "pg_stat_statements is enabled"
    text = stat_statements.StatStatementsStatus(True, False, True).how_to_enable()
    assert text == ("pg_stat_statements is not enabled. To enable it: (1) in this database, as a "
                    "superuser or its owner: CREATE EXTENSION pg_stat_statements;")
    assert "postgresql-contrib" in \
        stat_statements.StatStatementsStatus(False, False, False).how_to_enable()
