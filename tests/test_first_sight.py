"""The first-sight path (tracker/first_sight.py) stores what the checking path stores.

Each test syncs the same bundles twice, into two databases of its own: once as tracker
syncs (a course's first sync takes its submissions by the first-sight path) and once by
the checking path alone (``sync.FIRST_SIGHT = False``). Every row of layers 1, 2 and 0,
every count and every error message must be the same.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from bundles import (
    ALGEBRA,
    BIOLOGY,
    course_part,
    tiny_institution,
    write_bundle,
)
from conftest import _create_database, _drop_database, unique_name
from test_sync import dump

from tracker import ahead, first_sight, sample, sync
from tracker.errors import InvalidDataError

TAKEN = "first-sight path:"


@pytest.fixture
def second_db_url(pg: Any, template_db: str) -> Iterator[str]:
    """A second fresh, migrated database, for the checking path."""
    name = unique_name("tracker_checking")
    _create_database(name, template=template_db)
    yield pg.url_for(name)
    _drop_database(name)


def _run(url: str, bundles: list[Path], *, first_sight: bool, monkeypatch: pytest.MonkeyPatch,
         caplog: pytest.LogCaptureFixture) -> tuple[list[Any], dict[str, Any], list[int]]:
    """Sync ``bundles`` in turn: each sync's counts (or its error's problems), every row
    of the layers after, and for each sync how many times the first-sight path copied."""
    monkeypatch.setattr(sync, "FIRST_SIGHT", first_sight)
    outcomes: list[Any] = []
    taken: list[int] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for path in bundles:
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="tracker.first_sight"):
                try:
                    report = sync.sync_bundle(conn, path)
                    outcomes.append((report.scope_course_ids, report.counts))
                except InvalidDataError as exc:
                    outcomes.append(("invalid", str(exc), exc.problems))
            taken.append(sum(TAKEN in r.getMessage() for r in caplog.records))
        # A refused first-sight attempt used up a sync id (sequences never roll back):
        # number the runs that wrote in their order.
        ran = [r[0] for r in conn.execute(
            "SELECT sync_id FROM tracker.sync_runs WHERE status = 'succeeded' ORDER BY sync_id")]
        renumber = {old: new for new, old in enumerate(ran, start=1)}
        rows = {table: [{k: renumber.get(v, v) if k.endswith("sync_id") else v
                         for k, v in row.items()} for row in found]
                for table, found in dump(conn, volatile=False).items()}
        return outcomes, rows, taken


def _both(db_url: str, second_db_url: str, bundles: list[Path], monkeypatch: pytest.MonkeyPatch,
          caplog: pytest.LogCaptureFixture) -> tuple[list[Any], list[int]]:
    """Sync ``bundles`` by both paths; assert that they store and say the same; the
    outcomes, and for each sync whether the first-sight path took its submissions."""
    fast, fast_rows, taken = _run(db_url, bundles, first_sight=True, monkeypatch=monkeypatch,
                                  caplog=caplog)
    checking, checking_rows, never = _run(second_db_url, bundles, first_sight=False,
                                          monkeypatch=monkeypatch, caplog=caplog)
    assert never == [0] * len(bundles)
    assert fast == checking
    assert fast_rows.keys() == checking_rows.keys()
    for table in fast_rows:
        assert fast_rows[table] == checking_rows[table], table
    return fast, taken


def test_the_sample_school_with_its_edge_cases_is_stored_the_same_by_both_paths(
        db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Shard ids, the test student, excused and hidden grades, missing fields; then a
    regrade (stored courses: the checking path) and a new term's course beside them."""
    options: dict[str, Any] = {"students": 40, "courses": 4, "assignments_per_course": 6,
                               "courses_per_student": 2}
    first = sample.generate(tmp_path / "first", **options).directory
    regraded = sample.generate(tmp_path / "regraded", **options, revision=1).directory
    outcomes, taken = _both(db_url, second_db_url, [first, regraded], monkeypatch, caplog)
    assert taken == [1, 0]
    counts = outcomes[0][1]["submissions"]
    assert counts.inserted > 500 and counts.history == counts.inserted
    assert outcomes[1][1]["submissions"].updated > 0


def test_each_new_course_takes_the_first_sight_path_and_a_stored_one_does_not(
        db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Biology first; then both courses, Algebra new beside a stored Biology (its
    submissions by the first-sight path, Biology's by the checking path, one changed);
    then both again (stored: the checking path alone)."""
    data = tiny_institution()
    first = write_bundle(tmp_path / "biology", course_part(data, BIOLOGY))
    biology_ids = {s["id"] for s in course_part(data, BIOLOGY)["submissions"]}
    changed = next(s for s in data["submissions"] if s["id"] in biology_ids)
    changed.update(score=1.5, grade="1.5")
    paths = [first, write_bundle(tmp_path / "both", data), write_bundle(tmp_path / "again", data)]
    outcomes, taken = _both(db_url, second_db_url, paths, monkeypatch, caplog)
    assert taken == [1, 1, 0]
    assert [o[0] for o in outcomes] == [(BIOLOGY,), (ALGEBRA, BIOLOGY), (ALGEBRA, BIOLOGY)]
    mixed = outcomes[1][1]["submissions"]
    assert (mixed.inserted, mixed.updated) == (len(data["submissions"]) - len(biology_ids), 1)


def test_a_submission_of_a_stored_course_outside_the_bundle_falls_back(
        db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Algebra first, without submissions; then Biology, whose submissions file also
    holds Algebra's (their assignments are stored): the scope takes Algebra in through
    the stored assignments, which only the checking path reads."""
    data = tiny_institution()
    algebra = course_part(data, ALGEBRA)
    biology = course_part(data, BIOLOGY)
    biology["submissions"] += algebra.pop("submissions")
    paths = [write_bundle(tmp_path / "algebra", algebra),
             write_bundle(tmp_path / "biology", biology)]
    outcomes, taken = _both(db_url, second_db_url, paths, monkeypatch, caplog)
    assert taken == [0, 0]  # refused, then synced by the checking path
    assert outcomes[1][0] == (ALGEBRA, BIOLOGY)


#: Numbers as a document may write them that a float does not keep: trailing zeros, an
#: exponent, more digits than a double holds (the score, the entered score).
NUMBER_TEXTS = [(b"9.50", b"7.0"), (b"1E2", b"1e-7"), (b"0.10000000000000000555", b"-0.0"),
                (b"12345678901234567890.5", b"2.5e+1")]


def test_a_number_is_stored_as_the_document_writes_it_by_both_paths(
        db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The first-sight path reads floats with orjson; PostgreSQL reads the document's
    text. Each path must store the score and entered score whose text the document
    holds, digit for digit and scale for scale (the rows' Decimals compare equal even
    when the scales differ: compared here as text)."""
    data = tiny_institution()
    bundle_dir = write_bundle(tmp_path / "b", data)
    file = bundle_dir / "submissions.ndjson"
    lines = file.read_bytes().splitlines()
    for n, (score, entered) in enumerate(NUMBER_TEXTS):
        doc = orjson.loads(lines[n])
        doc.update(score=0.25, entered_score=0.75)
        lines[n] = (orjson.dumps(doc).replace(b'"score":0.25', b'"score":' + score)
                    .replace(b'"entered_score":0.75', b'"entered_score":' + entered))
    file.write_bytes(b"\n".join(lines) + b"\n")
    _, taken = _both(db_url, second_db_url, [bundle_dir], monkeypatch, caplog)
    assert taken == [1]
    ids = [orjson.loads(line)["id"] for line in lines[:len(NUMBER_TEXTS)]]
    query = """
        SELECT s.score::text, s.entered_score::text, h.score::text
        FROM canvas.submissions AS s
        JOIN history.submission_scores AS h ON h.submission_id = s.id
        WHERE s.id = ANY(%s) ORDER BY s.id"""
    texts = [(score.decode(), entered.decode()) for score, entered in NUMBER_TEXTS]
    for url in (db_url, second_db_url):
        with psycopg.connect(url) as conn:
            stored = conn.execute(query, (ids,)).fetchall()
            read = [conn.execute("SELECT %s::numeric::text, %s::numeric::text", pair).fetchone()
                    for pair in texts]
        assert stored == [(score, entered, score) for score, entered in read]
        assert stored[0] == ("9.50", "7.0", "9.50")


@pytest.mark.parametrize("fault", ["duplicate id", "user nowhere", "bad score", "no assignment"])
def test_a_fault_in_the_submissions_is_named_as_the_checking_path_names_it(
        fault: str, db_url: str, second_db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    data = tiny_institution()
    last = data["submissions"][-1]
    if fault == "duplicate id":
        data["submissions"].append(dict(data["submissions"][0]))
    elif fault == "user nowhere":
        last["user_id"] = 777
    elif fault == "bad score":
        last["score"] = "ninety"
    else:
        del last["assignment_id"]
    outcomes, taken = _both(db_url, second_db_url, [write_bundle(tmp_path / "b", data)],
                            monkeypatch, caplog)
    assert outcomes[0][0] == "invalid" and outcomes[0][2]
    assert taken == [0]


def test_faults_in_other_files_are_reported_with_the_submissions_own(
        db_url: str, second_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """An enrollment of a user who is nowhere, and a submission given twice: the checking
    path finds both at once (the first-sight path held the submissions back, then let go)."""
    data = tiny_institution()
    data["enrollments"][0]["user_id"] = 777
    data["submissions"].append(dict(data["submissions"][0]))
    outcomes, _ = _both(db_url, second_db_url, [write_bundle(tmp_path / "b", data)],
                        monkeypatch, caplog)
    assert outcomes[0][0] == "invalid"
    problems = outcomes[0][2]
    assert any(p.startswith("enrollments") for p in problems)
    assert any(p.startswith("submissions") for p in problems)


@pytest.mark.parametrize("fault", [None, "bad score"])
def test_the_switch_interval_is_short_while_rows_are_typed_and_as_it_was_after(
        fault: str | None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread that types the rows runs under ahead.SWITCH_INTERVAL, so that the
    thread that sends them gets the interpreter's lock back soon after each wait on the
    socket; the process's own interval is back once the copy is over, taken or refused."""
    data = tiny_institution()
    if fault:
        data["submissions"][-1]["score"] = "ninety"
    seen: list[float] = []
    typed = first_sight._row

    def row(*args: Any) -> bytes:
        seen.append(sys.getswitchinterval())
        return typed(*args)

    monkeypatch.setattr(first_sight, "_row", row)
    before = sys.getswitchinterval()
    assert before > ahead.SWITCH_INTERVAL  # the interpreter's default, 5 ms
    with psycopg.connect(db_url, autocommit=True) as conn:
        try:
            sync.sync_bundle(conn, write_bundle(tmp_path / "b", data))
        except InvalidDataError:
            assert fault
    assert seen and seen == [pytest.approx(ahead.SWITCH_INTERVAL)] * len(seen)
    assert sys.getswitchinterval() == before
