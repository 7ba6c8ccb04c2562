"""Canvas's throttle, as its documentation describes it: a leaky bucket per token.

Every request reserves ``reserve`` units up front and, when it ends, gives them back and
is charged what it really cost; the bucket drains ``drain`` units a second. A request
that would take the bucket over ``capacity`` is refused (Canvas answers 403 "Rate Limit
Exceeded", or 429). ``X-Rate-Limit-Remaining`` is ``capacity`` minus the level.

The bench's Canvas-like server (:mod:`bench.canvas`) and the suite's
(``tests/canvas_server.py``) both throttle with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Hosted Canvas's bucket, as commonly described: 700 units, 10 a second, 50 up front.
CAPACITY = 700.0
DRAIN_PER_SECOND = 10.0
RESERVE = 50.0


class LeakyBucket:
    """One token's bucket; safe to share between the server's threads."""

    def __init__(
        self,
        capacity: float = CAPACITY,
        drain: float = DRAIN_PER_SECOND,
        reserve: float = RESERVE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.drain = drain
        self.reserve = reserve
        self._clock = clock
        self._level = 0.0
        self._at = clock()
        self._lock = threading.Lock()
        self.refused = 0

    def _leak(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._at) * self.drain)
        self._at = now

    def begin(self) -> bool:
        """Reserve a request's units; False (the request is refused) when there is no room."""
        with self._lock:
            self._leak()
            if self._level + self.reserve > self.capacity:
                self.refused += 1
                return False
            self._level += self.reserve
            return True

    def end(self, cost: float) -> None:
        """A request that began has ended: give its reservation back, charge its cost."""
        with self._lock:
            self._leak()
            self._level = max(0.0, self._level - self.reserve) + cost

    @property
    def remaining(self) -> float:
        """``X-Rate-Limit-Remaining``: the room left in the bucket."""
        with self._lock:
            self._leak()
            return max(0.0, self.capacity - self._level)
