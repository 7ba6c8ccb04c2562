"""Time in the sample school: epoch seconds, Canvas's timestamps, the snapshot and the terms."""

from __future__ import annotations

import calendar
import time
from typing import NamedTuple

DAY = 86_400
HOUR = 3_600


def epoch(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Epoch seconds of a moment given in UTC."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


_DAYS: dict[int, str] = {}


def ts(seconds: int | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ``; the date part is cached (a million timestamps a run)."""
    if seconds is None:
        return None
    day, second = divmod(seconds, 86_400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
    hour, second = divmod(second, 3_600)
    minute, second = divmod(second, 60)
    return f"{date}{hour:02d}:{minute:02d}:{second:02d}Z"


SNAPSHOT_EPOCH = epoch(2026, 10, 15, 18)
SNAPSHOT = "2026-10-15T18:00:00Z"
"""The moment the sample is a picture of: Fall 2026 is in progress."""


class Term(NamedTuple):
    """An enrollment term: its id, name, ``sis_term_id``, start and end (epoch seconds)."""

    id: int
    name: str
    sis_term_id: str | None
    start: int | None
    end: int | None


DEFAULT_TERM = 1  # Canvas's own term for courses without one
SPRING = 2
FALL = 3
TERMS: tuple[Term, ...] = (
    Term(DEFAULT_TERM, "Default Term", None, None, None),
    Term(SPRING, "Spring 2026", "2026SP", epoch(2026, 1, 12, 7), epoch(2026, 5, 22, 6)),
    Term(FALL, "Fall 2026", "2026FA", epoch(2026, 8, 24, 6), epoch(2026, 12, 19, 7)),
)
"""Every term, in id order (``TERMS[id - 1]``)."""
TERM_CREATED = epoch(2025, 6, 2, 15)
