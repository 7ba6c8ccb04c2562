"""The schema's migrations: yoyo SQL files in ``migrations/``, each with its rollback.

``tracker db migrate`` and a DBA's plain ``yoyo apply`` run the same files and keep
the same bookkeeping (yoyo's ``_yoyo_migration`` table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracker import MIGRATIONS_DIR
from tracker.db import database_url


def yoyo_url(url: str) -> str:
    """The URL in yoyo's form: yoyo needs ``postgresql+psycopg`` to use psycopg 3."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}" if sep else url


def backend(url: str | None = None) -> Any:
    """A yoyo backend for ``url`` (or the default server)."""
    from yoyo import get_backend

    return get_backend(yoyo_url(database_url(url)))


def migrations(directory: Path = MIGRATIONS_DIR) -> Any:
    """Every migration in ``directory``, in order."""
    from yoyo import read_migrations

    return read_migrations(str(directory))


def apply(url: str | None = None) -> list[str]:
    """Apply the pending migrations; return their ids in the order applied."""
    be = backend(url)
    try:
        with be.lock():
            pending = be.to_apply(migrations())
            be.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        be.connection.close()
