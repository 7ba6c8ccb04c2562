"""tracker.ahead: items made by a thread of their own, a few ahead of the consumer."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from tracker.ahead import SWITCH_INTERVAL, ahead


def _made_by_thread() -> bool:
    return threading.current_thread() is not threading.main_thread()


def test_items_come_in_order_made_by_another_thread_under_a_short_switch_interval() -> None:
    before = sys.getswitchinterval()
    made: list[tuple[int, bool, float]] = []

    def items() -> Iterator[int]:
        for n in range(100):
            made.append((n, _made_by_thread(), sys.getswitchinterval()))
            yield n

    with ahead(items(), depth=2) as taken:
        assert list(taken) == list(range(100))
    assert [n for n, _, _ in made] == list(range(100))
    assert all(by_thread for _, by_thread, _ in made)
    assert all(interval == pytest.approx(SWITCH_INTERVAL) for _, _, interval in made)
    assert sys.getswitchinterval() == before


def test_the_threads_exception_reaches_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("record 3 is not JSON")

    taken_before: list[int] = []
    with pytest.raises(ValueError, match="record 3"), ahead(items()) as taken:
        taken_before.extend(taken)
    assert taken_before == [1, 2]


def test_leaving_early_stops_the_thread_and_puts_the_interval_back() -> None:
    before = sys.getswitchinterval()
    made: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    with pytest.raises(RuntimeError, match="the server went away"), ahead(endless()) as taken:
        for n in taken:
            if n == 10:
                raise RuntimeError("the server went away")
    assert not any(t.name == "tracker: made ahead" for t in threading.enumerate())
    assert len(made) <= 10 + 1 + 4 + 1  # taken, the one that raised, the queue, one offered
    assert sys.getswitchinterval() == before


def test_blocks_closed_out_of_order_put_back_the_interval_they_found() -> None:
    """Two syncs in two threads of one program: the first block closes while the second
    is still open; the interval stays short until the last one closes, then is as before."""
    before = sys.getswitchinterval()
    first = ahead(iter(range(3)))
    second = ahead(iter(range(3)))
    assert list(first.__enter__()) == [0, 1, 2]
    assert list(second.__enter__()) == [0, 1, 2]
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
