"""The bundle's files: one buffered writer per kind, renamed into place only when all are done."""

from __future__ import annotations

import gzip as gzip_module
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

BLOCK = 1 << 20
"""Bytes buffered per file before a write."""
_Output = IO[bytes] | gzip_module.GzipFile


class Sink:
    """One kind's file, written in large blocks (fast for gzip too).

    Each line goes into a bytearray at once: orjson (3.12+) gives every ``dumps`` result
    a buffer of 4 KB or more, so holding the results themselves would cost ten times
    their size.
    """

    __slots__ = ("_buffer", "_f", "count")

    def __init__(self, f: _Output) -> None:
        self._f = f
        self._buffer = bytearray()
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        self._buffer += orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        self.count += 1
        if len(self._buffer) >= BLOCK:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._f.write(self._buffer)
            self._buffer.clear()


@contextmanager
def writers(files: Mapping[str, Path], *, gzip: bool) -> Iterator[dict[str, Sink]]:
    """A sink per kind of ``files``, written under temporary names and renamed on success.

    On any error every temporary file is removed and no file of ``files`` is touched.
    """
    partial = {kind: path.with_name(f".{path.name}.partial") for kind, path in files.items()}
    handles: list[_Output] = []
    sinks: dict[str, Sink] = {}
    try:
        for kind, tmp in partial.items():
            raw = open(tmp, "wb")  # noqa: SIM115 - closed below, or in finally
            handles.append(raw)
            f: _Output = raw
            if gzip:
                # mtime=0 and a fixed name keep the output byte-identical run to run.
                f = gzip_module.GzipFile(
                    filename=files[kind].name, mode="wb", fileobj=raw, compresslevel=6, mtime=0
                )
                handles.append(f)
            sinks[kind] = Sink(f)
        yield sinks
        for sink in sinks.values():
            sink.flush()
        for handle in reversed(handles):  # the gzip layer before its file
            handle.close()
        for kind, tmp in partial.items():
            os.replace(tmp, files[kind])
    finally:
        for handle in reversed(handles):
            handle.close()
        for tmp in partial.values():
            tmp.unlink(missing_ok=True)
