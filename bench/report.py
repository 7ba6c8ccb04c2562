"""The results for a person (a table on the terminal) and for a script (JSON, one file a run).

Both hold the same figures: method, rows, median seconds and the spread, rows per
second, peak memory, rows written in layers 0–2, and the ratio to the floor — full rows
(the targets' reference) and typed columns only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.run import Measurement, Results

#: Bumped when the JSON's structure changes, so comparisons across commits can tell.
JSON_FORMAT = 1


def _ratio(m: Measurement, floor: Measurement | None) -> float | None:
    """``m``'s median over the floor's; None for a measurement on other data (the ×2 bundle)."""
    if floor is None or floor.median <= 0 or not m.same_data:
        return None
    return m.median / floor.median


def as_dict(results: Results) -> dict[str, Any]:
    """The results as plain JSON data."""
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
            "info": m.info,
        })
    return {
        "format": JSON_FORMAT,
        "scale": dataclasses.asdict(results.scale),
        "repeat": results.repeat,
        "command": results.command,
        "started_at": results.started_at,
        "seconds": round(results.seconds, 1),
        "machine": results.machine,
        "bundle": results.bundle,
        "measurements": measurements,
        "queries": [dataclasses.asdict(q) for q in results.queries],
        "targets": [dataclasses.asdict(t) for t in results.targets],
        "notes": results.notes,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def write_json(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_dict(results), indent=2, ensure_ascii=False) + "\n")


def print_results(results: Results, console: Console) -> None:
    """The figures as tables: measurements, queries, targets, then the notes."""
    facts = results.machine
    console.print(
        f"[bold]tracker benchmark[/bold], scale {results.scale.name}, "
        f"{results.repeat} run(s) each, {results.started_at}\n"
        f"{facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB; {facts['postgresql']}"
        f" ({facts['server']}); Python {facts['python']}; commit {facts['commit'] or 'unknown'}",
        highlight=False)
    console.print(measurement_table(results))
    phases = phase_table(results)
    if phases is not None:
        console.print(phases)
    if results.queries:
        queries = Table(title="queries (after ANALYZE)", title_justify="left")
        for name in ("query", "from", "runs", "p50 ms", "p95 ms", "first run ms", "rows"):
            queries.add_column(name, justify="left" if name in ("query", "from") else "right")
        for q in results.queries:
            queries.add_row(q.name, q.source, str(q.runs), f"{q.p50_ms:.2f}", f"{q.p95_ms:.2f}",
                            f"{q.first_ms:.2f}", f"{q.rows:,}")
        console.print(queries)
    targets = Table(title="targets of the sync and queries issues (set at 1,000,000 submissions)",
                    title_justify="left")
    for name in ("target", "wanted", "got", "met"):
        targets.add_column(name)
    for t in results.targets:
        met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "—"}[t.met]
        targets.add_row(t.name, t.wanted, t.got, met)
    console.print(targets)
    for note in results.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"finished in {results.seconds:.0f} s", highlight=False)


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


def measurement_table(results: Results) -> Table:
    table = Table(title=f"{results.scale.name}: {results.bundle['records']['submissions']:,} "
                        "submissions", title_justify="left")
    for name in HEADERS:
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in measurement_rows(results):
        table.add_row(*row)
    return table


def phase_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Where each sync's time went (its first run), step by step: the headers and rows.

    Steps under 2% of every sync's time are summed as "other steps"; the last row is the
    CPU time of the client (the Python process), the rest of the time being the server's
    or waiting.
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
    rows.append(["client CPU (Python)"] + [f"{m.info['client_cpu_seconds']:.2f}" for m in syncs])
    headers = ["step (seconds, first run)"] + [m.label.removeprefix("tracker: ") for m in syncs]
    return headers, rows


def phase_table(results: Results) -> Table | None:
    headers, rows = phase_rows(results)
    if not rows:
        return None
    table = Table(title="where the sync's time goes", title_justify="left")
    for i, name in enumerate(headers):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(results: Results) -> str:
    """The measurements as a Markdown table (for BENCHMARKS.md)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---" + "|--:" * (len(HEADERS) - 1) + "|"]
    for row in measurement_rows(results):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
