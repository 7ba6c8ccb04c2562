"""tracker.canvas_fetch against a Canvas-like server on 127.0.0.1 (real HTTP, no mocks):
side by side, within the throttle, incremental, resumable, with the Grade Change Log."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from canvas_server import (  # tests/ is on sys.path (rootdir conftest, no package)
    CANVAS_NOW,
    CanvasServer,
)
from canvas_server import CANVAS_TOKEN as TOKEN

from bench.throttle import LeakyBucket
from tracker import canvas_fetch
from tracker.canvas_api import CanvasApiError, CanvasClient
from tracker.canvas_fetch import fetch_bundle
from tracker.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    SyncConflictError,
)
from tracker.kinds import NAMES as BUNDLE_KINDS

V1 = "/api/v1"


def institution(server: CanvasServer) -> None:
    """A small school: account 1, two terms, two courses, six people.

    Users 2, 3 and teacher 9 are in both courses; user 5 has only a deleted
    enrollment in course 102, so ``/users`` leaves them out and only the
    enrollment's embedded user carries them.
    """
    terms = [
        {"id": 1, "name": "Fall", "workflow_state": "active"},
        {"id": 2, "name": "Spring", "workflow_state": "active"},
        {"id": 3, "name": "Old", "workflow_state": "deleted"},
    ]
    server.add_list(f"{V1}/accounts/1/terms", terms, wrap="enrollment_terms")
    courses = {
        101: {"id": 101, "name": "Algebra", "enrollment_term_id": 1, "term": terms[0]},
        102: {"id": 102, "name": "Biology", "enrollment_term_id": 2, "term": terms[1]},
    }
    server.add_list(
        f"{V1}/accounts/1/courses",
        list(courses.values()),
        filters={"enrollment_term_id": "enrollment_term_id"},
    )
    people = {
        uid: {"id": uid, "name": name, "sortable_name": name, "short_name": name}
        for uid, name in [(1, "Ana"), (2, "Ben"), (3, "Cy"), (4, "Di"), (5, "Ed"), (9, "Teach")]
    }
    members = {101: [1, 2, 3, 9], 102: [2, 3, 4, 9]}
    for cid, course in courses.items():
        c = f"{V1}/courses/{cid}"
        server.add_object(c, course)
        server.add_list(f"{c}/sections", [{"id": cid * 10, "course_id": cid, "name": "Main"}])
        server.add_list(f"{c}/users", [people[u] for u in members[cid]])
        assignments = [
            {"id": cid * 100 + n, "course_id": cid, "assignment_group_id": cid * 10 + 1}
            for n in (1, 2, 3)
        ]  # served in their group: include[]=assignments
        server.add_list(f"{c}/assignment_groups",
                        [{"id": cid * 10 + 1, "name": "Homework", "assignments": assignments}])
        enrollments = [
            {
                "id": cid * 1000 + u,
                "course_id": cid,
                "user_id": u,
                "type": "TeacherEnrollment" if u == 9 else "StudentEnrollment",
                "enrollment_state": "active",
                "user": people[u],
            }
            for u in members[cid]
        ]
        if cid == 102:
            enrollments.append(
                {
                    "id": 102005,
                    "course_id": 102,
                    "user_id": 5,
                    "type": "StudentEnrollment",
                    "enrollment_state": "deleted",
                    "user": people[5],
                }
            )
        server.add_list(f"{c}/enrollments", enrollments)
        submissions = [
            {"id": a["id"] * 10 + u, "assignment_id": a["id"], "user_id": u,
             "submitted_at": "2026-09-30T12:00:00Z", "graded_at": "2026-10-01T12:00:00Z"}
            for a in assignments
            for u in members[cid]
            if u != 9
        ]
        server.add_list(f"{c}/students/submissions", submissions, bookmark=True,
                        since={"graded_since": "graded_at", "submitted_since": "submitted_at"},
                        any_of={"assignment_ids[]": "assignment_id"})


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_fetch_bundle_of_courses_writes_the_eight_files(
    server: CanvasServer, sleeps: list[float], tmp_path: Path
) -> None:
    institution(server)
    server.fail_once(f"{V1}/courses/102/enrollments", "throttle", page=2)
    progress: list[tuple[str, int]] = []
    out = tmp_path / "bundle"

    # two items a page, so every list spans pages
    with CanvasClient(server.base_url, TOKEN, per_page=2, sleep=sleeps.append) as client:
        report = fetch_bundle(
            client, out, course_ids=[101, 102, 101],
            progress=lambda text, done, total: progress.append((done, total)),
        )
    counts = {kind: n for kind, n in report.counts.items() if kind in BUNDLE_KINDS}

    assert counts == {
        "terms": 2,
        "courses": 2,
        "sections": 2,
        "users": 6,
        "assignment_groups": 2,
        "assignments": 6,
        "enrollments": 9,
        "submissions": 18,
    }
    assert report.grade_changes_skipped  # the server has no audit endpoint: 404
    assert "grade_changes" not in report.counts  # not known, rather than none
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{k}.ndjson" for k in BUNDLE_KINDS)
    files = {kind: read_ndjson(out / f"{kind}.ndjson") for kind in BUNDLE_KINDS}
    assert {kind: len(rows) for kind, rows in files.items()} == counts
    assert [u["id"] for u in files["users"]] == [1, 2, 3, 9, 4, 5]  # each once, first seen first
    assert [c["id"] for c in files["courses"]] == [101, 102]
    assert [t["id"] for t in files["terms"]] == [1, 2]  # from the courses' embedded terms
    assert files["courses"][0] == {
        "id": 101,
        "name": "Algebra",
        "enrollment_term_id": 1,
        "term": {"id": 1, "name": "Fall", "workflow_state": "active"},
    }  # as received
    assert len({s["id"] for s in files["submissions"]}) == 18
    assert progress[-1] == (2, 2)  # courses done of all

    # what the fetch asked Canvas for
    first = {h.path: h.query for h in reversed(server.hits)}
    assert first[f"{V1}/courses/101"] == {"include[]": ["term"]}
    groups_query = first[f"{V1}/courses/101/assignment_groups"]
    assert groups_query["override_assignment_dates"] == ["false"]
    assert groups_query["include[]"] == ["assignments"]
    assert files["assignment_groups"][0] == {"id": 1011, "name": "Homework", "course_id": 101}
    assert set(first[f"{V1}/courses/101/enrollments"]["state[]"]) == {
        "active", "invited", "creation_pending", "deleted", "rejected", "completed", "inactive",
    }  # fmt: skip
    assert {"enrollments", "email"} <= set(first[f"{V1}/courses/101/users"]["include[]"])
    assert first[f"{V1}/courses/101/students/submissions"]["student_ids[]"] == ["all"]
    assert len(server.hits_for(f"{V1}/courses/101")) == 1  # a repeated id is fetched once
    assert [h.status for h in server.hits_for(f"{V1}/courses/102/enrollments")] == [
        200, 403, 200, 200,
    ]  # fmt: skip


def test_fetch_bundle_of_an_account_term_takes_terms_from_the_account(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)

    counts = fetch_bundle(client, tmp_path, account_id=1, term_id=2).counts

    assert counts["courses"] == 1 and counts["terms"] == 1
    assert read_ndjson(tmp_path / "courses.ndjson")[0]["id"] == 102
    assert read_ndjson(tmp_path / "terms.ndjson") == [
        {"id": 2, "name": "Spring", "workflow_state": "active"}
    ]
    assert counts["users"] == 5  # 2, 3, 4, 9 and the deleted enrollment's user 5
    listing = server.hits_for(f"{V1}/accounts/1/courses")[0].query
    assert listing["enrollment_term_id"] == ["2"] and listing["include[]"] == ["term"]
    assert server.hits_for(f"{V1}/accounts/1/terms")[0].query["workflow_state[]"] == ["all"]
    assert server.hits_for(f"{V1}/courses/101/sections") == []


def test_fetch_bundle_of_a_whole_account_lists_every_term(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)

    counts = fetch_bundle(client, tmp_path, account_id=1).counts

    assert counts["courses"] == 2 and counts["users"] == 6
    assert [t["id"] for t in read_ndjson(tmp_path / "terms.ndjson")] == [1, 2, 3]


def test_fetch_bundle_leaves_no_bundle_files_when_a_course_is_unknown(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)

    with pytest.raises(NotFoundError, match="course 999"):
        fetch_bundle(client, tmp_path, course_ids=[101, 999])

    assert [p.name for p in tmp_path.iterdir()] == [".fetch"]  # kept for --resume; no bundle


def test_fetch_bundle_stops_at_a_permission_error(
    server: CanvasServer, client: CanvasClient, sleeps: list[float], tmp_path: Path
) -> None:
    institution(server)
    server.forbid(f"{V1}/courses/102/students/submissions")

    with pytest.raises(CanvasApiError, match="lacks the permission"):
        fetch_bundle(client, tmp_path, course_ids=[101, 102])

    assert [p.name for p in tmp_path.iterdir()] == [".fetch"]
    assert len(server.hits_for(f"{V1}/courses/102/students/submissions")) == 1
    assert sleeps == []


def test_an_account_course_deleted_while_fetched_is_left_out_with_a_warning(
    server: CanvasServer, client: CanvasClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    institution(server)
    del server._lists[f"{V1}/courses/102/students/submissions"]  # deleted meanwhile: 404

    with caplog.at_level(logging.WARNING):
        report = fetch_bundle(client, tmp_path / "account", account_id=1)

    assert report.gone == (102,) and report.courses == 1
    files = bundle_of(tmp_path / "account")
    assert [c["id"] for c in files["courses.ndjson"]] == [101]
    assert {e["course_id"] for e in files["enrollments.ndjson"]} == {101}
    assert sorted(u["id"] for u in files["users.ndjson"]) == [1, 2, 3, 9]
    assert {s["assignment_id"] // 100 for s in files["submissions.ndjson"]} == {101}
    assert 102 not in report.watermarks
    assert "course 102 is gone from Canvas" in caplog.text
    # Named by the caller, the same 404 is a mistake to report, not to pass over.
    with pytest.raises(NotFoundError, match="course 102"):
        fetch_bundle(client, tmp_path / "named", course_ids=[101, 102])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"course_ids": [101], "term_id": 1}, {"term_id": 1}],
    ids=["nothing", "courses-and-term", "term-alone"],
)
def test_fetch_bundle_refuses_unclear_scopes(
    server: CanvasServer, client: CanvasClient, tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError):
        fetch_bundle(client, tmp_path, **kwargs)
    assert server.hits == []


def bundle_of(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {path.name: read_ndjson(path) for path in sorted(folder.glob("*.ndjson"))}


# -- side by side, within the throttle -------------------------------------------------------


def test_courses_are_fetched_side_by_side_into_the_same_bundle(tmp_path: Path) -> None:
    with CanvasServer(TOKEN, delay=0.05) as server:
        institution(server)
        with CanvasClient(server.base_url, TOKEN, per_page=2, concurrency=1) as client:
            alone = fetch_bundle(client, tmp_path / "one", course_ids=[101, 102])
        assert server.max_in_flight == 1
        with CanvasClient(server.base_url, TOKEN, per_page=2, concurrency=4) as client:
            side = fetch_bundle(client, tmp_path / "four", course_ids=[101, 102])
        most_at_once = server.max_in_flight

    assert 1 < side.max_in_flight <= 4 and 1 < most_at_once <= 4
    assert alone.max_in_flight == 1
    assert side.requests == alone.requests and side.counts == alone.counts
    assert bundle_of(tmp_path / "four") == bundle_of(tmp_path / "one")  # same files, same order


def test_a_throttle_storm_backs_off_and_completes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Room for two requests in flight; the client starts with eight.
    bucket = LeakyBucket(capacity=110, drain=100, reserve=50)
    with CanvasServer(TOKEN, delay=0.02, bucket=bucket, cost=0.5) as server:
        institution(server)
        client = CanvasClient(server.base_url, TOKEN, per_page=2, concurrency=8, max_retries=10,
                              low_water=0, sleep=lambda s: time.sleep(min(s, 0.02)))
        with client, caplog.at_level(logging.INFO, logger="tracker.canvas_api"):
            report = fetch_bundle(client, tmp_path, course_ids=[101, 102])
        refused = bucket.refused

    assert report.counts["submissions"] == 18 and report.counts["users"] == 6
    assert report.throttled == refused > 0
    assert "4 request(s) in flight allowed" in caplog.text  # halved on throttling
    assert report.throttled < report.requests / 2


def test_a_large_course_s_submissions_come_in_parts_side_by_side(
    server: CanvasServer, client: CanvasClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    institution(server)
    whole = fetch_bundle(client, tmp_path / "whole", course_ids=[101, 102])
    server.hits.clear()
    # Three students a course: at most 4 submissions a part is one assignment a part.
    monkeypatch.setattr(canvas_fetch, "SUBMISSIONS_PER_PART", 4)

    cut = fetch_bundle(client, tmp_path / "cut", course_ids=[101, 102])

    asked = sorted(h.query["assignment_ids[]"] for h in
                   server.hits_for(f"{V1}/courses/101/students/submissions"))
    assert asked == [["10101"], ["10102"], ["10103"]]
    assert cut.counts == whole.counts
    assert bundle_of(tmp_path / "cut") == bundle_of(tmp_path / "whole")  # in the same order
    assert cut.watermarks == whole.watermarks


# -- incremental -----------------------------------------------------------------------------


def test_an_incremental_fetch_asks_since_the_watermark_and_gets_just_what_changed(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)
    full = fetch_bundle(client, tmp_path / "full", course_ids=[101, 102])
    assert full.watermarks == {101: CANVAS_NOW, 102: CANVAS_NOW}  # Canvas's clock, not ours
    assert full.incremental == 0 and full.counts["submissions"] == 18

    # After the fetch: two regrades (one inside the overlap) and a new submission in 101.
    listing = server._lists[f"{V1}/courses/101/students/submissions"].items
    by_id = {s["id"]: s for s in listing}
    by_id[101011]["graded_at"] = "2026-11-01T11:30:00Z"
    by_id[101022]["graded_at"] = "2026-11-02T08:00:00Z"
    by_id[101022]["submitted_at"] = "2026-11-02T07:00:00Z"  # both: asked twice, kept once
    by_id[101033]["submitted_at"] = "2026-11-02T09:00:00Z"
    server.hits.clear()

    since = {101: CANVAS_NOW}  # 102 had no live sync: fetched in full
    report = fetch_bundle(client, tmp_path / "inc", course_ids=[101, 102], since=since,
                          overlap=timedelta(hours=1))

    asked = [h.query for h in server.hits_for(f"{V1}/courses/101/students/submissions")]
    assert sorted((k, q[k]) for q in asked for k in ("graded_since", "submitted_since")
                  if k in q) == [("graded_since", ["2026-11-01T11:00:00Z"]),
                                 ("submitted_since", ["2026-11-01T11:00:00Z"])]
    assert all("graded_since" not in h.query and "submitted_since" not in h.query
               for h in server.hits_for(f"{V1}/courses/102/students/submissions"))
    fetched = read_ndjson(tmp_path / "inc" / "submissions.ndjson")
    assert sorted(s["id"] for s in fetched if s["assignment_id"] // 100 == 101) == [
        101011, 101022, 101033]
    assert len([s for s in fetched if s["assignment_id"] // 100 == 102]) == 9  # in full
    assert len({s["id"] for s in fetched}) == len(fetched)
    assert report.incremental == 1
    assert report.counts["users"] == 6 and report.counts["enrollments"] == 9  # the rest in full


# -- resume ----------------------------------------------------------------------------------


def test_a_resumed_fetch_asks_only_for_the_missing_course_and_ends_the_same(
    server: CanvasServer, sleeps: list[float], tmp_path: Path
) -> None:
    institution(server)
    with CanvasClient(server.base_url, TOKEN, per_page=2, sleep=sleeps.append) as client:
        fetch_bundle(client, tmp_path / "clean", course_ids=[101, 102])
    server.fail_once(f"{V1}/courses/102/students/submissions", "500", page=2, times=10)
    out = tmp_path / "resumed"

    with CanvasClient(server.base_url, TOKEN, per_page=2, max_retries=1,
                      sleep=sleeps.append) as client:
        with pytest.raises(CanvasApiError, match="500 server error on each of 2"):
            fetch_bundle(client, out, course_ids=[101, 102])
        assert (out / ".fetch" / "course-101" / "done.json").is_file()
        assert not (out / ".fetch" / "course-102" / "done.json").exists()
        assert not (out / "submissions.ndjson").exists()  # no bundle until all is fetched

        server.clear_faults()
        server.hits.clear()
        report = fetch_bundle(client, out, course_ids=[101, 102], resume=True)

    assert {h.path for h in server.hits if "/courses/101" in h.path} == set()
    assert {h.path.rsplit("/", 1)[-1] for h in server.hits} >= {"sections", "submissions"}
    assert report.resumed == 1 and report.courses == 2
    assert bundle_of(out) == bundle_of(tmp_path / "clean")
    assert not (out / ".fetch").exists()


def test_a_resume_of_another_scope_is_refused(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)
    server.forbid(f"{V1}/courses/102/sections")
    with pytest.raises(CanvasApiError):
        fetch_bundle(client, tmp_path, course_ids=[101, 102])

    with pytest.raises(ConfigurationError, match="another scope"):
        fetch_bundle(client, tmp_path, course_ids=[101], resume=True)


# -- the Grade Change Log --------------------------------------------------------------------


def grade_change(event_id: str, created_at: str, course: int) -> dict[str, Any]:
    return {"id": event_id, "created_at": created_at, "event_type": "grade_change",
            "grade_before": "7", "grade_after": "9", "excused_before": False,
            "excused_after": False, "graded_anonymously": False,
            "links": {"assignment": course * 100 + 1, "course": course, "student": 2,
                      "grader": 9}}


def test_the_grade_change_log_is_fetched_in_full_then_since_the_watermark(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)
    for cid in (101, 102):
        events = [grade_change(f"e-{cid}-2", "2026-10-20T10:00:00Z", cid),
                  grade_change(f"e-{cid}-1", "2026-10-02T10:00:00Z", cid)]  # newest first
        server.add_list(f"{V1}/audit/grade_change/courses/{cid}", events, compound=True,
                        since={"start_time": "created_at"})

    full = fetch_bundle(client, tmp_path / "full", course_ids=[101, 102])
    later = fetch_bundle(client, tmp_path / "inc", course_ids=[101, 102],
                         since={101: datetime(2026, 10, 10, tzinfo=UTC)})

    assert [e["id"] for e in read_ndjson(tmp_path / "full" / "grade_changes.ndjson")] == [
        "e-101-2", "e-101-1", "e-102-2", "e-102-1"]
    assert [e["id"] for e in read_ndjson(tmp_path / "inc" / "grade_changes.ndjson")] == [
        "e-101-2", "e-102-2", "e-102-1"]
    asked = server.hits_for(f"{V1}/audit/grade_change/courses/101")[-1].query
    assert asked["start_time"] == ["2026-10-09T23:00:00Z"]  # less the hour of overlap
    assert not full.grade_changes_skipped and not later.grade_changes_skipped


@pytest.mark.parametrize("status", [401, 403])
def test_a_token_without_the_audit_permission_skips_the_log_with_one_warning(
    server: CanvasServer, client: CanvasClient, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, status: int,
) -> None:
    institution(server)
    for cid in (101, 102):
        server.add_list(f"{V1}/audit/grade_change/courses/{cid}", [], compound=True)
        server.forbid(f"{V1}/audit/grade_change/courses/{cid}", status=status,
                      echo_authorization=True)

    with caplog.at_level(logging.INFO):
        report = fetch_bundle(client, tmp_path, course_ids=[101, 102])

    assert report.grade_changes_skipped and "grade_changes" not in report.counts
    assert not (tmp_path / "grade_changes.ndjson").exists()
    assert report.counts["submissions"] == 18  # the rest of the fetch is whole
    warnings = [r for r in caplog.records if "Grade Change Log" in r.getMessage()]
    assert len(warnings) == 1 and "permission" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


def test_two_fetches_into_one_folder_do_not_mix(
    server: CanvasServer, client: CanvasClient, tmp_path: Path
) -> None:
    institution(server)
    with canvas_fetch.exclusive(tmp_path / "f"):  # a live sync of the same scope, under way
        with (pytest.raises(SyncConflictError, match="another live sync is fetching into"),
              canvas_fetch.exclusive(tmp_path / "f")):
            fetch_bundle(client, tmp_path / "f", course_ids=[101, 102])
    assert server.hits == []
    with canvas_fetch.exclusive(tmp_path / "f") as folder:  # once it ended
        assert fetch_bundle(client, folder, course_ids=[101, 102]).courses == 2
