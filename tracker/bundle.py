"""Reading a Canvas bundle: a directory of Canvas API objects, one file per kind, streamed.

A bundle holds any of the kinds in :data:`KINDS`, and of the logs of
:data:`tracker.kinds.LOGS` (``grade_changes``), each in one file named for it
(:data:`FILES`):

- ``NAME.json``: a JSON array of objects, or an endpoint's wrapped form, i.e. an object
  with exactly one array-valued key at top level (``{"enrollment_terms": [...]}``);
- ``NAME.ndjson``: one JSON object a line (blank lines are skipped);
- either of them gzipped: ``NAME.json.gz``, ``NAME.ndjson.gz``.

Other files in the directory are ignored. Nothing here holds a whole file in memory:
:func:`iter_documents` yields one record at a time, so a file of a million records
streams in constant memory.

Two speeds, on purpose. :func:`iter_documents` is the fast path: ndjson lines are handed
over as they are, not parsed (PostgreSQL parses them once, as ``jsonb``), and ``.json``
items are streamed with ijson and re-dumped compactly with orjson. When the fast path
fails (PostgreSQL refuses a line), :func:`json_errors` is the slow path that parses every
record and says which ones are wrong and why.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import ijson
import orjson

from tracker import kinds
from tracker.errors import InvalidDataError

log = logging.getLogger(__name__)

__all__ = ["FILES", "KINDS", "SUFFIXES", "count_records", "find_files", "iter_documents", "json_errors"]

KINDS: tuple[str, ...] = kinds.NAMES
"""The kinds a bundle may hold (:data:`tracker.kinds.NAMES`), in dependency order."""
FILES: tuple[str, ...] = kinds.FILES
"""Every name a bundle file may have: the kinds, then the logs (:data:`tracker.kinds.FILES`)."""

SUFFIXES: tuple[str, ...] = (".json", ".ndjson", ".json.gz", ".ndjson.gz")
"""The file name endings recognised for each kind."""

_BUFFER = 1 << 20  # read buffer, in bytes
_BOM = b"\xef\xbb\xbf"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


# -- finding the files ---------------------------------------------------------------------------


def find_files(directory: Path) -> dict[str, Path]:
    """Which file holds each kind (or log) in the bundle ``directory``, in :data:`FILES` order.

    Kinds and logs without a file are left out. Raises :class:`~tracker.errors.InvalidDataError`
    if ``directory`` is not a directory, holds no bundle file at all, or holds two files
    for one kind (``users.json`` and ``users.ndjson.gz``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise InvalidDataError(
            f"{directory} {what}; give the directory that holds the bundle files"
        )
    found: dict[str, Path] = {}
    for kind in FILES:
        candidates = [directory / f"{kind}{suffix}" for suffix in SUFFIXES]
        present = [p for p in candidates if p.is_file()]
        if len(present) > 1:
            names = ", ".join(p.name for p in present)
            raise InvalidDataError(
                f"{directory}: {kind} is in {len(present)} files ({names});"
                " keep exactly one of them"
            )
        if present:
            found[kind] = present[0]
    for path in sorted(directory.iterdir()):
        if path.name.lower().endswith(SUFFIXES) and path not in found.values():
            log.warning("%s: ignored, not a bundle file; the files are named KIND.json (or "
                        ".ndjson, .json.gz, .ndjson.gz), KIND one of %s", path,
                        ", ".join(FILES))
    if not found:
        expected = ", ".join(f"{kind}.json" for kind in FILES)
        raise InvalidDataError(
            f"{directory} holds no Canvas bundle file; expected any of {expected}"
            " (or .ndjson, .json.gz, .ndjson.gz instead of .json)"
        )
    return found


# -- streaming the records -----------------------------------------------------------------------


def iter_documents(path: Path) -> Iterator[bytes]:
    """Each record of ``path`` as one compact JSON document (UTF-8 bytes), in file order.

    ndjson: the non-blank lines, stripped, **not parsed or validated** (a bad line is
    reported by whoever parses it; :func:`json_errors` then explains). ``.json``: every
    item of the array, dumped compactly; every number keeps its value and its digits
    (``9.50`` stays 9.50, as PostgreSQL reads it; a double would make it 9.5, and
    ``12345678901234567890.5`` 12345678901234567000). Raises
    :class:`~tracker.errors.InvalidDataError` for an unreadable gzip file and, in
    ``.json`` files, for malformed JSON, a wrong top-level shape or an item that is not
    an object, naming the record.
    """
    path = Path(path)
    ndjson = _is_ndjson(path)
    if not path.is_file():
        raise InvalidDataError(f"{path} does not exist")
    return _ndjson_lines(path) if ndjson else _json_documents(path)


def count_records(path: Path) -> int:
    """How many records ``path`` holds: cheap for ndjson (not parsed), a full parse for .json."""
    path = Path(path)
    if _is_ndjson(path):
        return sum(1 for _ in _ndjson_lines(path))
    with _open(path) as f:
        prefix = _array_prefix(path, f)
        total = 0
        try:
            for _ in ijson.items(f, prefix, use_float=True):
                total += 1
        except ijson.JSONError as exc:
            raise InvalidDataError(
                f"{_record(path, total + 1)}: not valid JSON ({_ijson_message(exc)})"
            ) from None
        return total


def json_errors(path: Path, *, limit: int = 50) -> list[str]:
    """Parse every record of ``path`` and describe the bad ones, at most ``limit`` of them.

    The slow path, for after the fast path failed. Messages look like
    ``submissions.ndjson record 1,204: not valid JSON (…)`` or
    ``submissions.ndjson record 7: expected a JSON object, got array``; record numbers are
    1-based and count records (non-blank lines in ndjson, items in an array). An empty list
    means every record is a JSON object PostgreSQL can store. In a ``.json`` file, reading
    stops at the first syntax error (nothing after it can be located).
    """
    path = Path(path)
    problems: list[str] = []
    try:
        if _is_ndjson(path):
            _ndjson_problems(path, problems, limit)
        else:
            _json_problems(path, problems, limit)
    except InvalidDataError as exc:  # unreadable gzip or a wrong top-level shape
        if len(problems) < limit:
            problems.append(str(exc))
    return problems[:limit]


# -- internals -----------------------------------------------------------------------------------


def _is_ndjson(path: Path) -> bool:
    name = path.name
    if name.endswith((".ndjson", ".ndjson.gz")):
        return True
    if name.endswith((".json", ".json.gz")):
        return False
    raise InvalidDataError(f"{path}: not a bundle file; names end in {', '.join(SUFFIXES)}")


def _record(path: Path, number: int) -> str:
    return f"{path.name} record {number:,}"


@contextmanager
def _open(path: Path) -> Iterator[io.BufferedReader[Any]]:
    """``path`` opened for binary reading (gunzipped if need be), past a UTF-8 byte order mark.

    A large buffer in front of the gzip reader makes it about twice as fast.
    """
    try:
        raw: gzip.GzipFile | io.FileIO = (
            gzip.GzipFile(path, "rb") if path.name.endswith(".gz") else io.FileIO(path, "rb")
        )
    except FileNotFoundError:
        raise InvalidDataError(f"{path} does not exist") from None
    with io.BufferedReader(raw, _BUFFER) as f:
        try:
            if f.peek(len(_BOM)).startswith(_BOM):
                f.read(len(_BOM))
            yield f
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InvalidDataError(
                f"{path.name}: not a readable gzip file ({exc}); check that the file is complete"
            ) from None


def _ndjson_lines(path: Path) -> Iterator[bytes]:
    # Line iteration over a large buffer is the fastest way found in pure Python:
    # about 0.35 s for 1,000,000 lines of 560 bytes, half the time of a read-and-split loop.
    with _open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                yield line


def _json_documents(path: Path) -> Iterator[bytes]:
    with _open(path) as f:
        prefix = _array_prefix(path, f)
        number = 0
        items = ijson.items(f, prefix)  # numbers with a fraction as Decimals: exact
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except ijson.JSONError as exc:
                raise InvalidDataError(
                    f"{_record(path, number + 1)}: not valid JSON ({_ijson_message(exc)})"
                ) from None
            number += 1
            if type(item) is not dict:
                raise InvalidDataError(
                    f"{_record(path, number)}: expected a JSON object, got {_json_type(item)}"
                )
            # A right-sized copy: orjson (3.12+) hands back a buffer of 4 KB or more,
            # which a caller batching documents would otherwise hold ten times over.
            yield bytes(memoryview(orjson.dumps(item, default=_number_text)))


def _number_text(value: Any) -> orjson.Fragment:
    """A Decimal that ijson read, as the JSON number of its text (orjson writes no Decimal)."""
    if type(value) is Decimal:
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def _array_prefix(path: Path, f: io.BufferedReader[Any]) -> str:
    """The ijson prefix of the records' array in the ``.json`` file ``f``; rewinds ``f``.

    A top-level array is ``item``. For an object, every top-level key is looked at (a
    full extra pass, so wrapped files cost twice an array's time): exactly one of them
    must hold an array.
    """
    start = f.tell()
    first = _first_byte(f)
    f.seek(start)
    if first == b"[":
        return "item"
    shape = (
        "an empty file"
        if first == b""
        else "an object"
        if first == b"{"
        else f"text starting with {first!r}"
    )
    if first != b"{":
        raise InvalidDataError(
            f"{path.name}: expected a JSON array of objects (or an object with one array-valued"
            f' key, such as {{"enrollment_terms": [...]}}), got {shape}'
        )
    array_keys: list[str] = []
    depth = 0
    key: str | None = None
    try:
        for event, value in ijson.basic_parse(f, use_float=True):
            if depth == 1 and event == "map_key":
                key = value
            elif depth == 1 and event == "start_array" and key is not None:
                array_keys.append(key)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
    except ijson.JSONError as exc:
        raise InvalidDataError(f"{path.name}: not valid JSON ({_ijson_message(exc)})") from None
    f.seek(start)
    if len(array_keys) != 1:
        found = ", ".join(repr(k) for k in array_keys) if array_keys else "none"
        raise InvalidDataError(
            f"{path.name}: a wrapped file must be an object with exactly one array-valued key"
            f' (such as {{"enrollment_terms": [...]}}); array-valued keys found: {found}'
        )
    return f"{array_keys[0]}.item"


def _first_byte(f: io.BufferedReader[Any]) -> bytes:
    while chunk := f.read(4096):
        stripped = chunk.lstrip()
        if stripped:
            return stripped[:1]
    return b""


def _ijson_message(exc: Exception) -> str:
    """The first line of an ijson (yajl) error, without its multi-line excerpt."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _ndjson_problems(path: Path, problems: list[str], limit: int) -> None:
    for number, line in enumerate(_ndjson_lines(path), start=1):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{_record(path, number)}: not valid JSON ({exc})")
        else:
            if type(value) is not dict:
                problems.append(
                    f"{_record(path, number)}: expected a JSON object, got {_json_type(value)}"
                )
            elif b"\\u0000" in line and _has_nul(value):
                problems.append(
                    f"{_record(path, number)}: a string holds \\u0000, which PostgreSQL cannot"
                    " store in jsonb; remove it"
                )
        if len(problems) >= limit:
            return


def _json_problems(path: Path, problems: list[str], limit: int) -> None:
    with _open(path) as f:
        prefix = _array_prefix(path, f)
        number = 0
        try:
            for item in ijson.items(f, prefix, use_float=True):
                number += 1
                if type(item) is not dict:
                    problems.append(
                        f"{_record(path, number)}: expected a JSON object, got {_json_type(item)}"
                    )
                elif _has_nul(item):
                    problems.append(
                        f"{_record(path, number)}: a string holds \\u0000, which PostgreSQL"
                        " cannot store in jsonb; remove it"
                    )
                if len(problems) >= limit:
                    return
        except ijson.JSONError as exc:
            problems.append(f"{_record(path, number + 1)}: not valid JSON ({_ijson_message(exc)})")
