"""Connections: which server, how to connect, transactions and their retry.

``DATABASE_URL`` (or an explicit URL) chooses the server; with none, the embedded
PostgreSQL starts (see ``tracker.embedded``). Environment options:

- ``TRACKER_POOLER=transaction``: the URL points at a transaction-mode pooler
  (PgBouncer and the like): no prepared statements, no session settings.
- ``TRACKER_STATEMENT_TIMEOUT``: a statement timeout such as ``30s`` or ``5min``
  (not sent through a transaction-mode pooler; set it on the role there).
- ``TRACKER_READ_URL``: a read replica (a hot standby). :func:`connect_read` connects
  there, for what only reads (reports, query builders, the read-only commands); with
  none set it connects to the primary, read-only all the same.
- ``sslmode`` and every other libpq option pass through in the URL.
- ``TRACKER_POOL_MIN``, ``TRACKER_POOL_MAX``, ``TRACKER_POOL_TIMEOUT``,
  ``TRACKER_POOL_MAX_LIFETIME``: the sizes and times of ``pool``.

A password never appears in what this module logs or raises: use ``mask_url``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from tracker import arguments
from tracker.errors import ConfigurationError, InvalidArgumentError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors after which the whole transaction may simply be run again.
RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``DATABASE_URL``, else the embedded server's."""
    url = url or os.environ.get("DATABASE_URL")
    if url:
        return normalize_url(url)
    from tracker import embedded

    return embedded.start()


def normalize_url(url: str) -> str:
    """Accept SQLAlchemy/yoyo style schemes (``postgresql+psycopg://``) and return a libpq URL."""
    scheme, sep, rest = url.partition("://")
    if sep and "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    if sep and scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(
            f"unsupported database URL scheme {scheme!r}: use postgresql://user@host:port/dbname"
        )
    return f"{scheme}{sep}{rest}" if sep else url


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (in the user part and in the query).

    A libpq ``key=value`` string (``host=db password=…``) is masked too.
    """
    if "://" not in url:
        return _mask_conninfo(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            user, _, password = userinfo.partition(":")
            if password:
                userinfo = f"{user}:***"
        netloc = f"{userinfo}@{hostinfo}"
    query = parts.query
    if query:
        pairs = [
            (k, "***" if k.lower() == "password" else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_conninfo(conninfo: str) -> str:
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


def with_database(url: str, dbname: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def behind_pooler() -> bool:
    """True when ``TRACKER_POOLER=transaction`` says the server is a transaction-mode pooler."""
    return os.environ.get("TRACKER_POOLER", "").lower() == "transaction"


#: A duration as PostgreSQL's settings take it (the number alone is milliseconds).
_DURATION = re.compile(r"\d+ ?(us|ms|s|min|h|d)?")


#: A duration in tracker's own settings: seconds, or a whole number and a unit.
_SETTING_DURATION = re.compile(r"(\d+) ?(s|m|min|h|d)?")
_UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def duration_setting(name: str, default: timedelta) -> timedelta:
    """The duration the environment variable ``name`` gives (``2d``, ``36h``, ``90m``,
    ``30s`` or a number of seconds), else ``default``."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    match = _SETTING_DURATION.fullmatch(text)
    if not match:
        raise ConfigurationError(
            f"{name}={text!r} is not a duration: write a whole number of seconds, or a "
            "number and a unit (s, m, h, d), such as 2d, 36h or 90m")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def connect_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``psycopg.connect`` that follow the environment options."""
    kwargs: dict[str, Any] = {"application_name": "tracker"}
    if behind_pooler():
        kwargs["prepare_threshold"] = None
    elif timeout := os.environ.get("TRACKER_STATEMENT_TIMEOUT", "").strip():
        if not _DURATION.fullmatch(timeout):
            raise ConfigurationError(
                f"TRACKER_STATEMENT_TIMEOUT={timeout!r} is not a duration: write a number and "
                "a unit, such as 30s, 500ms or 5min (0 for none)")
        kwargs["options"] = f"-c statement_timeout={timeout.replace(' ', '')}"
    return kwargs


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """Open a connection to ``url`` (or the default server, see ``database_url``).

    The caller owns the connection and its transactions; use it as a context
    manager to commit on success and close it.
    """
    url = database_url(url)
    try:
        return psycopg.connect(url, autocommit=autocommit, **connect_kwargs())
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        # ProgrammingError: libpq could not read the URL at all ("not a url").
        raise connection_error(url, exc) from None


def read_url(url: str | None = None) -> str:
    """The URL reads go to: ``url``, else ``TRACKER_READ_URL``, else :func:`database_url`'s."""
    url = url or os.environ.get("TRACKER_READ_URL")
    return normalize_url(url) if url else database_url()


def connect_read(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """Open a read-only connection for work that only reads: to ``url``, else the read
    replica (``TRACKER_READ_URL``), else the primary.

    Its transactions are ``READ ONLY`` wherever it points, so a read that would write
    fails the same way on the primary as on a replica. Syncs, writes and whatever must
    read its own writes (a sync's own report) use :func:`connect` instead.
    """
    replica = not url and bool(os.environ.get("TRACKER_READ_URL"))
    url = read_url(url)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, **connect_kwargs())
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        raise connection_error(url, exc,
                               variable="TRACKER_READ_URL" if replica else "DATABASE_URL") from None
    conn.read_only = True
    return conn


def connection_error(url: str, exc: BaseException, *,
                     variable: str = "DATABASE_URL") -> ConfigurationError:
    """The error to raise when ``url`` refused a connection: masked URL, reason, what to check."""
    return ConfigurationError(
        f"cannot connect to {mask_url(url)}: {first_line(exc)}. "
        f"Check that the server runs and the URL ({variable}) is right."
    )


#: ``db.pool``'s settings: (environment variable, default, smallest value allowed).
POOL_SETTINGS: dict[str, tuple[str, float, float]] = {
    "min_size": ("TRACKER_POOL_MIN", 1, 0),
    "max_size": ("TRACKER_POOL_MAX", 10, 1),
    "timeout": ("TRACKER_POOL_TIMEOUT", 30.0, 0.001),  # seconds to wait for a connection
    "max_lifetime": ("TRACKER_POOL_MAX_LIFETIME", 3600.0, 1.0),  # seconds, then replaced
}


def pool(
    url: str | None = None,
    *,
    min_size: int | None = None,
    max_size: int | None = None,
    timeout: float | None = None,
    max_lifetime: float | None = None,
) -> Any:
    """A ``psycopg_pool.ConnectionPool`` for long-lived programs (open it with ``with``).

    Each setting not given comes from the environment: ``TRACKER_POOL_MIN`` (default 1),
    ``TRACKER_POOL_MAX`` (10), ``TRACKER_POOL_TIMEOUT`` (seconds a caller waits for a
    connection, 30) and ``TRACKER_POOL_MAX_LIFETIME`` (seconds before a connection is
    replaced, 3600). A connection is checked as it is handed out (one that the server or a
    pooler closed meanwhile is replaced), and follows ``TRACKER_POOLER`` like ``connect``.
    """
    from psycopg_pool import ConnectionPool

    given = {"min_size": min_size, "max_size": max_size, "timeout": timeout,
             "max_lifetime": max_lifetime}
    settings = {name: _pool_setting(name, value) for name, value in given.items()}
    if settings["max_size"] < settings["min_size"]:
        raise ConfigurationError(
            f"the pool's max_size ({settings['max_size']:g}, TRACKER_POOL_MAX) is below its "
            f"min_size ({settings['min_size']:g}, TRACKER_POOL_MIN): raise the one or lower "
            "the other")
    return ConnectionPool(
        database_url(url),
        min_size=int(settings["min_size"]),
        max_size=int(settings["max_size"]),
        timeout=settings["timeout"],
        max_lifetime=settings["max_lifetime"],
        kwargs=connect_kwargs(),
        check=ConnectionPool.check_connection,
        name="tracker",
        open=False,
    )


def _pool_setting(name: str, given: float | None) -> float:
    """One of ``pool``'s settings: ``given``, else its environment variable, else the default."""
    variable, default, least = POOL_SETTINGS[name]
    whole = isinstance(default, int)
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int if whole else (int, float)) \
                or not math.isfinite(given) or given < least:
            raise InvalidArgumentError(
                f"{name} must be {'a whole number' if whole else 'a number'} of at least "
                f"{least:g}, not {given!r}")
        return float(given)
    text = os.environ.get(variable, "").strip()
    if not text:
        return float(default)
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < least:
        raise ConfigurationError(
            f"{variable}={text!r} is not {'a whole number' if whole else 'a number of seconds'}"
            f" of at least {least:g}: write e.g. {variable}={default:g}")
    return float(value)


@contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Transaction]:
    """``conn.transaction()`` (a savepoint inside an open one), once the connection is
    known usable: a closed one, or one whose transaction failed earlier, is refused with
    what to do (InvalidArgumentError) rather than with PostgreSQL's "current transaction
    is aborted". Every transaction tracker opens goes through here."""
    arguments.usable(conn)
    with conn.transaction() as tx:
        yield tx


def run_in_transaction(
    conn: psycopg.Connection[Any],
    work: Callable[[psycopg.Connection[Any]], T],
    *,
    attempts: int = 5,
    base_delay: float = 0.05,
) -> T:
    """Run ``work(conn)`` in a transaction, again from the start on a serialization failure
    or deadlock: at most ``attempts`` times, with jittered exponential backoff.

    Inside a transaction the caller opened, ``work`` runs once (in a savepoint): only the
    whole transaction could be run again, and that is the caller's to do. ``work`` must
    do nothing outside the database that cannot be repeated.
    """
    attempts = arguments.count("attempts", attempts, minimum=1)
    if not conn.closed and conn.info.transaction_status == TransactionStatus.INTRANS:
        with transaction(conn):
            return work(conn)
    for attempt in range(1, attempts + 1):
        try:
            with transaction(conn):
                return work(conn)
        except RETRYABLE as exc:
            if attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1) * (0.5 + random.random())
            log.warning(
                "transaction failed with %s (attempt %d of %d); retrying in %.3f s",
                type(exc).__name__,
                attempt,
                attempts,
                delay,
                extra={"sqlstate": exc.sqlstate, "attempt": attempt, "attempts": attempts,
                       "retry_in_s": round(delay, 3)},
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def server_version(conn: psycopg.Connection[Any]) -> str:
    """PostgreSQL's version string, e.g. ``PostgreSQL 18.4``."""
    row = conn.execute("SELECT current_setting('server_version')").fetchone()
    assert row is not None
    return f"PostgreSQL {row[0].split()[0]}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libpq messages run on)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
