"""tracker.html and ``--format html``: self-contained pages, opened in a real browser.

Each page the command line writes (a student's card, the at-risk and course-statistics
reports, a sync's report) is rendered by headless Chromium from Debian's packages to a
PNG, which must not be blank, and to its DOM, which must hold the students' names and
figures. Text from Canvas or from a person holding markup shows as text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from command_line import tracker
from PIL import Image
from school import ANA, C1

from tracker import analytics, html, userdata

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed here (apt-get install chromium; "
                             ".ci/run installs it, so CI runs this test)")

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def school_url(conn, synced_school, db_url, monkeypatch):
    """The school of tests/school.py, committed, as the command line's DATABASE_URL."""
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def write_page(tmp_path: Path, name: str, *args: str, exit_code: int = 0) -> Path:
    out = tmp_path / f"{name}.html"
    result = tracker(*args, "--format", "html", "--out", str(out))
    assert result.exit_code == exit_code, result.output
    assert result.output == ""  # the page went to the file
    return out


def self_contained(page: str) -> bool:
    """No script, and nothing fetched: no element with a src or href, no stylesheet
    link, no url() but the SVG's own fragments (#id)."""
    return ("<script" not in page and "<link" not in page
            and re.search(r"<[a-zA-Z][^>]*\s(src|href)=", page) is None
            and re.search(r"url\((?!#)", page) is None)


def in_browser(page: Path, tmp_path: Path) -> tuple[Image.Image, str]:
    """``page`` as headless Chromium draws it (a screenshot) and its DOM after loading."""
    assert CHROMIUM is not None
    png = tmp_path / f"{page.stem}.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1000,1400"]
    subprocess.run([*common, f"--screenshot={png}", page.as_uri()], check=True,
                   capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return Image.open(png).convert("RGB"), dom


def assert_not_blank(image: Image.Image) -> None:
    assert image.size == (1000, 1400)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # text and charts, anti-aliased
    white = max(count for count, rgb in colours if rgb == (255, 255, 255))
    assert white < 0.98 * image.size[0] * image.size[1]  # more than a blank page


@needs_chromium
def test_a_students_page_shows_the_card_and_its_trajectory_in_a_browser(school_url, tmp_path):
    page = write_page(tmp_path, "student", "student", str(ANA))
    text = page.read_text()
    assert self_contained(text)
    assert text.count("<svg") == 1  # Ana's one course: one trajectory with its band
    image, dom = in_browser(page, tmp_path)
    assert_not_blank(image)
    for shown in ("Ana Alves", "Algebra (C-1)", "62.0%", "declining", "-10.0 points a week",
                  "predicted final", "95% interval", "Assignment 105", "current score 62.0%",
                  "<td>momentum</td>"):
        assert shown in dom, shown


@needs_chromium
def test_the_at_risk_page_lists_each_student_with_a_small_trajectory(school_url, tmp_path):
    page = write_page(tmp_path, "at_risk", "report", "at_risk_students", exit_code=1)
    text = page.read_text()
    assert self_contained(text)
    assert text.count("<svg") == 5  # Ana, Ben, Cy, Dee in Algebra; Fay in Biology
    image, dom = in_browser(page, tmp_path)
    assert_not_blank(image)
    for shown in ("Ana Alves", "Ben Brown", "Cy Cross", "Dee Diaz", "Fay Fox", "0.656", "high"):
        assert shown in dom, shown
    assert "Test Student" not in dom and "Eve Evans" not in dom


@needs_chromium
def test_the_course_statistics_page_draws_each_courses_distribution(school_url, tmp_path,
                                                                    monkeypatch):
    hidden = write_page(tmp_path, "small", "report", "course_statistics").read_text()
    assert "<svg" not in hidden and "77.33" not in hidden  # both courses under 5 students
    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")
    page = write_page(tmp_path, "stats", "report", "course_statistics")
    text = page.read_text()
    assert self_contained(text)
    assert text.count("<svg") == 2  # Algebra and Biology
    image, dom = in_browser(page, tmp_path)
    assert_not_blank(image)
    for shown in ("Algebra (C-1)", "Biology (C-2)", "77.33", "1 of 20 due", "students"):
        assert shown in dom, shown


@needs_chromium
def test_the_sync_page_shows_what_the_sync_wrote(school_url, tmp_path):
    page = write_page(tmp_path, "sync", "sync", "report")
    assert self_contained(page.read_text())
    image, dom = in_browser(page, tmp_path)
    assert_not_blank(image)
    for shown in ("sync 1", "submissions", "enrollments", "Grades recorded by this sync",
                  "Ana Alves", "62"):
        assert shown in dom, shown


@needs_chromium
def test_markup_in_a_name_a_course_or_a_note_shows_as_text(
        conn, synced_school, db_url, monkeypatch, tmp_path):
    s = synced_school
    s.find("users", ANA)["name"] = HOSTILE
    s.find("courses", C1)["name"] = '<img src=x onerror="alert(2)">'
    s.sync(conn, tmp_path)
    userdata.add_note(conn, f"user:{ANA}", f"Said {HOSTILE} in class", author="<b>me</b>")
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name, args, code in (("card", ("student", str(ANA)), 0),
                             ("risk", ("report", "at_risk_students"), 1)):
        page = write_page(tmp_path, name, *args, exit_code=code)
        text = page.read_text()
        assert self_contained(text)  # no <script, no src= of the <img> left as markup
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in text
        _, dom = in_browser(page, tmp_path)
        # the browser read them as text: serialized back escaped, no element made of them
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
        assert "<script" not in dom and "<img" not in dom


def test_without_the_html_extra_the_command_says_what_to_install(school_url, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 fails as if absent
    for args in (("student", str(ANA)), ("report", "course_statistics"), ("sync", "report")):
        result = tracker(*args, "--format", "html")
        assert result.exit_code == 2, result.output
        assert "pip install 'tracker[html]'" in result.output


def test_a_trajectory_without_graded_work_is_not_drawn_on_the_card(conn, synced_school):
    card = analytics.student_card(conn, ANA)
    empty = analytics.StudentCard(**{**card.__dict__, "courses": tuple(
        analytics.CourseCard(**{**c.__dict__, "graded": (), "spark": ""})
        for c in card.courses)})
    page = html.student_page(empty)
    assert "<svg" not in page and "no graded work yet" not in page  # notes come from the SQL
    assert "Algebra (C-1)" in page and "62.0%" in page
