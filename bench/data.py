"""The benchmark's data: sample bundles (generated once, then cached) and the floor's CSV files.

A bundle is cached under ``<cache dir>/<generator arguments>-g<generator digest>/revision-N``:
the digest is that of the ``tracker/sample`` package's sources, so a changed generator never
serves stale files. ``revision-N.json`` beside the bundle's folder (not in it, where a sync
would warn of a file it does not know) holds what the generator reported; it is written
last, so a bundle is cached only once whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql

from tracker import bundle, sample


@dataclass(frozen=True)
class Bundle:
    """A generated bundle on disk and what it holds."""

    path: Path
    revision: int
    counts: dict[str, int]
    changed_submissions: int
    """Submissions whose score differs from the revision before."""
    changed_enrollments: int
    """Enrollments whose grades differ from the revision before."""
    size_bytes: int
    generated_seconds: float | None = None
    """Time the generation took in this run; None when the bundle came from the cache."""

    @property
    def records(self) -> int:
        """Records of every kind together."""
        return sum(self.counts.values())

    @property
    def submissions(self) -> int:
        return self.counts["submissions"]


def cache_key(generator_args: dict[str, Any]) -> str:
    """The cache folder's name for these generator arguments and this generator."""
    source = hashlib.sha256()
    for path in sorted(Path(sample.__file__).parent.glob("*.py")):
        source.update(path.name.encode() + b"\0" + path.read_bytes())
    digest = source.hexdigest()[:12]
    args = "-".join(f"{k}{v}" for k, v in sorted(generator_args.items()))
    return f"{args}-g{digest}"


def sample_bundle(cache_dir: Path, generator_args: dict[str, Any], *, revision: int) -> Bundle:
    """The sample school of ``generator_args`` at ``revision``, from the cache or generated."""
    folder = Path(cache_dir) / cache_key(generator_args) / f"revision-{revision}"
    summary = folder.with_name(f"{folder.name}.json")
    if summary.is_file():
        data = json.loads(summary.read_text())
        return Bundle(path=folder, revision=revision, **data)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    made = sample.generate(partial, revision=revision, **generator_args)
    seconds = time.perf_counter() - started
    data = {
        "counts": made.counts(),
        "changed_submissions": made.changed_submissions,
        "changed_enrollments": made.changed_enrollments,
        "size_bytes": made.size_bytes,
    }
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    summary.write_text(json.dumps(data, indent=2))
    return Bundle(path=folder, revision=revision, generated_seconds=seconds, **data)


def without_submissions(source: Bundle, folder: Path) -> Path:
    """A bundle in ``folder`` of every file of ``source`` but its submissions (symbolic links):
    the parents the floor and the peers load their submissions under."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, file in bundle.find_files(source.path).items():
        if kind != "submissions":
            (folder / file.name).symlink_to(file.resolve())
    return folder


def export_csv(url: str, table: str, columns: list[str], path: Path) -> int:
    """Write ``columns`` of ``table`` as CSV (ordered by id: the bundle's order) to ``path``.

    Returns the number of rows written.
    """
    schema, name = table.split(".")
    query = pgsql.SQL("COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT (FORMAT csv)").format(
        pgsql.SQL(", ").join(map(pgsql.Identifier, columns)), pgsql.Identifier(schema, name))
    with psycopg.connect(url) as conn, conn.cursor() as cur, open(path, "wb") as out:
        with cur.copy(query) as copy:
            out.writelines(copy)
        return cur.rowcount


def table_columns(url: str, table: str) -> list[str]:
    """The columns of ``table``, in their order."""
    schema, name = table.split(".")
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, name)).fetchall()
    return [r[0] for r in rows]
