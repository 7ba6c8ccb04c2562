"""tracker.canvas_api against a Canvas-like server on 127.0.0.1 (real HTTP, no mocks)."""

from __future__ import annotations

import logging
import socket
import traceback
from typing import Any

import pytest
from canvas_server import CANVAS_TOKEN as TOKEN
from canvas_server import CanvasServer  # tests/ is on sys.path (rootdir conftest, no package)

from tracker.canvas_api import CanvasApiError, CanvasClient
from tracker.errors import ConfigurationError, InvalidArgumentError, NotFoundError

V1 = "/api/v1"


def numbered(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"item {i}"} for i in range(1, n + 1)]


def all_text(exc: BaseException) -> str:
    """An exception as a person would see it: message, repr and the whole traceback chain."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


# -- pagination ------------------------------------------------------------------


def test_paginate_collects_every_page_once_in_order(
    server: CanvasServer, client: CanvasClient
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(250))

    items = list(client.paginate("courses/1/things"))

    assert [i["id"] for i in items] == list(range(1, 251))
    hits = server.hits_for(f"{V1}/courses/1/things")
    assert [h.page for h in hits] == [1, 2, 3]  # the Link header came as Link, link, LINK
    assert hits[0].query["per_page"] == ["100"]


def test_paginate_follows_opaque_bookmark_urls_and_the_clamped_page_size(
    server: CanvasServer, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/students/submissions", numbered(230), bookmark=True)

    with CanvasClient(server.base_url, TOKEN, per_page=500, sleep=sleeps.append) as client:
        items = list(client.paginate("courses/1/students/submissions", {"student_ids[]": ["all"]}))

    assert [i["id"] for i in items] == list(range(1, 231))
    hits = server.hits_for(f"{V1}/courses/1/students/submissions")
    assert len(hits) == 3  # clamped to 100 a page
    assert hits[0].query["per_page"] == ["500"]
    assert hits[1].query["page"][0].startswith("bookmark:")
    assert all(h.query["student_ids[]"] == ["all"] for h in hits)  # kept by the next URLs


def test_paginate_unwraps_a_wrapped_list(server: CanvasServer, client: CanvasClient) -> None:
    terms = [{"id": i, "name": f"Term {i}", "workflow_state": "active"} for i in (1, 2, 3)]
    server.add_list(f"{V1}/accounts/1/terms", terms, wrap="enrollment_terms")

    assert list(client.paginate("accounts/1/terms")) == terms


def test_paginate_accepts_absolute_api_paths_and_a_base_url_ending_in_api_v1(
    server: CanvasServer, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/sections", numbered(3))

    with CanvasClient(server.base_url + "/api/v1/", TOKEN, sleep=sleeps.append) as client:
        assert len(list(client.paginate(f"{V1}/courses/1/sections"))) == 3


def test_a_next_link_to_another_host_is_refused_without_sending_the_token(
    server: CanvasServer, client: CanvasClient
) -> None:
    # "localhost" reaches the same test server, so a request would be seen in hits.
    server.add_list(f"{V1}/courses/1/users", numbered(150), next_host="localhost")

    with pytest.raises(CanvasApiError, match="another host") as info:
        list(client.paginate("courses/1/users"))

    assert len(server.hits) == 1
    assert TOKEN not in all_text(info.value)


def test_a_next_link_that_loops_stops_with_an_error(
    server: CanvasServer, client: CanvasClient
) -> None:
    server.add_list(f"{V1}/courses/1/users", numbered(350), next_loops=True)

    with pytest.raises(CanvasApiError, match="already fetched"):
        list(client.paginate("courses/1/users"))

    assert len(server.hits) <= 3


def test_get_returns_one_object(server: CanvasServer, client: CanvasClient) -> None:
    server.add_object(f"{V1}/courses/1", {"id": 1, "name": "Algebra"})

    assert client.get("courses/1", {"include[]": ["term"]}) == {"id": 1, "name": "Algebra"}
    assert server.hits[0].query == {"include[]": ["term"]}


# -- throttling and retries ------------------------------------------------------


def test_a_throttled_page_is_retried_after_a_backoff(
    server: CanvasServer,
    client: CanvasClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(250))
    server.fail_once(f"{V1}/courses/1/things", "throttle", page=2)

    with caplog.at_level(logging.WARNING, logger="tracker.canvas_api"):
        items = list(client.paginate("courses/1/things"))

    assert [i["id"] for i in items] == list(range(1, 251))
    hits = server.hits_for(f"{V1}/courses/1/things")
    assert [(h.page, h.status) for h in hits] == [(1, 200), (2, 403), (2, 200), (3, 200)]
    assert len(sleeps) == 1 and sleeps[0] > 0
    assert "throttled" in caplog.text


def test_a_429_is_retried_after_the_time_canvas_says(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(150))
    server.fail_once(f"{V1}/courses/1/things", "429", page=2)  # Retry-After: 7

    items = list(client.paginate("courses/1/things"))

    assert len(items) == 150
    hits = server.hits_for(f"{V1}/courses/1/things")
    assert [(h.page, h.status) for h in hits] == [(1, 200), (2, 429), (2, 200)]
    assert len(sleeps) == 1 and sleeps[0] >= 7.0
    stats = client.throttle.stats()
    assert (stats.throttled, stats.requests) == (1, 3)


def test_throttling_halves_the_requests_in_flight_and_calm_grows_them_back(
    server: CanvasServer, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(100 * 70))
    server.fail_once(f"{V1}/courses/1/things", "throttle", page=2)

    with CanvasClient(server.base_url, TOKEN, concurrency=8, sleep=sleeps.append) as client:
        pages = client.pages("courses/1/things")
        next(pages), next(pages)
        assert client.throttle.stats().limit == 4  # halved by the throttled answer
        for _ in range(4 * 4):
            next(pages)
        assert client.throttle.stats().limit == 5  # 4 × 4 calm answers: one more
        list(pages)
        assert client.throttle.stats().limit == 7


def test_a_server_error_is_retried(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(150))
    server.fail_once(f"{V1}/courses/1/things", "500", page=1)

    items = list(client.paginate("courses/1/things"))

    assert len(items) == 150
    hits = server.hits_for(f"{V1}/courses/1/things")
    assert [(h.page, h.status) for h in hits] == [(1, 500), (1, 200), (2, 200)]
    assert len(sleeps) == 1


def test_a_dropped_connection_is_retried(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(150))
    server.fail_once(f"{V1}/courses/1/things", "disconnect", page=2)

    items = list(client.paginate("courses/1/things"))

    assert len(items) == 150
    hits = server.hits_for(f"{V1}/courses/1/things")
    assert [(h.page, h.status) for h in hits] == [(1, 200), (2, 0), (2, 200)]
    assert len(sleeps) == 1


def test_backoff_grows_and_retries_are_bounded(server: CanvasServer, sleeps: list[float]) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(5))
    server.fail_once(f"{V1}/courses/1/things", "500", times=10)

    client = CanvasClient(server.base_url, TOKEN, max_retries=3, sleep=sleeps.append)
    with client, pytest.raises(CanvasApiError, match="500 server error on each of 4") as info:
        list(client.paginate("courses/1/things"))

    assert info.value.status == 500
    assert len(server.hits) == 4
    assert len(sleeps) == 3
    # jittered exponential: attempt n waits between half and all of 2**(n-1) seconds
    for n, delay in enumerate(sleeps, start=1):
        assert 2 ** (n - 1) / 2 <= delay <= 2 ** (n - 1)


def test_throttling_that_never_ends_gives_up_with_advice(
    server: CanvasServer, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(5))
    server.fail_once(f"{V1}/courses/1/things", "throttle", times=10)

    client = CanvasClient(server.base_url, TOKEN, max_retries=2, sleep=sleeps.append)
    with client, pytest.raises(CanvasApiError, match="throttled .* on each of 3 attempts; wait"):
        list(client.paginate("courses/1/things"))

    assert len(server.hits) == 3


def test_an_unreachable_canvas_is_retried_then_reported(sleeps: list[float]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    client = CanvasClient(f"http://127.0.0.1:{port}", TOKEN, max_retries=2, sleep=sleeps.append)
    with client, pytest.raises(CanvasApiError, match="no answer from Canvas .* 3 attempts") as info:
        client.get("courses/1")

    assert len(sleeps) == 2
    assert TOKEN not in all_text(info.value)


def test_a_low_remaining_quota_pauses_before_the_next_request(
    server: CanvasServer, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(250))
    server.set_remaining(f"{V1}/courses/1/things", 20.0, page=1)
    hits_when_sleeping: list[int] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        hits_when_sleeping.append(len(server.hits))

    with CanvasClient(server.base_url, TOKEN, low_water=100.0, sleep=sleep) as client:
        assert len(list(client.paginate("courses/1/things"))) == 250

    # (100 - 20) units at Canvas's drain of 10 units a second, once, between pages 1 and 2
    assert sleeps == [8.0]
    assert hits_when_sleeping == [1]


def test_a_healthy_quota_causes_no_wait(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(250))

    list(client.paginate("courses/1/things"))

    assert sleeps == []


# -- errors ----------------------------------------------------------------------


def test_a_permission_403_fails_at_once_with_a_clear_message(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    server.add_list(f"{V1}/courses/1/enrollments", numbered(3))
    server.forbid(f"{V1}/courses/1/enrollments")

    with pytest.raises(CanvasApiError, match="lacks the permission") as info:
        list(client.paginate("courses/1/enrollments"))

    assert info.value.status == 403
    assert info.value.path == f"{V1}/courses/1/enrollments"
    assert "forbidden" in str(info.value)
    assert len(server.hits) == 1 and sleeps == []


def test_canvas_unauthorized_action_401_is_a_permission_error_not_a_token_error(
    server: CanvasServer, client: CanvasClient
) -> None:
    server.forbid(f"{V1}/accounts/1/courses", status=401)

    with pytest.raises(CanvasApiError, match="user not authorized to perform that action"):
        list(client.paginate("accounts/1/courses"))

    assert len(server.hits) == 1


def test_a_wrong_token_says_so(server: CanvasServer, sleeps: list[float]) -> None:
    server.add_object(f"{V1}/courses/1", {"id": 1})
    wrong = "7~WrongTokenValue123"

    client = CanvasClient(server.base_url, wrong, sleep=sleeps.append)
    with client, pytest.raises(ConfigurationError) as info:
        client.get("courses/1")

    message = str(info.value)
    assert "CANVAS_API_TOKEN" in message and "missing, expired or wrong" in message
    assert wrong not in all_text(info.value)
    assert len(server.hits) == 1 and sleeps == []


def test_an_empty_token_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigurationError, match="CANVAS_API_TOKEN"):
        CanvasClient("http://127.0.0.1:9", "  ")


@pytest.mark.parametrize(("options", "message"), [
    ({"concurrency": 0}, "concurrency must be at least 1"),
    ({"per_page": 0}, "per_page and concurrency must be at least 1"),
    ({"max_retries": -1}, "max_retries at least 0"),
])
def test_a_client_asked_for_wrongly_is_an_invalid_argument(options: dict[str, int],
                                                           message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        CanvasClient("http://127.0.0.1:9", "7~token", **options)


def test_a_full_url_for_a_path_is_an_invalid_argument(server: CanvasServer,
                                                     client: CanvasClient) -> None:
    with pytest.raises(InvalidArgumentError, match="pass a path such as 'courses/42'"):
        client.get(f"{server.base_url}/api/v1/courses/1")
    assert server.hits == []


def test_an_unknown_course_is_named_in_a_not_found_error(
    server: CanvasServer, client: CanvasClient, sleeps: list[float]
) -> None:
    with pytest.raises(NotFoundError, match="Canvas has no course 999 ") as info:
        client.get("courses/999", {"include[]": ["term"]})
    assert f"GET {V1}/courses/999 answered 404" in str(info.value)

    with pytest.raises(NotFoundError, match="no account 7 "):
        list(client.paginate("accounts/7/terms"))
    assert sleeps == []


def test_the_token_never_appears_in_errors_or_logs(
    server: CanvasServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    server.add_list(f"{V1}/courses/1/things", numbered(150))
    server.fail_once(f"{V1}/courses/1/things", "throttle", page=1)
    server.fail_once(f"{V1}/courses/1/things", "500", page=2)
    server.fail_once(f"{V1}/courses/1/things", "disconnect", page=2)
    server.set_remaining(f"{V1}/courses/1/things", 5.0, page=2)
    server.forbid(f"{V1}/courses/1/secret", echo_authorization=True)
    server.add_object(f"{V1}/courses/1/busy", {"id": 1})
    server.fail_once(f"{V1}/courses/1/busy", "500", page=None, times=3)
    failures: list[BaseException] = []

    client = CanvasClient(server.base_url, TOKEN, max_retries=2, sleep=sleeps.append)
    with caplog.at_level(logging.DEBUG), client:  # every logger: ours, httpx's, httpcore's
        assert TOKEN not in repr(client) and TOKEN not in repr(vars(client))
        assert len(list(client.paginate("courses/1/things"))) == 150
        for path in ("courses/1/secret", "courses/1/busy", "courses/404"):
            with pytest.raises(Exception) as info:
                client.get(path)
            failures.append(info.value)

    assert "(you sent: Bearer [token])" in str(failures[0])  # the echo, scrubbed
    assert [type(f) for f in failures] == [CanvasApiError, CanvasApiError, NotFoundError]
    for failure in failures:
        assert TOKEN not in all_text(failure)
    assert caplog.records, "the client logged nothing at DEBUG"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in str(r.args) for r in caplog.records)
