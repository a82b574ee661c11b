"""The learner's whole journey in Chromium, plus reconnects, drafts, keyboard-only use and XSS."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, sign_up

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
VALUE = ROOT / "content/zero-to-gpt/modules/01-autograd/exercises/value"
SOLUTION = (VALUE / "solution/micrograd/engine.py").read_text()
EXERCISE_URL = "/courses/zero-to-gpt/exercises/value/"


def set_code(page, text, name="micrograd/engine.py"):
    """Paste over the editor's content, as a learner would (select all, then insert)."""
    page.locator(".editor-panel:not([hidden]) .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def wait_verdict(page, timeout=90_000):
    expect(page.locator("#verdict")).to_be_visible(timeout=timeout)
    return page.locator("#verdict").inner_text()


def test_sign_up_log_in_and_see_the_home_page(new_page, shot):
    page = new_page()
    sign_up(page, "newcomer")
    expect(page.locator("header")).to_contain_text("newcomer")
    expect(page.locator("h1")).to_contain_text("Build a language model")
    page.click("button:has-text('Log out')")
    expect(page.locator("header")).to_contain_text("Log in")
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "newcomer@example.org")
    page.fill("input[name=password]", "wrong-password")
    page.click("form button[type=submit]")
    expect(page.locator("body")).to_contain_text("not correct")
    page.fill("input[name=password]", "a-Long-enough-passw0rd")
    page.click("form button[type=submit]")
    page.wait_for_url("**/")
    expect(page.locator("header")).to_contain_text("newcomer")
    shot(page, "home")


def test_the_whole_learner_journey(new_page, shot):
    page = new_page()
    sign_up(page, "ada")
    page.click("text=Zero to GPT")
    page.click("button:has-text('Enroll in Zero to GPT')")
    expect(page.locator(".messages")).to_contain_text("You are enrolled")
    shot(page, "course")
    page.click("a:has-text('Start:')")
    expect(page.locator("h1")).to_contain_text("Derivatives")
    expect(page.locator(".katex").first).to_be_visible()  # maths typeset by KaTeX
    expect(page.locator(".toc a").first).to_be_visible()
    shot(page, "lesson")

    page.goto(EXERCISE_URL)
    expect(page.locator(".cm-content").first).to_be_visible()
    shot(page, "exercise")
    page.click("#submit-btn")
    expect(page.locator(".result-card").first).to_be_visible()
    text = wait_verdict(page)
    assert "Score" in text
    failed = page.locator(".result-card.status-failed, .result-card.status-error")
    expect(failed.first).to_be_visible()
    shot(page, "exercise-failed")

    failed.first.locator("button:has-text('Ask the tutor about this failure')").click()
    expect(page.locator("#tutor-panel")).to_be_visible()
    expect(page.locator("#tutor-input")).to_have_value(re.compile("fails"))
    page.click("#tutor-send")
    reply = page.locator(".tmsg-tutor .tmsg-body").last
    expect(reply).to_contain_text("Offline tutor", timeout=30_000)
    shot(page, "tutor")
    page.click("[data-tutor-close]")

    set_code(page, SOLUTION)
    page.click("#submit-btn")
    expect(page.locator("#verdict")).to_contain_text("All", timeout=90_000)
    cards = page.locator(".result-card")
    assert cards.count() == page.locator(".result-card.status-passed").count() > 0
    shot(page, "exercise-passed")
    page.goto("/courses/zero-to-gpt/")
    row = page.locator(".items li", has=page.locator("a:has-text('A scalar autograd engine')"))
    expect(row).to_contain_text("passed")
    assert not page.js_errors, page.js_errors


def test_reload_and_lost_connection_resume_without_losing_or_duplicating_cards(new_page, make_user, course_member):
    page = new_page()
    log_in(page, course_member)
    page.goto(EXERCISE_URL)
    # Code that takes a few seconds per test, so the run is still going while we cut in.
    slow = SOLUTION + "\nimport time as _t\n_t.sleep(1.5)\n"
    set_code(page, slow)
    page.click("#submit-btn")
    expect(page.locator(".phase")).to_contain_text(re.compile("Running|Queued"))
    page.evaluate("window.FromScratchExercise.stream().ws.close()")  # the network drops
    page.wait_for_timeout(400)
    page.reload()  # and the learner reloads mid-run
    expect(page.locator("#verdict")).to_contain_text("All", timeout=90_000)
    ids = page.eval_on_selector_all(".result-card", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)) > 0
    page.evaluate("window.FromScratchExercise.stream() && window.FromScratchExercise.stream().ws.close()")


def test_draft_is_restored_after_reload_and_on_another_device(new_page, browser, course_member, site):
    page = new_page()
    log_in(page, course_member)
    page.goto(EXERCISE_URL)
    set_code(page, "# my work in progress\nclass Value:\n    pass\n")
    expect(page.locator("#save-state")).to_have_text("Saved", timeout=10_000)
    page.reload()
    expect(page.locator(".cm-content").first).to_contain_text("my work in progress")
    other = new_page(390, 844)  # another device: a phone
    log_in(other, course_member)
    other.goto(EXERCISE_URL)
    expect(other.locator(".cm-content").first).to_contain_text("my work in progress")
    other.once("dialog", lambda d: d.accept())
    other.click("#reset-btn")
    expect(other.locator(".cm-content").first).not_to_contain_text("my work in progress")


def test_keyboard_only_submit_switch_files_and_open_the_tutor(new_page, course_member):
    page = new_page()
    log_in(page, course_member)
    page.goto(EXERCISE_URL)
    page.locator(".cm-content").first.focus()
    page.keyboard.press("Alt+]")
    expect(page.locator("#file-tabs [role=tab][aria-selected=true]")).to_contain_text("__init__.py")
    page.keyboard.press("Alt+[")
    expect(page.locator("#file-tabs [role=tab][aria-selected=true]")).to_contain_text("engine.py")
    page.keyboard.press("Enter")  # the tab is focused: Enter moves into the editor
    page.keyboard.press("Control+Shift+Enter")
    expect(page.locator("#verdict")).to_be_visible(timeout=90_000)
    page.keyboard.press("Alt+t")
    expect(page.locator("#tutor-panel")).to_be_visible()
    expect(page.locator("#tutor-input")).to_be_focused()
    # Every control on the page has an accessible name.
    unnamed = page.eval_on_selector_all(
        "button, [role=tab], textarea, input:not([type=hidden]), select",
        "els => els.filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || (e.labels && e.labels.length))).map(e => e.outerHTML)",
    )
    assert not unnamed, unnamed


def test_hostile_strings_in_code_output_and_chat_do_not_execute(new_page, course_member):
    page = new_page()
    log_in(page, course_member)
    page.goto(EXERCISE_URL)
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    set_code(page, f"print({payload!r})\nclass Value:  # {payload}\n    pass\n")
    page.click("#run-btn")
    wait_verdict(page)
    page.locator("details.output summary").first.click()
    expect(page.locator("details.output pre").first).to_contain_text("onerror")
    page.click("#tutor-btn")
    page.fill("#tutor-input", payload)
    page.click("#tutor-send")
    expect(page.locator(".tmsg-learner .tmsg-body").last).to_contain_text("onerror", timeout=15_000)
    expect(page.locator(".tmsg-tutor .tmsg-body").last).to_contain_text("Offline tutor", timeout=30_000)
    page.reload()
    assert page.evaluate("window.__xss") is None


def test_phone_sized_pages_render(new_page, course_member, shot):
    page = new_page(390, 844)
    log_in(page, course_member)
    for url, name in [
        ("/", "phone-home"),
        ("/courses/zero-to-gpt/", "phone-course"),
        ("/courses/zero-to-gpt/lessons/derivatives/", "phone-lesson"),
        (EXERCISE_URL, "phone-exercise"),
    ]:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        assert width <= 400, f"{url} scrolls sideways on a phone ({width}px): {wide}"
        shot(page, name)


@pytest.fixture
def course_member(site, make_user):
    from courses.models import Course
    from courses.services import membership_enroll

    user = make_user("member")
    membership_enroll(user=user, course=Course.objects.get(slug="zero-to-gpt"))
    return "member"


def passed_before(username, slug):
    """A passing Submit of an earlier exercise, as if the learner had done it (it unlocks the
    exercises that run on that code)."""
    from accounts.models import User
    from courses.models import Exercise
    from courses.selectors import exercise_bundle
    from grader.models import Submission

    user = User.objects.get(username=username)
    exercise = Exercise.objects.get(version__course__slug="zero-to-gpt", slug=slug)
    files = {f: exercise_bundle(exercise=exercise)["solution"][f] for f in exercise.spec["files"]}
    Submission.objects.create(
        user=user,
        course=exercise.version.course,
        exercise=exercise,
        exercise_slug=slug,
        files=files,
        status=Submission.Status.GRADED,
        passed=True,
    )


def test_a_training_exercise_draws_its_loss_curve_live(new_page, course_member, shot):
    passed_before(course_member, "gpt")  # train-shakespeare runs on the learner's own model.py
    page = new_page()
    log_in(page, course_member)
    page.goto("/courses/zero-to-gpt/exercises/train-shakespeare/")
    # Record every state the chart goes through, and whether the verdict was showing yet.
    page.evaluate("""() => {
        window.__chart = [];
        const chart = document.getElementById('loss-chart');
        new MutationObserver(() => window.__chart.push([chart.getAttribute('aria-label'),
            !document.getElementById('verdict').hidden])).observe(chart, {attributes: true, attributeFilter: ['aria-label']});
    }""")
    solution = (
        ROOT / "content/zero-to-gpt/modules/03-transformers/exercises/train-shakespeare/solution/train.py"
    ).read_text()
    set_code(page, solution)
    page.click("#run-btn")
    expect(page.locator("#verdict")).to_be_visible(timeout=180_000)
    states = page.evaluate("window.__chart")
    live = [label for label, verdict_shown in states if not verdict_shown]
    assert len(set(live)) >= 2, states  # the curve grew while the run was still going
    assert "quick_run_loss" in page.locator("#chart-caption").inner_text()
    shot(page, "training-chart")
