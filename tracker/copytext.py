"""COPY's text format: the fields, documents and digests a sync sends, in chunks.

In that format a backslash starts an escape, a tab ends a column and a newline a row,
``\\N`` is null; everything else arrives byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

NULL = b"\\N"


def digest(doc: bytes) -> bytes:
    """The 128-bit digest of a document as received, as the hex text a uuid column takes."""
    return hashlib.blake2b(doc, digest_size=16).hexdigest().encode()


def document(doc: bytes) -> bytes:
    """A JSON document as a field.

    JSON's own escapes (``\\"``, ``\\n``, ``\\u003c``) would arrive mangled: escape them
    to arrive byte for byte. Documents hold no newline (ndjson lines and compact dumps).
    """
    doc = doc.replace(b"\\", b"\\\\")
    if b"\t" in doc or b"\r" in doc:
        doc = doc.replace(b"\t", b"\\t").replace(b"\r", b"\\r")
    return doc


def text(value: Any) -> bytes:
    """A string (or anything ``str`` writes as PostgreSQL reads it: an integer) as a field."""
    value = value if isinstance(value, str) else str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                 .replace("\r", "\\r"))
    return value.encode()


def batches(lines: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Lines joined into chunks of about ``size`` bytes, for COPY."""
    batch: list[bytes] = []
    total = 0
    for line in lines:
        batch.append(line)
        total += len(line)
        if total >= size:
            yield b"".join(batch)
            batch, total = [], 0
    if batch:
        yield b"".join(batch)
