"""A learner under the course's submit window, in Chromium: the exercise page says how many
submits are left before the first one, counts down after each (without a reload), and when none
are left says when the next is allowed; the refused Submit says the same. A Run still works."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_up
from tests.e2e.test_learner_journey import EXERCISE_URL, set_code

pytestmark = pytest.mark.e2e
WRONG = "class Value:\n    pass\n"


def test_submit_window_counts_down_and_refuses_with_the_time(new_page, site):
    from courses.models import Course
    from courses.services import policy_set

    course = Course.objects.get(slug="zero-to-gpt")
    policy_set(course=course, exercise_slug="value", user=None, rate_limit=2, rate_window_minutes=10)
    page = new_page()
    sign_up(page, "paula")
    page.goto("/courses/zero-to-gpt/")
    page.click("button:has-text('Enroll in Zero to GPT')")
    page.goto(EXERCISE_URL)
    window = page.locator("#policy-window")
    expect(window).to_contain_text("2 of 2 submissions left")
    set_code(page, WRONG)
    for left in ("1 of 2 submissions left", "No submissions left"):
        page.click("#submit-btn")
        expect(window).to_contain_text(left)
        expect(page.locator(".result-card").first).to_be_visible(timeout=120_000)
        expect(page.locator("#submit-btn")).to_be_enabled(timeout=120_000)
    expect(window).to_contain_text("the next one is allowed")
    page.click("#submit-btn")
    expect(page.locator("#verdict")).to_contain_text("next one is allowed at")
    page.click("#run-btn")  # practice is never limited
    expect(page.locator(".result-card").first).to_be_visible(timeout=120_000)
    assert not page.js_errors, page.js_errors
