"""The loader of SQL files: every statement under ``sql/<folder>/*.sql`` as a callable.

A file holds several statements, each introduced by a ``-- name: snake_name`` line.
The ``--`` lines right after it are the statement's docstring, except directives
``-- allow <param>: schema.table, other_table`` listing the values an identifier
parameter may take. Comments before the first ``-- name:`` are the file's header.
A named block holds exactly one statement; its trailing ``;`` is optional::

    -- name: course_enrollments
    -- The enrollments of one course, newest first.
    SELECT id, user_id, type
    FROM canvas.enrollments
    WHERE course_id = :'course_id'::bigint
    ORDER BY created_at DESC;

Parameters use psql's syntax, so ``psql -v course_id=42 -f file.sql`` runs the same
text: ``:'name'`` is a value (sent as a bound parameter, never pasted into the text)
and ``:"name"`` an identifier, taken only from its ``-- allow`` list. Bare ``:name``
(psql pastes it in as raw SQL), ``:{?name}`` and backslash commands are refused.

Each file is parsed once, at load: ``_lex`` cuts the text into tokens (strings,
``E''`` strings, quoted identifiers, dollar-quoted bodies, comments, ``::`` casts,
parameters), ``load_file`` splits them into named blocks and ``_statement`` builds a
`Statement` from each. Errors are `tracker.errors.SqlFileError` starting with
``path:line:col:``; a server error keeps its psycopg class and gets a note naming
the file's line.

``sql`` is the project's own ``sql/`` tree, loaded on first use::

    from tracker.sqlfiles import sql
    rows = sql.canvas.course_enrollments(conn, course_id=42).fetchall()
"""

from __future__ import annotations

import bisect
import json
import keyword
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast, overload

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import Row, RowFactory

import tracker
from tracker import arguments, monitor
from tracker.errors import NotFoundError, SqlFileError

__all__ = ["Plan", "SqlFolder", "SqlTree", "Statement", "explaining", "load_dir", "load_file", "sql"]

# ----------------------------------------------------------------------------- lexer

_NAME = r"[^\W\d]\w*"  # a parameter name: a letter or _, then letters, digits, _
_VALUE_PARAM = re.compile(rf":'({_NAME})'")
_IDENT_PARAM = re.compile(rf':"({_NAME})"')
_BARE_PARAM = re.compile(rf":({_NAME})")
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")  # $$ or $tag$, never $1
_WORD = re.compile(r"[^\W\d][\w$]*")
_OTHER = re.compile(r"""\d+|[^\s\w'"$:;\\/-]+|.""", re.DOTALL)
_SPACE = re.compile(r"\s+")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_COMMENT_MARK = re.compile(r"/\*|\*/")

_Kind = Literal["space", "comment", "block", "string", "qident", "dollar", "value", "ident",
                "semi", "code"]
_TRIVIA = ("space", "comment", "block")


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    offset: int  # in the file's text


class _Source:
    """A file's text, and how to turn an offset into ``path:line:col``."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def starts_line(self, offset: int) -> bool:
        line_start = self.line_starts[self.position(offset)[0] - 1]
        return not self.text[line_start:offset].strip()

    def error(self, offset: int, message: str) -> SqlFileError:
        line, column = self.position(offset)
        return SqlFileError(f"{self.path}:{line}:{column}: {message}")


def _lex(src: _Source) -> list[_Token]:
    """Cut ``src`` into tokens; a quoted text, a comment or a parameter is one token."""
    text, tokens, i = src.text, [], 0
    while i < len(text):
        c = text[i]
        kind: _Kind = "code"
        if m := _SPACE.match(text, i):
            j, kind = m.end(), "space"
        elif m := _LINE_COMMENT.match(text, i):
            j, kind = m.end(), "comment"
        elif text.startswith("/*", i):
            j, kind = _block_comment_end(src, i), "block"
        elif c in "'\"":
            j, kind = _quoted_end(src, i), "string" if c == "'" else "qident"
        elif c == "$" and (m := _DOLLAR_TAG.match(text, i)):
            if (end := text.find(m.group(), m.end())) < 0:
                raise src.error(i, f"unterminated dollar-quoted string: no closing {m.group()}")
            j, kind = end + len(m.group()), "dollar"
        elif c == ":":
            j, kind = _colon(src, i)
        elif c == "\\":
            raise src.error(i, "psql backslash commands are refused: a named block holds "
                               "one SQL statement; set such options in the caller")
        elif c == ";":
            j, kind = i + 1, "semi"
        elif m := _WORD.match(text, i):
            j = m.end()
            if j == i + 1 and c in "eE" and text.startswith("'", j):
                j, kind = _escape_string_end(src, i), "string"
        else:
            j = cast(re.Match[str], _OTHER.match(text, i)).end()
        tokens.append(_Token(kind, text[i:j], i))
        i = j
    return tokens


def _quoted_end(src: _Source, start: int) -> int:
    """End of a ``'…'`` string or ``"…"`` identifier, where a doubled quote is escaped."""
    quote, j = src.text[start], start + 1
    while (k := src.text.find(quote, j)) >= 0:
        if not src.text.startswith(quote, k + 1):
            return k + 1
        j = k + 2
    what = "string" if quote == "'" else "quoted identifier"
    raise src.error(start, f"unterminated {what}: no closing {quote}")


def _escape_string_end(src: _Source, start: int) -> int:
    """End of an ``E'…'`` string, where a backslash escapes the next character."""
    j = start + 2
    while j < len(src.text):
        if src.text[j] == "\\" or src.text.startswith("''", j):
            j += 2
        elif src.text[j] == "'":
            return j + 1
        else:
            j += 1
    raise src.error(start, "unterminated E'' string: no closing '")


def _block_comment_end(src: _Source, start: int) -> int:
    """End of a ``/* … */`` comment; such comments nest in PostgreSQL."""
    depth = 0
    for m in _COMMENT_MARK.finditer(src.text, start):
        depth += 1 if m.group() == "/*" else -1
        if depth == 0:
            return m.end()
    raise src.error(start, "unterminated /* comment: no closing */")


def _colon(src: _Source, i: int) -> tuple[int, _Kind]:
    """A ``::`` cast, a ``:'value'`` or ``:"identifier"`` parameter, or a lone colon."""
    if src.text.startswith("::", i):
        return i + 2, "code"
    if m := _VALUE_PARAM.match(src.text, i):
        return m.end(), "value"
    if m := _IDENT_PARAM.match(src.text, i):
        return m.end(), "ident"
    if src.text.startswith(":{?", i):
        raise src.error(i, "psql's :{?name} test is refused: pass every parameter explicitly")
    if m := _BARE_PARAM.match(src.text, i):
        name = m.group(1)
        raise src.error(i, f"bare :{name} is refused (psql pastes it in as raw SQL text): "
                           f"write :'{name}' for a value or :\"{name}\" for an identifier")
    return i + 1, "code"


# ---------------------------------------------------------------------------- parser

_NAME_LINE = re.compile(r"--\s*name:(.*)")
_ALLOW_LINE = re.compile(r"--\s*allow\s+(\S+?)\s*:(.*)")
_STATEMENT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_IDENTIFIER_VALUE = re.compile(r"[^\W\d][\w$]*(?:\.[^\W\d][\w$]*)?")


@dataclass(frozen=True)
class _Part:
    """A run of SQL text, or a parameter (``value`` or ``ident``) named ``text``."""

    kind: Literal["text", "value", "ident"]
    text: str
    offset: int  # in the statement's ``sql``


def load_file(path: Path) -> dict[str, Statement]:
    """The statements of one SQL file, by name, in file order."""
    path = Path(path)
    src = _Source(path, path.read_text(encoding="utf-8-sig"))
    tokens = _lex(src)
    starts = [k for k, t in enumerate(tokens)
              if t.kind == "comment" and _NAME_LINE.match(t.text) and src.starts_line(t.offset)]
    for t in tokens[: starts[0] if starts else len(tokens)]:
        if t.kind not in _TRIVIA:
            raise src.error(t.offset, "SQL outside a named statement: start it with a "
                                      "'-- name: snake_name' line")
    statements: dict[str, Statement] = {}
    for first, after in zip(starts, [*starts[1:], len(tokens)], strict=True):
        stmt = _statement(src, tokens[first], tokens[first + 1 : after])
        if stmt.name in statements:
            raise _duplicate(statements[stmt.name], stmt)
        statements[stmt.name] = stmt
    return statements


def _statement(src: _Source, name_token: _Token, tokens: list[_Token]) -> Statement:
    """Build the statement of one named block from the tokens after its name line."""
    name = cast(re.Match[str], _NAME_LINE.match(name_token.text)).group(1).strip()
    if not _STATEMENT_NAME.fullmatch(name) or keyword.iskeyword(name):
        raise src.error(name_token.offset, f"statement name {name!r} is not a snake_case "
                                           "Python name (like upsert_users)")
    doc: list[str] = []
    allow: dict[str, tuple[tuple[str, ...], int]] = {}  # param → (values, offset of the line)
    k = 0
    while k < len(tokens) and tokens[k].kind in _TRIVIA:
        t, k = tokens[k], k + 1
        if t.kind == "comment" and (m := _ALLOW_LINE.match(t.text)):
            if m.group(1) in allow:
                raise src.error(t.offset, f"a second '-- allow {m.group(1)}' line")
            allow[m.group(1)] = (_allow_list(src, t.offset, m.group(1), m.group(2)), t.offset)
        elif t.kind == "comment":
            doc.append(t.text[2:].removeprefix(" ").rstrip())
    body = tokens[k:]
    if (semi := next((i for i, t in enumerate(body) if t.kind == "semi"), None)) is not None:
        if extra := next((t for t in body[semi + 1 :] if t.kind not in _TRIVIA), None):
            raise src.error(extra.offset, f"a second statement in {name!r}: one '-- name:' "
                                          "holds one statement; give this one a name of its own")
        body = body[:semi]
    while body and body[-1].kind in _TRIVIA:
        body.pop()
    if not body:
        raise src.error(name_token.offset, f"statement {name!r} has no SQL")

    start = body[0].offset
    parts: list[_Part] = []
    for t in body:
        if t.kind == "value" or t.kind == "ident":
            parts.append(_Part(t.kind, t.text[2:-1], t.offset - start))
        elif parts and parts[-1].kind == "text":
            parts[-1] = _Part("text", parts[-1].text + t.text, parts[-1].offset)
        else:
            parts.append(_Part("text", t.text, t.offset - start))
    values = tuple(dict.fromkeys(p.text for p in parts if p.kind == "value"))
    idents = tuple(dict.fromkeys(p.text for p in parts if p.kind == "ident"))
    for p in parts:
        if p.text == "row_factory":
            raise src.error(start + p.offset, "parameter name 'row_factory' is reserved by "
                                              "the loader; choose another")
        if p.kind == "ident" and p.text in values:
            raise src.error(start + p.offset, f":'{p.text}' and :\"{p.text}\" in one "
                                              "statement: use two names")
        if p.kind == "ident" and p.text not in allow:
            raise src.error(start + p.offset, f":\"{p.text}\" has no allow-list: add '-- allow "
                                              f"{p.text}: schema.table, …' under its name line")
    for param, (_, offset) in allow.items():
        if param not in idents:
            raise src.error(offset, f"'-- allow {param}' but {name!r} has no :\"{param}\"")
    line, column = src.position(start)
    return Statement(
        name=name, path=src.path, line=line, column=column, doc="\n".join(doc).strip(),
        sql=src.text[start : body[-1].offset + len(body[-1].text)],
        query=_render(parts, values, {}, numbered=False)[0], params=values,
        identifiers=MappingProxyType({p: allow[p][0] for p in idents}), _parts=tuple(parts),
    )


def _allow_list(src: _Source, offset: int, param: str, listed: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in listed.split(",") if v.strip()))
    for v in values or [""]:
        if not _IDENTIFIER_VALUE.fullmatch(v):
            raise src.error(offset, f"'-- allow {param}': {v!r} is not a name or schema.name")
    return values


def _render(parts: Sequence[_Part], params: Sequence[str], identifiers: Mapping[str, str],
            *, numbered: bool) -> tuple[str, list[int]]:
    """The text to send, and where each part starts in it.

    ``numbered``: values as ``$1``…``$n`` and ``%`` as is (the text the server sees);
    otherwise values as ``%(name)s`` and ``%`` doubled (the text psycopg takes).
    Identifier parameters missing from ``identifiers`` stay as ``:"name"``.
    """
    pieces: list[str] = []
    starts: list[int] = []
    size = 0
    for part in parts:
        if part.kind == "text":
            piece = part.text if numbered else part.text.replace("%", "%%")
        elif part.kind == "value":
            piece = f"${params.index(part.text) + 1}" if numbered else f"%({part.text})s"
        elif part.text in identifiers:
            piece = pgsql.Identifier(*identifiers[part.text].split(".")).as_string()
        else:
            piece = f':"{part.text}"'
        starts.append(size)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces), starts


def _duplicate(first: Statement, second: Statement) -> SqlFileError:
    return SqlFileError(f"{second.where}: duplicate statement name {second.name!r}, "
                        f"first defined at {first.where}")


# ------------------------------------------------------------------------- statement


@dataclass(frozen=True, eq=False)
class Statement:
    """One named SQL statement; call it with a connection and its parameters.

    ``sql`` is the text as written; ``query`` the text psycopg takes, values as
    ``%(name)s`` (identifier parameters stay ``:"name"`` until a call fills them
    in). ``params`` lists the value parameters in order of first use;
    ``identifiers`` maps each identifier parameter to its allowed values, in the
    order of their ``-- allow`` line. ``line`` and ``column`` locate the first
    character of ``sql`` in ``path``.
    """

    name: str
    path: Path
    line: int
    doc: str
    sql: str
    query: str
    params: tuple[str, ...]
    identifiers: Mapping[str, tuple[str, ...]]
    column: int = 1
    _parts: tuple[_Part, ...] = field(default=(), repr=False)

    @property
    def where(self) -> str:
        """``path:line`` of the statement, for messages."""
        return f"{self.path}:{self.line}"

    @overload
    def __call__(self, conn: psycopg.Connection[Any], /, *, row_factory: None = None,
                 **params: Any) -> psycopg.Cursor[Any]: ...

    @overload
    def __call__(self, conn: psycopg.Connection[Any], /, *, row_factory: RowFactory[Row],
                 **params: Any) -> psycopg.Cursor[Row]: ...

    def __call__(self, conn: psycopg.Connection[Any], /, *,
                 row_factory: RowFactory[Any] | None = None, **params: Any) -> psycopg.Cursor[Any]:
        """Execute the statement on ``conn`` and return the cursor holding its result.

        Never as a prepared statement: the best plan of these statements depends on their
        values (``course_id`` empty means every course, and one plan cannot serve both),
        and PostgreSQL would settle on one generic plan for a prepared statement after
        its fifth run — for the at-risk students of every course, three times slower.
        Planning them each time costs little beside running them.
        """
        arguments.usable(conn)
        values, idents = self._bind(params)
        text = self._render(idents, numbered=False)[0]
        plans = _explaining.get()
        if plans is not None and _EXPLAINABLE.match(self.sql):
            plans.append(Plan(monitor.statement_name(self), _explain(conn, text, values)))
        cur = conn.cursor() if row_factory is None else conn.cursor(row_factory=row_factory)
        try:
            with monitor.timed(monitor.statement_name(self)) as timed:
                cur.execute(text, values, prepare=False)
                timed.rows = cur.rowcount if cur.rowcount >= 0 else None
        except psycopg.Error as exc:
            self._mark(exc, idents)
            raise
        return cur

    @contextmanager
    def copy(self, conn: psycopg.Connection[Any], /, **params: Any) -> Iterator[psycopg.Copy]:
        """Run a ``COPY … FROM STDIN`` or ``TO STDOUT``: ``with stmt.copy(conn) as copy: …``.

        COPY takes no bound parameters: psycopg quotes values into the text.
        """
        arguments.usable(conn)
        values, idents = self._bind(params)
        text = self._render(idents, numbered=not values)[0]  # no values: send the text as is
        try:
            with (monitor.timed(monitor.statement_name(self)), conn.cursor() as cur,
                  cur.copy(text, values or None) as copy):
                yield copy
        except psycopg.Error as exc:
            self._mark(exc, idents)
            raise

    def _mark(self, exc: psycopg.Error, identifiers: Mapping[str, str]) -> None:
        """Say on ``exc`` where it came from: a note ``path:line:col: in SQL statement …``
        and, for ``failed_statement``, this statement's name and that place."""
        where = self._locate(exc, identifiers)
        exc.add_note(f"{where}: in SQL statement {self.name!r}")
        if getattr(exc, _FAILED, None) is None:  # the innermost statement is the one
            setattr(exc, _FAILED, (monitor.statement_name(self),
                                   where.replace(str(self.path), _shown(self.path), 1)))

    def numbered(self, **identifiers: str) -> str:
        """The text with ``$1``…``$n`` for the values (in ``params`` order), as for PREPARE.

        Identifier parameters, if the statement has any, must be given.
        """
        return self._render(self._bind(identifiers, values_too=False)[1], numbered=True)[0]

    def _bind(self, given: Mapping[str, Any], *, values_too: bool = True
              ) -> tuple[dict[str, Any], dict[str, str]]:
        """Check the parameters of a call; split them into values and identifiers."""
        expected = [*self.params, *self.identifiers] if values_too else [*self.identifiers]
        missing = [p for p in expected if p not in given]
        unknown = sorted(given.keys() - set(expected))
        if missing or unknown:
            problems = [f"{what} parameter{'s' * (len(names) > 1)} "
                        + ", ".join(repr(n) for n in names)
                        for what, names in (("missing", missing), ("unknown", unknown)) if names]
            raise SqlFileError(f"{self.where}: statement {self.name!r}: {'; '.join(problems)} "
                               f"(it takes: {', '.join(expected) or 'no parameters'})")
        for p, allowed in self.identifiers.items():
            if not (isinstance(given[p], str) and given[p] in allowed):
                raise SqlFileError(f"{self.where}: statement {self.name!r}: {given[p]!r} is not "
                                   f"an allowed value of :\"{p}\" (allowed: {', '.join(allowed)})")
        values = {p: given[p] for p in self.params} if values_too else {}
        return values, {p: given[p] for p in self.identifiers}

    def _render(self, identifiers: Mapping[str, str], *, numbered: bool) -> tuple[str, list[int]]:
        return _render(self._parts, self.params, identifiers, numbered=numbered)

    def _locate(self, exc: psycopg.Error, identifiers: Mapping[str, str]) -> str:
        """``path:line:col`` of the server's error position in the file (``path:line`` of
        the statement when the server gave no position)."""
        position = exc.diag.statement_position
        if not (position and position.isdigit()):
            return self.where
        # The server counts characters of the text it received: the numbered form.
        sent = int(position) - 1
        starts = self._render(identifiers, numbered=True)[1]
        k = max(bisect.bisect_right(starts, sent) - 1, 0)
        part = self._parts[k]
        offset = part.offset + (sent - starts[k] if part.kind == "text" else 0)
        before = self.sql[:offset]
        line = self.line + before.count("\n")
        column = self.column + offset if "\n" not in before else offset - before.rfind("\n")
        return f"{self.path}:{line}:{column}"


#: The attribute of a server error that ``Statement._mark`` sets.
_FAILED = "_tracker_failed_statement"


def failed_statement(exc: BaseException) -> tuple[str, str] | None:
    """The statement a server error came from, as ``("folder.name", "sql/…/file.sql:line")``
    (with ``:col`` when the server gave a position); None when it came from elsewhere."""
    found = getattr(exc, _FAILED, None)
    return found if isinstance(found, tuple) else None


def _shown(path: Path) -> str:
    """``path`` from the ``sql/`` folder on (``sql/canvas/write.sql``), else whole."""
    try:
        return str(path.relative_to(tracker.SQL_DIR.parent))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------- explain


@dataclass(frozen=True)
class Plan:
    """What ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` said of one statement as it ran:
    ``plan`` is the JSON's top object (``plan["Plan"]`` the root node)."""

    name: str
    plan: dict[str, Any]


_explaining: ContextVar[list[Plan] | None] = ContextVar("tracker_explaining", default=None)
#: Statements EXPLAIN can run: a query or a data-changing statement (not DDL, COPY, DO).
_EXPLAINABLE = re.compile(r"\s*(?:--[^\n]*\n\s*)*(?:SELECT|WITH|INSERT|UPDATE|DELETE|MERGE)\b",
                          re.IGNORECASE)


@contextmanager
def explaining() -> Iterator[list[Plan]]:
    """Explain every statement the loader runs while inside, in its real context.

    Each query or data-changing statement is first run under ``EXPLAIN (ANALYZE,
    BUFFERS, FORMAT JSON)`` in a savepoint that is rolled back, then for real: the plan
    is the one the server chose at that moment, with the rows each node actually
    handled. It costs each statement twice, so it is for tests and for finding out why
    a statement is slow (``with explaining() as plans: sync_bundle(conn, path)``), not
    for production.
    """
    plans: list[Plan] = []
    token = _explaining.set(plans)
    try:
        yield plans
    finally:
        _explaining.reset(token)


def _explain(conn: psycopg.Connection[Any], text: str, values: Mapping[str, Any]) -> dict[str, Any]:
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + text, values, prepare=False)
        row = cur.fetchone()
    assert row is not None
    document = row[0]
    return cast(dict[str, Any], (document if isinstance(document, list) else json.loads(document))[0])


# ------------------------------------------------------------------------------ tree


@dataclass(frozen=True)
class SqlFolder:
    """The statements of one folder of SQL files, by name: ``folder.upsert_users``."""

    name: str
    path: Path
    statements: Mapping[str, Statement] = field(repr=False)  # file order, files sorted

    def __getattr__(self, name: str) -> Statement:
        statements = self.__dict__.get("statements", {})
        if name.startswith("_") or name not in statements:
            raise AttributeError(f"{self.__dict__.get('path')} has no statement named {name!r}")
        return cast(Statement, statements[name])

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements.values())

    def __len__(self) -> int:
        return len(self.statements)


@dataclass(frozen=True)
class SqlTree:
    """Folders of SQL files, by name: ``tree.canvas.upsert_users``."""

    root: Path
    by_folder: Mapping[str, SqlFolder] = field(repr=False)
    by_file: Mapping[str, Mapping[str, Statement]] = field(repr=False)  # "reports/x.sql" → …

    def __getattr__(self, name: str) -> SqlFolder:
        folders = self.__dict__.get("by_folder", {})
        if name.startswith("_") or name not in folders:
            raise AttributeError(f"{self.__dict__.get('root')} has no folder named {name!r}")
        return cast(SqlFolder, folders[name])

    def folders(self) -> tuple[SqlFolder, ...]:
        """Every folder, sorted by name."""
        return tuple(self.by_folder.values())

    def file(self, relative_path: str | Path) -> Mapping[str, Statement]:
        """The statements of one file (``"reports/at_risk.sql"``), in file order."""
        key = Path(relative_path).as_posix()
        if key not in self.by_file:
            raise NotFoundError(f"{self.root / key}: no such SQL file (known: "
                                f"{', '.join(self.by_file) or 'none'})")
        return self.by_file[key]

    def __iter__(self) -> Iterator[Statement]:
        for folder in self.by_folder.values():
            yield from folder


_RESERVED_FOLDER_NAMES = {f.name for f in fields(SqlTree)} | set(dir(SqlTree))
_RESERVED_STATEMENT_NAMES = {f.name for f in fields(SqlFolder)} | set(dir(SqlFolder))


def load_dir(root: Path) -> SqlTree:
    """Load ``root/<folder>/*.sql``; statement names are unique within a folder.

    Folders and files whose names start with ``.`` or ``_`` are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise SqlFileError(f"{root}: no such folder of SQL files")
    visible = [p for p in sorted(root.rglob("*.sql"))
               if not any(s.startswith((".", "_")) for s in p.relative_to(root).parts)]
    if stray := [p for p in visible if len(p.relative_to(root).parts) != 2]:
        raise SqlFileError(f"{stray[0]}:1: SQL files live one folder deep: {root}/<folder>/*.sql")
    folders: dict[str, SqlFolder] = {}
    files: dict[str, Mapping[str, Statement]] = {}
    for folder in sorted(p for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith((".", "_"))):
        if not folder.name.isidentifier() or folder.name in _RESERVED_FOLDER_NAMES:
            raise SqlFileError(f"{folder}: folder name {folder.name!r} cannot be an attribute "
                               "of SqlTree; rename the folder")
        statements: dict[str, Statement] = {}
        for path in (p for p in visible if p.parent == folder):
            loaded = load_file(path)
            files[path.relative_to(root).as_posix()] = MappingProxyType(loaded)
            for name, stmt in loaded.items():
                if name in _RESERVED_STATEMENT_NAMES:
                    raise SqlFileError(f"{stmt.where}: statement name {name!r} is reserved "
                                       "(it names an attribute of SqlFolder); choose another")
                if name in statements:
                    raise _duplicate(statements[name], stmt)
                statements[name] = stmt
        folders[folder.name] = SqlFolder(folder.name, folder, MappingProxyType(statements))
    return SqlTree(root, MappingProxyType(folders), MappingProxyType(files))


class _ProjectTree:
    """``tracker.SQL_DIR`` as a `SqlTree`, loaded (and so checked) on first attribute use.

    Two threads racing to the first use each load it once; both trees are equal.
    """

    _tree: SqlTree | None = None

    def _load(self) -> SqlTree:
        if self._tree is None:
            self._tree = load_dir(tracker.SQL_DIR)
        return self._tree

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def __iter__(self) -> Iterator[Statement]:
        return iter(self._load())

    def __repr__(self) -> str:
        return f"<SQL tree of {tracker.SQL_DIR}{'' if self._tree else ', not loaded yet'}>"


#: The project's own statements: ``sql.canvas.upsert_users(conn, …)``.
sql: SqlTree = cast(SqlTree, _ProjectTree())
