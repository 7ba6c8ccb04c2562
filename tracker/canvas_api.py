"""Canvas's REST API: the HTTP client, side by side and within Canvas's throttle.

- ``CanvasClient``: one object (``get``), or every item of a paginated list
  (``paginate``, page by page with ``pages``), over Canvas's REST API, with backoff on
  throttling, server errors and dropped connections, and clear errors for a bad token, a
  missing permission or an unknown course. One client may be used from many threads at
  once: :mod:`tracker.canvas_fetch` fetches a school's courses side by side through it.
- ``Throttle``: how many requests may be in flight, adapted to Canvas's answers.

Why threads and not an async client: everything around the fetch is synchronous (psycopg
connections, the command line, plain functions a Python program imports), the work is
waiting on a handful of sockets (Canvas's throttle allows 6–8 requests in flight), and
each page is written to a file as it comes. A small thread pool sharing one
``httpx.Client`` (thread-safe, one connection pool) does that with ordinary blocking
code and no event loop to run or to impose on a caller.

Pagination follows the ``Link`` header's ``rel="next"`` URL as an opaque URL (Canvas
pages some endpoints by bookmark), and only to the host the client was given: the token
is never sent anywhere else.

Throttling, as Canvas documents it: a leaky bucket per token (some 700 units, draining
10 a second, 50 held up front by each request in flight). Every answer says
``X-Rate-Limit-Remaining`` and ``X-Request-Cost``. When the remaining quota falls below
``low_water``, every request waits until the bucket has drained back up to it. A
throttled answer (``403 Forbidden (Rate Limit Exceeded)``, or ``429`` with or without
``Retry-After``) halves the requests allowed in flight and is retried after a jittered
exponential backoff (or ``Retry-After``, when longer); after a run of answers without
throttling the allowance grows back by one, up to the concurrency asked for.

The token never appears in a message, a log line or an exception: every text built from
a response is scrubbed of it.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from tracker.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    TrackerError,
)

log = logging.getLogger(__name__)

__all__ = [
    "CanvasApiError",
    "CanvasClient",
    "Page",
    "Throttle",
    "ThrottleStats",
    "canvas_date",
]

#: A query parameter's value; a sequence becomes a repeated parameter
#: (``{"include[]": ["term", "email"]}`` → ``include[]=term&include[]=email``).
ParamValue = str | int | float | bool | Sequence[str | int]
Params = Mapping[str, ParamValue]

#: Units per second by which Canvas's rate-limit bucket drains (its default).
RATE_LIMIT_DRAIN_PER_SECOND = 10.0
#: First backoff delay in seconds; it doubles with each attempt, up to the cap.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
#: The longest pause taken because the remaining quota is low.
LOW_WATER_PAUSE_CAP_SECONDS = 30.0
#: Requests in flight unless told: 8 hold 400 of Canvas's 700 units up front, which
#: leaves room for what they really cost.
DEFAULT_CONCURRENCY = 8
#: Answers without throttling, per request allowed in flight, before one more is allowed.
GROW_AFTER = 4

_THROTTLED_BODY = "rate limit exceeded"
_TOKEN_HINT = (
    "the Canvas API token (CANVAS_API_TOKEN) is missing, expired or wrong: "
    "create a new access token in Canvas (Account > Settings > New Access Token)"
)
_ID_SEGMENTS = {
    "accounts": "account",
    "courses": "course",
    "sections": "section",
    "users": "user",
    "terms": "term",
    "assignments": "assignment",
    "assignment_groups": "assignment group",
    "enrollments": "enrollment",
    "submissions": "submission",
}


class CanvasApiError(TrackerError):
    """Canvas refused a request or answered in a way tracker cannot use.

    ``status`` is the HTTP status (``None`` when no answer came), ``path`` the
    request's path.
    """

    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path


class _Secret:
    """A string that does not show itself in ``repr`` (debuggers, ``vars()``, rich tracebacks)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "[token]"


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and when Canvas answered it (None: no ``Date``)."""

    items: list[dict[str, Any]]
    answered_at: datetime | None


@dataclass(frozen=True)
class ThrottleStats:
    """What a client's requests met: counts since the client was made."""

    requests: int
    """HTTP requests sent (retries included)."""
    in_flight: int
    """Requests in flight now."""
    max_in_flight: int
    """The most requests that were ever in flight at once."""
    throttled: int
    """Answers that said the rate limit was exceeded (403 or 429)."""
    paused: float
    """Seconds all requests were held back because the remaining quota was low."""
    limit: int
    """Requests allowed in flight now (halved on throttling, grown back slowly)."""
    cost: float
    """The sum of ``X-Request-Cost`` over the answers."""


class Throttle:
    """How many requests may be in flight at once, adapted to Canvas's answers.

    ``concurrency`` is the most ever allowed. A throttled answer halves the allowance
    (at least one); ``GROW_AFTER`` × allowance answers in a row without throttling add
    one back. A low remaining quota (``note``) holds every request back until Canvas's
    bucket has drained up to ``low_water`` again: the next request to start takes the
    pause and the others wait behind it. ``sleep`` is called for every wait.
    """

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        low_water: float = 100.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1:
            raise InvalidArgumentError(f"concurrency must be at least 1, not {concurrency!r}")
        self.concurrency = concurrency
        self.low_water = low_water
        self._sleep = sleep
        self._cond = threading.Condition()
        self._limit = concurrency
        self._in_flight = 0
        self._max_in_flight = 0
        self._requests = 0
        self._throttled = 0
        self._calm = 0
        self._cut_at = 0  # the request count when the allowance was last halved
        self._pending_pause = 0.0
        self._pausing = False
        self._paused = 0.0
        self._cost = 0.0

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold one of the request slots for the duration of one request; yields the
        request's number (for :meth:`answered`)."""
        with self._cond:
            while self._pausing or self._in_flight >= self._limit:
                self._cond.wait()
            pause, self._pending_pause = self._pending_pause, 0.0
            self._pausing = pause > 0
            self._in_flight += 1
        if pause > 0:
            log.info("Canvas rate limit is low; holding requests back %.1fs", pause)
            try:
                self._sleep(pause)
            finally:
                with self._cond:
                    self._pausing = False
                    self._paused += pause
                    self._cond.notify_all()
        with self._cond:
            self._requests += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            number = self._requests
        try:
            yield number
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def note(self, remaining: float | None, cost: float | None) -> None:
        """An answer's quota headers: pause before the bucket empties."""
        with self._cond:
            self._cost += cost or 0.0
            if remaining is not None and remaining < self.low_water:
                pause = (self.low_water - remaining) / RATE_LIMIT_DRAIN_PER_SECOND
                self._pending_pause = max(self._pending_pause,
                                          min(pause, LOW_WATER_PAUSE_CAP_SECONDS))

    def answered(self, number: int, throttled: bool) -> None:
        """Request ``number`` was answered: halve the allowance on throttling, else maybe
        grow it back."""
        with self._cond:
            if throttled:
                self._throttled += 1
                self._calm = 0
                # The requests already in flight when the allowance was halved are likely
                # throttled too: halve once for them all, not once per answer.
                if self._limit > 1 and number > self._cut_at:
                    self._limit = max(1, self._limit // 2)
                    self._cut_at = self._requests
                    log.info("Canvas throttled a request: %d request(s) in flight allowed",
                             self._limit)
                return
            self._calm += 1
            if self._limit < self.concurrency and self._calm >= GROW_AFTER * self._limit:
                self._limit += 1
                self._calm = 0
                log.info("no throttling for a while: %d request(s) in flight allowed",
                         self._limit)
                self._cond.notify_all()

    def take_pause(self) -> float:
        """The pending low-quota pause, taken by a retry that waits anyway."""
        with self._cond:
            pause, self._pending_pause = self._pending_pause, 0.0
            return pause

    def stats(self) -> ThrottleStats:
        with self._cond:
            return ThrottleStats(requests=self._requests, in_flight=self._in_flight,
                                 max_in_flight=self._max_in_flight, throttled=self._throttled,
                                 paused=self._paused, limit=self._limit, cost=self._cost)


class CanvasClient:
    """A client for Canvas's REST API, authenticated with a bearer token; thread-safe.

    ``base_url`` is the Canvas address (``https://canvas.example.edu``; a trailing
    ``/api/v1`` is accepted). Paths given to ``get`` and ``paginate`` are either
    absolute (``/api/v1/courses/42``) or relative to ``/api/v1/`` (``courses/42``).

    ``concurrency`` bounds the requests in flight at once, over all threads using the
    client (the :class:`Throttle` lowers it while Canvas throttles); ``max_retries``
    bounds the retries of one request (throttled, 5xx, dropped connection); ``timeout``
    is per request in seconds; ``low_water`` is the ``X-Rate-Limit-Remaining`` below
    which requests wait for the bucket to drain. ``sleep`` is called for every wait
    (tests pass a recorder).

    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        per_page: int = 100,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = 5,
        timeout: float = 30.0,
        low_water: float = 100.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = (token or "").strip()
        if not token:
            raise ConfigurationError(f"no Canvas API token: {_TOKEN_HINT}")
        if any(c.isspace() or not c.isprintable() for c in token):
            raise ConfigurationError(
                "the Canvas API token (CANVAS_API_TOKEN) contains spaces or control "
                "characters: copy it again from Canvas"
            )
        if per_page < 1 or max_retries < 0 or concurrency < 1:
            raise InvalidArgumentError(
                "per_page and concurrency must be at least 1 and max_retries at least 0, not "
                f"{per_page!r}, {concurrency!r} and {max_retries!r}"
            )
        self._token = _Secret(token)
        base = httpx.URL(base_url.strip().rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ConfigurationError(
                f"Canvas address {self._scrub(base_url)!r} is not an http(s) URL: "
                "give it like https://canvas.example.edu"
            )
        path = base.path.rstrip("/").removesuffix("/api/v1")
        self.base_url = str(base.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")
        self._origin = (base.scheme, base.host, base.port)
        self.per_page = per_page
        self.max_retries = max_retries
        self.throttle = Throttle(concurrency, low_water=low_water, sleep=sleep)
        self._sleep = sleep
        self._http = httpx.Client(
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "tracker (canvas sync)",
            },
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=True,  # httpx drops Authorization on a redirect to another host
        )

    def __repr__(self) -> str:
        return f"CanvasClient({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # -- public calls ------------------------------------------------------------

    def get(self, path: str, params: Params | None = None) -> Any:
        """The decoded JSON of one ``GET`` (one object, usually)."""
        response = self._send(self._url(path), params)
        return self._json(response)

    def paginate(self, path: str, params: Params | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, page after page, in Canvas's order.

        Asks for ``per_page`` items a page and follows ``rel="next"`` until there
        is none. A wrapped list (``{"enrollment_terms": [...]}``) is unwrapped.
        """
        for page in self.pages(path, params):
            yield from page.items

    def pages(self, path: str, params: Params | None = None) -> Iterator[Page]:
        """The pages of a paginated list, in Canvas's order: each page's items and the
        moment Canvas answered it (its ``Date`` header). The next page is asked for only
        when this one has been taken."""
        url: str | httpx.URL = self._url(path)
        query: Params | None = {"per_page": self.per_page, **(params or {})}
        seen: set[str] = set()
        while True:
            response = self._send(url, query)
            items = _unwrap_list(self._json(response), response.url.path)
            for item in items:
                if not isinstance(item, dict):
                    raise CanvasApiError(
                        f"GET {response.url.path} returned a list of {type(item).__name__}, "
                        "not of objects: is the path a Canvas list endpoint?",
                        status=response.status_code,
                        path=response.url.path,
                    )
            yield Page(items, canvas_date(response))
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                return
            next_url = response.url.join(next_link)
            self._check_origin(next_url, response.url.path)
            key = str(next_url)
            if key in seen or next_url == response.url:
                raise CanvasApiError(
                    f"GET {response.url.path}: Canvas pointed back at a page already "
                    "fetched; stopping instead of looping",
                    status=response.status_code,
                    path=response.url.path,
                )
            seen.add(key)
            url, query = next_url, None  # the next URL carries its own query: opaque

    # -- machinery ---------------------------------------------------------------

    def _url(self, path: str) -> str:
        if "://" in path:
            raise InvalidArgumentError(
                f"pass a path such as 'courses/42', not a full URL ({self._scrub(path)!r})")
        if not path.startswith("/"):
            path = "/api/v1/" + path
        return self.base_url + path

    def _check_origin(self, url: httpx.URL, path: str) -> None:
        if (url.scheme, url.host, url.port) != self._origin:
            raise CanvasApiError(
                f"GET {path}: the next page is on another host ({url.scheme}://{url.host}); "
                "refusing to send the token there. Give the Canvas address the way "
                "Canvas itself names it.",
                path=path,
            )

    def _scrub(self, text: str) -> str:
        secret = getattr(self, "_token", None)
        return text.replace(secret.value, "[token]") if secret is not None else text

    def _send(self, url: str | httpx.URL, params: Params | None) -> httpx.Response:
        """One GET, retried on throttling, 5xx and dropped connections; errors raised."""
        attempt = 0
        while True:
            with self.throttle.slot() as number:
                try:
                    response = self._http.get(url, params=params)
                except httpx.TransportError as exc:
                    response, failure = None, exc
            if response is None:
                path = httpx.URL(url).path
                reason = self._scrub(f"{type(failure).__name__}: {failure}")
                if attempt >= self.max_retries:
                    raise CanvasApiError(
                        f"GET {path}: no answer from Canvas at {self.base_url} after "
                        f"{attempt + 1} attempts ({reason}); check the address and the network",
                        path=path,
                    ) from failure
                attempt += 1
                self._backoff(attempt, f"GET {path}: {reason}")
                continue
            path = response.url.path
            status = response.status_code
            throttled = status == 429 or (
                status == 403 and _THROTTLED_BODY in response.text.lower()
            )
            self.throttle.note(_header_float(response, "X-Rate-Limit-Remaining"),
                               _header_float(response, "X-Request-Cost"))
            self.throttle.answered(number, throttled)
            log.debug("GET %s -> %d (cost %s, remaining %s)", path, status,
                      response.headers.get("X-Request-Cost"),
                      response.headers.get("X-Rate-Limit-Remaining"))
            if status < 300:
                return response
            if status == 401:
                raise self._unauthorized(response)
            if status == 404:
                raise NotFoundError(
                    f"Canvas has no {_name_in_path(path)} that this token can see "
                    f"(GET {path} answered 404): check the id"
                )
            if status == 403 and not throttled:
                raise CanvasApiError(
                    f"GET {path}: Canvas refused (403 Forbidden: {self._describe(response)}); "
                    "the token's user lacks the permission for this. Use a token of a user "
                    "who may read it (an account admin for account-wide fetches).",
                    status=status,
                    path=path,
                )
            if not (throttled or status >= 500):
                raise CanvasApiError(
                    f"GET {path}: Canvas answered {status} {response.reason_phrase} "
                    f"({self._describe(response)})",
                    status=status,
                    path=path,
                )
            what = "throttled (rate limit exceeded)" if throttled else f"{status} server error"
            if attempt >= self.max_retries:
                hint = (
                    "wait a few minutes, or fetch with a lower --concurrency"
                    if throttled
                    else "Canvas may be down; try again later"
                )
                raise CanvasApiError(
                    f"GET {path}: {what} on each of {attempt + 1} attempts; {hint}",
                    status=status,
                    path=path,
                )
            attempt += 1
            self._backoff(attempt, f"GET {path}: {what}", _retry_after(response))

    def _backoff(self, attempt: int, why: str, retry_after: float | None = None) -> None:
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)
        # Canvas's own word, when it gives one, and at least the bucket's refill.
        delay = max(delay, retry_after or 0.0, self.throttle.take_pause())
        log.warning("%s; retry %d of %d in %.1fs", why, attempt, self.max_retries, delay)
        self._sleep(delay)

    def _unauthorized(self, response: httpx.Response) -> TrackerError:
        """A 401 is a bad token, unless Canvas says the user may not do this."""
        path = response.url.path
        body = _json_or_none(response)
        if (
            "www-authenticate" not in response.headers
            and isinstance(body, dict)
            and body.get("status") == "unauthorized"
        ):
            return CanvasApiError(
                f"GET {path}: Canvas refused (401: {self._describe(response)}); the token's "
                "user lacks the permission for this. Use a token of a user who may read it.",
                status=401,
                path=path,
            )
        return ConfigurationError(f"GET {path}: Canvas answered 401 Unauthorized: {_TOKEN_HINT}")

    def _json(self, response: httpx.Response) -> Any:
        content = response.content.removeprefix(b"while(1);")  # Canvas's JSON-hijack guard
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            raise CanvasApiError(
                f"GET {response.url.path}: the answer is not JSON "
                f"({response.headers.get('content-type', 'no content type')}): "
                f"is {self.base_url} the Canvas address?",
                status=response.status_code,
                path=response.url.path,
            ) from None

    def _describe(self, response: httpx.Response) -> str:
        """A short, token-free account of an error body."""
        body = _json_or_none(response)
        text = ""
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list):
                text = "; ".join(
                    str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
                )
            elif errors is not None:
                text = str(errors)
            elif "message" in body or "error" in body:
                text = str(body.get("message") or body.get("error"))
        if not text:
            text = response.text
        text = " ".join(self._scrub(text).split())
        return (text[:200] + "…") if len(text) > 200 else (text or "no body")


def _unwrap_list(data: Any, path: str) -> list[Any]:
    """A list endpoint's items: the list itself or the one list it is wrapped in."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        meta = data.get("meta")
        primary = meta.get("primaryCollection") if isinstance(meta, dict) else None
        if isinstance(primary, str) and isinstance(data.get(primary), list):
            return data[primary]  # type: ignore[no-any-return]
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    raise CanvasApiError(
        f"GET {path}: expected a list (or an object wrapping one list), got "
        f"{type(data).__name__}: is the path a Canvas list endpoint?",
        path=path,
    )


def _name_in_path(path: str) -> str:
    """What a 404 most likely names: ``course 42``, else the path itself."""
    segments = [s for s in path.split("/") if s]
    found = ""
    for kind, value in itertools.pairwise(segments):
        if kind in _ID_SEGMENTS and value not in _ID_SEGMENTS:
            found = f"{_ID_SEGMENTS[kind]} {value}"
    return found or f"resource at {path}"


def _header_float(response: httpx.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date), when given."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    answered = canvas_date(response)
    if answered is None or moment.tzinfo is None:
        return None
    return max(0.0, (moment - answered).total_seconds())


def canvas_date(response: httpx.Response) -> datetime | None:
    """The moment Canvas answered, by its own clock (the ``Date`` header), if it says."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


