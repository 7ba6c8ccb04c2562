"""tracker.analytics.student_card and ``tracker student``: a student's whole story, on the
small school of tests/school.py whose answers were worked out on paper."""

from __future__ import annotations

import json

import pytest
from command_line import tracker
from school import A4, A5, ANA, C1, C2, DEE, EVE, FAY, TESS, at

from tracker import analytics, monitor, sample, sync, tags, userdata
from tracker.errors import NotFoundError

GUS = 18  # a student with no graded work, added by the test that needs him


def test_a_card_holds_each_active_course_with_its_figures(conn, synced_school):
    card = analytics.student_card(conn, ANA)
    assert (card.user_id, card.name, card.sis_user_id) == (ANA, "Ana Alves", f"S{ANA}")
    (algebra,) = card.courses  # Ana is a student of course 1 only
    assert (algebra.course_id, algebra.course, algebra.current_score) == (C1, "Algebra", 62.0)
    # the momentum is analytics.momentum's, the prediction predict_final_grade's
    trend = analytics.momentum(conn, ANA, C1)
    assert (algebra.slope_per_week, algebra.r2, algebra.trend) == (-10.0, 1.0, "declining")
    assert (trend.slope_per_week, trend.r2, trend.trend) == (-10.0, 1.0, "declining")
    prediction = analytics.predict_final_grade(conn, ANA, C1)
    assert (algebra.predicted_score, algebra.low, algebra.high, algebra.method) == (
        prediction.predicted_score, prediction.low, prediction.high, prediction.method)
    assert prediction.predicted_score is not None
    # 9, 8, 7, 6 of 10 points: 90 % is the 8th bar (█), 60 % the 5th (▅)
    assert [p.percent for p in algebra.graded] == [90.0, 80.0, 70.0, 60.0]
    assert algebra.spark == "█▇▆▅"
    # A5 is missing, A4 late; A8 is excused (never missing), A7 not graded (not counted)
    assert [w.assignment_id for w in algebra.missing_work] == [A5]
    assert [w.assignment_id for w in algebra.late_work] == [A4]
    assert algebra.risk is not None and algebra.risk.category == "high"
    assert algebra.risk.reasons[0] == "current score 62.0%"
    # the factors as stored, most added first: risk-v1 adds weight × risk
    assert [f.name for f in algebra.risk.factors][:2] == ["score", "momentum"]
    score = algebra.risk.factors[0]
    assert (score.value, score.risk, score.weight) == (62.0, 0.7, 0.35)
    assert score.contribution == pytest.approx(0.35 * 0.7)
    assert sum(f.contribution for f in algebra.risk.factors) == pytest.approx(algebra.risk.score,
                                                                            abs=0.001)
    assert algebra.risk_change is not None and algebra.risk_change.direction == "first"
    # one sync: each of Ana's eight submissions has had one version
    assert len(algebra.score_history) == 8
    assert {v.sync_id for v in algebra.score_history} == {1}
    assert algebra.notes == ()


def test_a_rescored_submission_shows_every_score_it_had_and_the_risk_that_moved(
        conn, synced_school, tmp_path):
    s = synced_school
    s.find("submissions", 5004).update(score=10.0, grade="10.0")  # Ana's A4: 6 → 10
    s.sync(conn, tmp_path)
    (algebra,) = analytics.student_card(conn, ANA, C1).courses
    latest = algebra.score_history[0]  # the submission changed last comes first
    versions = [(v.sync_id, v.score) for v in algebra.score_history
                if v.submission_id == latest.submission_id]
    assert latest.assignment_id == A4 and versions == [(1, 6.0), (2, 10.0)]
    change = algebra.risk_change
    assert change is not None and change.previous is not None
    assert change.previous.category == "high" and change.direction == "fell"
    assert change.score_change is not None and change.score_change < 0
    # 90, 80, 70, 100: the slope is no longer a decline, so its risk fell to nothing
    assert ("momentum", 1.0, 0.0) in change.moved


def test_a_card_holds_the_notes_tags_and_fields_people_wrote(conn, synced_school):
    userdata.add_note(conn, f"user:{ANA}", "Met her parents.", author="ms.rao")
    userdata.add_note(conn, f"user:{ANA}", "Missed the review session.", author="mr.lee")
    tags.attach(conn, f"user:{ANA}", ["needs support", "athlete"], actor="ms.rao")
    userdata.set_field(conn, f"user:{ANA}", "advisor", "Ms Rao", author="ms.rao")
    card = analytics.student_card(conn, ANA)
    assert [(n.author, n.body) for n in card.notes] == [
        ("mr.lee", "Missed the review session."), ("ms.rao", "Met her parents.")]
    assert card.tags == tuple(sorted(t.tag for t in tags.tags_of(conn, f"user:{ANA}")))
    assert len(card.tags) == 2
    assert card.fields == {"advisor": "Ms Rao"}


def test_a_student_without_graded_work_gets_no_sparkline_nor_prediction_and_says_why(
        conn, synced_school, tmp_path):
    s = synced_school
    s.user(GUS, "Gus Gray")
    s.enroll(1007, GUS, C1, last_activity=at("2024-10-01"))
    s.submit(5200, GUS, 101)  # unsubmitted
    s.sync(conn, tmp_path)
    (algebra,) = analytics.student_card(conn, GUS).courses
    assert algebra.graded == () and algebra.spark == ""
    assert algebra.predicted_score is None and algebra.low is None
    assert algebra.slope_per_week is None and algebra.trend == "steady"
    assert algebra.notes[0] == "no graded work yet: no trajectory to draw"
    assert algebra.notes[1].startswith("no prediction: ")
    assert len(algebra.notes[1]) > len("no prediction: ")


def test_two_points_give_no_slope_and_a_weighted_course_its_own_card(conn, synced_school):
    (dee,) = analytics.student_card(conn, DEE).courses
    assert [p.percent for p in dee.graded] == [80.0, 80.0]
    assert dee.slope_per_week is None and dee.r2 is None and dee.spark == "▇▇"
    assert dee.missing_work == ()  # unsubmitted, but Canvas did not mark it missing
    (biology,) = analytics.student_card(conn, FAY).courses
    assert (biology.course_id, biology.current_score) == (C2, 76.0)
    assert [p.percent for p in biology.graded] == [80.0, 90.0, 70.0]


def test_the_test_student_and_an_inactive_enrollment_have_no_course(conn, synced_school):
    assert analytics.student_card(conn, TESS).courses == ()
    assert analytics.student_card(conn, EVE).courses == ()


def test_an_unknown_student_or_a_course_they_are_not_in_is_not_found(conn, synced_school):
    with pytest.raises(NotFoundError, match="there is no user 999"):
        analytics.student_card(conn, 999)
    with pytest.raises(NotFoundError, match=f"user {ANA} is not an active student of course {C2}"):
        analytics.student_card(conn, ANA, C2)


def test_a_card_is_four_statements_whatever_the_courses_and_one_without_any(
        conn, synced_school, tmp_path):
    s = synced_school
    s.enroll(2002, ANA, C2, current=50.0, last_activity=at("2024-09-30"))  # a second course
    s.sync(conn, tmp_path)
    with monitor.watch() as ran:
        card = analytics.student_card(conn, ANA)
    assert [c.course_id for c in card.courses] == [C1, C2]
    assert [e.name for e in ran] == [
        "history.student_card_person", "history.student_card_courses",
        "history.student_card_work", "history.student_card_score_history"]
    with monitor.watch() as ran:
        assert analytics.student_card(conn, TESS).courses == ()
    assert [e.name for e in ran] == ["history.student_card_person"]


def test_sparkline_draws_a_fixed_0_to_100_scale():
    assert analytics.sparkline([0, 12.5, 50, 99.9, 100, 130, -5]) == "▁▂▅███▁"
    assert analytics.sparkline([]) == ""


def test_tracker_student_prints_the_card_or_its_json(conn, synced_school, db_url, monkeypatch):
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    shown = tracker("student", str(ANA))
    assert shown.exit_code == 0, shown.output
    assert "Ana Alves" in shown.output and "== Algebra (course 1)" in shown.output
    assert "momentum: declining, -10.0 points a week, r² 1.00   █▇▆▅" in shown.output
    assert "risk: high" in shown.output and "missing: Assignment 105" in shown.output
    assert "factors: score 62 (risk 0.7, added 0.245), momentum -10 (risk 1, added 0.200)" \
        in shown.output
    as_json = tracker("student", str(ANA), "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.output)
    assert doc["courses"][0]["current_score"] == 62.0
    assert doc["courses"][0]["spark"] == "█▇▆▅"
    assert tracker("student", "999").exit_code == 1
    assert "there is no user 999" in tracker("student", "999").output
    assert tracker("student", str(ANA), "--course", str(C2)).exit_code == 1
    assert tracker("student", str(ANA), "--out", "x.html").exit_code == 2  # --out is for html


def test_every_card_of_a_sample_school_agrees_with_the_reports(conn, tmp_path):
    size = {"students": 40, "courses": 4, "assignments_per_course": 8, "courses_per_student": 2}
    sync.sync_bundle(conn, sample.generate(tmp_path / "r0", **size).directory)
    later = sample.generate(tmp_path / "r1", revision=1, changed_fraction=0.2, **size)
    sync.sync_bundle(conn, later.directory)  # a second version of a fifth of the scores

    def by_student(report: str) -> dict[tuple[int, int], list[dict]]:
        rows: dict[tuple[int, int], list[dict]] = {}
        for row in analytics.run_report(conn, report).rows:
            rows.setdefault((row["user_id"], row["course_id"]), []).append(row)
        return rows

    risks, missing = by_student("latest_risk"), by_student("missing_work")
    momentum, predicted = by_student("grade_momentum"), by_student("predicted_final")
    students = sorted({u for u, _ in momentum})
    courses = 0
    for user_id in students:
        for c in analytics.student_card(conn, user_id).courses:
            key, courses = (user_id, c.course_id), courses + 1
            (risk,) = risks[key]
            assert c.risk is not None
            assert (c.risk.category, c.risk.score, c.risk.reasons) == (
                risk["category"], float(risk["risk_score"]), tuple(risk["reasons"]))
            assert sorted(w.submission_id for w in c.missing_work) == sorted(
                r["submission_id"] for r in missing.get(key, []))
            (m,) = momentum[key]
            assert (c.trend, c.slope_per_week) == (m["trend"], number(m["slope_per_week"]))
            (p,) = predicted[key]
            assert c.predicted_score == number(p["predicted_score"])
            assert len({v.submission_id for v in c.score_history}) <= 10
    assert courses == len(momentum)  # every active enrollment has its card
    assert any(len(c.score_history) > len({v.submission_id for v in c.score_history})
               for u in students[:10] for c in analytics.student_card(conn, u).courses)


def number(value: object) -> float | None:
    return None if value is None else float(value)
