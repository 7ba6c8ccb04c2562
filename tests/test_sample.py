"""tracker.sample and ``tracker sample``: a deterministic synthetic school as a Canvas bundle."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from tracker import bundle, sample
from tracker.cli import main
from tracker.errors import ConfigurationError
from tracker.sample.outcomes import Outcomes

SMALL = dict(students=60, courses=6, assignments_per_course=12, courses_per_student=3)
EDGE_SUBMISSIONS = 12 * 12  # the edge-case course: 12 student users x 12 assignments

Bundle = dict[str, list[dict[str, Any]]]


def read(directory: Path) -> Bundle:
    files = bundle.find_files(directory)
    return {
        kind: [orjson.loads(d) for d in bundle.iter_documents(path)] for kind, path in files.items()
    }


def canvas_id(value: Any) -> int:
    """A Canvas id as tracker stores it: shard-prefixed "1~123" becomes 1 x 10^13 + 123."""
    if isinstance(value, str):
        shard, _, local = value.partition("~")
        return int(shard) * 10**13 + int(local) if local else int(shard)
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[sample.SampleSummary, Bundle]:
    summary = sample.generate(tmp_path_factory.mktemp("school"), **SMALL)
    return summary, read(summary.directory)


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    for gz in (False, True):
        a = sample.generate(tmp_path / f"a{gz}", **SMALL, seed=7, revision=1, gzip=gz)
        b = sample.generate(tmp_path / f"b{gz}", **SMALL, seed=7, revision=1, gzip=gz)
        for kind in bundle.KINDS:
            assert a.files[kind].read_bytes() == b.files[kind].read_bytes(), kind


def test_another_seed_gives_another_school(tmp_path: Path) -> None:
    a = sample.generate(tmp_path / "a", **SMALL, seed=1)
    b = sample.generate(tmp_path / "b", **SMALL, seed=2)

    assert a.files["submissions"].read_bytes() != b.files["submissions"].read_bytes()


def test_gzip_holds_the_same_records(tmp_path: Path) -> None:
    plain = sample.generate(tmp_path / "plain", **SMALL)
    gz = sample.generate(tmp_path / "gz", **SMALL, gzip=True)

    assert gz.files["submissions"].name == "submissions.ndjson.gz"
    for kind in bundle.KINDS:
        assert list(bundle.iter_documents(gz.files[kind])) == list(
            bundle.iter_documents(plain.files[kind])
        )


def test_counts_match_the_summary_and_the_arguments(
    school: tuple[sample.SampleSummary, Bundle],
) -> None:
    summary, data = school

    assert summary.counts() == {kind: len(data[kind]) for kind in bundle.KINDS}
    assert list(summary.files) == list(bundle.KINDS)
    assert summary.files == bundle.find_files(summary.directory)
    assert summary.size_bytes == sum(p.stat().st_size for p in summary.files.values())
    n = SMALL
    assert summary.courses == n["courses"] + 1
    assert summary.assignments == n["courses"] * n["assignments_per_course"] + 12
    assert summary.submissions == (
        n["students"] * n["courses_per_student"] * n["assignments_per_course"] + EDGE_SUBMISSIONS
    )


def test_without_edge_cases_there_is_one_submission_per_student_and_assignment(
    tmp_path: Path,
) -> None:
    summary = sample.generate(tmp_path, **SMALL, edge_cases=False)

    assert summary.submissions == 60 * 3 * 12
    assert summary.courses == 6
    # Each student in exactly courses_per_student distinct courses.
    data = read(tmp_path)
    per_student = Counter(
        e["user_id"] for e in data["enrollments"] if e["type"] == "StudentEnrollment"
    )
    assert set(per_student.values()) == {3}
    assert len(per_student) == 60
    assert {(e["user_id"], e["course_id"]) for e in data["enrollments"]}.__len__() == len(
        data["enrollments"]
    )


# -- shapes ---------------------------------------------------------------------------------------

TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
ID, TS, STR, NUM, INT, BOOL, OBJ, LIST = "id", "time", "str", "num", "int", "bool", "obj", "list"

#: Documented keys of each kind (CANVAS_API.md), with their JSON types; None is allowed
#: unless the type is in NOT_NULL.
SHAPES: dict[str, dict[str, str]] = {
    "terms": {
        "id": ID, "name": STR, "start_at": TS, "end_at": TS, "created_at": TS,
        "workflow_state": STR, "grading_period_group_id": ID, "sis_term_id": STR,
    },
    "courses": {
        "id": ID, "name": STR, "course_code": STR, "uuid": STR, "account_id": ID,
        "root_account_id": ID, "enrollment_term_id": ID, "grading_standard_id": ID,
        "start_at": TS, "end_at": TS, "created_at": TS, "time_zone": STR, "default_view": STR,
        "hide_final_grades": BOOL, "apply_assignment_group_weights": BOOL, "is_public": BOOL,
        "restrict_enrollments_to_course_dates": BOOL, "sis_course_id": STR, "integration_id": STR,
        "workflow_state": STR,
    },
    "sections": {
        "id": ID, "course_id": ID, "name": STR, "sis_section_id": STR, "start_at": TS, "end_at": TS,
    },
    "users": {"id": ID, "name": STR, "sortable_name": STR, "short_name": STR, "created_at": TS},
    "assignment_groups": {
        "id": ID, "name": STR, "position": INT, "group_weight": NUM, "sis_source_id": STR,
        "integration_data": OBJ, "rules": OBJ,
    },
    "assignments": {
        "id": ID, "name": STR, "description": STR, "course_id": ID, "assignment_group_id": ID,
        "position": INT, "points_possible": NUM, "grading_type": STR, "grading_standard_id": ID,
        "due_at": TS, "lock_at": TS, "unlock_at": TS, "created_at": TS, "updated_at": TS,
        "submission_types": LIST, "published": BOOL, "workflow_state": STR,
        "omit_from_final_grade": BOOL, "hide_in_gradebook": BOOL, "post_manually": BOOL,
        "anonymous_grading": BOOL, "moderated_grading": BOOL, "allowed_attempts": INT,
        "only_visible_to_overrides": BOOL, "html_url": STR, "sis_assignment_id": STR,
    },
    "enrollments": {
        "id": ID, "user_id": ID, "course_id": ID, "course_section_id": ID, "root_account_id": ID,
        "associated_user_id": ID, "created_at": TS, "updated_at": TS, "start_at": TS, "end_at": TS,
        "type": STR, "role": STR, "role_id": ID, "enrollment_state": STR,
        "limit_privileges_to_course_section": BOOL, "html_url": STR, "last_activity_at": TS,
        "last_attended_at": TS, "total_activity_time": INT,
    },
    "submissions": {
        "id": ID, "user_id": ID, "assignment_id": ID, "submission_type": STR, "score": NUM,
        "grade": STR, "entered_score": NUM, "entered_grade": STR, "excused": BOOL, "attempt": INT,
        "submitted_at": TS, "graded_at": TS, "posted_at": TS, "grader_id": ID,
        "workflow_state": STR, "late": BOOL, "missing": BOOL, "late_policy_status": STR,
        "seconds_late": INT, "points_deducted": NUM, "grading_period_id": ID,
        "cached_due_date": TS, "extra_attempts": INT, "grade_matches_current_submission": BOOL,
    },
}  # fmt: skip
NOT_NULL = {
    "id", "name", "workflow_state", "type", "role", "enrollment_state", "grading_type",
    "user_id", "course_id", "assignment_id", "excused", "late", "missing", "seconds_late",
    "submission_types", "rules", "group_weight", "sortable_name", "short_name",
}  # fmt: skip
OPTIONAL_USER_KEYS = {
    "sis_user_id": STR,
    "integration_id": STR,
    "login_id": STR,
    "email": STR,
    "pronouns": STR,
}
GRADES = {
    "html_url": STR, "current_score": NUM, "current_grade": STR, "final_score": NUM,
    "final_grade": STR, "unposted_current_score": NUM, "unposted_current_grade": STR,
    "unposted_final_score": NUM, "unposted_final_grade": STR,
}  # fmt: skip
HIDDEN = {"score", "grade", "entered_score", "entered_grade"}
STATES = {
    "terms": {"active", "deleted"},
    "courses": {"unpublished", "available", "completed", "deleted"},
    "assignments": {"published", "unpublished"},
    "submissions": {"submitted", "unsubmitted", "graded", "pending_review"},
}


def type_problem(kind: str, value: Any) -> bool:
    if kind == ID:
        return not (
            (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)
            or (isinstance(value, str) and re.fullmatch(r"\d+~\d+", value) is not None)
        )
    if kind == TS:
        return not (isinstance(value, str) and TIME.fullmatch(value))
    expected = {
        STR: str,
        INT: int,
        BOOL: bool,
        OBJ: dict,
        LIST: list,
        NUM: (int, float),
    }[kind]
    return not isinstance(value, expected) or (kind in (INT, NUM) and isinstance(value, bool))


def shape_problems(kind: str, record: dict[str, Any], shape: dict[str, str]) -> Iterator[str]:
    for key, typ in shape.items():
        if key not in record:
            yield f"{kind} {record.get('id')}: no {key}"
        elif record[key] is None:
            if key in NOT_NULL:
                yield f"{kind} {record['id']}: {key} is null"
        elif type_problem(typ, record[key]):
            yield f"{kind} {record['id']}: {key}={record[key]!r} is not {typ}"


def test_every_record_has_the_documented_keys_and_types(
    school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = school
    problems: list[str] = []
    for kind, records in data.items():
        for record in records:
            shape = dict(SHAPES[kind])
            if kind == "submissions" and not record.keys() >= HIDDEN:
                assert not HIDDEN & record.keys(), "all four keys go together"
                shape = {k: v for k, v in shape.items() if k not in HIDDEN}
            if kind == "users":
                shape |= {k: v for k, v in OPTIONAL_USER_KEYS.items() if k in record}
            problems += shape_problems(kind, record, shape)
            if kind == "enrollments" and record["type"] in (
                "StudentEnrollment",
                "StudentViewEnrollment",
            ):
                problems += shape_problems(
                    "grades", {"id": record["id"], **record["grades"]}, GRADES
                )
            elif kind == "enrollments":
                assert "grades" not in record
            if kind in STATES:
                assert record["workflow_state"] in STATES[kind], record
    assert problems == []


def test_assignment_groups_have_no_course_id_but_each_holds_an_assignment(
    school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = school
    used = {a["assignment_group_id"] for a in data["assignments"]}

    assert all("course_id" not in g for g in data["assignment_groups"])
    assert {g["id"] for g in data["assignment_groups"]} == used


def test_ids_are_unique_per_kind(school: tuple[sample.SampleSummary, Bundle]) -> None:
    _, data = school
    for kind, records in data.items():
        ids = [canvas_id(r["id"]) for r in records]
        assert len(ids) == len(set(ids)), kind


def test_references_are_consistent(school: tuple[sample.SampleSummary, Bundle]) -> None:
    _, data = school
    ids = {kind: {canvas_id(r["id"]) for r in records} for kind, records in data.items()}
    section_course = {s["id"]: s["course_id"] for s in data["sections"]}
    assignment_course = {a["id"]: a["course_id"] for a in data["assignments"]}
    group_courses = defaultdict(set)
    for a in data["assignments"]:
        group_courses[a["assignment_group_id"]].add(a["course_id"])
    students_in = defaultdict(set)

    for c in data["courses"]:
        assert c["enrollment_term_id"] in ids["terms"]
    for s in data["sections"]:
        assert s["course_id"] in ids["courses"]
    for a in data["assignments"]:
        assert a["course_id"] in ids["courses"]
        assert a["assignment_group_id"] in ids["assignment_groups"]
    assert all(len(courses) == 1 for courses in group_courses.values())  # a group is one course's
    for e in data["enrollments"]:
        assert e["course_id"] in ids["courses"]
        assert canvas_id(e["user_id"]) in ids["users"]
        assert section_course[e["course_section_id"]] == e["course_id"]
        if e["associated_user_id"] is not None:
            assert canvas_id(e["associated_user_id"]) in ids["users"]
        if "grades" in e:
            students_in[e["course_id"]].add(canvas_id(e["user_id"]))
    seen = set()
    for s in data["submissions"]:
        assert s["assignment_id"] in ids["assignments"]
        user = canvas_id(s["user_id"])
        assert user in ids["users"]
        # Only students of the assignment's course have submissions, one per assignment.
        assert user in students_in[assignment_course[s["assignment_id"]]]
        assert (user, s["assignment_id"]) not in seen
        seen.add((user, s["assignment_id"]))
    for course, students in students_in.items():
        per_course = sum(1 for a in data["assignments"] if a["course_id"] == course)
        assert sum(1 for u, a in seen if u in students and assignment_course[a] == course) == (
            len(students) * per_course
        )


def test_submissions_follow_canvas_rules(school: tuple[sample.SampleSummary, Bundle]) -> None:
    _, data = school
    for s in data["submissions"]:
        if s["excused"]:
            assert s["score"] is None and s["grade"] is None
        if s["attempt"] is None:
            assert s["submitted_at"] is None
        if s["workflow_state"] == "unsubmitted":
            assert s["attempt"] is None and s["score"] is None
        if s.get("score") is not None:
            assert s["entered_score"] == pytest.approx(s["score"] + (s["points_deducted"] or 0))
            assert s["graded_at"] is not None and s["grade"] is not None
        assert s["late"] == (s["seconds_late"] > 0)


def _course_score(
    course: dict[str, Any],
    items: list[tuple[dict[str, Any], dict[str, Any]]],
    groups: dict[int, float],
) -> float | None:
    """current_score recomputed independently: posted, graded, not excused, counting assignments."""
    earned: dict[int, float] = defaultdict(float)
    possible: dict[int, float] = defaultdict(float)
    for a, s in items:
        if a["grading_type"] == "not_graded" or a["omit_from_final_grade"] or s["excused"]:
            continue
        if (
            s["workflow_state"] == "graded"
            and s["score"] is not None
            and s["posted_at"] is not None
        ):
            earned[a["assignment_group_id"]] += s["score"]
            possible[a["assignment_group_id"]] += a["points_possible"] or 0
    if course["apply_assignment_group_weights"]:
        used = [g for g in possible if possible[g] > 0 and groups[g] > 0]
        weight = sum(groups[g] for g in used)
        return (
            round(sum(groups[g] * earned[g] / possible[g] for g in used) / weight * 100, 2)
            if weight
            else None
        )
    total = sum(possible.values())
    return round(sum(earned.values()) / total * 100, 2) if total else None


def test_enrollment_grades_are_computed_from_the_submissions(
    school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = school
    courses = {c["id"]: c for c in data["courses"]}
    assignments = {a["id"]: a for a in data["assignments"]}
    groups = {g["id"]: g["group_weight"] for g in data["assignment_groups"]}
    work = defaultdict(list)
    hidden_users = {canvas_id(s["user_id"]) for s in data["submissions"] if "score" not in s}
    for s in data["submissions"]:
        a = assignments[s["assignment_id"]]
        work[(canvas_id(s["user_id"]), a["course_id"])].append((a, s))
    checked = 0
    for e in data["enrollments"]:
        user = canvas_id(e["user_id"])
        if "grades" not in e or user in hidden_users:  # a hidden grade still counts in Canvas
            continue
        expected = _course_score(courses[e["course_id"]], work[(user, e["course_id"])], groups)
        assert e["grades"]["current_score"] == expected, e
        checked += 1
    assert checked > 100


def test_there_is_something_for_analytics_to_find(
    school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = school
    assignments = {a["id"]: a for a in data["assignments"]}
    scores = [
        e["grades"]["current_score"]
        for e in data["enrollments"]
        if e.get("grades", {}).get("current_score") is not None
    ]
    by_student: dict[Any, list[tuple[str, float]]] = defaultdict(list)
    for s in data["submissions"]:
        a = assignments[s["assignment_id"]]
        if s.get("score") is not None and a["points_possible"] and a["due_at"]:
            by_student[s["user_id"]].append((a["due_at"], s["score"] / a["points_possible"]))
    declining = 0
    for work in by_student.values():
        work.sort()
        half = len(work) // 2
        if half >= 5:
            early = sum(p for _, p in work[:half]) / half
            late = sum(p for _, p in work[half:]) / (len(work) - half)
            declining += early - late > 0.15

    assert 60 < sum(scores) / len(scores) < 90
    assert max(scores) - min(scores) > 30
    assert declining >= 2
    assert any(s["missing"] for s in data["submissions"])
    assert any(s["late"] for s in data["submissions"])
    assert all(
        e["last_activity_at"] for e in data["enrollments"] if e["enrollment_state"] == "active"
    )


# -- the past term --------------------------------------------------------------------------------

PAST = dict(students=600, courses=12, assignments_per_course=15, courses_per_student=3)
PAST_TERM = 2  # Spring 2026, over at the snapshot
WITHDRAWN = ("inactive", "deleted")
FIRST_WEEKS = "2026-02-09"  # the first four weeks of Spring 2026


@pytest.fixture(scope="module")
def past_school(tmp_path_factory: pytest.TempPathFactory) -> tuple[sample.SampleSummary, Bundle]:
    summary = sample.generate(tmp_path_factory.mktemp("past"), **PAST, edge_cases=False)
    return summary, read(summary.directory)


def _past_enrollments(data: Bundle) -> list[dict[str, Any]]:
    past = {c["id"] for c in data["courses"] if c["enrollment_term_id"] == PAST_TERM}
    return [
        e
        for e in data["enrollments"]
        if e["course_id"] in past and e["type"] == "StudentEnrollment"
    ]


def test_past_term_courses_are_completed_with_final_grades(
    past_school: tuple[sample.SampleSummary, Bundle],
) -> None:
    summary, data = past_school
    courses = {c["id"]: c for c in data["courses"]}
    enrollments = _past_enrollments(data)
    states = Counter(e["enrollment_state"] for e in enrollments)

    # Concluded ("completed"), or left to its end date, its enrollments then still "active".
    assert {
        c["workflow_state"] for c in courses.values() if c["enrollment_term_id"] == PAST_TERM
    } == {"completed", "available"}
    assert all(
        c["workflow_state"] != "completed" or c["enrollment_term_id"] == PAST_TERM
        for c in courses.values()
    )
    assert all(
        c["end_at"] < sample.SNAPSHOT
        for c in courses.values()
        if c["enrollment_term_id"] == PAST_TERM
    )
    assert set(states) == {"completed", "active", *WITHDRAWN}
    for e in enrollments:
        if e["enrollment_state"] not in WITHDRAWN:
            concluded = courses[e["course_id"]]["workflow_state"] == "completed"
            assert e["enrollment_state"] == ("completed" if concluded else "active")
        grades = e["grades"]
        assert grades["final_score"] is not None
        assert (grades["final_grade"] is not None) == (
            courses[e["course_id"]]["grading_standard_id"] is not None
        )
        if e["enrollment_state"] not in WITHDRAWN:  # everything graded and posted
            assert grades["final_score"] == grades["unposted_final_score"]
            assert grades["current_score"] is not None
    failed = sum(
        e["grades"]["final_score"] < 60
        for e in enrollments
        if e["enrollment_state"] not in WITHDRAWN
    )
    withdrawn = states["inactive"] + states["deleted"]
    assert summary.past_term == Outcomes(
        passed=len(enrollments) - withdrawn - failed, failed=failed, withdrawn=withdrawn
    )
    assert 0.10 <= failed / len(enrollments) <= 0.20, failed
    assert 0.02 <= withdrawn / len(enrollments) <= 0.05, withdrawn


def test_past_term_work_is_over_by_the_end_and_a_withdrawn_student_stops(
    past_school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = past_school
    enrollments = {(e["user_id"], e["course_id"]): e for e in _past_enrollments(data)}
    end = {c["id"]: c["end_at"] for c in data["courses"]}
    assignments = {a["id"]: a for a in data["assignments"]}
    last_due = {}
    for a in sorted(data["assignments"], key=lambda a: a["due_at"] or ""):
        last_due[a["course_id"]] = a["id"]
    stopped = 0
    for s in data["submissions"]:
        a = assignments[s["assignment_id"]]
        e = enrollments.get((s["user_id"], a["course_id"]))
        if e is None:
            continue
        assert s["workflow_state"] in ("graded", "unsubmitted"), s  # nothing left to grade
        if e["enrollment_state"] not in WITHDRAWN and s["workflow_state"] == "graded":
            assert s["posted_at"] is not None
        if e["enrollment_state"] in WITHDRAWN and a["id"] == last_due[a["course_id"]]:
            assert s["workflow_state"] == "unsubmitted" and s["score"] is None, s
            stopped += 1
    assert stopped == sum(e["enrollment_state"] in WITHDRAWN for e in enrollments.values())
    for e in enrollments.values():
        assert e["last_activity_at"] <= end[e["course_id"]]


def test_missing_work_in_the_first_weeks_foretells_failing(
    past_school: tuple[sample.SampleSummary, Bundle],
) -> None:
    _, data = past_school
    assignments = {a["id"]: a for a in data["assignments"]}
    missed: Counter[tuple[Any, int]] = Counter()
    for s in data["submissions"]:
        a = assignments[s["assignment_id"]]
        if a["due_at"] and a["due_at"] < FIRST_WEEKS:  # missing, or absent when graded in class
            missed[(s["user_id"], a["course_id"])] += (
                s["missing"] or s["workflow_state"] == "unsubmitted"
            )
    tally = {True: [0, 0], False: [0, 0]}  # missed any: [failed, all]
    for e in _past_enrollments(data):
        if e["enrollment_state"] not in WITHDRAWN:
            row = tally[missed[(e["user_id"], e["course_id"])] > 0]
            row[0] += e["grades"]["final_score"] < 60
            row[1] += 1
    rate = {k: failed / n for k, (failed, n) in tally.items()}

    assert tally[True][1] >= 30 and tally[False][1] >= 300, tally
    assert rate[True] > 1.5 * rate[False], rate
    assert rate[True] < 0.9 and rate[False] > 0.02, rate  # a signal, not a verdict


# -- revisions ------------------------------------------------------------------------------------

REGRADE_KEYS = {"score", "grade", "entered_score", "entered_grade", "graded_at"}


def test_a_revision_changes_about_one_percent_of_scores_and_nothing_else(tmp_path: Path) -> None:
    size = dict(students=300, courses=10, assignments_per_course=20, courses_per_student=3)
    revs = [sample.generate(tmp_path / f"r{r}", **size, revision=r) for r in range(3)]
    data = [read(s.directory) for s in revs]

    for r in (1, 2):
        old, new = data[r - 1], data[r]
        for kind in ("terms", "courses", "sections", "users", "assignment_groups", "assignments"):
            assert revs[r].files[kind].read_bytes() == revs[r - 1].files[kind].read_bytes(), kind
        changed = 0
        for a, b in zip(old["submissions"], new["submissions"], strict=True):
            if a == b:
                continue
            changed += 1
            differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
            assert differ <= REGRADE_KEYS, differ
            assert a["score"] != b["score"]
            assert b["entered_score"] == pytest.approx(b["score"] + (b["points_deducted"] or 0))
            assert b["graded_at"] > a["graded_at"]
        total = len(new["submissions"])
        assert changed == revs[r].changed_submissions
        assert abs(changed - 0.01 * total) <= 2, (changed, total)
        enrollments_changed = 0
        for a, b in zip(old["enrollments"], new["enrollments"], strict=True):
            if a != b:
                enrollments_changed += 1
                assert {k for k in a if a[k] != b[k]} == {"grades"}
        assert enrollments_changed == revs[r].changed_enrollments > 0
    assert revs[0].changed_submissions == revs[0].changed_enrollments == 0


def test_changed_fraction_sets_the_share_of_regraded_submissions(tmp_path: Path) -> None:
    summary = sample.generate(tmp_path, **SMALL, revision=1, changed_fraction=0.05)

    assert abs(summary.changed_submissions - 0.05 * summary.submissions) <= 2


# -- edge cases -----------------------------------------------------------------------------------


def test_edge_cases_are_all_there(school: tuple[sample.SampleSummary, Bundle]) -> None:
    _, data = school
    users = {canvas_id(u["id"]): u for u in data["users"]}
    subs, enr, asg = data["submissions"], data["enrollments"], data["assignments"]
    names = " ".join(u["name"] for u in data["users"])

    test_students = [e for e in enr if e["type"] == "StudentViewEnrollment"]
    assert len(test_students) == 1
    test_user = users[canvas_id(test_students[0]["user_id"])]
    assert test_user["name"] == "Test Student" and "login_id" not in test_user
    twice = Counter((e["user_id"], e["course_id"]) for e in enr if e["type"] == "StudentEnrollment")
    double = [key for key, n in twice.items() if n == 2]
    assert len(double) == 1
    assert (
        len({e["course_section_id"] for e in enr if (e["user_id"], e["course_id"]) == double[0]})
        == 2
    )
    excused = [s for s in subs if s["excused"]]
    assert excused and all(s["score"] is None and s["grade"] is None for s in excused)
    assert any(a["points_possible"] is None for a in asg)
    assert any(a["points_possible"] == 0 for a in asg)
    assert {a["grading_type"] for a in asg} == {
        "points", "percent", "letter_grade", "gpa_scale", "pass_fail", "not_graded",
    }  # fmt: skip
    hidden = [s for s in subs if "score" not in s]
    assert len(hidden) == 1 and not HIDDEN & hidden[0].keys()
    shard_users = [u for u in data["users"] if isinstance(u["id"], str)]
    assert len(shard_users) == 1 and re.fullmatch(r"1~\d+", shard_users[0]["id"])
    global_id = canvas_id(shard_users[0]["id"])
    assert any(e["user_id"] == shard_users[0]["id"] for e in enr)  # short form
    assert any(s["user_id"] == global_id for s in subs)  # global form
    assert any(a["due_at"] == "2026-09-01T08:00:00-06:00" for a in asg)
    assert any((s["grader_id"] or 0) < 0 for s in subs)
    for script in (r"[\u0600-\u06ff]", r"[\u4e00-\u9fff]", r"[\u0400-\u04ff]", "\U0001f31f"):
        assert re.search(script, names), script
    assert any("," in u["name"] for u in data["users"])
    placeholders = [
        s for s in subs if s["workflow_state"] == "unsubmitted" and s["attempt"] is None
    ]
    assert placeholders
    assert any(s["workflow_state"] == "pending_review" for s in subs)
    assert any(s["late_policy_status"] == "extended" for s in subs)
    assert any(s["late_policy_status"] == "missing" and s["missing"] for s in subs)
    assert any(s["points_deducted"] for s in subs)
    assert any(e["type"] == "ObserverEnrollment" and e["associated_user_id"] for e in enr)
    assert any(e["type"] == "TaEnrollment" and e["role"] != e["type"] for e in enr)
    assert any(e["enrollment_state"] == "invited" for e in enr)
    assert any("original_name" in c for c in data["courses"])
    assert any(a["omit_from_final_grade"] for a in asg)
    assert any('"' in (a["description"] or "") and "\\" in a["description"] for a in asg)
    assert any(
        e["grades"]["current_score"] != e["grades"]["unposted_current_score"]
        for e in enr
        if "grades" in e
    )


def test_edge_cases_exist_at_the_smallest_scale(tmp_path: Path) -> None:
    summary = sample.generate(
        tmp_path, students=0, courses=0, assignments_per_course=0, courses_per_student=0
    )
    data = read(tmp_path)

    assert summary.courses == 1
    assert summary.submissions == 8 * 12  # the eight edge-case student users, no regular ones
    assert any(e["type"] == "TeacherEnrollment" for e in data["enrollments"])


def test_edge_cases_can_be_left_out(tmp_path: Path) -> None:
    sample.generate(tmp_path, **SMALL, edge_cases=False)
    data = read(tmp_path)

    assert not any(e["type"] == "StudentViewEnrollment" for e in data["enrollments"])
    assert all(isinstance(u["id"], int) for u in data["users"])
    assert all("score" in s for s in data["submissions"])


# -- arguments and files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(courses=2, courses_per_student=3), "cannot exceed courses"),
        (dict(students=-1), "students must be 0 or more"),
        (dict(changed_fraction=1.5), "between 0 and 1"),
    ],
)
def test_impossible_sizes_are_refused(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        sample.generate(tmp_path, **options)


def test_a_bundle_file_of_another_form_is_not_left_beside_the_new_one(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text("[]")

    with pytest.raises(ConfigurationError, match=r"already holds users\.json"):
        sample.generate(tmp_path, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.json"]


def test_regenerating_into_the_same_directory_replaces_the_files(tmp_path: Path) -> None:
    sample.generate(tmp_path, **SMALL, revision=1)
    summary = sample.generate(tmp_path, **SMALL)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in summary.files.values()
    )
    assert bundle.count_records(summary.files["submissions"]) == summary.submissions


def test_memory_stays_flat_as_the_school_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small write blocks, so that both runs fill them and only growth would differ.
    monkeypatch.setattr(sample.sink, "BLOCK", 32_768)

    def peak(courses: int) -> int:
        # The same 100 students (people are held throughout), about 12 in each course.
        tracemalloc.start()
        try:
            sample.generate(
                tmp_path / str(courses), students=100, courses=courses,
                assignments_per_course=10, courses_per_student=courses // 8, edge_cases=False,
            )  # fmt: skip
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(8), peak(64)  # 1,000 vs 8,000 submissions

    assert (tmp_path / "64" / "submissions.ndjson").stat().st_size > 3_000_000
    assert large < small * 1.3, (small, large)


# -- the command ----------------------------------------------------------------------------------


def test_the_command_writes_a_bundle_and_prints_a_summary(tmp_path: Path) -> None:
    args = ["sample", "--out", str(tmp_path), "--students", "30", "--courses", "4",
            "--assignments-per-course", "5", "--courses-per-student", "2"]  # fmt: skip
    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    assert "submissions" in result.output and "444" in result.output  # 300 + 144 edge-case ones
    assert (tmp_path / "submissions.ndjson").exists()


def test_the_command_prints_json_for_scripts(tmp_path: Path) -> None:
    args = ["sample", "--out", str(tmp_path / "b"), "--students", "30", "--courses", "4",
            "--assignments-per-course", "5", "--courses-per-student", "2", "--seed", "3",
            "--revision", "1", "--gzip", "--no-edge-cases", "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["counts"]["submissions"] == 300
    assert summary["seed"] == 3 and summary["revision"] == 1
    assert summary["files"]["users"].endswith("users.ndjson.gz")
    assert summary["size_bytes"] > 0
    assert set(summary["past_term"]) == {"passed", "failed", "withdrawn"}
    assert sum(summary["past_term"].values()) == 30 * 2 // 4  # one course of four, 15 students


def test_the_command_reports_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "terms.json").write_text("[]")
    result = CliRunner().invoke(main, ["sample", "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "already holds terms.json" in result.output
    result = CliRunner().invoke(main, ["sample", "--out", str(tmp_path / "x"), "--courses", "1"])
    assert result.exit_code == 2
    assert "Invalid value for '--courses-per-student': 4 is more than --courses 1" in result.output
    for out, says in (("", "a directory is needed"),
                      ("/proc/nope", "cannot write into /proc/nope")):
        result = CliRunner().invoke(main, ["sample", "--out", out])
        assert result.exit_code == 2 and says in result.output, result.output
