"""Browser tests: Debian's chromium driven by the Python playwright package, against a real
daphne, a real Celery worker and the real sandbox. Browsers are never downloaded (`playwright
install` would fail here, and never runs).

Run on their own (`pytest -m e2e`): Playwright's sync API keeps an event loop running, which
would break async tests that came after it. Screenshots go to $FS_E2E_OUTPUT (default
test-results/e2e).
"""

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = Path(os.environ.get("FS_E2E_OUTPUT", ROOT / "test-results" / "e2e"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(transactional_db, asgi_server, celery_worker):
    """The running platform with the flagship course published."""
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    tree, problems = load(ROOT / "content" / "zero-to-gpt")
    assert not problems, problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    return asgi_server


@pytest.fixture
def new_page(browser, site):
    contexts = []

    def make(width=1366, height=900):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=site)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()
    _wait_for_quiet()


def _wait_for_quiet(seconds=30):
    """Let the worker finish what the test started before the database is flushed: a submission
    still being recorded holds row locks that deadlock with the flush's TRUNCATE (seen in CI:
    "deadlock detected", then every later test found the previous one's users)."""
    from grader.models import Submission

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and Submission.objects.filter(status__in=("queued", "running")).exists():
        time.sleep(0.2)
    time.sleep(0.5)  # the event log and progress are written just after the status changes


@pytest.fixture
def shot():
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return take


def sign_up(page, name, password="a-Long-enough-passw0rd"):
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", f"{name}@example.org")
    page.fill("input[name=username]", name)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/")


def log_in(page, name, password="correct horse battery"):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", f"{name}@example.org")
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url("**/")
