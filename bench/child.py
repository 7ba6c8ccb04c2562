"""One measured step in a child process of its own: its time and its peak memory.

The parent calls :func:`run_step`; the child (``python -m bench.child STEP FOLDER``)
reads its arguments from ``FOLDER/args.json`` (not the command line, which anyone on the
machine may read: it holds the database URL), imports what the step needs, runs it, and
writes ``{"seconds", "rows", "peak_kb", "cost", "info"}`` to ``FOLDER/result.json``. A
sync or an undo also names, in ``info["statements"]``, its :data:`SLOWEST` slowest SQL-file
statements (``tracker.monitor.watch``): name, milliseconds and rows.

``cost`` is what the work cost beyond its time (:class:`Span`), over the same span as
``seconds``: the client's CPU seconds (this process's own user and system time, plus that
of the programs it ran and waited for: psql, the ``tracker`` command), the CPU seconds of
the step's backend (``pg_backend_pid()`` on the step's connection, its ``/proc/<pid>/stat``
read before and after: None when the server is not on this machine, and for the live sync,
whose connections are the ``tracker`` command's own), and the WAL bytes written meanwhile
(``pg_current_wal_insert_lsn()`` before and after: cluster-wide, so the run measures one
step at a time).

``seconds`` covers the work only (connecting included, the interpreter's start and
imports not); ``peak_kb`` is the child's maximum resident set size, or that of the
program it ran (psql, for the floor). A live sync runs the ``tracker`` command, as an
operator would: its seconds include that command's start (about a second).

On Linux a child's own peak is read from ``/proc/self/status`` (``VmHWM``), not from
``getrusage``: the kernel carries a process's ``ru_maxrss`` over an exec, so a child
started by a large parent would report at least the parent's size. psql's peak, read
through ``RUSAGE_CHILDREN`` once it has exited, is bounded that way by its launcher's
(this child's, some 30 MB).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import server
from tracker import monitor
from tracker.errors import TrackerError

#: The folder that holds the ``bench`` package: children import it from there.
ROOT = Path(__file__).resolve().parent.parent

#: How many of a sync's statements are reported, the slowest first.
SLOWEST = 5


class StepError(TrackerError):
    """A measured step failed; the message holds the end of its error output."""


@dataclass(frozen=True)
class StepResult:
    seconds: float
    rows: int
    peak_kb: int
    cost: dict[str, Any]
    """``client_cpu_seconds``, ``server_cpu_seconds`` and ``wal_bytes`` (see the module's notes)."""
    info: dict[str, Any]


def run_step(step: str, **args: Any) -> StepResult:
    """Run ``step`` of :data:`STEPS` in a child process and return what it measured."""
    with tempfile.TemporaryDirectory(prefix="bench-step-") as tmp:
        out, err = Path(tmp) / "result.json", Path(tmp) / "stderr.txt"
        (Path(tmp) / "args.json").write_text(json.dumps(args))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        with open(err, "wb") as stderr:
            done = subprocess.run([sys.executable, "-m", "bench.child", step, tmp],
                                  stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                                  env=env, check=False)
        if done.returncode != 0 or not out.is_file():
            tail = err.read_text(errors="replace").strip().splitlines()[-15:]
            raise StepError(f"benchmark step {step} failed (exit code {done.returncode}):\n"
                            + "\n".join(f"  {line}" for line in tail))
        return StepResult(**json.loads(out.read_text()))


# -- in the child --------------------------------------------------------------------------------


class Span:
    """A step's work, measured from its making to :meth:`end`: wall seconds, the client's
    CPU and, once :meth:`on` has read where the step's connection stood, its backend's CPU
    and the WAL written."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.cpu = _cpu_seconds()
        self.mark: server.Mark | None = None

    def on(self, conn: psycopg.Connection[Any], url: str) -> None:
        """Read where the server stands on the step's connection ``conn`` (to ``url``)."""
        self.mark = server.mark(conn, local=server.is_local(url))

    def end(self, conn: psycopg.Connection[Any] | None, **result: Any) -> dict[str, Any]:
        """``result`` (``rows``, ``info``, …) with the seconds and the cost since the start;
        ``conn`` is the step's connection, still open (None: the cost on the server unread)."""
        seconds = time.perf_counter() - self.started
        cost: dict[str, Any] = {"client_cpu_seconds": round(_cpu_seconds() - self.cpu, 3),
                                "server_cpu_seconds": None, "wal_bytes": None}
        if conn is not None and self.mark is not None:
            cost.update(server.cost_since(conn, self.mark))
        return {"seconds": seconds, **result, "cost": cost}


def _tracker_sync(url: str, bundle: str, application_name: str) -> dict[str, Any]:
    """A sync, and where its time went: the wall time of each step it reports through
    its progress callback, and the CPU time this (the client's) process spent."""
    import psycopg

    from tracker import sync

    phases: dict[str, float] = {}
    step_now, step_started = "starting (connecting, loading the SQL files)", time.perf_counter()

    def progress(step: str, done: int, total: int) -> None:
        nonlocal step_now, step_started
        now = time.perf_counter()
        if step != step_now:
            phases[step_now] = phases.get(step_now, 0.0) + now - step_started
            step_now, step_started = step, now

    span = Span()
    with monitor.watch() as ran, psycopg.connect(url, application_name=application_name) as conn:
        span.on(conn, url)
        report = sync.sync_bundle(conn, Path(bundle), progress=progress)
        progress("committing", 0, 0)
        progress("", 0, 0)
        counts = {kind: vars(c) for kind, c in report.counts.items()}
        rows = sum(c["inserted"] + c["updated"] + c["unchanged"] for c in counts.values())
        return span.end(conn, rows=rows, info={
            "sync_id": report.sync_id, "changed": report.changed, "counts": counts,
            "phases": {k: round(v, 3) for k, v in phases.items()},
            "statements": _slowest(ran)})


def _slowest(ran: list[monitor.Execution]) -> list[dict[str, Any]]:
    """The :data:`SLOWEST` slowest statements of ``ran``, the slowest first."""
    slowest = sorted(ran, key=lambda e: e.ms, reverse=True)[:SLOWEST]
    return [{"name": e.name, "ms": round(e.ms, 2), "rows": e.rows} for e in slowest]


def _cpu_seconds() -> float:
    """This process's CPU seconds, and those of the children it has waited for."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _tracker_undo(url: str, application_name: str) -> dict[str, Any]:
    import psycopg

    from tracker import sync

    span = Span()
    with monitor.watch() as ran, psycopg.connect(url, application_name=application_name) as conn:
        span.on(conn, url)
        run = sync.undo(conn)
        rows = sum(int(c.get("inserted", 0)) + int(c.get("updated", 0))
                   + int(c.get("history", 0)) for c in run.counts.values())
        return span.end(conn, rows=rows,
                        info={"sync_id": run.sync_id, "statements": _slowest(ran)})


def _floor(url: str, psql: str, table: str, columns: list[str], csv: str, rows: int,
           application_name: str) -> dict[str, Any]:
    """``psql \\copy`` of the CSV file into ``table``: the time and memory of psql itself.

    psql's session also reads, around the copy, where the server stands (:data:`FLOOR_SCRIPT`):
    its backend's ``/proc`` entry (through the shell, ``\\!``) and the WAL position.
    A password in ``url`` goes to psql through its environment, not its command line."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    env = {**os.environ, "PGAPPNAME": application_name}
    if password := params.pop("password", None):
        env["PGPASSWORD"] = str(password)
    path = csv.replace("'", "''")
    script = FLOOR_SCRIPT.format(
        copy=f"\\copy {table} ({', '.join(columns)}) FROM '{path}' WITH (FORMAT csv)")
    span = Span()
    conninfo = make_conninfo("", **params)
    done = subprocess.run([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                           "-f", "-"], input=script, env=env, capture_output=True, text=True,
                          check=False)
    result = span.end(None, rows=rows, peak_kb=resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_maxrss, info={})
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    before, after, last = (done.stdout.splitlines() + ["", "", ""])[:3]
    wal, started = last.split("|")
    local = server.is_local(url)
    cpu = [server.cpu_of_stat(line, float(started)) if local and line else None
           for line in (before, after)]
    result["cost"].update(wal_bytes=int(wal), server_cpu_seconds=server.cpu_delta(*cpu))
    return result


#: The floor's psql script: the backend's ``/proc/<pid>/stat`` line before and after the
#: copy (an empty line where unreadable), then the WAL bytes written between and when the
#: backend started (to tell it from another process of that pid: :func:`server.cpu_of_stat`).
FLOOR_SCRIPT = """\
SELECT pg_backend_pid() AS bench_pid, pg_current_wal_insert_lsn() AS bench_lsn \\gset
\\setenv BENCH_PID :bench_pid
\\! cat /proc/$BENCH_PID/stat 2>/dev/null || echo
{copy}
\\! cat /proc/$BENCH_PID/stat 2>/dev/null || echo
SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'bench_lsn')::bigint,
       extract(epoch FROM backend_start)
  FROM pg_stat_activity
 WHERE pid = pg_backend_pid();
"""


def _tracker_live_sync(url: str, canvas_url: str, account: int, token: str, incremental: bool,
                       concurrency: int | None) -> dict[str, Any]:
    """``tracker sync --canvas-url URL --account ID --json``, as an operator runs it (the
    fetch and the write): its time and memory, and the report it printed.

    ``--incremental`` and ``--concurrency`` are passed only when asked for. The database
    URL and the token go to it through its environment."""
    command = [sys.executable, "-c", "from tracker.cli import main; main(prog_name='tracker')",
               "sync", "--canvas-url", canvas_url, "--account", str(account), "--json"]
    if incremental:
        command.append("--incremental")
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    env = {**os.environ, "DATABASE_URL": url, "CANVAS_API_TOKEN": token}
    with psycopg.connect(url, autocommit=True) as meter:  # not the command's: its WAL only
        span = Span()
        span.on(meter, url)
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        measured = span.end(meter)
    measured["cost"]["server_cpu_seconds"] = None
    if done.returncode != 0:
        raise RuntimeError(f"tracker sync failed (exit code {done.returncode}):\n"
                           f"{done.stderr.strip() or done.stdout.strip()}")
    report = json.loads(done.stdout)
    counts = report.get("counts", {})
    rows = sum(int(c.get("inserted", 0)) + int(c.get("updated", 0)) + int(c.get("unchanged", 0))
               for c in counts.values())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {**measured, "rows": rows, "peak_kb": peak,
            "info": {"sync_id": report.get("sync_id"), "changed": report.get("changed"),
                     "counts": counts, "fetch": report.get("fetch")}}


def _peer(name: str) -> Callable[..., dict[str, Any]]:
    def call(**args: Any) -> dict[str, Any]:
        from bench import peers

        result: dict[str, Any] = getattr(peers, name)(**args)
        return result

    return call


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "tracker_sync": _tracker_sync,
    "tracker_undo": _tracker_undo,
    "floor": _floor,
    "tracker_live_sync": _tracker_live_sync,
    "orm_merge": _peer("orm_merge"),
    "orm_bulk_insert": _peer("orm_bulk_insert"),
    "cd2_upsert": _peer("cd2_upsert"),
    "dap_merge": _peer("dap_merge"),
}


def own_peak_kb() -> int:
    """This process's own peak resident set size, in KB (see the module's notes)."""
    peak = server.proc_field("/proc/self/status", "VmHWM")
    if peak is not None:
        return int(peak)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: KB on Linux only


def _main(argv: list[str]) -> None:
    step, folder = argv[0], Path(argv[1])
    result = STEPS[step](**json.loads((folder / "args.json").read_text()))
    result.setdefault("peak_kb", own_peak_kb())
    result.setdefault("info", {})
    result.setdefault("cost", {})
    (folder / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1:])
