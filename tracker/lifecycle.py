"""Layer 0 after the sync: missing objects, what depends on them, approved deletion.

A full sync marks missing the objects Canvas no longer lists (``tracker.sync``); this
module takes it from there, and deletes nothing until a person has seen what depends on
an object and approved:

- :func:`pending`: objects missing for at least N full syncs of their scope or D days,
  and those already approved, each with a summary of what would go with it;
- :func:`impact`: the same for one object, as a summary and as a dependency graph (its
  child objects in layer 1, their submissions, history rows and user data);
- :func:`approve` (by objects, by kind or by age, recording who approved) and
  :func:`revoke`; approving an object approves the missing objects that depend on it,
  and is refused while one of them is active;
- :func:`cleanup`: in one transaction, every approved object goes, with everything that
  depends on it, into the archive (``archive.rows``, each row whole as JSON), then out
  of layers 1 to 3; its lifecycle row says ``deleted``;
- :func:`restore`: a cleanup put back, whole; the objects are missing again (approval
  is not restored).

An object that a sync sees again before cleanup is active again, and its approval is
cleared by the sync itself (``sql/lifecycle/sync.sql``); cleanup then leaves it, and
everything that it depends on, alone. Cleanup takes the advisory locks of the courses
involved (those a sync takes), so that no sync of those courses runs meanwhile.

Objects are named ``(kind, id)``: ``ObjectRef("course", 101)``, or ``"course:101"``.
The SQL is in ``sql/lifecycle/cleanup.sql``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg

from tracker import arguments, canvas, db
from tracker.errors import InvalidDataError, NotFoundError, SyncConflictError
from tracker.kinds import BY_LIFECYCLE, DELETE_ORDER, HISTORY_TABLES, LIFECYCLE_KINDS
from tracker.locks import lock_courses
from tracker.sqlfiles import sql

log = logging.getLogger(__name__)

#: The kinds of object layer 0 tracks (submissions follow their assignment and user).
KINDS = LIFECYCLE_KINDS
#: Layer 1 tables in the order cleanup deletes from them (children before parents).
CANVAS_DELETE_ORDER = tuple(kind.table for kind in DELETE_ORDER)

#: The kinds of archive run (``archive.runs.kind``).
ARCHIVE_KINDS = ("cleanup", "retention", "repair")

USERDATA_TABLES = (
    "userdata.notes", "userdata.custom_fields", "userdata.tag_links", "userdata.curriculum_courses",
)
#: Every relation a cleanup archives, in the order a restore puts them back.
RELATIONS = ("lifecycle.objects", *reversed(CANVAS_DELETE_ORDER), *HISTORY_TABLES, *USERDATA_TABLES)

_DEFAULT_MIN_SYNCS = 3
_DEFAULT_MIN_DAYS = 14.0


@dataclass(frozen=True, order=True)
class ObjectRef:
    """A Canvas object as layer 0 names it: its kind and its id."""

    kind: str
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> ObjectRef:
        """``"course:101"`` (or ``"course 101"``) as an ObjectRef; InvalidDataError if not."""
        parsed = canvas.parse_ref(text)
        if parsed is None or parsed[0] not in KINDS:
            raise InvalidDataError(f"{text!r} does not name an object: write KIND:ID, KIND one of "
                                   f"{', '.join(KINDS)}, ID a Canvas id (e.g. course:101)")
        return cls(*parsed)


@dataclass(frozen=True)
class Dependents:
    """How many rows go with an object, beyond its own Canvas row."""

    child_objects: int
    submissions: int
    history_rows: int
    notes: int
    custom_fields: int
    tag_links: int
    curricula: int

    @property
    def user_data(self) -> int:
        """Rows people wrote: notes, custom fields, tag links, curriculum memberships."""
        return self.notes + self.custom_fields + self.tag_links + self.curricula


@dataclass(frozen=True)
class PendingObject:
    """A missing object (or one approved for deletion) and what depends on it."""

    kind: str
    id: int
    name: str | None
    course_id: int | None
    status: str
    missing_since: datetime
    missing_since_sync_id: int
    syncs_missed: int
    days_missing: float
    approved_by: str | None
    approved_at: datetime | None
    dependents: Dependents
    rows: Mapping[str, int] = field(repr=False)  # relation → rows that go with it

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.id)


@dataclass(frozen=True)
class GraphNode:
    """One object of a dependency graph: its status, name, and the rows about it alone."""

    kind: str
    id: int
    name: str | None
    status: str
    rows: Mapping[str, int]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.id)


@dataclass(frozen=True)
class Blocker:
    """An object that keeps ``root`` from being approved or cleaned up, and its status."""

    root: ObjectRef
    object: ObjectRef
    status: str

    def __str__(self) -> str:
        what = {"active": "is active (a sync saw it again)",
                "untracked": "has no lifecycle row (tracker check --fix adds one)",
                "missing": "is missing but not approved",
                "deleted": "is marked deleted"}.get(self.status, f"is {self.status}")
        if self.root == self.object:
            return f"{self.root} {what}"
        return f"{self.root}: {self.object}, which depends on it, {what}"


@dataclass(frozen=True)
class Impact:
    """Everything that goes with one object: a summary per relation and the graph."""

    root: ObjectRef
    name: str | None
    status: str
    summary: Mapping[str, int]       # relation → rows (the object's own rows included)
    dependents: Dependents
    nodes: tuple[GraphNode, ...]     # the object first, then what depends on it
    edges: tuple[tuple[ObjectRef, ObjectRef], ...]  # (parent, child)
    blockers: tuple[Blocker, ...]    # objects that keep it from being deleted now


@dataclass(frozen=True)
class ApprovedObject:
    kind: str
    id: int
    course_id: int | None
    approved_by: str
    approved_at: datetime


@dataclass(frozen=True)
class ApprovalReport:
    """What :func:`approve` approved (dependents included) and what it had to leave."""

    approved: tuple[ApprovedObject, ...]
    skipped: tuple[Blocker, ...]


@dataclass(frozen=True)
class CleanupReport:
    """What a cleanup archived and deleted. ``run_id`` is None for a dry run."""

    run_id: int | None
    dry_run: bool
    objects: tuple[ObjectRef, ...]
    counts: Mapping[str, int]        # relation → rows archived and removed
    skipped: tuple[Blocker, ...]     # approved objects left because something depends on them


@dataclass(frozen=True)
class ArchiveRun:
    """One row of ``archive.runs``: a cleanup, a retention run or a repair."""

    run_id: int
    kind: str
    performed_by: str
    performed_at: datetime
    reason: str | None
    objects: list[Any]
    counts: dict[str, int]
    restored_by: str | None
    restored_at: datetime | None


@dataclass(frozen=True)
class RestoreReport:
    """What a restore put back, per relation, and what it kept as it is now."""

    run_id: int
    restored: Mapping[str, int]
    kept_current: Mapping[str, int]  # archived rows not put back: a newer row exists now
    objects: tuple[ObjectRef, ...]


# -- reading -----------------------------------------------------------------------------------


def resolve(conn: psycopg.Connection[Any], text: str | ObjectRef) -> ObjectRef:
    """An object named ``kind:id`` or by its id alone (when only one kind has that id)."""
    if isinstance(text, ObjectRef):
        return text
    text = text.strip()
    if ":" not in text and " " not in text:
        found = canvas.parse_canvas_id(text)
        if found is None:
            raise InvalidDataError(f"{text!r} does not name an object: write KIND:ID or a "
                                   f"Canvas id alone (e.g. course:101, or 101)")
        rows = sql.lifecycle.find_objects(conn, kinds=[None], ids=[found]).fetchall()
        if not rows:
            raise NotFoundError(f"no object has id {text}: tracker lifecycle pending lists the "
                                "missing ones")
        if len(rows) > 1:
            kinds = ", ".join(f"{r[0]}:{r[1]}" for r in rows)
            raise InvalidDataError(f"id {text} names several objects ({kinds}): write KIND:ID")
        return ObjectRef(rows[0][0], rows[0][1])
    return ObjectRef.parse(text)


def pending(
    conn: psycopg.Connection[Any],
    *,
    min_syncs: int | None = _DEFAULT_MIN_SYNCS,
    min_days: float | None = _DEFAULT_MIN_DAYS,
    kinds: Sequence[str] | None = None,
) -> list[PendingObject]:
    """Objects missing for at least ``min_syncs`` full syncs of their scope or ``min_days``
    days (either suffices; both None: every missing object), and every object approved
    for deletion and awaiting cleanup, oldest first, each with what depends on it."""
    _check_kinds(kinds)
    with db.transaction(conn):
        rows = sql.lifecycle.pending_objects(
            conn, kinds=list(kinds) if kinds else None, min_syncs=min_syncs, min_days=min_days,
        ).fetchall()
        if not rows:
            return []
        refs = [ObjectRef(r[0], r[1]) for r in rows]
        counts, names = _closure_counts(conn, refs)
    return [
        PendingObject(kind=r[0], id=r[1], name=names.get(ObjectRef(r[0], r[1])), course_id=r[2],
                      status=r[3], missing_since=r[4], missing_since_sync_id=r[5],
                      syncs_missed=r[6], days_missing=round(float(r[7]), 2), approved_by=r[8],
                      approved_at=r[9],
                      dependents=_dependents(ObjectRef(r[0], r[1]), counts[ObjectRef(r[0], r[1])]),
                      rows=counts[ObjectRef(r[0], r[1])])
        for r in rows
    ]


def impact(conn: psycopg.Connection[Any], obj: ObjectRef | str) -> Impact:
    """What would go with ``obj`` if it were deleted: every row, per relation, and the
    dependency graph of the objects that depend on it."""
    with db.transaction(conn):
        root = resolve(conn, obj)
        found = sql.lifecycle.find_objects(conn, kinds=[root.kind], ids=[root.id]).fetchall()
        _prepare(conn, [root])
        counts = _impact_counts(conn)
        if not found and not counts.get(root, {}).get(BY_LIFECYCLE[root.kind].table):
            raise NotFoundError(f"{root} is neither in layer 1 nor in layer 0")
        nodes_rows = sql.lifecycle.closure_nodes(conn).fetchall()
        leaf_rows = sql.lifecycle.object_rows(conn).fetchall()
        blockers = _blockers(conn, allowed=("missing", "pending_deletion"))
    leaves: dict[ObjectRef, dict[str, int]] = defaultdict(dict)
    for kind, ident, relation, n in leaf_rows:
        leaves[ObjectRef(kind, ident)][relation] = n
    nodes: dict[ObjectRef, GraphNode] = {}
    edges: list[tuple[ObjectRef, ObjectRef]] = []
    for _rk, _ri, kind, ident, parent_kind, parent_id, status, name in nodes_rows:
        ref = ObjectRef(kind, ident)
        nodes.setdefault(ref, GraphNode(kind, ident, name, status, leaves.get(ref, {})))
        if parent_kind is not None:
            edges.append((ObjectRef(parent_kind, parent_id), ref))
    root_node = nodes.get(root) or GraphNode(root.kind, root.id, None,
                                             found[0][3] if found else "untracked", {})
    summary = counts.get(root, {})
    return Impact(
        root=root, name=root_node.name, status=root_node.status, summary=summary,
        dependents=_dependents(root, summary),
        nodes=(root_node, *(n for ref, n in nodes.items() if ref != root)),
        edges=tuple(dict.fromkeys(edges)), blockers=tuple(b for b in blockers if b.object != root),
    )


def list_cleanups(conn: psycopg.Connection[Any], *, limit: int = 20,
                  kind: str | None = "cleanup") -> list[ArchiveRun]:
    """The newest archive runs (cleanups by default; ``kind=None``: every kind), newest first."""
    limit = arguments.count("limit", limit)
    if kind not in (None, *ARCHIVE_KINDS):
        raise InvalidDataError(f"kind: one of {', '.join(ARCHIVE_KINDS)} or None (every kind), "
                               f"not {kind!r}")
    return sql.lifecycle.list_archive_runs(conn, kind=kind, limit=limit,
                                           row_factory=_archive_run_row).fetchall()


def get_cleanup(conn: psycopg.Connection[Any], run_id: int) -> ArchiveRun:
    """One archive run; NotFoundError if there is none of that id."""
    run_id = arguments.one_id("run_id", run_id)
    run = sql.lifecycle.get_archive_run(conn, run_id=run_id, row_factory=_archive_run_row).fetchone()
    if run is None:
        raise NotFoundError(f"there is no archive run {run_id}: tracker lifecycle cleanups lists them")
    return run


# -- approval ----------------------------------------------------------------------------------


def approve(
    conn: psycopg.Connection[Any],
    objects: Iterable[ObjectRef | str] = (),
    *,
    approved_by: str,
    kinds: Sequence[str] | None = None,
    older_than: timedelta | None = None,
) -> ApprovalReport:
    """Approve the deletion of missing objects, recording who approved.

    Objects are named in ``objects``, or chosen by ``kinds`` and/or ``older_than`` (missing
    for at least that long); both ways together approve the union. The missing objects
    that depend on an approved one are approved with it. A named object that is active,
    or has an active object depending on it, is refused (InvalidDataError, nothing
    approved); one chosen by kind or age is left out and reported in ``skipped``.
    """
    _check_actor(approved_by, "approved_by")
    _check_kinds(kinds)
    if older_than is not None and (not isinstance(older_than, timedelta)
                                   or older_than <= timedelta(0)):
        raise InvalidDataError(f"older_than: expected a timedelta over zero (missing for at "
                               f"least that long), got {older_than!r}")
    named = _objects(objects)
    if not named and not kinds and older_than is None:
        raise InvalidDataError("say what to approve: objects (KIND:ID), kinds, or an age "
                               "(older_than); tracker lifecycle pending lists the candidates")

    def work(conn: psycopg.Connection[Any]) -> tuple[list[ApprovedObject], list[Blocker]]:
        refs = [resolve(conn, o) for o in named]
        _check_named(conn, refs)
        sql.lifecycle.create_cleanup_tables(conn)
        if refs:
            _add_roots(conn, refs)
        if kinds or older_than is not None:
            sql.lifecycle.add_missing_roots(conn, kinds=list(kinds) if kinds else None,
                                            older_than=older_than)
        sql.lifecycle.build_closure(conn)
        blockers = _blockers(conn, allowed=("missing", "pending_deletion"))
        named_blocked = [b for b in blockers if b.root in set(refs)]
        if named_blocked:
            raise InvalidDataError("nothing was approved:", [str(b) for b in named_blocked])
        _drop_blocked(conn, blockers)
        return [ApprovedObject(*row) for row in
                sql.lifecycle.approve_closure(conn, approved_by=approved_by).fetchall()], blockers

    approved, blockers = db.run_in_transaction(conn, work)
    log.info("approved the deletion of %d object(s); %d left out", len(approved), len(blockers),
             extra={"approved": len(approved), "left_out": len(blockers)})
    return ApprovalReport(approved=tuple(sorted(approved, key=lambda a: (a.kind, a.id))),
                          skipped=_unique_roots(blockers))


def revoke(conn: psycopg.Connection[Any], objects: Iterable[ObjectRef | str]) -> list[ObjectRef]:
    """Take back approvals: the objects are missing again. Returns those that were approved."""
    named = _objects(objects)

    def work(conn: psycopg.Connection[Any]) -> list[tuple[str, int]]:
        refs = [resolve(conn, o) for o in named]
        return sql.lifecycle.revoke_approval(conn, kinds=[r.kind for r in refs],
                                             ids=[r.id for r in refs]).fetchall()

    rows = db.run_in_transaction(conn, work)
    return sorted(ObjectRef(k, i) for k, i in rows)


# -- cleanup and restore -----------------------------------------------------------------------


def cleanup(
    conn: psycopg.Connection[Any],
    *,
    performed_by: str,
    objects: Iterable[ObjectRef | str] | None = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> CleanupReport:
    """Delete the approved objects (all, or those in ``objects``) in one transaction.

    Every row that goes with them is first copied whole into the archive: their lifecycle
    and Canvas rows, their child objects and submissions, their history, and what people
    wrote about them. Then the rows are removed (user data and history first, then
    Canvas rows children first) and the lifecycle rows say ``deleted``. An approved
    object on which something not approved depends (reactivated by a sync since) is
    left, and reported in ``skipped``. ``dry_run`` reports the same and rolls back.
    """
    _check_actor(performed_by, "performed_by")
    if not isinstance(dry_run, bool):
        raise InvalidDataError(f"dry_run: expected True or False, got {dry_run!r}")
    with db.transaction(conn) as tx:
        refs = None if objects is None else [resolve(conn, o) for o in _objects(objects)]
        if refs:
            rows = sql.lifecycle.find_objects(conn, kinds=[r.kind for r in refs],
                                              ids=[r.id for r in refs]).fetchall()
            approved = {ObjectRef(k, i) for k, i, _c, status in rows if status == "pending_deletion"}
            if unapproved := [r for r in refs if r not in approved]:
                raise InvalidDataError("nothing was cleaned up:", [
                    f"{r} is not approved for deletion (tracker lifecycle approve {r})"
                    for r in unapproved])
        sql.lifecycle.create_cleanup_tables(conn)
        _add_approved_roots(conn, refs)
        sql.lifecycle.build_closure(conn)
        # No sync of the courses involved may run meanwhile; one running now finishes first.
        lock_courses(conn, [r[0] for r in sql.lifecycle.closure_courses(conn)], wait=True)
        # What a sync that just finished changed is visible now: start over.
        sql.lifecycle.create_cleanup_tables(conn)
        _add_approved_roots(conn, refs)
        sql.lifecycle.build_closure(conn)
        sql.lifecycle.lock_closure(conn)
        blockers = _blockers(conn, allowed=("pending_deletion",))
        _drop_blocked(conn, blockers)
        roots = [ObjectRef(k, i) for k, i in sql.lifecycle.list_roots(conn)]
        if not roots:
            return CleanupReport(run_id=None, dry_run=dry_run, objects=(), counts={},
                                 skipped=_unique_roots(blockers))
        sql.lifecycle.collect_dependents(conn)
        started = sql.lifecycle.start_archive_run(
            conn, kind="cleanup", performed_by=performed_by, reason=reason,
            objects=orjson.dumps([{"kind": r.kind, "id": r.id} for r in roots]).decode(),
        ).fetchone()
        assert started is not None
        run_id = started[0]
        _archive(conn, run_id)
        sql.lifecycle.set_actor(conn, actor=performed_by)
        sql.lifecycle.allow_archive(conn)
        _delete(conn)
        sql.lifecycle.mark_deleted(conn)
        finished = sql.lifecycle.finish_archive_run(conn, run_id=run_id).fetchone()
        assert finished is not None
        counts = finished[0]
        report = CleanupReport(run_id=None if dry_run else run_id, dry_run=dry_run,
                               objects=tuple(roots), counts=_ordered(counts),
                               skipped=_unique_roots(blockers))
        if dry_run:
            raise psycopg.Rollback(tx)
    log.info("cleanup %s: %d object(s), %d row(s) archived", report.run_id, len(roots),
             sum(report.counts.values()), extra={"run_id": report.run_id, "dry_run": dry_run,
                                                 "counts": report.counts})
    return report


def restore(conn: psycopg.Connection[Any], run_id: int, *, restored_by: str) -> RestoreReport:
    """Put back, in one transaction, everything cleanup ``run_id`` archived.

    Canvas rows come back parents first, then history and user data with their own ids
    (identity values overridden); tag links and curriculum memberships find their tag or
    curriculum by name if it was merged or removed meanwhile. A row that exists again (a
    sync brought the object back) is kept as it is now, and counted in ``kept_current``.
    The lifecycle rows say ``missing`` again, as before approval: approve again to delete.
    The archived rows stay in the archive; the run is marked restored.
    """
    _check_actor(restored_by, "restored_by")
    run_id = arguments.one_id("run_id", run_id)
    with db.transaction(conn):
        locked = sql.lifecycle.lock_archive_run(conn, run_id=run_id).fetchone()
        if locked is None:
            raise NotFoundError(f"there is no cleanup {run_id}: tracker lifecycle cleanups lists them")
        if locked[1] != "cleanup":
            raise InvalidDataError(f"archive run {run_id} is a {locked[1]}, not a cleanup: only "
                                   "cleanups are restored (tracker maintenance export-archive "
                                   "gives the rows of the others)")
        if locked[2] is not None:
            raise SyncConflictError(f"cleanup {run_id} was restored already, at {locked[2]:%Y-%m-%d %H:%M}")
        lock_courses(conn, [r[0] for r in sql.lifecycle.run_object_courses(conn, run_id=run_id)],
                     wait=True)
        run = get_cleanup(conn, run_id)
        sql.lifecycle.set_actor(conn, actor=restored_by)
        restored: dict[str, int] = {}
        for relation in RELATIONS[1:]:
            if not run.counts.get(relation):
                continue
            restored[relation] = _restore_relation(conn, run_id, relation, restored_by)
        restored["lifecycle.objects"] = (
            sql.lifecycle.restore_lifecycle_rows(conn, run_id=run_id).rowcount
            + sql.lifecycle.reinsert_lifecycle_rows(conn, run_id=run_id).rowcount)
        sql.lifecycle.mark_run_restored(conn, run_id=run_id, restored_by=restored_by)
    kept = {rel: n - restored.get(rel, 0) for rel, n in run.counts.items()
            if n - restored.get(rel, 0) > 0}
    objects = tuple(ObjectRef(o["kind"], int(o["id"])) for o in run.objects)
    log.info("restored cleanup %d: %d row(s)", run_id, sum(restored.values()))
    return RestoreReport(run_id=run_id, restored=_ordered(restored), kept_current=_ordered(kept),
                         objects=objects)


# -- helpers -----------------------------------------------------------------------------------


def _restore_relation(conn: psycopg.Connection[Any], run_id: int, relation: str, actor: str) -> int:
    if relation.startswith(("canvas.", "history.")):
        return sql.lifecycle.restore_by_id(conn, table=relation, relation=relation,
                                           run_id=run_id).rowcount
    if relation == "userdata.notes":
        return sql.lifecycle.restore_notes(conn, run_id=run_id).rowcount
    if relation == "userdata.custom_fields":
        return sql.lifecycle.restore_custom_fields(conn, run_id=run_id).rowcount
    if relation == "userdata.tag_links":
        sql.lifecycle.restore_missing_tags(conn, run_id=run_id, actor=actor)
        return sql.lifecycle.restore_tag_links(conn, run_id=run_id).rowcount
    if relation == "userdata.curriculum_courses":
        sql.lifecycle.restore_missing_curricula(conn, run_id=run_id, actor=actor)
        return sql.lifecycle.restore_curriculum_courses(conn, run_id=run_id).rowcount
    raise AssertionError(f"no restore for {relation}")  # pragma: no cover


def _archive(conn: psycopg.Connection[Any], run_id: int) -> None:
    sql.lifecycle.archive_lifecycle_rows(conn, run_id=run_id)
    for table in (*CANVAS_DELETE_ORDER, *HISTORY_TABLES, "userdata.notes"):
        sql.lifecycle.archive_by_id(conn, table=table, relation=table, run_id=run_id)
    sql.lifecycle.archive_custom_fields(conn, run_id=run_id)
    sql.lifecycle.archive_tag_links(conn, run_id=run_id)
    sql.lifecycle.archive_curriculum_courses(conn, run_id=run_id)


def _delete(conn: psycopg.Connection[Any]) -> None:
    """Remove what was archived, in the order of the foreign keys."""
    sql.lifecycle.delete_tag_links(conn)
    sql.lifecycle.delete_custom_fields(conn)
    sql.lifecycle.delete_by_id(conn, table="userdata.notes", relation="userdata.notes")
    sql.lifecycle.delete_curriculum_courses(conn)
    for table in (*HISTORY_TABLES, *CANVAS_DELETE_ORDER):
        sql.lifecycle.delete_by_id(conn, table=table, relation=table)


def _prepare(conn: psycopg.Connection[Any], roots: Sequence[ObjectRef]) -> None:
    """Fill the work tables for ``roots``: closure, dependents, names."""
    sql.lifecycle.create_cleanup_tables(conn)
    _add_roots(conn, roots)
    sql.lifecycle.build_closure(conn)
    sql.lifecycle.collect_dependents(conn)
    sql.lifecycle.collect_names(conn)


def _closure_counts(conn: psycopg.Connection[Any], roots: Sequence[ObjectRef]
                    ) -> tuple[dict[ObjectRef, dict[str, int]], dict[ObjectRef, str | None]]:
    _prepare(conn, roots)
    counts = _impact_counts(conn)
    names = {ObjectRef(row[2], row[3]): row[7] for row in sql.lifecycle.closure_nodes(conn)}
    return defaultdict(dict, counts), names


def _impact_counts(conn: psycopg.Connection[Any]) -> dict[ObjectRef, dict[str, int]]:
    counts: dict[ObjectRef, dict[str, int]] = defaultdict(dict)
    for kind, ident, relation, n in sql.lifecycle.impact_counts(conn):
        counts[ObjectRef(kind, ident)][relation] = n
    return {ref: _ordered(c) for ref, c in counts.items()}


def _dependents(root: ObjectRef, rows: Mapping[str, int]) -> Dependents:
    own = 1 if rows.get(BY_LIFECYCLE[root.kind].table) else 0
    children = sum(n for rel, n in rows.items()
                   if rel.startswith("canvas.") and rel != "canvas.submissions") - own
    return Dependents(
        child_objects=children,
        submissions=rows.get("canvas.submissions", 0),
        history_rows=sum(n for rel, n in rows.items() if rel.startswith("history.")),
        notes=rows.get("userdata.notes", 0),
        custom_fields=rows.get("userdata.custom_fields", 0),
        tag_links=rows.get("userdata.tag_links", 0),
        curricula=rows.get("userdata.curriculum_courses", 0),
    )


def _add_roots(conn: psycopg.Connection[Any], refs: Sequence[ObjectRef]) -> None:
    sql.lifecycle.add_roots(conn, kinds=[r.kind for r in refs], ids=[r.id for r in refs])


def _add_approved_roots(conn: psycopg.Connection[Any], refs: Sequence[ObjectRef] | None) -> None:
    sql.lifecycle.add_approved_roots(
        conn, kinds=None if refs is None else [r.kind for r in refs],
        ids=None if refs is None else [r.id for r in refs])


def _blockers(conn: psycopg.Connection[Any], *, allowed: Sequence[str]) -> list[Blocker]:
    return [Blocker(ObjectRef(rk, ri), ObjectRef(k, i), status)
            for rk, ri, k, i, status in sql.lifecycle.closure_blockers(conn, allowed=list(allowed))]


def _drop_blocked(conn: psycopg.Connection[Any], blockers: Sequence[Blocker]) -> None:
    roots = sorted({b.root for b in blockers})
    if roots:
        sql.lifecycle.drop_roots(conn, kinds=[r.kind for r in roots], ids=[r.id for r in roots])


def _unique_roots(blockers: Sequence[Blocker]) -> tuple[Blocker, ...]:
    """One blocker per root (the first), for reports."""
    seen: dict[ObjectRef, Blocker] = {}
    for b in blockers:
        seen.setdefault(b.root, b)
    return tuple(seen.values())


def _check_named(conn: psycopg.Connection[Any], refs: Sequence[ObjectRef]) -> None:
    """Named objects must exist in layer 0 and be missing (or approved already)."""
    if not refs:
        return
    rows = sql.lifecycle.find_objects(conn, kinds=[r.kind for r in refs],
                                      ids=[r.id for r in refs]).fetchall()
    status = {ObjectRef(k, i): s for k, i, _c, s in rows}
    problems = []
    for ref in refs:
        if ref not in status:
            problems.append(f"{ref} is not in layer 0 (no sync has seen it)")
        elif status[ref] == "active":
            problems.append(f"{ref} is active: the latest sync of its scope saw it; only missing "
                            "objects can be approved")
        elif status[ref] == "deleted":
            problems.append(f"{ref} is deleted already")
    if problems:
        raise InvalidDataError("nothing was approved:", problems)


def _objects(objects: Any) -> list[ObjectRef | str]:
    """Objects named one by one: a lone ``"course:101"`` or ObjectRef is a list of one."""
    if isinstance(objects, (str, ObjectRef)):
        return [objects]
    if not isinstance(objects, Iterable):
        raise InvalidDataError(f"objects: expected KIND:ID names or ObjectRefs, got {objects!r}")
    return list(objects)


def _check_kinds(kinds: Sequence[str] | None) -> None:
    if isinstance(kinds, str):
        raise InvalidDataError(f"kinds: expected a list of kinds, got the text {kinds!r} "
                               f"(write [{kinds!r}])")
    unknown = [k for k in kinds or () if k not in KINDS]
    if unknown:
        raise InvalidDataError(f"unknown kind {', '.join(map(repr, unknown))}: the kinds are "
                               f"{', '.join(KINDS)}")


def _check_actor(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidDataError(f"{name} is empty: say who does this (a person's name or login)")


def _ordered(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts in the order of :data:`RELATIONS`, others after, zeros left out."""
    order = {rel: n for n, rel in enumerate(RELATIONS)}
    return {rel: counts[rel] for rel in sorted(counts, key=lambda r: (order.get(r, 99), r))
            if counts[rel]}


def _archive_run_row(cursor: Any) -> Any:
    names = [c.name for c in cursor.description]
    return lambda values: ArchiveRun(**dict(zip(names, values, strict=True)))
