"""Logs on stderr, as text for people or as one JSON object a line for a log collector.

``tracker --log-format json`` (or ``TRACKER_LOG_FORMAT=json``) writes each record as
``{"time": …, "level": …, "logger": …, "message": …}`` plus the structured fields the
code passed with ``extra=`` (a statement's name and milliseconds, a sync's id, courses
and counts, a retry's attempt). Those fields are ids, names of statements and counts,
never a student's value; a database URL anywhere in a record is masked
(``db.mask_url``), and tracker never logs a token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from tracker.errors import InvalidArgumentError

FORMATS = ("text", "json")
FORMAT_ENV = "TRACKER_LOG_FORMAT"

#: The attributes every LogRecord has; anything else on a record came with ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
#: A database URL inside a text (masked before it is written).
_URL = re.compile(r"\bpostgres(?:ql)?(?:\+\w+)?://[^\s'\"]+")
_TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the fields
    given with ``extra=``, and for an exception its type and first line (no traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _masked(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = _plain(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc).strip()
            entry["error"] = _masked(f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}")
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message``, with any database URL masked."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _masked(super().format(record))


def _masked(text: str) -> str:
    from tracker.db import mask_url

    return _URL.sub(lambda m: mask_url(m.group()), text)


def _plain(value: Any) -> Any:
    """A field's value as JSON takes it (strings masked; tuples and sets as lists)."""
    if isinstance(value, str):
        return _masked(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _masked(str(value))


_handler: logging.Handler | None = None


def configure(level: int, fmt: str = "text") -> None:
    """Send tracker's logs at ``level`` and above to stderr as ``fmt`` (text or json).

    Like ``logging.basicConfig``, it leaves a program that configured logging itself
    alone (the root logger has handlers already); called again, it replaces its handler.
    """
    global _handler
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"the log format is one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    if _handler is not None and _handler in root.handlers:
        root.removeHandler(_handler)
    elif root.handlers:
        return
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(_handler)
    root.setLevel(level)
