"""The kinds of Canvas object tracker keeps: one record per kind, said once.

Each :class:`Kind` says what a bundle calls the kind (its file is ``NAME.json``, or
``.ndjson``, gzipped or not: :mod:`tracker.bundle`), the layer 1 table that holds it,
the kind layer 0 tracks it as (none for submissions: they follow their assignment and
user), the keys Canvas always sends for it, and the references to other kinds a sync
checks before writing. Every module that needs one of these facts reads it here; the
dependency edges of ``sql/lifecycle/cleanup.sql`` are checked against the references
by ``tests/test_kinds.py``.

A bundle may also hold Canvas **logs** (:data:`LOGS`): events a sync appends to layer 2
as they are, once each, by their Canvas event id. A log is not a kind: it has no layer 1
table and no lifecycle, is never compared or updated, and no sync marks anything
missing for its sake. :data:`BY_FILE` names everything a bundle file may hold.

The kinds have two orders, for two different needs:

- :data:`KINDS`, the **dependency order**: a kind refers only to kinds before it. Layer 1
  is written in it (an assignment's group and course are stored before the assignment:
  foreign keys), undone in it, and bundles and reports list the kinds in it.
  :data:`DELETE_ORDER` is its reverse: children before parents, for cleanup and undo.
- :data:`STAGE_ORDER`, the **staging order**: the sync types the bundle's records into
  ``pg_temp.stage_<kind>`` in it. Canvas leaves the course out of an assignment group and
  of a submission, so they take it from the staged assignments (``sql/canvas/stage.sql``):
  assignments are staged before them. Staging writes no layer 1 row, so it may differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BY_FILE",
    "BY_LIFECYCLE",
    "BY_NAME",
    "DELETE_ORDER",
    "FILES",
    "HISTORY_TABLES",
    "KINDS",
    "LIFECYCLE_KINDS",
    "LOGS",
    "NAMES",
    "STAGE_ORDER",
    "Kind",
    "Log",
    "Reference",
]


@dataclass(frozen=True)
class Reference:
    """A field of a kind's records that names an object of another kind, its parent."""

    field: str
    parent: str  # a Kind's name


@dataclass(frozen=True)
class Kind:
    """One kind of Canvas object: what a bundle, layer 1 and layer 0 call it, what it needs."""

    name: str
    """The bundle's name: its file ``NAME.json`` (…), its stage ``pg_temp.stage_NAME``."""
    table: str
    """The layer 1 table."""
    lifecycle: str | None
    """The kind layer 0 tracks (``lifecycle.objects.kind``); None: not tracked."""
    required: tuple[str, ...]
    """Keys Canvas always sends, without which tracker cannot store an object."""
    parents: tuple[Reference, ...] = ()
    """References checked before writing: the parent must be in the bundle or stored."""

    @property
    def shared(self) -> bool:
        """Whether its objects belong to no course (terms and users: shared by courses)."""
        return self.name in ("terms", "users")


@dataclass(frozen=True)
class Log:
    """A Canvas log a bundle may hold: events appended to a layer 2 table, once each."""

    name: str
    """The bundle's name: its file ``NAME.json`` (…), its stage ``pg_temp.stage_NAME``."""
    table: str
    """The layer 2 table the events are appended to."""
    required: tuple[str, ...]
    """Keys Canvas always sends, without which tracker cannot store an event."""


KINDS: tuple[Kind, ...] = (
    Kind("terms", "canvas.terms", "term", ("id", "name")),
    Kind("courses", "canvas.courses", "course", ("id", "name", "workflow_state"),
         (Reference("enrollment_term_id", "terms"),)),
    Kind("sections", "canvas.sections", "section", ("id", "course_id", "name"),
         (Reference("course_id", "courses"),)),
    Kind("users", "canvas.users", "user", ("id", "name")),
    Kind("assignment_groups", "canvas.assignment_groups", "assignment_group", ("id", "name"),
         (Reference("course_id", "courses"),)),
    Kind("assignments", "canvas.assignments", "assignment", ("id", "course_id", "name"),
         (Reference("course_id", "courses"), Reference("assignment_group_id", "assignment_groups"))),
    Kind("enrollments", "canvas.enrollments", "enrollment",
         ("id", "user_id", "course_id", "type", "enrollment_state"),
         (Reference("user_id", "users"), Reference("course_id", "courses"),
          Reference("course_section_id", "sections"))),
    Kind("submissions", "canvas.submissions", None, ("id", "assignment_id", "workflow_state"),
         (Reference("assignment_id", "assignments"), Reference("user_id", "users"))),
)
"""Every kind, in dependency order (a kind refers only to kinds before it)."""

BY_NAME: Mapping[str, Kind] = {kind.name: kind for kind in KINDS}
"""Each kind by its bundle name (``"assignment_groups"``)."""
BY_LIFECYCLE: Mapping[str, Kind] = {kind.lifecycle: kind for kind in KINDS if kind.lifecycle}
"""Each tracked kind by its layer 0 name (``"assignment_group"``)."""

NAMES: tuple[str, ...] = tuple(BY_NAME)
"""The bundle names, in dependency order."""
LIFECYCLE_KINDS: tuple[str, ...] = tuple(BY_LIFECYCLE)
"""The kinds layer 0 tracks, in dependency order."""

STAGE_ORDER: tuple[Kind, ...] = tuple(BY_NAME[name] for name in (
    "terms", "courses", "sections", "users", "assignments", "assignment_groups", "enrollments",
    "submissions",
))
"""The order the sync types the bundle in: assignments before the groups and submissions
that take their course from them."""
DELETE_ORDER: tuple[Kind, ...] = tuple(reversed(KINDS))
"""Children before parents: the order rows leave layer 1."""

LOGS: tuple[Log, ...] = (
    Log("grade_changes", "history.grade_changes", ("id", "created_at", "links")),
)
"""The logs a bundle may hold: the Grade Change Log (``GET /audit/grade_change/courses/:id``)."""
BY_FILE: Mapping[str, Kind | Log] = {**BY_NAME, **{log.name: log for log in LOGS}}
"""What each bundle file holds, by its name: the kinds, then the logs."""
FILES: tuple[str, ...] = tuple(BY_FILE)
"""The names a bundle's files may have (``NAME.json``, …): the kinds, then the logs."""

HISTORY_TABLES: tuple[str, ...] = (
    "history.enrollment_grades", "history.submission_scores", "history.course_snapshots",
    "history.risk_assessments", *(log.table for log in LOGS),
)
"""Layer 2: the rows a sync appends about these kinds (grades, scores, snapshots, risk)
and the logs' events; each carries the ``sync_id`` that undo removes it by."""

