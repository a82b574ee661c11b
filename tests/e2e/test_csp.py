"""Every main page under the production Content-Security-Policy, in Chromium: no violation is
reported, and the editor, Run, the tutor and the author's preview still work."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e
LESSON = "modules/01-autograd/lessons/01-derivatives.md"
EXERCISE_URL = "/courses/zero-to-gpt/exercises/value/"

# Collects the browser's own CSP reports (the event fires for every blocked script, style,
# connection or frame) before any page script runs.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(new_page):
    def make():
        page = new_page()
        page.add_init_script(WATCH)
        page.console_csp = []
        page.on(
            "console",
            lambda m: "Content Security Policy" in m.text and page.console_csp.append(m.text),
        )
        return page

    return make


@pytest.fixture
def people(site, make_user):
    from courses.models import Course
    from courses.services import membership_enroll, membership_set_role

    course = Course.objects.get(slug="zero-to-gpt")
    membership_enroll(user=make_user("learner"), course=course)
    membership_set_role(user=make_user("teacher"), course=course, role="instructor")
    return course


def visit(page, url):
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self' 'nonce-" in policy, (url, policy)
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    return response


def assert_clean(page):
    page.wait_for_timeout(300)  # late reports (fonts, websocket) arrive after load
    assert page.evaluate("window.__csp") == [], page.evaluate("window.__csp")
    assert page.console_csp == [], page.console_csp
    assert not page.js_errors, page.js_errors


def test_learner_pages_run_under_the_policy(watched, people):
    page = watched()
    visit(page, "/admin/login/")
    assert_clean(page)
    visit(page, "/accounts/login/")
    assert_clean(page)
    log_in(page, "learner")
    visit(page, "/")
    assert_clean(page)
    visit(page, "/courses/zero-to-gpt/")
    assert_clean(page)
    visit(page, "/courses/zero-to-gpt/lessons/derivatives/")
    expect(page.locator(".katex").first).to_be_visible()  # KaTeX's styles are allowed
    expect(page.locator(".toc a").first).to_be_visible()
    assert_clean(page)

    visit(page, EXERCISE_URL)
    editor = page.locator(".editor-panel:not([hidden]) .cm-content")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n# typed under the CSP\n")
    expect(editor).to_contain_text("typed under the CSP")
    page.click("#run-btn")
    expect(page.locator("#verdict")).to_be_visible(timeout=90_000)  # the websocket stream works
    expect(page.locator(".result-card").first).to_be_visible()
    page.click("#tutor-btn")
    expect(page.locator("#tutor-panel")).to_be_visible()
    page.fill("#tutor-input", "What does this exercise ask for?")
    page.click("#tutor-send")
    expect(page.locator(".tmsg-tutor .tmsg-body").last).to_contain_text("Offline tutor", timeout=30_000)
    assert_clean(page)


def test_staff_pages_run_under_the_policy(watched, people):
    page = watched()
    log_in(page, "teacher")
    visit(page, "/courses/zero-to-gpt/staff/")
    assert_clean(page)
    visit(page, f"/courses/zero-to-gpt/author/?path={LESSON}")
    expect(page.locator("#preview h1")).to_contain_text("Derivatives")
    page.locator("#author-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n\n## Added under the CSP\n")
    expect(page.locator("#preview")).to_contain_text("Added under the CSP")
    assert_clean(page)
    visit(page, "/courses/zero-to-gpt/versions/")
    assert_clean(page)


def test_an_inline_script_without_the_nonce_is_blocked_and_reported(watched, people):
    page = watched()
    log_in(page, "learner")
    visit(page, "/courses/zero-to-gpt/lessons/derivatives/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__csp"))
