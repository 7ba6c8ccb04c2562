"""A Canvas-like server for the benchmark's live step: a sample bundle over Canvas's REST API.

``python -m bench.canvas --bundle DIR --port 0`` loads a bundle (the sample school's
ndjson files), prints one JSON line ``{"port": N}`` once it listens on 127.0.0.1, and
serves, page by page, what tracker's live fetch (:mod:`tracker.canvas_api`) asks for:

- ``/api/v1/accounts/:id/courses`` (the account's and its sub-accounts' courses;
  ``include[]=term``, ``enrollment_term_id``), ``/accounts/:id/terms`` (wrapped as
  ``{"enrollment_terms": [...]}``), ``/courses/:id`` (``include[]=term``);
- ``/courses/:id/`` ``sections``, ``users`` (everyone enrolled), ``assignment_groups``
  (with ``include[]=assignments``, each group's assignments embedded),
  ``assignments``, ``enrollments`` (``state[]``, by default active and invited only),
  ``students/submissions`` (``assignment_ids[]``; ``graded_since``, ``submitted_since``:
  each a strict ``>``, ANDed, as Canvas's code has them);
- ``/api/v1/audit/grade_change/courses/:id``: one event per submission the bundle's
  newest regrading round changed (none at revision 0), newest first, ``start_time`` /
  ``end_time``, as a compound document.

Like Canvas: a bearer token (``CANVAS_API_TOKEN``, default ``bench-token``), ``per_page``
10 by default and at most 100, a ``Link`` header (page numbers), ``X-Request-Cost`` and
``X-Rate-Limit-Remaining`` on every answer, and Canvas's leaky bucket
(:class:`bench.throttle.LeakyBucket`): a request reserves its units when it starts and
is charged ``cost`` when it ends, after ``delay`` seconds; one that does not fit is
refused at once (403 ``Rate Limit Exceeded``, or 429 with ``Retry-After``).

``Date`` comes from a virtual Canvas clock: revision N's "now" is the sample's snapshot
plus N days and 12 hours, advancing with real time from the load, so that a watermark
taken at revision 0 (minus an overlap) lies before revision 1's regrades.

Private paths, for the bench: ``GET /__bench/stats`` (requests, the most in flight,
throttled answers, requests per endpoint), ``POST /__bench/reset`` (counters and bucket)
and ``POST /__bench/load`` (``{"bundle", "revision", "previous"}``: another revision;
counters, bucket and clock start afresh). :class:`CanvasProcess` runs the server in a
process of its own (so a measured sync's memory and CPU are not mixed with it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson

from bench.throttle import LeakyBucket
from tracker.sample.dates import DAY, HOUR, SNAPSHOT_EPOCH, ts

DEFAULT_TOKEN = "bench-token"
DEFAULT_DELAY = 0.1
DEFAULT_COST = 0.1
THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)"
NOT_FOUND = orjson.dumps({"errors": [{"message": "The specified resource does not exist."}]})
DEFAULT_ENROLLMENT_STATES = ("active", "invited")
EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-2b7a-4c55-9a43-0b1d5e0c7a11")

# -- the data, serialised once -----------------------------------------------------------------


@dataclass
class CourseData:
    """One course's lists as JSON texts (one ``bytes`` per object), in the bundle's order."""

    course: bytes = b""
    with_term: bytes = b""
    term_id: int | None = None
    accounts: tuple[int, ...] = ()
    sections: list[bytes] = field(default_factory=list)
    users: list[bytes] = field(default_factory=list)
    groups: list[bytes] = field(default_factory=list)
    groups_with_assignments: list[bytes] = field(default_factory=list)
    """``include[]=assignments``: each group with its assignments embedded."""
    assignments: list[bytes] = field(default_factory=list)
    enrollments: list[bytes] = field(default_factory=list)
    enrollment_states: list[str] = field(default_factory=list)
    submissions: list[bytes] = field(default_factory=list)
    submission_assignments: list[str] = field(default_factory=list)
    graded_at: list[str | None] = field(default_factory=list)
    submitted_at: list[str | None] = field(default_factory=list)
    events: list[bytes] = field(default_factory=list)
    event_times: list[str] = field(default_factory=list)


@dataclass
class School:
    """A bundle ready to serve: the terms, and each course's lists by course id."""

    bundle: str
    revision: int
    terms: list[bytes]
    courses: dict[int, CourseData]
    unplaced: dict[str, int]
    """Records no course could be found for (not served)."""


def _lines(path: Path) -> Any:
    """(text, object) of each record of an ndjson file."""
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if line:
                yield line, orjson.loads(line)


def canonical_time(value: str | None) -> str | None:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, fractions dropped): such texts order
    as the moments do. A value without a zone is taken as UTC."""
    if value is None:
        return None
    if len(value) == 20 and value.endswith("Z"):
        return value
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def revision_of(bundle: Path) -> int:
    """The revision a bench bundle's folder is named for (``revision-N``), else 0."""
    found = re.fullmatch(r"revision-(\d+)", bundle.name)
    return int(found.group(1)) if found else 0


def load_school(bundle: Path, revision: int, previous: Path | None = None) -> School:
    """Read ``bundle`` (revision ``revision``; ``previous``, the revision before, gives the
    grade change log its ``grade_before``) into a :class:`School`."""
    courses: dict[int, CourseData] = {}
    unplaced: Counter[str] = Counter()
    terms = {obj["id"]: obj for _, obj in _lines(bundle / "terms.ndjson")}
    for text, obj in _lines(bundle / "courses.ndjson"):
        term = terms.get(obj.get("enrollment_term_id"))
        courses[obj["id"]] = CourseData(
            course=text, with_term=orjson.dumps({**obj, "term": term}) if term else text,
            term_id=obj.get("enrollment_term_id"),
            accounts=tuple({obj.get("account_id"), obj.get("root_account_id")} - {None}))

    def place(kind: str, course_id: Any) -> CourseData | None:
        found = courses.get(course_id)
        if found is None:
            unplaced[kind] += 1
        return found

    for text, obj in _lines(bundle / "sections.ndjson"):
        if (c := place("sections", obj.get("course_id"))) is not None:
            c.sections.append(text)
    user_courses: dict[Any, list[Any]] = {}
    for text, obj in _lines(bundle / "enrollments.ndjson"):
        if (c := place("enrollments", obj.get("course_id"))) is not None:
            c.enrollments.append(text)
            c.enrollment_states.append(obj.get("enrollment_state"))
            placed = user_courses.setdefault(obj.get("user_id"), [])
            if obj["course_id"] not in placed:
                placed.append(obj["course_id"])
    for text, obj in _lines(bundle / "users.ndjson"):
        for course_id in user_courses.get(obj.get("id"), []) or [None]:
            if (c := place("users", course_id)) is not None:
                c.users.append(text)
    assignment_course: dict[Any, Any] = {}
    group_course: dict[Any, Any] = {}
    in_group: dict[Any, list[orjson.Fragment]] = {}
    for text, obj in _lines(bundle / "assignments.ndjson"):
        if (c := place("assignments", obj.get("course_id"))) is not None:
            c.assignments.append(text)
            in_group.setdefault(obj.get("assignment_group_id"), []).append(orjson.Fragment(text))
            assignment_course[obj["id"]] = obj["course_id"]
            group_course.setdefault(obj.get("assignment_group_id"), obj["course_id"])
    last_course = None  # Canvas leaves a group's course out; the bundle lists them by course
    for text, obj in _lines(bundle / "assignment_groups.ndjson"):
        last_course = obj.get("course_id", group_course.get(obj.get("id"), last_course))
        if (c := place("assignment_groups", last_course)) is not None:
            c.groups.append(text)
            c.groups_with_assignments.append(
                orjson.dumps({**obj, "assignments": in_group.get(obj.get("id"), [])}))
    regraded_at = ts(SNAPSHOT_EPOCH + revision * DAY) if revision > 0 else None
    regraded: dict[Any, dict[str, Any]] = {}
    for text, obj in _lines(bundle / "submissions.ndjson"):
        course_id = assignment_course.get(obj.get("assignment_id"))
        if (c := place("submissions", course_id)) is not None:
            c.submissions.append(text)
            c.submission_assignments.append(str(obj.get("assignment_id")))
            c.graded_at.append(canonical_time(obj.get("graded_at")))
            c.submitted_at.append(canonical_time(obj.get("submitted_at")))
            if regraded_at is not None and obj.get("graded_at") == regraded_at:
                regraded[obj["id"]] = {**obj, "course_id": course_id}
    _add_events(courses, regraded, revision, _grades_before(previous, regraded))
    return School(bundle=str(bundle), revision=revision,
                  terms=[orjson.dumps(t) for t in terms.values()], courses=courses,
                  unplaced=dict(unplaced))


def _grades_before(previous: Path | None, regraded: dict[Any, Any]) -> dict[Any, Any]:
    """The grades of the regraded submissions in the revision before (none without it)."""
    if previous is None or not regraded:
        return {}
    return {obj["id"]: obj.get("grade") for _, obj in _lines(previous / "submissions.ndjson")
            if obj.get("id") in regraded}


def _add_events(courses: dict[int, CourseData], regraded: dict[Any, dict[str, Any]],
                revision: int, before: dict[Any, Any]) -> None:
    """The grade change log: an event per regraded submission, each course's newest first."""
    events: dict[int, list[tuple[str, str, bytes]]] = {}
    for sid, s in regraded.items():
        event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"{revision}:{sid}"))
        event = {
            "id": event_id, "created_at": s["graded_at"], "event_type": "grade_change",
            "grade_before": before.get(sid), "grade_after": s.get("grade"),
            "excused_before": False, "excused_after": bool(s.get("excused")),
            "graded_anonymously": False, "version_number": revision + 1,
            "request_id": str(uuid.uuid5(EVENT_NAMESPACE, f"request:{revision}:{sid}")),
            "links": {"assignment": s.get("assignment_id"), "course": s["course_id"],
                      "student": s.get("user_id"), "grader": s.get("grader_id"),
                      "page_view": None},
        }
        events.setdefault(s["course_id"], []).append(
            (s["graded_at"], event_id, orjson.dumps(event)))
    for course_id, found in events.items():
        found.sort(reverse=True)
        courses[course_id].events = [e for _, _, e in found]
        courses[course_id].event_times = [t for t, _, _ in found]


# -- the server ---------------------------------------------------------------------------------


class Stats:
    """The server's counters: requests, in flight now and at most, throttled, per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = self.throttled = self.in_flight = self.max_in_flight = 0
            self.endpoints: Counter[str] = Counter()

    def begin(self, endpoint: str) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.endpoints[endpoint] += 1

    def end(self, *, throttled: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.throttled += throttled

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self.requests, "max_in_flight": self.max_in_flight,
                    "in_flight": self.in_flight, "throttled": self.throttled,
                    "endpoints": dict(sorted(self.endpoints.items()))}


class CanvasLike(ThreadingHTTPServer):
    """The server: a :class:`School`, the throttle, the delay, the counters and the clock."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, school: School, *, token: str, delay: float, cost: float,
                 throttle_status: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.token, self.delay, self.cost = token, delay, cost
        self.throttle_status = throttle_status
        self.stats = Stats()
        self.bucket = LeakyBucket()
        self.load(school)

    def load(self, school: School) -> None:
        self.school = school
        self.reset()
        self.loaded_at = time.monotonic()

    def reset(self) -> None:
        self.stats.reset()
        self.bucket = LeakyBucket()

    def now(self) -> float:
        """Canvas's clock (epoch seconds): the revision's day, noon, running since the load."""
        return (SNAPSHOT_EPOCH + self.school.revision * DAY + 12 * HOUR
                + time.monotonic() - self.loaded_at)


_ROUTES = (
    (re.compile(r"/api/v1/accounts/([^/]+)/courses"), "accounts/:id/courses"),
    (re.compile(r"/api/v1/accounts/([^/]+)/terms"), "accounts/:id/terms"),
    (re.compile(r"/api/v1/courses/([^/]+)"), "courses/:id"),
    (re.compile(r"/api/v1/courses/([^/]+)/(sections|users|assignment_groups|assignments"
                r"|enrollments)"), "courses/:id/{}"),
    (re.compile(r"/api/v1/courses/([^/]+)/students/submissions"),
     "courses/:id/students/submissions"),
    (re.compile(r"/api/v1/audit/grade_change/courses/([^/]+)"), "audit/grade_change/courses/:id"),
)


def route(path: str) -> tuple[str, str, str | None]:
    """(endpoint name, the id in the path, the list's name for ``courses/:id/{}``)."""
    for pattern, name in _ROUTES:
        found = pattern.fullmatch(path)
        if found:
            what = found.group(2) if found.lastindex == 2 else None
            return name.format(what), found.group(1), what
    return "unknown", "", None


class _Answer(Exception):
    """Stop building a page and answer this instead (an error, mostly)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body


class _Handler(BaseHTTPRequestHandler):
    server: CanvasLike
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(self.server.now(), usegmt=True)

    def _send(self, status: int, body: bytes, headers: dict[str, str],
              content_type: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    # -- the bench's own paths -------------------------------------------------------------

    def do_POST(self) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        args = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/__bench/reset":
            srv.reset()
        elif self.path == "/__bench/load":
            bundle = Path(args["bundle"])
            previous = Path(args["previous"]) if args.get("previous") else None
            srv.school = School("", 0, [], {}, {})  # let the old one go before reading the new
            srv.load(load_school(bundle, int(args.get("revision", revision_of(bundle))),
                                 previous))
        else:
            self._send(404, NOT_FOUND, {})
            return
        self._send(200, orjson.dumps(_summary(srv)), {})

    # -- Canvas -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        srv = self.server
        split = urlsplit(self.path)
        if split.path == "/__bench/stats":
            self._send(200, orjson.dumps(_summary(srv)), {})
            return
        endpoint, ident, what = route(split.path)
        srv.stats.begin(endpoint)
        throttled = False
        try:
            if self.headers.get("Authorization") != f"Bearer {srv.token}":
                self._send(401, b'{"errors":[{"message":"Invalid access token."}]}',
                           {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
                return
            bucket = srv.bucket
            if not bucket.begin():
                throttled = True
                self._throttled(bucket)
                return
            if srv.delay > 0:
                time.sleep(srv.delay)
            try:
                status, body, headers = 200, *self._answer(split, endpoint, ident, what)
            except _Answer as answer:
                status, body, headers = answer.status, answer.body, {}
            bucket.end(srv.cost)
            headers["X-Request-Cost"] = f"{srv.cost:.4f}"
            headers["X-Rate-Limit-Remaining"] = f"{bucket.remaining:.4f}"
            self._send(status, body, headers)
        finally:
            srv.stats.end(throttled=throttled)

    def _throttled(self, bucket: LeakyBucket) -> None:
        headers = {"X-Request-Cost": "0", "X-Rate-Limit-Remaining": "0.0"}
        if self.server.throttle_status == 429:
            wait = (bucket.reserve - bucket.remaining) / bucket.drain
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            self._send(429, b"429 Too Many Requests (Rate Limit Exceeded)", headers,
                       "text/plain; charset=utf-8")
        else:
            self._send(403, THROTTLED_BODY, headers, "text/plain; charset=utf-8")

    def _answer(self, split: Any, endpoint: str, ident: str,
                what: str | None) -> tuple[bytes, dict[str, str]]:
        school = self.server.school
        query = parse_qs(split.query, keep_blank_values=True)
        includes_term = "term" in query.get("include[]", [])
        if endpoint == "unknown":
            raise _Answer(404, NOT_FOUND)
        if endpoint.startswith("accounts/"):
            account = _int(ident)
            courses = [c for c in school.courses.values() if account in c.accounts]
            if not courses:
                raise _Answer(404, NOT_FOUND)
            if endpoint == "accounts/:id/terms":
                return self._page(split, query, school.terms, b'{"enrollment_terms":', b"}")
            term = query.get("enrollment_term_id", [None])[0]
            if term is not None:
                courses = [c for c in courses if str(c.term_id) == term]
            return self._page(split, query,
                              [c.with_term if includes_term else c.course for c in courses])
        course = school.courses.get(_int(ident) or 0)
        if course is None:
            raise _Answer(404, NOT_FOUND)
        if endpoint == "courses/:id":
            return (course.with_term if includes_term else course.course), {}
        if what == "enrollments":
            states = set(query.get("state[]", DEFAULT_ENROLLMENT_STATES))
            items = [e for e, s in zip(course.enrollments, course.enrollment_states, strict=True)
                     if s in states]
            return self._page(split, query, items)
        if what is not None:
            groups = (course.groups_with_assignments
                      if "assignments" in query.get("include[]", []) else course.groups)
            lists = {"sections": course.sections, "users": course.users,
                     "assignment_groups": groups, "assignments": course.assignments}
            return self._page(split, query, lists[what])
        if endpoint == "courses/:id/students/submissions":
            return self._page(split, query, _submissions(course, query))
        start = _since(query, "start_time")
        end = _since(query, "end_time")
        events = [e for e, t in zip(course.events, course.event_times, strict=True)
                  if (start is None or t >= start) and (end is None or t <= end)]
        return self._page(split, query, events, b'{"events":', b',"linked":{},"links":{}}')

    def _page(self, split: Any, query: dict[str, list[str]], items: Sequence[bytes],
              before: bytes = b"", after: bytes = b"") -> tuple[bytes, dict[str, str]]:
        """One page of ``items`` (``[...]`` between ``before`` and ``after``) and its links."""
        try:
            per_page = max(1, min(int(query.get("per_page", ["10"])[0] or 10), 100))
            page = max(1, int(query.get("page", ["1"])[0] or 1))
        except ValueError:
            raise _Answer(400, b'{"errors":[{"message":"invalid page"}]}') from None
        start = (page - 1) * per_page
        body = before + b"[" + b",".join(items[start:start + per_page]) + b"]" + after
        pairs = [(k, v) for k, vs in query.items() if k not in ("page", "per_page") for v in vs]
        base = f"http://{self.headers.get('Host', '127.0.0.1')}{split.path}?"

        def url(n: int) -> str:
            return base + urlencode([*pairs, ("page", str(n)), ("per_page", str(per_page))])

        links = [f'<{url(page)}>; rel="current"']
        if start + per_page < len(items):
            links.append(f'<{url(page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{url(page - 1)}>; rel="prev"')
        links.append(f'<{url(1)}>; rel="first"')
        links.append(f'<{url(max(1, math.ceil(len(items) / per_page)))}>; rel="last"')
        return body, {"Link": ",".join(links)}


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _since(query: dict[str, list[str]], name: str) -> str | None:
    value = query.get(name, [None])[0]
    if not value:
        return None
    try:
        return canonical_time(value)
    except ValueError:
        raise _Answer(400, orjson.dumps(
            {"errors": [{"message": f"{name} is not an ISO 8601 time"}]})) from None


def _submissions(course: CourseData, query: dict[str, list[str]]) -> Sequence[bytes]:
    """The course's submissions: of the ``assignment_ids[]`` given, and graded and submitted
    after the times given (a strict ``>`` each; never-graded or never-submitted ones then
    left out)."""
    graded, submitted = _since(query, "graded_since"), _since(query, "submitted_since")
    assignments = set(query.get("assignment_ids[]", ()))
    if graded is None and submitted is None and not assignments:
        return course.submissions
    return [s for s, a, g, t in zip(course.submissions, course.submission_assignments,
                                    course.graded_at, course.submitted_at, strict=True)
            if (not assignments or a in assignments)
            and (graded is None or (g is not None and g > graded))
            and (submitted is None or (t is not None and t > submitted))]


def _summary(srv: CanvasLike) -> dict[str, Any]:
    return {**srv.stats.as_dict(), "revision": srv.school.revision, "bundle": srv.school.bundle,
            "courses": len(srv.school.courses), "unplaced": srv.school.unplaced,
            "now": ts(int(srv.now())), "delay": srv.delay, "cost": srv.cost}


# -- in a process of its own ------------------------------------------------------------------


class CanvasProcess:
    """The server in a child process: ``url``, ``stats()``, ``reset()``, ``load()``.

    The token goes to the child through its environment, not its command line."""

    def __init__(self, bundle: Path, *, revision: int | None = None, previous: Path | None = None,
                 delay: float = DEFAULT_DELAY, cost: float = DEFAULT_COST,
                 token: str = DEFAULT_TOKEN, throttle_status: int = 403) -> None:
        args = ["--bundle", str(bundle), "--port", "0", "--delay", str(delay), "--cost", str(cost),
                "--throttle-status", str(throttle_status)]
        if revision is not None:
            args += ["--revision", str(revision)]
        if previous is not None:
            args += ["--previous", str(previous)]
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "CANVAS_API_TOKEN": token,
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        self.token = token
        self._process = subprocess.Popen([sys.executable, "-m", "bench.canvas", *args],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         env=env)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            raise RuntimeError(f"the Canvas-like server did not start (exit code "
                               f"{self._process.returncode})")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"
        self._http = httpx.Client(base_url=self.url, timeout=None)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get("/__bench/stats").raise_for_status().json()
        return result

    def reset(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.post("/__bench/reset").raise_for_status().json()
        return result

    def load(self, bundle: Path, *, revision: int | None = None,
             previous: Path | None = None) -> dict[str, Any]:
        body = {"bundle": str(bundle), "revision": revision_of(bundle) if revision is None
                else revision, "previous": str(previous) if previous else None}
        result: dict[str, Any] = self._http.post("/__bench/load",
                                                 json=body).raise_for_status().json()
        return result

    def stop(self) -> None:
        self._http.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.canvas", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True, help="the sample bundle's folder")
    parser.add_argument("--revision", type=int,
                        help="its revision (default: from a folder named revision-N, else 0)")
    parser.add_argument("--previous", type=Path,
                        help="the revision before's folder: the grade change log's grade_before")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY,
                        help="seconds each request takes before its answer")
    parser.add_argument("--cost", type=float, default=DEFAULT_COST,
                        help="units each request costs in the leaky bucket")
    parser.add_argument("--throttle-status", type=int, choices=(403, 429), default=403)
    args = parser.parse_args(argv)
    revision = revision_of(args.bundle) if args.revision is None else args.revision
    server = CanvasLike(args.port, load_school(args.bundle, revision, args.previous),
                        token=os.environ.get("CANVAS_API_TOKEN") or DEFAULT_TOKEN,
                        delay=args.delay, cost=args.cost, throttle_status=args.throttle_status)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
