"""The exceptions tracker raises on purpose: one base class and a few specific ones.

Every message says what happened and what to do about it. The command line maps
each class to an exit code (``exit_code``) and prints the message without a
traceback.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base class of every error tracker raises on purpose."""

    exit_code = 1


class InvalidArgumentError(TrackerError, ValueError):
    """A function was called wrongly: an argument of the wrong type or out of range, or a
    connection whose transaction already failed. Nothing was sent to the server."""

    exit_code = 2


class InvalidQueryError(InvalidArgumentError):
    """A query was asked for wrongly: an unknown filter or sort key, a value of the wrong
    type, a cursor this query did not make. Nothing was sent to the server."""


class ConfigurationError(TrackerError):
    """The environment or the options do not let tracker start (bad URL, no server)."""

    exit_code = 2


class NotFoundError(TrackerError):
    """Something named by the caller (a sync run, a course, a file) does not exist."""

    exit_code = 1


class InvalidDataError(TrackerError):
    """Input data failed validation; nothing was written.

    ``problems`` holds one line per finding, each naming the file, the record, the
    Canvas id and the field.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class SyncConflictError(TrackerError):
    """Another sync holds the scope, or an undo would overwrite a later sync's work."""

    exit_code = 1


class SyncError(TrackerError):
    """A sync failed while writing (the server refused a statement, or the connection was
    lost); nothing of it was kept. The message names the statement (``folder.name``) and
    its file and line; the server's error is the ``__cause__``."""

    exit_code = 1

    def __init__(self, message: str, *, statement: str | None = None,
                 location: str | None = None) -> None:
        super().__init__(message)
        self.statement = statement  # "canvas.update_users"; None: not a statement of sql/
        self.location = location  # "sql/canvas/write.sql:120:5"


class MigrationError(TrackerError):
    """The schema is not where tracker needs it (pending, changed or failed migrations)."""

    exit_code = 1


class SqlFileError(TrackerError):
    """A file under ``sql/`` cannot be parsed, or a statement was called wrongly.

    The message starts with ``path:line:`` so editors can jump to it.
    """

    exit_code = 2
