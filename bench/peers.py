"""The peers: how the seed projects and Canvas Data 2's client would load the same submissions.

Each reads the bundle's ``submissions.ndjson`` (parsed with orjson), takes the course
from the assignments file, and writes typed columns plus ``raw`` into the same
``canvas.submissions`` table tracker writes, foreign keys and indexes included:

- :func:`orm_merge`: SQLAlchemy 2 ORM, one ``session.merge`` per object (a SELECT by
  primary key, then an INSERT or an UPDATE of the attributes that differ), committing
  every 10,000 objects;
- :func:`orm_bulk_insert`: the ORM's bulk INSERT, ``session.execute(insert(Model), rows)``
  in batches of 10,000 (inserts only: a first load), with ``render_nulls=True``: without
  it SQLAlchemy starts a new statement wherever the pattern of None values changes
  from one row to the next, about five times slower on these rows;
- :func:`cd2_upsert`: the upsert style of Instructure's Canvas Data 2 client: psycopg
  ``executemany`` of ``INSERT … ON CONFLICT (id) DO UPDATE SET`` every column, no change
  detection, 100,000 rows a batch;
- :func:`dap_merge`: the way Canvas Data 2's DAP client loads a table: every full row
  (typed columns and ``raw``) through ``COPY`` into a temporary stage table without
  constraints or indexes, then one ``INSERT … SELECT … ON CONFLICT (id) DO UPDATE SET``
  every column from it, no change detection, all in one transaction.

Each reports its seconds from the moment it connects (the ORM's reflection of the table
aside) and what they cost beyond time (:class:`bench.child.Span`), read on its
connection. ``limit`` takes the bundle's first N submissions only (the run then
extrapolates). The peers write no journal, history or lifecycle rows. The columns tracker keeps for itself
get what the table's constraints ask: ``sync_id`` the one given (that of the rows
already stored, so that an unchanged row stays equal), and ``raw_hash`` (where the
table has it) the digest tracker takes of the document. SQLAlchemy is used here and nowhere
else in the project.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import psycopg

from bench.child import Span
from tracker import bundle

T = TypeVar("T")

TABLE = "canvas.submissions"
ORM_BATCH = 10_000
CD2_BATCH = 100_000


def orm_merge(url: str, bundle_dir: str, limit: int | None, sync_id: int,
              application_name: str) -> dict[str, Any]:
    """Per-object ``session.merge`` of the first ``limit`` submissions."""
    from sqlalchemy.orm import Session

    engine = _engine(url, application_name)
    model = _model(engine)
    span = _orm_span(engine, url)
    count = 0
    with Session(engine) as session:
        for row in _rows(Path(bundle_dir), _orm_kinds(model), limit, sync_id, typed=True):
            session.merge(model(**row))
            count += 1
            if count % ORM_BATCH == 0:
                session.commit()
        session.commit()
    return _orm_end(engine, span, rows=count)


def orm_bulk_insert(url: str, bundle_dir: str, limit: int | None, sync_id: int,
                    application_name: str) -> dict[str, Any]:
    """The ORM's bulk INSERT of the first ``limit`` submissions, 10,000 a statement call."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    engine = _engine(url, application_name)
    model = _model(engine)
    span = _orm_span(engine, url)
    count = 0
    with Session(engine) as session:
        rows = _rows(Path(bundle_dir), _orm_kinds(model), limit, sync_id, typed=True)
        for batch in _batched(rows, ORM_BATCH):
            session.execute(insert(model).execution_options(render_nulls=True), batch)
            count += len(batch)
        session.commit()
    return _orm_end(engine, span, rows=count)


def cd2_upsert(url: str, bundle_dir: str, limit: int | None, sync_id: int,
               application_name: str) -> dict[str, Any]:
    """``executemany`` of ``INSERT … ON CONFLICT (id) DO UPDATE``, 100,000 rows a batch."""
    span = Span()
    count = 0
    with psycopg.connect(url, application_name=application_name) as conn:
        span.on(conn, url)
        kinds = _table_kinds(conn)
        columns = list(kinds)
        statement = (
            f"INSERT INTO {TABLE} ({', '.join(columns)})\n"
            f"VALUES ({', '.join('%s' for _ in columns)})\n"
            f"{_on_conflict_update(columns)}")
        rows = (tuple(r.values())
                for r in _rows(Path(bundle_dir), kinds, limit, sync_id, typed=False))
        with conn.cursor() as cur:
            for batch in _batched(rows, CD2_BATCH):
                cur.executemany(statement, batch)
                count += len(batch)
        conn.commit()
        return span.end(conn, rows=count)


def dap_merge(url: str, bundle_dir: str, limit: int | None, sync_id: int,
              application_name: str) -> dict[str, Any]:
    """``COPY`` of full rows into a temporary stage, then ``INSERT … SELECT … ON CONFLICT (id)
    DO UPDATE`` from it, in one transaction."""
    span = Span()
    with psycopg.connect(url, application_name=application_name) as conn:
        span.on(conn, url)
        kinds = _table_kinds(conn)  # the transaction begins
        columns = ", ".join(kinds)
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE dap_stage (LIKE {TABLE}) ON COMMIT DROP")
            with cur.copy(f"COPY dap_stage ({columns}) FROM STDIN") as copy:
                for row in _rows(Path(bundle_dir), kinds, limit, sync_id, typed=False):
                    copy.write_row(tuple(row.values()))
            cur.execute(f"INSERT INTO {TABLE} ({columns})\n"
                        f"SELECT {columns} FROM dap_stage\n"
                        f"{_on_conflict_update(list(kinds))}")
            count = cur.rowcount
        conn.commit()
        return span.end(conn, rows=count)


def _on_conflict_update(columns: list[str]) -> str:
    """The clause that makes an INSERT of ``columns`` an upsert by id: every other column set."""
    return "ON CONFLICT (id) DO UPDATE SET\n" + ",\n".join(
        f"    {c} = EXCLUDED.{c}" for c in columns if c != "id")


# -- reading the bundle --------------------------------------------------------------------------


def _rows(bundle_dir: Path, kinds: dict[str, str], limit: int | None, sync_id: int, *,
          typed: bool) -> Iterator[dict[str, Any]]:
    """The submissions as rows of ``kinds`` (column → "id", "time", "json" or "value").

    ``typed``: timestamps as datetimes, ``raw`` as a dict and the digest as a UUID (what
    an ORM model holds); otherwise as text, for the server to type.
    """
    files = bundle.find_files(bundle_dir)
    courses = {_canvas_id(a.get("id")): _canvas_id(a.get("course_id"))
               for a in map(orjson.loads, bundle.iter_documents(files["assignments"]))}
    for number, line in enumerate(bundle.iter_documents(files["submissions"])):
        if limit is not None and number >= limit:
            return
        doc = orjson.loads(line)
        row: dict[str, Any] = {}
        for column, kind in kinds.items():
            if column == "course_id":
                row[column] = courses.get(_canvas_id(doc.get("assignment_id")))
            elif column == "sync_id":
                row[column] = sync_id
            elif column == "raw_hash":
                digest = hashlib.blake2b(line, digest_size=16)
                row[column] = uuid.UUID(bytes=digest.digest()) if typed else digest.hexdigest()
            elif kind == "json":
                row[column] = doc if typed else line.decode()
            elif kind == "id":
                row[column] = _canvas_id(doc.get(column))
            elif kind == "time" and typed:
                value = doc.get(column)
                row[column] = datetime.fromisoformat(value) if value else None
            else:
                row[column] = doc.get(column)
        yield row


def _canvas_id(value: Any) -> int | None:
    """A Canvas id (number, numeric string, "shard~local") as a global id."""
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    if "~" in text:
        shard, local = text.split("~", 1)
        return int(shard) * 10_000_000_000_000 + int(local)
    return int(text)


def _kind(data_type: str) -> str:
    if data_type == "bigint":
        return "id"
    if data_type.startswith("timestamp"):
        return "time"
    if data_type == "jsonb":
        return "json"
    return "value"


def _table_kinds(conn: psycopg.Connection[Any]) -> dict[str, str]:
    schema, name = TABLE.split(".")
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, name)).fetchall()
    return {column: _kind(data_type) for column, data_type in rows}


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- SQLAlchemy ----------------------------------------------------------------------------------


def _orm_span(engine: Any, url: str) -> Span:
    """A :class:`Span` begun now, read on the engine's connection (which the session then
    checks out of the pool: the one connection it holds)."""
    span = Span()
    with engine.connect() as conn:
        span.on(conn.connection.driver_connection, url)
    return span


def _orm_end(engine: Any, span: Span, **result: Any) -> dict[str, Any]:
    """``span`` ended on the engine's connection, then the engine disposed of."""
    with engine.connect() as conn:
        done = span.end(conn.connection.driver_connection, **result)
    engine.dispose()
    return done


def _engine(url: str, application_name: str) -> Any:
    from sqlalchemy import create_engine

    _, rest = url.split("://", 1)
    return create_engine(f"postgresql+psycopg://{rest}",
                         connect_args={"application_name": application_name})


def _model(engine: Any) -> Any:
    """A declarative class mapped to the existing table, by reflection."""
    from sqlalchemy import MetaData, Table
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    schema, name = TABLE.split(".")
    table = Table(name, MetaData(schema=schema), autoload_with=engine)

    class Submission(Base):
        __table__ = table

    return Submission


def _orm_kinds(model: Any) -> dict[str, str]:
    from sqlalchemy import BigInteger, DateTime
    from sqlalchemy.dialects.postgresql import JSONB

    kinds = {}
    for column in model.__table__.columns:
        kind = ("id" if isinstance(column.type, BigInteger)
                else "time" if isinstance(column.type, DateTime)
                else "json" if isinstance(column.type, JSONB) else "value")
        kinds[column.name] = kind
    return kinds
