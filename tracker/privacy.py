"""What tracker leaves out or disguises when figures and files leave the school.

- :func:`min_group` — the smallest group of students an aggregate is shown for, from
  ``TRACKER_MIN_GROUP``; None (unset) leaves it to the database's setting
  ``tracker.min_group`` (default 5, ``reports.min_group()``, migration 0020). A report
  over fewer students (``sql/reports/course_statistics.sql``) shows its figures as NULL
  and says ``suppressed``.
- :class:`Pseudonyms` — ids and names replaced by keyed hashes (HMAC-SHA256 with the
  secret of ``TRACKER_PSEUDONYM_KEY``, the first :data:`DIGITS` hex digits, a prefix per
  kind: ``user-3f9a…``), the same for the same value and key in every export and not
  reversible without the key; for files shared with researchers.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
from collections.abc import Mapping
from typing import IO, Any

from tracker.errors import ConfigurationError

__all__ = ["DIGITS", "IDENTIFYING", "KEY_ENV", "MIN_GROUP_ENV", "Pseudonyms", "min_group"]

MIN_GROUP_ENV = "TRACKER_MIN_GROUP"
KEY_ENV = "TRACKER_PSEUDONYM_KEY"

#: The shortest key accepted, in bytes (of its UTF-8 text).
MIN_KEY_BYTES = 16

#: Hex digits of the HMAC kept in a pseudonym: 64 bits, no collision among a school's people.
DIGITS = 16

#: The columns that identify a person, and the kind (the pseudonym's prefix) of each.
#: Course, assignment and sync ids stay: they name no one. ``subject_id`` (notes, fields,
#: tags) is a user's id when ``subject_type`` is user, and pseudonymized then.
IDENTIFYING: Mapping[str, str] = {
    "user_id": "user",
    "student_id": "user",
    "name": "name",
    "student": "name",
    "user_name": "name",
    "short_name": "name",
    "sortable_name": "name",
    "email": "email",
    "login_id": "login",
    "sis_user_id": "sis",
    "author": "name",
    "actor": "name",
    "grader_id": "user",
    "grader": "name",
}


def min_group() -> int | None:
    """``TRACKER_MIN_GROUP`` as a whole number of at least 1; None when it is unset."""
    text = os.environ.get(MIN_GROUP_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{MIN_GROUP_ENV}={text!r}: give a whole number of at least 1 "
                                 "(the smallest group of students a figure is shown for), "
                                 "or unset it for the database's setting (default 5)")
    return int(text)


class Pseudonyms:
    """Keyed hashes of identifying values; :meth:`from_env` takes the key from the environment."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(f"the pseudonym key is {len(key)} bytes; give at least "
                                     f"{MIN_KEY_BYTES} (e.g. {KEY_ENV}=$(openssl rand -hex 16))")
        self._key = key

    @classmethod
    def from_env(cls) -> Pseudonyms:
        key = os.environ.get(KEY_ENV, "")
        if not key:
            raise ConfigurationError(f"--pseudonymize needs a secret key in {KEY_ENV} (at least "
                                     f"{MIN_KEY_BYTES} bytes, e.g. $(openssl rand -hex 16)); "
                                     "keep it to make the same pseudonyms in a later export")
        return cls(key.encode())

    def of(self, kind: str, value: Any) -> str | None:
        """The pseudonym of ``value`` as a ``kind`` (``user-…``); None stays None."""
        if value is None:
            return None
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:DIGITS]}"

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row with each identifying column (:data:`IDENTIFYING`) pseudonymized."""
        out = {c: self.of(IDENTIFYING[c], v) if c in IDENTIFYING else v for c, v in row.items()}
        if row.get("subject_type") == "user" and "subject_id" in row:
            out["subject_id"] = self.of("user", row["subject_id"])
        return out

    def rewrite(self, data: bytes, out: IO[bytes], *, json_lines: bool) -> None:
        """Write ``data`` (CSV with a header, or JSON objects one a line) to ``out`` with
        each row pseudonymized (:meth:`row`)."""
        text = data.decode()
        if json_lines:
            for line in text.splitlines():
                if line.strip():
                    out.write(json.dumps(self.row(json.loads(line)), ensure_ascii=False).encode()
                              + b"\n")
            return
        reader = csv.DictReader(io.StringIO(text, newline=""))
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=reader.fieldnames or [], lineterminator="\n")
        writer.writeheader()
        for record in reader:
            writer.writerow(self.row(record))
        out.write(buffer.getvalue().encode())
