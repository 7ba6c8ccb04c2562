"""tracker: a school's Canvas LMS data in PostgreSQL, in four layers, with no ORM.

Layers (one PostgreSQL schema each): ``canvas`` (current Canvas state), ``history``
(append-only time series made by sync), ``userdata`` (what people wrote; sync never
touches it) and ``lifecycle`` (whether each Canvas object still exists). The sync
journal lives in ``tracker``.

The public API is plain functions taking a psycopg connection first; see the
modules ``db``, ``migrate``, ``sync`` and friends.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The repository's ``sql/`` and ``migrations/`` folders (the package is installed editable).
ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
MIGRATIONS_DIR = ROOT / "migrations"
