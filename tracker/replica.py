"""The read replica (``TRACKER_READ_URL``): how far it lags behind the primary.

:func:`status` reads the primary's WAL position, then what the replica has replayed of
it. A replica that has replayed everything lags 0 s, however long ago the last
transaction was; one still behind lags the time since the last transaction it replayed
committed on the primary (an upper bound: after a long quiet spell the first write
shows the whole spell until it is replayed). Past ``TRACKER_MAX_LAG`` (default 5
minutes) the replica is unhealthy: reports read stale data.

Connections for reads come from :func:`tracker.db.connect_read`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from tracker import db
from tracker.errors import ConfigurationError
from tracker.sqlfiles import sql

#: How far behind the replica may be before ``tracker db check`` fails, unless set.
DEFAULT_MAX_LAG = timedelta(minutes=5)


@dataclass(frozen=True)
class ReplicaStatus:
    """What :func:`status` found. ``in_recovery`` False: the URL is no replica (reads go
    to a primary, which lags nothing). Lag is None when unknown (not connected)."""

    url: str  # masked
    connected: bool
    in_recovery: bool | None
    lag_seconds: float | None
    lag_bytes: int | None
    max_lag_seconds: float
    error: str | None
    healthy: bool  # connected and lagging no more than max_lag_seconds


def max_lag_setting() -> timedelta:
    """``TRACKER_MAX_LAG`` (``5m``, ``30s``, seconds…), else five minutes."""
    return db.duration_setting("TRACKER_MAX_LAG", DEFAULT_MAX_LAG)


def configured() -> bool:
    """True when ``TRACKER_READ_URL`` names a read replica."""
    return bool(os.environ.get("TRACKER_READ_URL"))


def status(primary_url: str | None = None, read_url: str | None = None, *,
           max_lag: timedelta | None = None) -> ReplicaStatus:
    """Compare the replica (``read_url``, else ``TRACKER_READ_URL``) with the primary
    (``primary_url``, else ``DATABASE_URL``). A replica or primary that cannot be
    reached gives an unhealthy status with ``error``, not an exception."""
    limit = max_lag if max_lag is not None else max_lag_setting()
    masked = db.mask_url(db.read_url(read_url))
    try:
        with db.connect(primary_url, autocommit=True) as primary:
            row = sql.tracker.wal_position(primary).fetchone()
        assert row is not None
        with db.connect_read(read_url, autocommit=True) as replica:
            in_recovery, behind, since = sql.tracker.replay_position(
                replica, primary_lsn=row[0]).fetchone() or (None, None, None)
    except (ConfigurationError, psycopg.Error) as exc:
        message = str(exc) if isinstance(exc, ConfigurationError) else db.first_line(exc)
        return ReplicaStatus(url=masked, connected=False, in_recovery=None, lag_seconds=None,
                             lag_bytes=None, max_lag_seconds=limit.total_seconds(),
                             error=message, healthy=False)
    lag_seconds: float | None
    lag_bytes: int | None
    if not in_recovery or behind is None or behind <= 0:
        lag_seconds, lag_bytes = 0.0, 0
    else:
        lag_seconds, lag_bytes = since, behind
    healthy = lag_seconds is None or lag_seconds <= limit.total_seconds()
    return ReplicaStatus(url=masked, connected=True, in_recovery=bool(in_recovery),
                         lag_seconds=lag_seconds, lag_bytes=lag_bytes,
                         max_lag_seconds=limit.total_seconds(), error=None, healthy=healthy)
