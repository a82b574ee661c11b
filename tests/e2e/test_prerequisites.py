"""In Chromium: an exercise that builds on the learner's engine is locked until a Submit of the
engine passes, says so with a link, and then opens on the learner's own code."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_up
from tests.e2e.test_learner_journey import set_code

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = (ROOT / "content/zero-to-gpt/modules/01-autograd/exercises/value/solution/micrograd/engine.py").read_text()


def test_activations_opens_on_the_learners_own_engine_once_value_passes(new_page, shot):
    page = new_page()
    sign_up(page, "grace")
    page.goto("/courses/zero-to-gpt/")
    page.click("button:has-text('Enroll in Zero to GPT')")

    page.goto("/courses/zero-to-gpt/exercises/activations/")
    expect(page.locator("#lock-badge")).to_contain_text("locked")
    expect(page.locator(".lock-reason")).to_contain_text(
        "Pass “A scalar autograd engine” first: this exercise starts from your own code for it"
    )
    expect(page.locator(".cm-content")).to_have_count(0)  # no editor, no code
    shot(page, "exercise-locked")
    page.click("a:has-text('Go to A scalar autograd engine')")
    page.wait_for_url("**/exercises/value/")

    mine = "# grace's engine\n" + SOLUTION
    set_code(page, mine)
    page.click("#submit-btn")
    expect(page.locator("#verdict")).to_contain_text("All", timeout=120_000)

    # Straight on, as a learner would: if the database has not recorded the Submit yet, the page
    # says it is being graded and looks again until it opens.
    page.goto("/courses/zero-to-gpt/exercises/activations/")
    expect(page.locator("#save-state")).to_contain_text("Started from your passing code from value", timeout=20_000)
    expect(page.locator(".cm-content").first).to_contain_text("grace's engine")
    assert not page.js_errors, page.js_errors
