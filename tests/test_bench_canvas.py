"""bench.canvas: the Canvas-like server the live step syncs from, as tracker's fetch sees it.

The server runs in this process here (its thread), on the smoke sample's revisions 0 and 1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bench import data
from bench.canvas import DEFAULT_TOKEN, CanvasLike, load_school
from bench.scales import SCALES
from tracker import canvas_api, canvas_fetch
from tracker.kinds import NAMES


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[data.Bundle, data.Bundle]:
    cache = tmp_path_factory.mktemp("canvas-cache")
    args = SCALES["smoke"].generator_args
    return (data.sample_bundle(cache, args, revision=0),
            data.sample_bundle(cache, args, revision=1))


def serve(bundle: data.Bundle, previous: data.Bundle | None = None,
          **options: Any) -> Iterator[CanvasLike]:
    settings = {"token": DEFAULT_TOKEN, "delay": 0.0, "cost": 0.1, "throttle_status": 403,
                **options}
    server = CanvasLike(0, load_school(bundle.path, bundle.revision,
                                       previous.path if previous else None), **settings)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def revision_0(bundles: tuple[data.Bundle, data.Bundle]) -> Iterator[CanvasLike]:
    yield from serve(bundles[0])


@pytest.fixture
def revision_1(bundles: tuple[data.Bundle, data.Bundle]) -> Iterator[CanvasLike]:
    yield from serve(bundles[1], bundles[0])


def client(server: CanvasLike) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}/api/v1/",
                        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})


def records(path: Path) -> dict[Any, dict[str, Any]]:
    return {(r := orjson.loads(line))["id"]: r for line in path.read_bytes().splitlines()}


def test_tracker_fetches_the_whole_bundle_back(revision_0: CanvasLike,
                                               bundles: tuple[data.Bundle, data.Bundle],
                                               tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{revision_0.server_address[1]}"
    with canvas_api.CanvasClient(url, DEFAULT_TOKEN) as canvas:
        canvas_fetch.fetch_bundle(canvas, tmp_path, account_id=1)
    for kind in NAMES:
        fetched = records(tmp_path / f"{kind}.ndjson")
        source = records(bundles[0].path / f"{kind}.ndjson")
        assert fetched.keys() == source.keys(), kind
        for key, record in source.items():  # the fetch adds a group's course and a term
            assert {k: v for k, v in fetched[key].items() if k in record} == record, kind
    stats = revision_0.stats.as_dict()
    assert stats["requests"] == sum(stats["endpoints"].values())
    assert 1 <= stats["max_in_flight"] <= canvas.throttle.concurrency


def test_graded_and_submitted_since_are_strict_and_anded(revision_0: CanvasLike) -> None:
    course = next(iter(revision_0.school.courses.values()))
    subs = [orjson.loads(s) for s in course.submissions]
    graded = sorted(s["graded_at"] for s in subs if s["graded_at"])
    cut = graded[len(graded) // 2]
    with client(revision_0) as http:
        def ids(**params: str) -> set[int]:
            found = http.get(f"courses/{course_id(course)}/students/submissions",
                             params={"per_page": 100, **params})
            found.raise_for_status()
            page = {s["id"] for s in found.json()}
            assert 'rel="next"' not in found.headers["link"] or len(page) == 100
            return page

        assert ids(graded_since=cut) == {s["id"] for s in subs
                                         if s["graded_at"] and s["graded_at"] > cut}
        both = ids(graded_since=cut, submitted_since=cut)
        assert both == {s["id"] for s in subs if s["graded_at"] and s["graded_at"] > cut
                        and s["submitted_at"] and s["submitted_at"] > cut}
        assert ids(graded_since="2026-10-16T00:00:00+00:00") == set()  # nothing after the snapshot


def course_id(course: Any) -> int:
    return int(orjson.loads(course.course)["id"])


def test_revision_1_logs_each_regrade_after_revision_0s_clock(
        revision_1: CanvasLike, bundles: tuple[data.Bundle, data.Bundle]) -> None:
    before, after = records(bundles[0].path / "submissions.ndjson"), records(
        bundles[1].path / "submissions.ndjson")
    regraded = {k for k in after if after[k].get("score") != before[k].get("score")}
    events = []
    with client(revision_1) as http:
        for course in revision_1.school.courses.values():
            answer = http.get(f"audit/grade_change/courses/{course_id(course)}",
                              params={"per_page": 100})
            body = answer.json()
            assert set(body) == {"events", "linked", "links"}
            times = [e["created_at"] for e in body["events"]]
            assert times == sorted(times, reverse=True)
            events += body["events"]
        date = http.get("accounts/1/terms").headers["date"]
    assert len(events) == len(regraded) == bundles[1].changed_submissions > 0
    for event in events:
        student, assignment = event["links"]["student"], event["links"]["assignment"]
        (sid,) = [k for k in regraded if (after[k]["user_id"], after[k]["assignment_id"])
                  == (student, assignment)]
        assert (event["grade_before"], event["grade_after"]) == (before[sid]["grade"],
                                                                 after[sid]["grade"])
        assert event["created_at"] == after[sid]["graded_at"]
    assert date.startswith("Sat, 17 Oct 2026 06:")  # revision 1's day, noon (Denver's morning)


def test_a_request_over_the_bucket_is_refused_as_canvas_does(
        bundles: tuple[data.Bundle, data.Bundle]) -> None:
    for server in serve(bundles[0]):
        server.bucket.capacity = 60.0  # room for one request in flight
        server.bucket.begin()  # another request holds its reservation
        with client(server) as http:
            refused = http.get("accounts/1/courses")
            assert refused.status_code == 403
            assert refused.text == "403 Forbidden (Rate Limit Exceeded)"
            assert float(refused.headers["x-rate-limit-remaining"]) == 0.0
            server.throttle_status = 429
            assert "retry-after" in http.get("accounts/1/courses").headers
            server.bucket.end(0.0)
            fine = http.get("accounts/1/courses")
            assert fine.status_code == 200 and float(fine.headers["x-request-cost"]) == 0.1
            assert http.get("accounts/1/courses", headers={"Authorization": "Bearer x"}
                            ).status_code == 401
        assert server.stats.as_dict()["throttled"] == 2
