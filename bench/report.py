"""The results for a person (a table on the terminal) and for a script (JSON, one file a run).

Both hold the same figures, for each shape measured: method, rows, median seconds and
the spread, rows per second, peak memory, rows written in layers 0–2, and the ratio to
the floor — full rows (the targets' reference) and typed columns only; what each step
cost beyond its time (client and server CPU, WAL) and the sizes of the tables it left;
the slowest statements of each sync; the live syncs' requests, throttling and bounds; the
queries; the targets. When a run measured both shapes, the targets, the syncs' ratios and the
queries' p95 are also shown side by side.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.live import Figures
from bench.results import Measurement, Results

#: Bumped when the JSON's structure changes, so comparisons across commits can tell
#: (2: one entry of ``runs`` per shape, each sync's slowest statements; 3: each step's
#: CPU, WAL and sizes, the client's CPU no longer in a sync's ``info``).
JSON_FORMAT = 3


def _ratio(m: Measurement, floor: Measurement | None) -> float | None:
    """``m``'s median over the floor's; None for a measurement on other data (the ×2 bundle)."""
    if floor is None or floor.median <= 0 or not m.same_data:
        return None
    return m.median / floor.median


def as_dict(runs: list[Results]) -> dict[str, Any]:
    """The results of every shape as plain JSON data: what they share, then each shape's."""
    return {
        "format": JSON_FORMAT,
        "command": runs[0].command,
        "machine": runs[0].machine,
        "runs": [run_dict(r) for r in runs],
    }


def run_dict(results: Results) -> dict[str, Any]:
    """One shape's results as plain JSON data."""
    floor, typed = results.get("floor.full_rows"), results.get("floor.typed_columns")
    measurements = []
    for m in results.measurements:
        measurements.append({
            "key": m.key,
            "label": m.label,
            "group": m.group,
            "rows": m.rows,
            "runs": len(m.seconds),
            "seconds": [round(s, 4) for s in m.seconds],
            "median_seconds": round(m.median, 4),
            "min_seconds": round(min(m.seconds), 4),
            "max_seconds": round(max(m.seconds), 4),
            "rows_per_second": round(m.rows / m.median) if m.median > 0 else None,
            "peak_mb": round(m.peak_mb, 1),
            "ratio_to_floor": _round(_ratio(m, floor)),
            "ratio_to_floor_typed": _round(_ratio(m, typed)),
            "extrapolated": m.sample_rows is not None,
            "sample_rows": m.sample_rows,
            "measured_seconds": [round(s, 4) for s in m.measured_seconds],
            "written_layers_0_2": m.written,
            "changes": m.changes,
            "table_changes": m.table_changes,
            "client_cpu_seconds": m.client_cpu_seconds,
            "server_cpu_seconds": m.server_cpu_seconds,
            "client_busy": _round(m.client_busy),
            "wal_bytes": m.wal_bytes,
            "sizes": m.sizes,
            "statements": [dataclasses.asdict(st) for st in m.statements],
            "info": m.info,
        })
    return {
        "shape": results.shape,
        "scale": dataclasses.asdict(results.scale),
        "repeat": results.repeat,
        "started_at": results.started_at,
        "seconds": round(results.seconds, 1),
        "bundle": results.bundle,
        "measurements": measurements,
        "queries": [dataclasses.asdict(q) for q in results.queries],
        "targets": [dataclasses.asdict(t) for t in results.targets],
        "notes": results.notes,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def write_json(runs: list[Results], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_dict(runs), indent=2, ensure_ascii=False) + "\n")


def print_results(runs: list[Results], console: Console) -> None:
    """Each shape's figures (see :func:`print_shape`), then the shapes side by side."""
    first = runs[0]
    facts = first.machine
    console.print(
        f"[bold]tracker benchmark[/bold], scale {first.scale.name}, "
        f"{' and '.join(r.shape for r in runs)}, {first.repeat} run(s) each, "
        f"{first.started_at}\n"
        f"{facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB; {facts['postgresql']}"
        f" ({facts['server']}); Python {facts['python']}; commit {facts['commit'] or 'unknown'}",
        highlight=False)
    for results in runs:
        print_shape(results, console)
    if len(runs) > 1:
        for title, (headers, rows) in side_by_side(runs).items():
            console.print(_table(title, headers, rows))
    console.print(f"finished in {sum(r.seconds for r in runs):.0f} s", highlight=False)


def print_shape(results: Results, console: Console) -> None:
    """One shape's figures as tables: measurements, the syncs' steps and slowest
    statements, queries, targets, then the notes."""
    console.print(measurement_table(results))
    for title, (headers, rows) in cost_tables(results).items():
        console.print(_table(title, headers, rows))
    phases = phase_table(results)
    if phases is not None:
        console.print(phases)
    headers, rows = statement_rows(results)
    if rows:
        console.print(_table(f"{results.scale.title}: the slowest statements of each step "
                             "(first run)", headers, rows))
    headers, rows = live_rows(results)
    if rows:
        console.print(_table(live_title(results), headers, rows))
    if results.queries:
        queries = Table(title=f"{results.scale.title}: queries (after ANALYZE)",
                        title_justify="left")
        for name in ("query", "from", "runs", "p50 ms", "p95 ms", "first run ms", "rows"):
            queries.add_column(name, justify="left" if name in ("query", "from") else "right")
        for q in results.queries:
            queries.add_row(q.name, q.source, str(q.runs), f"{q.p50_ms:.2f}", f"{q.p95_ms:.2f}",
                            f"{q.first_ms:.2f}", f"{q.rows:,}")
        console.print(queries)
    targets = Table(title=f"{results.scale.title}: targets of the sync, queries and live sync "
                          "issues (set at 1,000,000 submissions)", title_justify="left")
    for name in ("target", "wanted", "got", "met"):
        targets.add_column(name)
    for t in results.targets:
        met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "—"}[t.met]
        targets.add_row(t.name, t.wanted, t.got, met)
    console.print(targets)
    for note in results.notes:
        console.print(f"note: {note}", highlight=False)


HEADERS = ("method", "rows", "median s", "spread s", "rows/s", "peak MB", "written L0–2",
           "× floor", "× floor (typed)")


def measurement_rows(results: Results) -> list[list[str]]:
    """One row of text per measurement, under :data:`HEADERS`; ``~`` marks extrapolated figures."""
    floor, typed = results.get("floor.full_rows"), results.get("floor.typed_columns")
    rows = []
    for m in results.measurements:
        approx = "~" if m.sample_rows else ""
        label = m.label + (f" (~ from {m.sample_rows:,} rows)" if m.sample_rows else "")
        spread = f"{min(m.seconds):.2f}–{max(m.seconds):.2f}" if len(m.seconds) > 1 else "—"
        ratio, ratio_typed = _ratio(m, floor), _ratio(m, typed)
        rows.append([
            label, f"{approx}{m.rows:,}", f"{approx}{m.median:.2f}", spread,
            f"{approx}{m.rows / m.median:,.0f}" if m.median > 0 else "—",
            f"{m.peak_mb:.0f}", f"{approx}{m.written:,}",
            f"{ratio:.2f}" if ratio is not None else "—",
            f"{ratio_typed:.2f}" if ratio_typed is not None else "—"])
    return rows


COST_HEADERS = ("method", "client CPU s", "server CPU s", "client busy", "WAL", "WAL a row")


def cost_rows(results: Results) -> list[list[str]]:
    """What each measurement cost beyond its time, under :data:`COST_HEADERS`: the client's
    and the step's backend's CPU seconds, the client's CPU as a share of the wall time,
    the WAL written, in all and a row; ``—`` where not read, ``~`` where extrapolated."""
    rows = []
    for m in results.measurements:
        approx = "~" if m.sample_rows else ""

        def cpu(value: float | None) -> str:
            return "—" if value is None else f"{approx}{value:,.2f}"  # noqa: B023

        busy = m.client_busy
        rows.append([
            m.label, cpu(m.client_cpu_seconds), cpu(m.server_cpu_seconds),
            "—" if busy is None else f"{busy:.0%}",
            "—" if m.wal_bytes is None else approx + _bytes(m.wal_bytes),
            "—" if m.wal_bytes is None or not m.rows else f"{approx}{m.wal_bytes / m.rows:,.0f} B"])
    return rows


#: The sizes table's columns after the first: the submissions table, then the layers
#: (schemas) a sync writes, each table and indexes together.
SIZE_HEADERS = ("method", "submissions table", "its indexes", "layer 1 (canvas)",
                "layer 2 (history)", "layer 0 (lifecycle)", "journal (tracker)")
SIZE_SCHEMAS = ("canvas", "history", "lifecycle", "tracker")

#: The submissions table a step loads: tracker's, or the typed-only floor's copy of it.
SUBMISSIONS_TABLES = ("canvas.submissions", "bench.submissions_typed")


def size_rows(results: Results) -> list[list[str]]:
    """The sizes of what each measurement left (its first run), under :data:`SIZE_HEADERS`:
    the submissions table it loaded (the larger of :data:`SUBMISSIONS_TABLES`) and its
    indexes, then each layer's tables and indexes together; ``~``: extrapolated."""
    rows = []
    for m in results.measurements:
        if not m.sizes:
            continue
        approx = "~" if m.sample_rows else ""
        table, indexes = max((m.sizes.get(t, [0, 0]) for t in SUBMISSIONS_TABLES), key=sum)
        layers = [sum(m.sizes.get(s, [0, 0])) for s in SIZE_SCHEMAS]
        rows.append([m.label] + [approx + _bytes(n) for n in (table, indexes, *layers)])
    return rows


def cost_tables(results: Results) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The cost and the sizes tables of ``results``, by title (headers and rows)."""
    title = results.scale.title
    return {
        f"{title}: what each step cost beyond its time (median run)":
            (list(COST_HEADERS), cost_rows(results)),
        f"{title}: sizes after each step (first run; tables and indexes)":
            (list(SIZE_HEADERS), size_rows(results)),
    }


def _bytes(n: int) -> str:
    """``n`` bytes in kB, MB or GB (of 1,024)."""
    if abs(n) < 2**20:
        return f"{n / 2**10:,.0f} kB"
    if abs(n) < 2**30:
        return f"{n / 2**20:,.1f} MB"
    return f"{n / 2**30:,.2f} GB"


def measurement_table(results: Results) -> Table:
    table = Table(title=f"{results.scale.title}: {results.bundle['records']['submissions']:,} "
                        f"submissions, {results.scale.courses:,} courses", title_justify="left")
    for name in HEADERS:
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in measurement_rows(results):
        table.add_row(*row)
    return table


def phase_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Where each sync's time went (its first run), step by step: the headers and rows.

    Steps under 2% of every sync's time are summed as "other steps"; the last rows are the
    CPU time of the client (the Python process) and of the sync's backend, the rest of the
    time being the server's other processes' or waiting.
    """
    syncs = [m for m in results.measurements
             if m.group == "tracker" and "phases" in m.info and not m.key.endswith("_double")]
    if not syncs:
        return [], []
    names: list[str] = []
    for m in syncs:
        names += [n for n in m.info["phases"] if n not in names]
    big = [n for n in names if any(m.info["phases"].get(n, 0) >= 0.02 * m.seconds[0]
                                   for m in syncs)]
    rows = [[n] + [f"{m.info['phases'].get(n, 0):.2f}" for m in syncs] for n in big]
    rows.append(["other steps"] + [
        f"{sum(v for n, v in m.info['phases'].items() if n not in big):.2f}" for m in syncs])
    rows.append(["client CPU (Python)"] + [_seconds(m.client_cpu_seconds) for m in syncs])
    rows.append(["server CPU (its backend)"] + [_seconds(m.server_cpu_seconds) for m in syncs])
    headers = ["step (seconds, first run)"] + [m.label.removeprefix("tracker: ") for m in syncs]
    return headers, rows


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def phase_table(results: Results) -> Table | None:
    headers, rows = phase_rows(results)
    if not rows:
        return None
    return _table(f"{results.scale.title}: where the sync's time goes", headers, rows)


def statement_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """The slowest statements of each sync and of the undo (their first run): the
    headers and rows, the slowest first within each step."""
    rows = [[m.label.removeprefix("tracker: "), st.name, f"{st.ms:,.1f}",
             "—" if st.rows is None else f"{st.rows:,}"]
            for m in results.measurements if not m.key.endswith("_double")
            for st in m.statements]
    return ["step", "statement", "ms", "rows"], rows


def live_title(results: Results) -> str:
    delays = {m.info["delay"] for m in results.measurements if m.group == "live"}
    return (f"{results.scale.title}: live syncs from the Canvas-like server "
            f"({', '.join(f'{d * 1000:g}' for d in sorted(delays))} ms a request)")


def live_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """The live syncs: seconds (the fetch's, when the sync reports them), requests, the most
    in flight, throttled answers, the sequential ceiling and the concurrent floor, the
    speed-up over the ceiling, peak memory."""
    headers = ["live sync", "seconds", "fetch s", "requests", "most in flight", "throttled",
               "ceiling s (req × delay)", "floor s (÷ concurrency)", "speed-up", "peak MB"]
    rows = []
    for m in results.measurements:
        if m.group != "live":
            continue
        f = Figures.of(m)
        given = "" if m.info.get("concurrency_given") else " most"
        rows.append([
            m.label.removeprefix("live: "), f"{f.seconds:.2f}",
            f"{f.fetch_seconds:.2f}",
            f"{f.requests:,}", f"{f.max_in_flight}",
            f"{f.throttled:,} ({f.throttled_share:.1%})", f"{f.ceiling:,.1f}",
            f"{f.floor:,.1f} (÷{f.concurrency}{given})",
            "—" if f.speedup is None else f"{f.speedup:.1f}×", f"{m.peak_mb:.0f}"])
    return headers, rows


def side_by_side(runs: list[Results]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The shapes side by side, by title: the targets, the syncs' ratios to the floor,
    each step's CPU and WAL, the queries' p95 and the live syncs (headers and rows); a
    table with no rows left out."""
    def ratio(m: Measurement, r: Results) -> str:
        found = _ratio(m, r.get("floor.full_rows"))
        return f"{m.median:.2f} s" + ("" if found is None else f" ({found:.2f}×)")

    met = {True: "yes", False: "no", None: "—"}
    tables: dict[str, tuple[Callable[[Results], dict[str, str]], str]] = {
        "targets": (lambda r: {f"{t.name} ({t.wanted})": f"{t.got}: {met[t.met]}"
                               for t in r.targets}, "target (wanted)"),
        "tracker (× the full-row floor)": (
            lambda r: {m.label: ratio(m, r) for m in r.measurements if m.group == "tracker"},
            "method"),
        "what each step cost (client CPU s / server CPU s, WAL)": (
            lambda r: {m.label: f"{_seconds(m.client_cpu_seconds)} / "
                                f"{_seconds(m.server_cpu_seconds)}, {_bytes(m.wal_bytes)}"
                       for m in r.measurements if m.wal_bytes is not None}, "method"),
        "queries, p95 ms": (lambda r: {q.name: f"{q.p95_ms:.2f}" for q in r.queries}, "query"),
        "live syncs (seconds, requests)": (
            lambda r: {m.label: f"{m.median:.2f} s, {m.info['requests']:,}"
                       for m in r.measurements if m.group == "live"}, "live sync"),
    }
    out = {}
    scale = runs[0].scale.name
    for title, (cells_of, what) in tables.items():
        cells = [cells_of(r) for r in runs]
        names: list[str] = []
        for c in cells:
            names += [n for n in c if n not in names]
        rows = [[n] + [c.get(n, "—") for c in cells] for n in names]
        if not rows:
            continue
        out[f"{scale}, the shapes side by side: {title}"] = ([what] + [r.shape for r in runs],
                                                             rows)
    return out


#: Columns of text, left-aligned, by their header (the first column always is).
TEXT_COLUMNS = ("statement",)


def _table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(headers):
        table.add_column(name, justify="left" if i == 0 or name in TEXT_COLUMNS else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown(runs: list[Results]) -> str:
    """For BENCHMARKS.md: each shape's measurements and slowest statements, then the
    shapes side by side, as Markdown tables."""
    parts = []
    for results in runs:
        parts.append(f"**{results.scale.title}**: {results.scale.courses:,} courses\n\n"
                     + _markdown_table(list(HEADERS), measurement_rows(results)))
        for title, (headers, rows) in cost_tables(results).items():
            if rows:
                parts.append(f"**{title}**\n\n" + _markdown_table(headers, rows))
        headers, rows = statement_rows(results)
        if rows:
            parts.append(_markdown_table(headers, rows))
        headers, rows = live_rows(results)
        if rows:
            parts.append(f"**{live_title(results)}**\n\n" + _markdown_table(headers, rows))
    if len(runs) > 1:
        for title, (headers, rows) in side_by_side(runs).items():
            parts.append(f"**{title}**\n\n" + _markdown_table(headers, rows))
    return "\n\n".join(parts)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    aligned = ["---" if i == 0 or h in TEXT_COLUMNS else "--:" for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligned) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
