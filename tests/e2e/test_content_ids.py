"""In Chromium: lesson Markdown that tries to name the page's own elements (`exercise-data`,
`run-btn`) changes nothing on the exercise page, and `#anchor` links and tutor citations still
land on the heading now that its id is `user-content-anchor`."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.test_csp import WATCH
from tests.fixtures import import_published, make_course_folder

pytestmark = pytest.mark.e2e
CLOBBER = (
    "\n## Page data {#exercise-data}\n\n"
    '<div id="exercise-data">{"files": {"stats.py": "clobbered"}, "endpoints": {}}</div>\n'
    '<span id="run-btn">fake</span>\n'
)


@pytest.fixture
def hostile(site, make_user, tmp_path):
    from courses.models import Course
    from courses.services import membership_enroll

    folder = make_course_folder(tmp_path / "demo")
    for name in ("lessons/01-welcome.md", "exercises/mean/prompt.md"):
        path = folder / "modules/01-basics" / name
        path.write_text(path.read_text() + CLOBBER)
    course = import_published(folder)
    learner = make_user("learner")
    membership_enroll(user=learner, course=course)
    membership_enroll(user=learner, course=Course.objects.get(slug="zero-to-gpt"))
    return course


def test_content_cannot_stand_in_for_page_data_or_buttons(new_page, hostile):
    page = new_page()
    page.add_init_script(WATCH)
    log_in(page, "learner")
    page.goto("/courses/demo/exercises/mean/")
    expect(page.locator("h2#user-content-exercise-data")).to_be_attached()
    editor = page.locator(".editor-panel:not([hidden]) .cm-content")
    expect(editor).to_contain_text("def mean")  # the starter, not the content's "clobbered"
    page.click("#run-btn")
    expect(page.locator("#verdict")).to_be_visible(timeout=90_000)
    assert page.evaluate("window.__csp") == []
    assert not page.js_errors, page.js_errors


def test_anchor_links_and_citations_land_on_the_heading(new_page, hostile, site):
    from courses.models import Course, Lesson

    flagship = Course.objects.get(slug="zero-to-gpt")
    lesson = Lesson.objects.get(module__version=flagship.published_version, slug="derivatives")
    last = lesson.toc[-1]["anchor"]
    page = new_page()
    log_in(page, "learner")
    # A tutor citation's link, opened from the tutor panel or pasted.
    page.goto(f"/courses/zero-to-gpt/lessons/derivatives/#{last}")
    heading = page.locator(f"#user-content-{last}")
    expect(heading).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0
    # An in-page link (the table of contents) lands too, and the address keeps the plain anchor.
    page.evaluate("window.scrollTo(0, 0)")
    first = lesson.toc[0]["anchor"]
    page.click(f'.toc a[href="#{first}"]')
    expect(page.locator(f"#user-content-{first}")).to_be_in_viewport()
    assert page.url.endswith(f"#{first}")
    assert not page.js_errors, page.js_errors
