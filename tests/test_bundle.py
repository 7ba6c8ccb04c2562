"""tracker.bundle: finding a bundle's files and streaming their records."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tracker import bundle
from tracker.errors import InvalidDataError

RECORDS = [
    {"id": 1, "name": "Ada Lovelace", "score": 8.5},
    {"id": 2**63 - 1, "name": "محمد عبد الله", "score": None},
    {"id": 3, "name": "王小明", "nested": {"list": [1, 2.25, "x"]}},
    {"id": "1~123", "name": "Zoë 🌟 Ångström, Jr.", "empty": {}},
]


def _write(path: Path, data: bytes) -> Path:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def _ndjson(records: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _as_array(records: list[dict[str, object]]) -> bytes:
    # Pretty-printed, to show that whitespace is not carried over.
    return orjson.dumps(records, option=orjson.OPT_INDENT_2)


def _as_wrapped(records: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"enrollment_terms": records}, option=orjson.OPT_INDENT_2)


FORMS = {
    "array": (".json", _as_array),
    "wrapped": (".json", _as_wrapped),
    "ndjson": (".ndjson", _ndjson),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("form", list(FORMS))
def test_every_file_form_yields_the_same_compact_documents(
    tmp_path: Path, form: str, gz: bool
) -> None:
    suffix, encode = FORMS[form]
    path = _write(tmp_path / f"users{suffix}{'.gz' if gz else ''}", encode(RECORDS))

    documents = list(bundle.iter_documents(path))

    assert documents == [orjson.dumps(r) for r in RECORDS]
    assert [orjson.loads(d) for d in documents] == RECORDS


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_ids_up_to_2_63_minus_1_stay_exact_integers(tmp_path: Path, suffix: str) -> None:
    big = 2**63 - 1
    text = b'[{"id": 9223372036854775807, "user_id": 9223372036854775806}]'
    if suffix == ".ndjson":
        text = b'{"id": 9223372036854775807, "user_id": 9223372036854775806}\n'
    path = _write(tmp_path / f"submissions{suffix}", text)

    [document] = bundle.iter_documents(path)

    assert b"9223372036854775807" in document
    assert orjson.loads(document) == {"id": big, "user_id": big - 1}


def test_a_json_file_keeps_each_number_as_written(tmp_path: Path) -> None:
    """Not a double's reading of it: the digits and the scale PostgreSQL would read."""
    texts = ["9.50", "1E2", "12345678901234567890.5", "0.10000000000000000555", "-0.0", "7"]
    fields = ", ".join(f'"n{i}": {text}' for i, text in enumerate(texts))
    path = _write(tmp_path / "submissions.json", f"[{{{fields}}}]".encode())

    [document] = bundle.iter_documents(path)

    values = json.loads(document, parse_float=Decimal)
    assert [values[f"n{i}"] for i in range(len(texts))] == [Decimal(t) for t in texts]
    assert [str(values[f"n{i}"]) for i in range(len(texts))] == [str(Decimal(t)) for t in texts]


def test_ndjson_lines_are_passed_through_stripped_and_unparsed(tmp_path: Path) -> None:
    # A line is not parsed: the bytes PostgreSQL gets are exactly the file's, spacing included.
    path = _write(
        tmp_path / "users.ndjson",
        b'\n  {"id": 1,  "name": "A"}  \r\n\n\t\n{"id":2}\n   \n{"id": 3}',  # no final newline
    )

    assert list(bundle.iter_documents(path)) == [
        b'{"id": 1,  "name": "A"}',
        b'{"id":2}',
        b'{"id": 3}',
    ]
    assert bundle.count_records(path) == 3


def test_unicode_names_survive_every_form(tmp_path: Path) -> None:
    names = ["مريم العلي", "张伟", "Дмитрий Иванов", "Zoë 🌟", "O'Brien, Seán"]
    records = [{"id": i, "name": n} for i, n in enumerate(names)]
    for suffix, encode in [(".json", _as_array), (".ndjson.gz", _ndjson)]:
        path = _write(tmp_path / f"users{suffix}", encode(records))

        assert [orjson.loads(d)["name"] for d in bundle.iter_documents(path)] == names
        # Non-ASCII stays UTF-8 rather than \\u escapes.
        assert "张伟".encode() in b"".join(bundle.iter_documents(path))
        path.unlink()


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    json_path = _write(tmp_path / "users.json", b"\xef\xbb\xbf" + _as_array(RECORDS[:1]))
    ndjson_path = _write(tmp_path / "terms.ndjson", b"\xef\xbb\xbf" + _ndjson(RECORDS[:1]))

    assert list(bundle.iter_documents(json_path)) == [orjson.dumps(RECORDS[0])]
    assert list(bundle.iter_documents(ndjson_path)) == [orjson.dumps(RECORDS[0])]


def test_empty_array_and_empty_ndjson_hold_no_records(tmp_path: Path) -> None:
    assert list(bundle.iter_documents(_write(tmp_path / "terms.json", b" [ ] "))) == []
    assert list(bundle.iter_documents(_write(tmp_path / "users.ndjson", b"\n\n"))) == []
    assert bundle.count_records(tmp_path / "terms.json") == 0


def test_wrapped_object_may_hold_other_non_array_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "terms.json",
        orjson.dumps({"meta": {"page": 1, "list": [1]}, "enrollment_terms": RECORDS[:2], "n": 2}),
    )

    assert [orjson.loads(d) for d in bundle.iter_documents(path)] == RECORDS[:2]
    assert bundle.count_records(path) == 2


def test_wrapped_object_with_two_array_keys_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "terms.json", b'{"enrollment_terms": [{"id": 1}], "more": []}')

    with pytest.raises(
        InvalidDataError, match=r"exactly one array-valued key.*'enrollment_terms', 'more'"
    ):
        list(bundle.iter_documents(path))


@pytest.mark.parametrize(
    ("text", "got"),
    [(b'"hello"', "text starting with"), (b"", "an empty file"), (b'{"a": 1}', "none")],
)
def test_a_json_file_of_the_wrong_shape_is_refused(tmp_path: Path, text: bytes, got: str) -> None:
    path = _write(tmp_path / "courses.json", text)

    with pytest.raises(InvalidDataError, match=got):
        list(bundle.iter_documents(path))
    assert got in bundle.json_errors(path)[0]


def test_json_item_that_is_not_an_object_names_its_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "courses.json", b'[{"id": 1}, {"id": 2}, [3]]')

    with pytest.raises(
        InvalidDataError, match=r"courses\.json record 3: expected a JSON object, got array"
    ):
        list(bundle.iter_documents(path))


def test_malformed_json_file_names_the_record_where_it_breaks(tmp_path: Path) -> None:
    path = _write(tmp_path / "courses.json", b'[{"id": 1}, {"id": 2,}, {"id": 3}]')

    with pytest.raises(
        InvalidDataError, match=r"courses\.json record 2: not valid JSON \(parse error"
    ):
        list(bundle.iter_documents(path))
    [problem] = bundle.json_errors(path)
    assert problem.startswith("courses.json record 2: not valid JSON (")
    assert "\n" not in problem


def test_json_errors_lists_each_bad_ndjson_record_with_its_number(tmp_path: Path) -> None:
    lines = [b'{"id": %d}' % i for i in range(1, 1300)]
    lines[1203] = b'{"id": 1204, "score": }'  # record 1,204
    lines[6] = b"[1, 2]"  # record 7
    lines[9] = b'"just a string"'  # record 10
    text = b"\n\n".join(lines)  # blank lines between records do not count
    path = _write(tmp_path / "submissions.ndjson", text)

    problems = bundle.json_errors(path)

    assert problems[0] == "submissions.ndjson record 7: expected a JSON object, got array"
    assert problems[1] == "submissions.ndjson record 10: expected a JSON object, got string"
    assert problems[2].startswith("submissions.ndjson record 1,204: not valid JSON (")
    assert len(problems) == 3


def test_json_errors_is_empty_for_a_good_file_and_stops_at_the_limit(tmp_path: Path) -> None:
    good = _write(tmp_path / "users.ndjson.gz", _ndjson(RECORDS))
    bad = _write(tmp_path / "terms.ndjson", b"nope\n" * 100)

    assert bundle.json_errors(good) == []
    assert len(bundle.json_errors(bad, limit=5)) == 5
    assert bundle.json_errors(bad, limit=5)[4].startswith("terms.ndjson record 5: not valid JSON")


def test_json_errors_flags_nul_characters_postgresql_cannot_store(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "users.ndjson", b'{"id": 1, "name": "a\\u0000b"}\n{"id": 2, "n": "\\\\u0000"}\n'
    )

    [problem] = bundle.json_errors(path)

    assert problem.startswith("users.ndjson record 1: a string holds \\u0000")


def test_a_corrupt_gzip_file_is_invalid_data(tmp_path: Path) -> None:
    path = tmp_path / "users.ndjson.gz"
    path.write_bytes(gzip.compress(_ndjson(RECORDS))[:-12])  # truncated
    notgz = _write(tmp_path / "terms.json.gz", b"")
    notgz.write_bytes(b"[]")  # plain text under a .gz name

    with pytest.raises(InvalidDataError, match="not a readable gzip file"):
        list(bundle.iter_documents(path))
    with pytest.raises(InvalidDataError, match="not a readable gzip file"):
        list(bundle.iter_documents(notgz))
    assert "not a readable gzip file" in bundle.json_errors(path)[-1]


def test_a_file_that_does_not_exist_is_invalid_data(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="does not exist"):
        bundle.iter_documents(tmp_path / "users.ndjson")


def test_find_files_maps_each_kind_to_its_file_in_dependency_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "submissions.ndjson.gz", b"")
    _write(tmp_path / "terms.json", b"[]")
    _write(tmp_path / "users.ndjson", b"")
    _write(tmp_path / "courses.json.gz", b"[]")
    _write(tmp_path / "README.md", b"not a kind")
    _write(tmp_path / "grades.json", b"[]")  # unknown kinds are ignored, with a warning
    _write(tmp_path / "Assignments.NDJSON", b"")  # names are lower case
    (tmp_path / "sections.json").mkdir()  # a directory is not a file

    found = bundle.find_files(tmp_path)

    assert list(found) == ["terms", "courses", "users", "submissions"]
    ignored = [r.getMessage().split(":")[0] for r in caplog.records if r.levelname == "WARNING"]
    assert ignored == [str(tmp_path / "Assignments.NDJSON"), str(tmp_path / "grades.json"),
                       str(tmp_path / "sections.json")]
    assert found["courses"] == tmp_path / "courses.json.gz"
    assert found["submissions"] == tmp_path / "submissions.ndjson.gz"


def test_find_files_refuses_two_files_for_one_kind(tmp_path: Path) -> None:
    _write(tmp_path / "users.json", b"[]")
    _write(tmp_path / "users.ndjson.gz", b"")

    with pytest.raises(
        InvalidDataError, match=r"users is in 2 files \(users\.json, users\.ndjson\.gz\)"
    ):
        bundle.find_files(tmp_path)


def test_find_files_refuses_a_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match="does not exist"):
        bundle.find_files(tmp_path / "nowhere")
    _write(tmp_path / "notes.txt", b"")
    with pytest.raises(
        InvalidDataError, match=r"no Canvas bundle file; expected any of terms\.json, courses\.json"
    ):
        bundle.find_files(tmp_path)


def test_kinds_are_in_dependency_order() -> None:
    assert bundle.KINDS == (
        "terms",
        "courses",
        "sections",
        "users",
        "assignment_groups",
        "assignments",
        "enrollments",
        "submissions",
    )


def _big_ndjson(path: Path, lines: int) -> None:
    line = orjson.dumps(
        {
            "id": 0,
            "user_id": 100001,
            "assignment_id": 200001,
            "score": 8.5,
            "grade": "8.5",
            "workflow_state": "graded",
            "submitted_at": "2026-09-01T10:00:00Z",
            "name": "Дмитрий 张伟",
        }
    )
    with open(path, "wb") as f:
        f.writelines(line.replace(b'"id":0', b'"id":%d' % i) + b"\n" for i in range(lines))


def _peak_while(fn: object) -> int:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_200000_ndjson_lines_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "submissions.ndjson"
    _big_ndjson(path, 200_000)
    assert path.stat().st_size > 30_000_000  # several times the bound below

    seen = []

    def consume() -> None:
        n = 0
        last = b""
        for document in bundle.iter_documents(path):
            n += 1
            last = document
        seen.append((n, last))

    peak = _peak_while(consume)

    assert seen[0][0] == 200_000
    assert orjson.loads(seen[0][1])["id"] == 199_999
    assert peak < 20_000_000


def test_streaming_a_large_json_array_keeps_memory_flat(tmp_path: Path) -> None:
    ndjson = tmp_path / "x.ndjson"
    _big_ndjson(ndjson, 50_000)
    path = tmp_path / "submissions.json.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"[")
        for i, line in enumerate(bundle.iter_documents(ndjson)):
            f.write((b",\n" if i else b"") + line)
        f.write(b"]")
    raw_size = ndjson.stat().st_size

    counted = []
    peak = _peak_while(lambda: counted.append(sum(1 for _ in bundle.iter_documents(path))))

    assert counted == [50_000]
    assert peak < min(20_000_000, raw_size // 2)
