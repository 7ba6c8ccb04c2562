"""What a benchmark run found: each measurement, the targets checked, one shape's results."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.queries import QueryTiming
from bench.scales import Scale
from tracker.monitor import Execution

#: Layers 0, 1 and 2: what an unchanged re-sync must not write.
SYNCED_LAYERS = ("lifecycle", "canvas", "history")

#: The sync issues' memory target: the peak of any sync, however large the account.
PEAK_MEMORY_MAX_MB = 300.0


@dataclass(frozen=True)
class Measurement:
    """One method measured ``len(seconds)`` times (or measured on a sample and extrapolated)."""

    key: str
    label: str
    group: str  # floor, tracker, peer or live
    rows: int
    seconds: list[float]
    """Per run; extrapolated to ``rows`` when ``sample_rows`` is set."""
    peak_mb: float
    """The largest maximum resident set size of the process over the runs."""
    sample_rows: int | None = None
    """Measured on this many rows, the time extrapolated linearly to ``rows``."""
    measured_seconds: list[float] = field(default_factory=list)
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    """Rows inserted, updated, deleted per schema (the largest over the runs)."""
    table_changes: dict[str, list[int]] = field(default_factory=dict)
    """Per table, [inserted, updated, deleted] (the first run's)."""
    info: dict[str, Any] = field(default_factory=dict)
    same_data: bool = True
    """False for a measurement on another bundle than the floor's (no ratio to it)."""
    statements: list[Execution] = field(default_factory=list)
    """A sync's or an undo's slowest statements (the first run's), the slowest first."""
    client_cpu_seconds: float | None = None
    """The client's CPU time (:mod:`bench.child`), the median over the runs, extrapolated
    with the time; so are the two below. None: not read."""
    server_cpu_seconds: float | None = None
    """The CPU time of the step's backend."""
    wal_bytes: int | None = None
    """WAL written during the step (cluster-wide)."""
    sizes: dict[str, list[int]] = field(default_factory=dict)
    """After the first run, [table bytes, index bytes] per schema and per table
    (:func:`bench.server.sizes`); extrapolated, its growth over the template's."""

    @property
    def client_busy(self) -> float | None:
        """The client's CPU time as a share of the wall time."""
        if self.client_cpu_seconds is None or self.median <= 0:
            return None
        return self.client_cpu_seconds / self.median

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def written(self) -> int:
        """Rows inserted, updated or deleted in layers 0, 1 and 2 (extrapolated with the time)."""
        total = sum(sum(self.changes.get(s, {}).values()) for s in SYNCED_LAYERS)
        return round(total * self.rows / self.sample_rows) if self.sample_rows else total


@dataclass(frozen=True)
class Target:
    """One of the sync issue's targets and whether this run met it (None: not measured)."""

    name: str
    wanted: str
    got: str
    met: bool | None


@dataclass(frozen=True)
class Results:
    scale: Scale
    repeat: int
    command: str
    started_at: str
    seconds: float
    machine: dict[str, Any]
    bundle: dict[str, Any]
    measurements: list[Measurement]
    queries: list[QueryTiming]
    targets: list[Target]
    notes: list[str]

    @property
    def shape(self) -> str:
        return self.scale.shape

    def get(self, key: str) -> Measurement | None:
        return next((m for m in self.measurements if m.key == key), None)
