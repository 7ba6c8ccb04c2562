"""The test fixture itself: each test gets its own migrated database."""

from tracker import db


def test_each_test_gets_a_migrated_database_of_its_own(conn, db_url):
    schemas = {
        r[0]
        for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
            (["canvas", "history", "userdata", "lifecycle", "tracker"],),
        )
    }
    assert schemas == {"canvas", "history", "userdata", "lifecycle", "tracker"}
    assert db.server_version(conn).startswith("PostgreSQL ")
