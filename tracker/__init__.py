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

_HERE = Path(__file__).resolve().parent

#: The repository (a clone, installed editable); a wheel has no repository around it.
ROOT = _HERE.parent
#: The ``sql/`` and ``migrations/`` folders: the repository's, or the copies a wheel
#: carries inside the package (``tracker/sql``, ``tracker/migrations``).
SQL_DIR = _HERE / "sql" if (_HERE / "sql").is_dir() else ROOT / "sql"
MIGRATIONS_DIR = _HERE / "migrations" if (_HERE / "migrations").is_dir() else ROOT / "migrations"
