"""Items made by a thread of their own while this one sends those before them.

A sync sends a file to the server as COPY data: this thread waits on the server, with
the interpreter's lock released, while another reads, digests and types the records that
follow, so that both cores work. Used by the first-sight path (:mod:`tracker.first_sight`)
and for the digests and documents a sync sends (:func:`tracker.sync._copy`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from queue import Full, Queue
from typing import Any, TypeVar

__all__ = ["SWITCH_INTERVAL", "ahead"]

T = TypeVar("T")

#: The interpreter's switch interval while items are made ahead, in seconds (its default
#: is 5 ms): how long the thread that makes them may keep the interpreter's lock once the
#: thread that sends them wants it back. The sender waits for the socket after every
#: socket buffer's worth (about 200 kB on a Unix socket, the embedded server's); each
#: time it then waited up to the whole interval for the lock while the server had nothing
#: to read. A wide first sync's COPY of 1,000,000 submissions over a Unix socket took 21.6
#: s at 5 ms, 15.0 at 1 ms, 14.1 at 0.5 and 12.9 at 0.2 (13.1 s over TCP, whose buffers are
#: larger, at 5 ms; 11.9 at 0.5), on PostgreSQL 15.
SWITCH_INTERVAL = 0.0002

_END = object()

#: How many ``ahead`` blocks are open in this process, and the switch interval to put
#: back when the last one closes (two syncs in two threads may open and close theirs in
#: any order).
_open = 0
_interval_before = 0.0
_interval_lock = threading.Lock()


@contextmanager
def ahead(items: Iterator[T], depth: int = 4) -> Iterator[Iterator[T]]:
    """``items``, made by a thread of their own at most ``depth`` ahead of the consumer,
    while the interpreter's switch interval is :data:`SWITCH_INTERVAL` (for the whole
    process: it is put back after). An exception of the thread's is raised to the
    consumer; leaving the block stops the thread."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Queue ``item`` unless the consumer stopped (then False)."""
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            offer(exc)

    def taken() -> Iterator[T]:
        while (item := queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    with _switching_often():
        worker = threading.Thread(target=make, name="tracker: made ahead", daemon=True)
        worker.start()
        try:
            yield taken()
        finally:
            stop.set()
            worker.join()


@contextmanager
def _switching_often() -> Iterator[None]:
    """The switch interval at most :data:`SWITCH_INTERVAL` while any block is open; the
    first to open lowers it, the last to close puts back what it found."""
    global _open, _interval_before
    with _interval_lock:
        if _open == 0:
            _interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_interval_before, SWITCH_INTERVAL))
        _open += 1
    try:
        yield
    finally:
        with _interval_lock:
            _open -= 1
            if _open == 0:
                sys.setswitchinterval(_interval_before)
