"""A Canvas-like HTTP server for tests: real sockets on 127.0.0.1, data in memory.

``CanvasServer`` serves what a test registers: single objects (``add_object``)
and paginated lists (``add_list``), the way Canvas's ``/api/v1`` does:

- ``Authorization: Bearer <token>`` is required (401 with ``WWW-Authenticate``
  otherwise, as Canvas does for a bad token);
- ``per_page`` defaults to 10 and is clamped to 100; pages are linked with a
  ``Link`` header (current, next, prev, first, and last unless the list pages by
  bookmark) whose name changes case from page to page (``Link``, ``link``,
  ``LINK``); a bookmark list uses opaque ``page=bookmark:…`` URLs;
- a list can be wrapped (``{"enrollment_terms": [...]}``) and filtered by a query
  parameter (``enrollment_term_id``);
- a list can be filtered by a moment (``graded_since``: the item's ``graded_at`` must be
  later, strictly, as Canvas compares) and served as a compound document
  (``{"events": [...], "linked": {}, "links": {}}``, the Grade Change Log's);
- every answer carries ``Date`` (from ``clock``, Canvas's clock), ``X-Request-Cost`` and
  ``X-Rate-Limit-Remaining``; with a ``bucket`` (:class:`bench.throttle.LeakyBucket`) each
  request reserves its units while in flight and a request that finds no room is
  throttled; ``delay`` seconds pass before each answer;
- unknown paths answer 404 with Canvas's body.

Faults are injected per path and page: ``fail_once`` (throttled 403, 429 with
``Retry-After``, 500, or a dropped connection, each consumed by one request), ``forbid`` (a permission
error on every request), ``set_remaining`` (a low quota on one page). ``hits``
records every request, so tests can count retries; ``max_in_flight`` is the most
requests that were being answered at once.

Use it as a context manager; ``stop()`` shuts the server and its thread down.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.throttle import LeakyBucket

#: The suite's Canvas token: tests check that it never shows.
CANVAS_TOKEN = "7~Zq3SecretTokenValue9xY"
#: Canvas's clock in the ``server`` fixture's Date headers.
CANVAS_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

Fault = Literal["throttle", "429", "500", "disconnect"]

THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)"
NOT_FOUND_BODY = {"errors": [{"message": "The specified resource does not exist."}]}
LINK_HEADER_NAMES = ("Link", "link", "LINK")


@dataclass(frozen=True)
class Hit:
    """One request the server answered (or dropped)."""

    path: str
    query: dict[str, list[str]]
    page: int | None  # 1-based page of a list; None for objects and unknown paths
    status: int  # 0 for a dropped connection


@dataclass
class _List:
    items: list[dict[str, Any]]
    wrap: str | None = None
    bookmark: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    next_host: str | None = None
    next_loops: bool = False
    since: dict[str, str] = field(default_factory=dict)
    compound: bool = False
    any_of: dict[str, str] = field(default_factory=dict)


class CanvasServer:
    """See the module docstring."""

    def __init__(
        self,
        token: str,
        *,
        delay: float = 0.0,
        bucket: LeakyBucket | None = None,
        cost: float = 1.25,
        retry_after: int = 7,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.token = token
        self.delay = delay
        self.bucket = bucket
        self.cost = cost
        self.retry_after = retry_after
        self.clock = clock
        self.in_flight = 0
        self.max_in_flight = 0
        self.answering: list[str] = []  # the paths of the requests being answered now
        self.hits: list[Hit] = []
        self._objects: dict[str, Any] = {}
        self._lists: dict[str, _List] = {}
        self._faults: dict[tuple[str, int | None], list[Fault]] = {}
        self._forbidden: dict[str, tuple[int, bool]] = {}
        self._remaining: dict[tuple[str, int | None], float] = {}
        self._slow: dict[str, float] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what it serves ----------------------------------------------------------

    def add_object(self, path: str, obj: Any) -> None:
        """Serve ``obj`` at ``path`` (``/api/v1/courses/1``)."""
        self._objects[path] = obj

    def add_list(
        self,
        path: str,
        items: Sequence[Mapping[str, Any]],
        *,
        wrap: str | None = None,
        bookmark: bool = False,
        filters: Mapping[str, str] | None = None,
        next_host: str | None = None,
        next_loops: bool = False,
        since: Mapping[str, str] | None = None,
        compound: bool = False,
        any_of: Mapping[str, str] | None = None,
    ) -> None:
        """Serve ``items`` at ``path``, paginated.

        ``wrap`` wraps each page as ``{wrap: [...]}``; ``bookmark`` pages with
        opaque bookmark URLs; ``filters`` maps a query parameter to the item field
        it must equal when given; ``since`` maps a query parameter to the timestamp field
        that must be later than it (``{"graded_since": "graded_at"}``; several given are
        all required, as Canvas ANDs them); ``any_of`` maps a repeated query parameter to
        the field that must be one of its values (``{"assignment_ids[]": "assignment_id"}``);
        ``compound`` serves each page as the Grade
        Change Log does; ``next_host`` puts another host name into the next-page URLs;
        ``next_loops`` makes page 2's next link point at page 2.
        """
        self._lists[path] = _List(
            [dict(i) for i in items], wrap, bookmark, dict(filters or {}), next_host, next_loops,
            dict(since or {}), compound, dict(any_of or {}),
        )

    def fail_once(self, path: str, fault: Fault, *, page: int | None = 1, times: int = 1) -> None:
        """Answer the next ``times`` requests for ``path`` (that page) with ``fault``."""
        self._faults.setdefault((path, page), []).extend([fault] * times)

    def slow(self, path: str, seconds: float) -> None:
        """Answer every request for ``path`` only after ``seconds`` (a request in flight
        long enough for a test to interrupt the client)."""
        self._slow[path] = seconds

    def clear_faults(self) -> None:
        """Forget the faults not yet consumed: Canvas is well again."""
        with self._lock:
            self._faults.clear()

    def forbid(self, path: str, *, status: int = 403, echo_authorization: bool = False) -> None:
        """Refuse ``path`` for lack of permission, every time.

        ``status=403`` answers a plain permission 403; ``status=401`` answers as
        Canvas's "user not authorized to perform that action". With
        ``echo_authorization`` the body repeats the request's Authorization header
        (a careless proxy), so tests can check the client scrubs it.
        """
        self._forbidden[path] = (status, echo_authorization)

    def set_remaining(self, path: str, value: float, *, page: int | None = 1) -> None:
        """Report ``X-Rate-Limit-Remaining: value`` on that page of ``path``."""
        self._remaining[(path, page)] = value

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    # -- life cycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"canvas": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering ---------------------------------------------------------------

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def _take_fault(self, path: str, page: int | None) -> Fault | None:
        with self._lock:
            queue = self._faults.get((path, page))
            return queue.pop(0) if queue else None


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _encode_bookmark(offset: int) -> str:
    raw = base64.urlsafe_b64encode(json.dumps([offset]).encode()).decode().rstrip("=")
    return f"bookmark:{raw}"


def _decode_bookmark(value: str) -> int:
    raw = value.removeprefix("bookmark:")
    raw += "=" * (-len(raw) % 4)
    return int(json.loads(base64.urlsafe_b64decode(raw))[0])


class _Handler(BaseHTTPRequestHandler):
    canvas: CanvasServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header send_response writes: Canvas's clock (the server's ``clock``)."""
        return format_datetime(self.canvas.clock().astimezone(UTC), usegmt=True)

    def do_GET(self) -> None:
        server = self.canvas
        path = urlsplit(self.path).path
        with server._lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.answering.append(path)
        try:
            self._answer()
        finally:
            with server._lock:
                server.in_flight -= 1
                server.answering.remove(path)

    def _answer(self) -> None:
        server = self.canvas
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        listing = server._lists.get(path)
        page, offset, per_page = None, 0, 10
        if listing is not None:
            per_page = max(1, min(int(query.get("per_page", ["10"])[0] or 10), 100))
            raw_page = query.get("page", ["1"])[0]
            if raw_page.startswith("bookmark:"):
                offset = _decode_bookmark(raw_page)
            else:
                offset = (max(int(raw_page), 1) - 1) * per_page
            page = offset // per_page + 1

        bucket = server.bucket
        admitted = bucket is None or bucket.begin()
        if server.delay or path in server._slow:
            time.sleep(server.delay + server._slow.get(path, 0.0))

        def answer(status: int, body: bytes, content_type: str, headers: Mapping[str, str]) -> None:
            server._record(Hit(path, query, page, status))
            throttled = status == 429 or (status == 403 and body == THROTTLED_BODY)
            if bucket is not None and admitted:
                bucket.end(server.cost)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Cost", f"{server.cost}")
            remaining = server._remaining.get(
                (path, page), bucket.remaining if bucket is not None else 700.0)
            if throttled:
                remaining = 0.0
            self.send_header("X-Rate-Limit-Remaining", f"{remaining:.1f}")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def answer_json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
            answer(
                status, json.dumps(data).encode(), "application/json; charset=utf-8", headers or {}
            )

        if self.headers.get("Authorization") != f"Bearer {server.token}":
            answer_json(
                401,
                {"errors": [{"message": "Invalid access token."}]},
                {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
            )
            return
        if path in server._forbidden:
            status, echo = server._forbidden[path]
            if status == 401:
                body = {
                    "status": "unauthorized",
                    "errors": [{"message": "user not authorized to perform that action"}],
                }
            else:
                message = "forbidden"
                if echo:
                    message += f" (you sent: {self.headers.get('Authorization')})"
                body = {"errors": [{"message": message}]}
            answer_json(status, body)
            return
        fault = server._take_fault(path, page)
        if not admitted:
            fault = "throttle"
        if fault == "disconnect":
            server._record(Hit(path, query, page, 0))
            self.close_connection = True
            return
        if fault == "throttle":
            answer(403, THROTTLED_BODY, "text/plain; charset=utf-8", {})
            return
        if fault == "429":
            answer(429, b"Too Many Requests", "text/plain; charset=utf-8",
                   {"Retry-After": str(server.retry_after)})
            return
        if fault == "500":
            answer_json(500, {"errors": [{"message": "An error occurred."}]})
            return

        if path in server._objects:
            answer_json(200, server._objects[path])
            return
        if listing is None:
            answer_json(404, NOT_FOUND_BODY)
            return

        items = [
            item
            for item in listing.items
            if all(
                param not in query or str(item.get(fld)) == query[param][0]
                for param, fld in listing.filters.items()
            )
            and all(
                param not in query
                or (item.get(fld) is not None and _moment(item[fld]) > _moment(query[param][0]))
                for param, fld in listing.since.items()
            )
            and all(
                param not in query or str(item.get(fld)) in query[param]
                for param, fld in listing.any_of.items()
            )
        ]
        chunk = items[offset : offset + per_page]
        host = f"{listing.next_host or '127.0.0.1'}:{server.port}"

        def page_url(page_offset: int) -> str:
            params = {k: v for k, v in query.items() if k not in ("page", "per_page")}
            if listing.bookmark:
                page_value = _encode_bookmark(page_offset)
            else:
                page_value = str(page_offset // per_page + 1)
            pairs = [(k, v) for k, vs in params.items() for v in vs]
            pairs += [("page", page_value), ("per_page", str(per_page))]
            return f"http://{host}{path}?{urlencode(pairs)}"

        links = [f'<{page_url(offset)}>; rel="current"']
        next_offset = offset + per_page
        if listing.next_loops and page == 2:
            next_offset = offset
        if next_offset < len(items):
            links.append(f'<{page_url(next_offset)}>; rel="next"')
        if offset > 0:
            links.append(f'<{page_url(max(offset - per_page, 0))}>; rel="prev"')
        links.append(f'<{page_url(0)}>; rel="first"')
        if not listing.bookmark:
            last_offset = max((len(items) - 1) // per_page, 0) * per_page
            links.append(f'<{page_url(last_offset)}>; rel="last"')
        link_name = LINK_HEADER_NAMES[(int(page or 1) - 1) % len(LINK_HEADER_NAMES)]
        data: Any = {listing.wrap: chunk} if listing.wrap else chunk
        if listing.compound:
            data = {"events": chunk, "linked": {}, "links": {}}
        answer_json(200, data, {link_name: ",".join(links)})
