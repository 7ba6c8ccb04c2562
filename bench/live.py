"""The live step: tracker syncing from a Canvas-like server of the bench's own (:mod:`bench.canvas`).

On a fresh database (a copy of ``migrated``), with the server in a process of its own
serving the sample school at a fixed delay a request and behind Canvas's leaky bucket,
three syncs run one after the other, each a measured child step (``tracker sync
--canvas-url URL --account ID --json``, :mod:`bench.child`):

1. ``live.full``: a full sync of revision 0;
2. ``live.incremental_unchanged``: ``--incremental``, nothing changed (the nightly case);
3. ``live.incremental_changed``: the server switched to revision 1 (about 1% of the
   scores regraded), ``--incremental``; then every score of revision 1's submissions file
   is compared with ``canvas.submissions`` (``info["score_mismatches"]`` must be 0).

Each run's client CPU (the ``tracker`` command's) and the WAL it wrote are measured as
any step's (:mod:`bench.child`; not its backends' CPU: its connections are its own), the
sizes of the tables read after it. Its requests, the most in flight at once, throttled
answers and requests per endpoint are the server's counters (the truth, whatever the fetch reports of itself).
Beside them: the sequential ceiling (requests × delay: one request at a time could not
be faster), the concurrent floor (the ceiling ÷ the concurrency: the fetch's
``--concurrency`` when given, else the most in flight the server saw) and the speed-up
over the ceiling (of the fetch's own seconds, as the sync reports them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench import child, data, server
from bench.canvas import DEFAULT_TOKEN, CanvasProcess
from bench.results import PEAK_MEMORY_MAX_MB, Measurement, Results, Target

#: The live sync issue's targets, at 1,000,000 submissions and 100 ms a request.
FULL_MAX_SECONDS = 480.0
SPEEDUP_MIN = 5.0
THROTTLED_MAX = 0.01
INCREMENTAL_MAX_SECONDS = 120.0
INCREMENTAL_REQUESTS_MAX = 0.5  # of the full fetch's

DEFAULT_DELAY = 0.1

#: (key, label, incremental, the revision the server serves).
RUNS = (
    ("live.full", "live: full sync, revision 0", False, 0),
    ("live.incremental_unchanged", "live: incremental, nothing changed", True, 0),
    ("live.incremental_changed", "live: incremental after revision 1 (1% regraded)", True, 1),
)


@dataclass(frozen=True)
class Figures:
    """One live run's figures beside its bounds (from a measurement's ``info``)."""

    seconds: float
    fetch_seconds: float
    requests: int
    max_in_flight: int
    throttled: int
    delay: float
    concurrency: int

    @classmethod
    def of(cls, m: Measurement) -> Figures:
        info = m.info
        return cls(seconds=m.median, fetch_seconds=info["fetch"]["seconds"],
                   requests=info["requests"], max_in_flight=info["max_in_flight"],
                   throttled=info["throttled"], delay=info["delay"],
                   concurrency=info["concurrency"])

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    @property
    def ceiling(self) -> float:
        """Seconds one request at a time would take at least: requests × delay."""
        return self.requests * self.delay

    @property
    def floor(self) -> float:
        """Seconds ``concurrency`` requests at a time would take at least."""
        return self.ceiling / max(self.concurrency, 1)

    @property
    def speedup(self) -> float | None:
        """The ceiling over the fetch's seconds; None without a delay."""
        seconds = self.fetch_seconds
        return self.ceiling / seconds if self.delay > 0 and seconds > 0 else None


def account_of(bundle: data.Bundle) -> int:
    """The account that holds every course of the sample: its courses' root account."""
    with open(bundle.path / "courses.ndjson", "rb") as f:
        course = orjson.loads(f.readline())
    return int(course.get("root_account_id") or course["account_id"])


def measure(srv: server.Server, migrated: str, rev0: data.Bundle, rev1: data.Bundle, *,
            delay: float, concurrency: int | None,
            progress: Callable[[str], None]) -> list[Measurement]:
    """The three live runs (see the module's docstring) on one fresh copy of ``migrated``."""
    name = srv.name("live")
    url = server.create_database(srv, name, template=migrated)
    out = []
    progress(f"live: starting the Canvas-like server (revision 0, {delay * 1000:g} ms a request)")
    try:
        with CanvasProcess(rev0.path, revision=0, delay=delay) as canvas:
            for key, label, incremental, revision in RUNS:
                if revision != canvas.stats()["revision"]:
                    progress(f"live: switching the server to revision {revision}")
                    canvas.load(rev1.path, revision=revision, previous=rev0.path)
                canvas.reset()
                progress(f"{label}: running")
                out.append(_run(url, canvas, key, label, account_of(rev0), delay=delay,
                                incremental=incremental, concurrency=concurrency))
                progress(f"{label}: {out[-1].median:.2f} s, {out[-1].info['requests']:,} "
                         f"requests, {out[-1].peak_mb:.0f} MB")
        mismatches = score_mismatches(url, rev1.path / "submissions.ndjson")
        out[-1] = replace(out[-1], info={**out[-1].info, "score_mismatches": mismatches})
    finally:
        server.drop_database(srv, name)
    return out


def _run(url: str, canvas: CanvasProcess, key: str, label: str, account: int, *, delay: float,
         incremental: bool, concurrency: int | None) -> Measurement:
    before = server.row_counters(url)
    result = child.run_step("tracker_live_sync", url=url, canvas_url=canvas.url,
                            account=account, token=DEFAULT_TOKEN, incremental=incremental,
                            concurrency=concurrency)
    stats = canvas.stats()
    # the CLI names its connections "tracker"; the live database has no other client
    changes = server.settled_changes(url, before, application_name="tracker",
                                     moved="tracker.sync_runs")
    info: dict[str, Any] = {
        **result.info, "requests": stats["requests"], "max_in_flight": stats["max_in_flight"],
        "throttled": stats["throttled"], "endpoints": stats["endpoints"], "delay": delay,
        "concurrency": concurrency or stats["max_in_flight"],
        "concurrency_given": concurrency is not None, "incremental": incremental}
    return Measurement(
        key=key, label=label, group="live", rows=result.rows, seconds=[result.seconds],
        peak_mb=result.peak_kb / 1024, changes=server.by_schema(changes),
        table_changes={t: list(c) for t, c in sorted(changes.items())}, info=info,
        same_data=False, client_cpu_seconds=result.cost.get("client_cpu_seconds"),
        wal_bytes=result.cost.get("wal_bytes"), sizes=server.sizes(url))


def score_mismatches(url: str, submissions: Path) -> int:
    """Submissions of the file whose score the database does not hold (or that it lacks)."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE wanted (id bigint PRIMARY KEY, score numeric)")
        with cur.copy("COPY wanted (id, score) FROM STDIN") as copy, \
                open(submissions, "rb") as f:
            for line in f:
                if line.strip():
                    s = orjson.loads(line)
                    score = s.get("score")
                    copy.write_row((s["id"], None if score is None else repr(score)))
        cur.execute("SELECT count(*) FROM wanted w LEFT JOIN canvas.submissions s USING (id)"
                    " WHERE s.id IS NULL OR s.score IS DISTINCT FROM w.score")
        row = cur.fetchone()
        return int(row[0]) if row else -1


def targets(results: Results) -> list[Target]:
    """The live sync issue's targets, from the live runs (not measured without them)."""
    full, unchanged, changed = (results.get(key) for key, *_ in RUNS)
    out = []

    def target(name: str, wanted: str, m: Measurement | None,
               check: Callable[[Measurement, Figures], tuple[str, bool | None]]) -> None:
        if m is None:
            out.append(Target(name, wanted, "not measured (--live)", None))
        else:
            out.append(Target(name, wanted, *check(m, Figures.of(m))))

    target("live full sync, fetch and write", f"≤ {FULL_MAX_SECONDS:g} s", full,
           lambda m, f: (f"{f.seconds:,.1f} s", f.seconds <= FULL_MAX_SECONDS))
    target("live full sync, speed-up over one request at a time",
           f"≥ {SPEEDUP_MIN:g}× (requests × delay ÷ seconds)", full,
           lambda m, f: ("no delay: not meaningful", None) if f.speedup is None else
           (f"{f.speedup:.1f}× ({f.ceiling:,.0f} s ÷ {f.fetch_seconds:,.1f} s)",
            f.speedup >= SPEEDUP_MIN))
    target("live full sync, throttled answers", f"≤ {THROTTLED_MAX:.0%} of requests", full,
           lambda m, f: (f"{f.throttled:,} of {f.requests:,} ({f.throttled_share:.2%})",
                         f.throttled_share <= THROTTLED_MAX))
    target("live nightly incremental sync, nothing changed",
           f"≤ {INCREMENTAL_MAX_SECONDS:g} s", unchanged,
           lambda m, f: (f"{f.seconds:,.1f} s", f.seconds <= INCREMENTAL_MAX_SECONDS))

    def share(m: Measurement, f: Figures) -> tuple[str, bool | None]:
        if full is None:
            return "no full sync to compare with", None
        whole = Figures.of(full).requests
        return (f"{f.requests:,} of {whole:,} ({f.requests / whole:.0%})",
                f.requests <= INCREMENTAL_REQUESTS_MAX * whole)

    target("live incremental sync after revision 1: requests",
           f"≤ {INCREMENTAL_REQUESTS_MAX:.0%} of the full fetch's", changed, share)
    target("live incremental sync after revision 1: every regraded score lands",
           "0 scores differ from revision 1's file", changed,
           lambda m, f: (f"{m.info['score_mismatches']:,} differ",
                         m.info["score_mismatches"] == 0))
    runs = [m for m in (full, unchanged, changed) if m is not None]
    peak = max((m.peak_mb for m in runs), default=None)
    out.append(Target("peak memory of the live syncs", f"< {PEAK_MEMORY_MAX_MB:g} MB",
                      "not measured (--live)" if peak is None else f"{peak:.0f} MB",
                      None if peak is None else peak < PEAK_MEMORY_MAX_MB))
    return out
