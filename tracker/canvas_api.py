"""Fetching a live Canvas into a bundle directory: the HTTP client and the fetch.

A live sync fetches from Canvas into a bundle (one ``.ndjson`` file per kind of
object, one Canvas API object per line, exactly as ``/api/v1`` returns it) and
then syncs that bundle like any other. This module holds the first half:

- ``CanvasClient``: one object (``get``) or every item of a paginated list
  (``paginate``) over Canvas's REST API, sequentially, with backoff on
  throttling, server errors and dropped connections, and clear errors for a bad
  token, a missing permission or an unknown course.
- ``fetch_bundle``: writes the eight bundle files for some courses or for an
  account (optionally one term), streaming to disk page by page.

Pagination follows the ``Link`` header's ``rel="next"`` URL as an opaque URL
(Canvas pages some endpoints by bookmark), and only to the host the client was
given: the token is never sent anywhere else.

Throttling: Canvas answers ``403`` with the text ``403 Forbidden (Rate Limit
Exceeded)`` when the token's bucket is empty; that is retried with jittered
exponential backoff. Before it comes to that, when ``X-Rate-Limit-Remaining``
falls below ``low_water`` the client waits long enough for the bucket to drain
back up to it (Canvas drains 10 units a second by default).

The token never appears in a message, a log line or an exception: every text
built from a response is scrubbed of it.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx
import orjson

from tracker.errors import ConfigurationError, NotFoundError, TrackerError
from tracker.kinds import NAMES

log = logging.getLogger(__name__)

__all__ = [
    "CanvasApiError",
    "CanvasClient",
    "fetch_bundle",
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


class CanvasClient:
    """A sequential client for Canvas's REST API, authenticated with a bearer token.

    ``base_url`` is the Canvas address (``https://canvas.example.edu``; a trailing
    ``/api/v1`` is accepted). Paths given to ``get`` and ``paginate`` are either
    absolute (``/api/v1/courses/42``) or relative to ``/api/v1/`` (``courses/42``).

    ``max_retries`` bounds the retries of one request (throttled, 5xx, dropped
    connection); ``timeout`` is per request in seconds; ``low_water`` is the
    ``X-Rate-Limit-Remaining`` below which the client pauses before its next
    request. ``sleep`` is called for every wait (tests pass a recorder).

    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        per_page: int = 100,
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
        if per_page < 1 or max_retries < 0:
            raise ValueError("per_page must be at least 1 and max_retries at least 0")
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
        self.low_water = low_water
        self._sleep = sleep
        self._pause_before_next = 0.0
        self._http = httpx.Client(
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "tracker (canvas sync)",
            },
            timeout=timeout,
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
        url: str | httpx.URL = self._url(path)
        query: Params | None = {"per_page": self.per_page, **(params or {})}
        seen: set[str] = set()
        while True:
            response = self._send(url, query)
            for item in _unwrap_list(self._json(response), response.url.path):
                if not isinstance(item, dict):
                    raise CanvasApiError(
                        f"GET {response.url.path} returned a list of {type(item).__name__}, "
                        "not of objects: is the path a Canvas list endpoint?",
                        status=response.status_code,
                        path=response.url.path,
                    )
                yield item
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
            raise ValueError("pass a path such as 'courses/42', not a full URL")
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
            if self._pause_before_next > 0:
                pause, self._pause_before_next = self._pause_before_next, 0.0
                log.info("Canvas rate limit is low; pausing %.1fs", pause)
                self._sleep(pause)
            try:
                response = self._http.get(url, params=params)
            except httpx.TransportError as exc:
                path = httpx.URL(url).path
                reason = self._scrub(f"{type(exc).__name__}: {exc}")
                if attempt >= self.max_retries:
                    raise CanvasApiError(
                        f"GET {path}: no answer from Canvas at {self.base_url} after "
                        f"{attempt + 1} attempts ({reason}); check the address and the network",
                        path=path,
                    ) from exc
                attempt += 1
                self._backoff(attempt, f"GET {path}: {reason}")
                continue
            self._note_quota(response)
            path = response.url.path
            status = response.status_code
            if status < 300:
                return response
            if status == 401:
                raise self._unauthorized(response)
            if status == 404:
                raise NotFoundError(
                    f"Canvas has no {_name_in_path(path)} that this token can see "
                    f"(GET {path} answered 404): check the id"
                )
            throttled = status == 429 or (
                status == 403 and _THROTTLED_BODY in response.text.lower()
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
                    "wait a few minutes, or fetch fewer courses at a time"
                    if throttled
                    else "Canvas may be down; try again later"
                )
                raise CanvasApiError(
                    f"GET {path}: {what} on each of {attempt + 1} attempts; {hint}",
                    status=status,
                    path=path,
                )
            attempt += 1
            self._backoff(attempt, f"GET {path}: {what}")

    def _backoff(self, attempt: int, why: str) -> None:
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)
        # A throttled answer also reports the quota: wait at least for the refill.
        delay = max(delay, self._pause_before_next)
        self._pause_before_next = 0.0
        log.warning("%s; retry %d of %d in %.1fs", why, attempt, self.max_retries, delay)
        self._sleep(delay)

    def _note_quota(self, response: httpx.Response) -> None:
        remaining = _header_float(response, "X-Rate-Limit-Remaining")
        cost = _header_float(response, "X-Request-Cost")
        log.debug(
            "GET %s -> %d (cost %s, remaining %s)",
            response.url.path,
            response.status_code,
            cost,
            remaining,
        )
        if remaining is not None and remaining < self.low_water:
            pause = (self.low_water - remaining) / RATE_LIMIT_DRAIN_PER_SECOND
            self._pause_before_next = min(pause, LOW_WATER_PAUSE_CAP_SECONDS)

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


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


# -- the fetch -------------------------------------------------------------------

#: Every enrollment state, so the sync sees enrollments that ended or vanished.
ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "deleted",
    "rejected",
    "completed",
    "inactive",
)
#: The states ``/courses/:id/users`` accepts in ``enrollment_state[]``.
USER_ENROLLMENT_STATES = ("active", "invited", "rejected", "completed", "inactive")


class _BundleWriter:
    """The eight files, written as ``*.ndjson.part`` and renamed once all is fetched."""

    def __init__(self, out_dir: Path, progress: Callable[[str, int], None] | None) -> None:
        self.out_dir = out_dir
        self.counts = dict.fromkeys(NAMES, 0)
        self._progress = progress
        self._files: dict[str, IO[bytes]] = {}
        for kind in NAMES:
            self._files[kind] = open(self._part(kind), "wb")  # noqa: SIM115 - closed in close()

    def _part(self, kind: str) -> Path:
        return self.out_dir / f"{kind}.ndjson.part"

    def write(self, kind: str, obj: Mapping[str, Any]) -> None:
        """Append one object; report progress every hundred (about a page)."""
        self._files[kind].write(orjson.dumps(obj) + b"\n")
        self.counts[kind] += 1
        if self.counts[kind] % 100 == 0:
            self.report(kind)

    def write_all(self, kind: str, items: Iterator[dict[str, Any]]) -> None:
        for item in items:
            self.write(kind, item)
        self.report(kind)

    def report(self, kind: str) -> None:
        if self._progress is not None:
            self._progress(kind, self.counts[kind])

    def commit(self) -> None:
        self.close()
        for kind in NAMES:
            self._part(kind).replace(self.out_dir / f"{kind}.ndjson")

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def discard(self) -> None:
        self.close()
        for kind in NAMES:
            self._part(kind).unlink(missing_ok=True)


def fetch_bundle(
    client: CanvasClient,
    out_dir: Path,
    *,
    course_ids: Sequence[int] | None = None,
    account_id: int | None = None,
    term_id: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Fetch courses and everything in them from Canvas into a bundle directory.

    Courses come from ``course_ids`` (``GET /courses/:id``) or, without them,
    from the account ``account_id`` (``GET /accounts/:id/courses``, only term
    ``term_id``'s when given). Terms come from the account when one is given
    (with ``term_id``, only that term), plus any course's embedded ``term`` the
    account did not list. Per course: sections, users (every enrollment state,
    with email and the test student; each user written once, the first course's
    copy), assignment groups, assignments (``override_assignment_dates=false``),
    enrollments in every state, and submissions of all students.

    Writes ``<kind>.ndjson`` for each of :data:`tracker.kinds.NAMES` (one object per line,
    as received) into ``out_dir`` (created if missing) and returns the number of
    objects per kind. The files appear only when everything was fetched; on an
    error none is left behind. ``progress(kind, count)`` is called as objects of
    a kind are written, with that kind's running total.
    """
    if course_ids is None and account_id is None:
        raise ConfigurationError("fetch_bundle needs course_ids or account_id: say what to fetch")
    if term_id is not None and (account_id is None or course_ids is not None):
        raise ConfigurationError(
            "term_id selects courses of an account: give account_id without course_ids"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle = _BundleWriter(out_dir, progress)
    try:
        _fetch_into(client, bundle, course_ids, account_id, term_id)
    except BaseException:
        bundle.discard()
        raise
    bundle.commit()
    log.info(
        "fetched from Canvas: %s",
        ", ".join(f"{n} {kind}" for kind, n in bundle.counts.items()),
    )
    return dict(bundle.counts)


def _fetch_into(
    client: CanvasClient,
    bundle: _BundleWriter,
    course_ids: Sequence[int] | None,
    account_id: int | None,
    term_id: int | None,
) -> None:
    courses: list[Any] = []  # ids only: the objects go straight to disk
    embedded_terms: dict[Any, dict[str, Any]] = {}
    for course in _courses(client, course_ids, account_id, term_id):
        bundle.write("courses", course)
        courses.append(course["id"])
        term = course.get("term")
        if isinstance(term, dict) and "id" in term:
            embedded_terms.setdefault(term["id"], term)
    bundle.report("courses")

    listed_terms: set[Any] = set()
    if account_id is not None:
        for term in client.paginate(f"accounts/{account_id}/terms", {"workflow_state[]": ["all"]}):
            if term_id is not None and term.get("id") != term_id:
                continue
            bundle.write("terms", term)
            listed_terms.add(term.get("id"))
    for tid, term in embedded_terms.items():
        if tid not in listed_terms:
            bundle.write("terms", term)
    bundle.report("terms")

    seen_users: set[Any] = set()
    for cid in courses:
        bundle.write_all("sections", client.paginate(f"courses/{cid}/sections"))
        users = client.paginate(
            f"courses/{cid}/users",
            {
                "include[]": ["enrollments", "email", "test_student"],
                "enrollment_state[]": list(USER_ENROLLMENT_STATES),
            },
        )
        for user in users:
            if user.get("id") not in seen_users:
                seen_users.add(user.get("id"))
                bundle.write("users", user)
        bundle.report("users")
        # Canvas leaves the course out of a group (it is the endpoint's): add it, so that a
        # group with no assignments can still be placed.
        bundle.write_all("assignment_groups", (
            {**group, "course_id": group.get("course_id", cid)}
            for group in client.paginate(f"courses/{cid}/assignment_groups")))
        bundle.write_all(
            "assignments",
            client.paginate(f"courses/{cid}/assignments", {"override_assignment_dates": "false"}),
        )
        enrollments = client.paginate(
            f"courses/{cid}/enrollments", {"state[]": list(ENROLLMENT_STATES)}
        )
        for enrollment in enrollments:
            bundle.write("enrollments", enrollment)
            # A user whose enrollments are all deleted is missing from /users; the
            # enrollment embeds the user's short form, which keeps the bundle whole.
            embedded = enrollment.get("user")
            uid = enrollment.get("user_id")
            if uid not in seen_users and isinstance(embedded, dict) and embedded.get("id") == uid:
                seen_users.add(uid)
                bundle.write("users", embedded)
        bundle.report("enrollments")
        bundle.report("users")
        bundle.write_all(
            "submissions",
            client.paginate(f"courses/{cid}/students/submissions", {"student_ids[]": ["all"]}),
        )


def _courses(
    client: CanvasClient,
    course_ids: Sequence[int] | None,
    account_id: int | None,
    term_id: int | None,
) -> Iterator[dict[str, Any]]:
    if course_ids is not None:
        for cid in dict.fromkeys(course_ids):  # each once, in the order given
            course = client.get(f"courses/{cid}", {"include[]": ["term"]})
            if not isinstance(course, dict) or "id" not in course:
                raise CanvasApiError(
                    f"GET /api/v1/courses/{cid} did not return a course object",
                    path=f"/api/v1/courses/{cid}",
                )
            yield course
        return
    params: dict[str, ParamValue] = {"include[]": ["term"]}
    if term_id is not None:
        params["enrollment_term_id"] = term_id
    yield from client.paginate(f"accounts/{account_id}/courses", params)
