"""The web process dies during a learner's run (a deploy, an OOM kill): the page reconnects by
itself once it is back and replays what it missed, so every test card appears once, the verdict
once, and both match what the grader stored.

The web server here is a daphne of this test's own, killed with SIGKILL (no goodbye on the
socket, as in a crash) and started again on the same port; the worker keeps grading meanwhile.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, log_in
from tests.services import die_with_parent, free_port, service_env

pytestmark = pytest.mark.e2e
VALUE = ROOT / "content/zero-to-gpt/modules/01-autograd/exercises/value"
EXERCISE_URL = "/courses/zero-to-gpt/exercises/value/"
# The reference solution, slowed down: the first 20 backward() calls sleep, so test results
# arrive over several seconds (well inside the exercise's 30 s wall limit) and the server can die
# between two of them.
SLOW = (VALUE / "solution/micrograd/engine.py").read_text().replace(
    "    def backward(self):\n", "    def backward(self):\n        _slow()\n", 1
) + (
    "\n\nimport time as _time\n_calls = [0]\n\n\ndef _slow():\n"
    "    _calls[0] += 1\n    if _calls[0] <= 20:\n        _time.sleep(0.35)\n"
)


class Daphne:
    """One daphne serving the project on a fixed port, which can be killed and started again."""

    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=ROOT,
            env=service_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/accounts/login/", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"daphne exited during start-up; see {self.log_path}") from None
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer within {timeout}s; see {self.log_path}")

    def kill9(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.kill9()


@pytest.fixture
def web(transactional_db, celery_worker, tmp_path):
    from courses.format.tree import load
    from courses.services import version_import, version_publish

    tree, problems = load(ROOT / "content" / "zero-to-gpt")
    assert not problems, problems
    version, _ = version_import(tree=tree)
    version_publish(version=version)
    server = Daphne(tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def learner_page(browser, web, make_user):
    from courses.models import Course
    from courses.services import membership_enroll

    user = make_user("member")
    membership_enroll(user=user, course=Course.objects.get(slug="zero-to-gpt"))
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=web.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    yield page
    context.close()
    from tests.e2e.conftest import _wait_for_quiet

    _wait_for_quiet(90)  # let the slow run finish before the database is flushed


def wait_for(condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_the_page_reconnects_after_the_web_server_restarts_and_misses_nothing(learner_page, web):
    from gpu_runner.events import log_length, replay
    from grader.models import Submission

    page = learner_page
    log_in(page, "member")
    page.goto(EXERCISE_URL)
    # Every text the verdict box is given, so a verdict shown twice (a replayed result handled
    # again) is seen even if the second text is the same as the first.
    page.evaluate("""() => {
        window.__verdicts = [];
        const v = document.getElementById('verdict');
        new MutationObserver(() => window.__verdicts.push(v.textContent)).observe(v, {childList: true});
    }""")
    page.locator(".editor-panel:not([hidden]) .cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(SLOW)
    page.click("#submit-btn")

    # Some results are on the page, the run is still going: the server dies now.
    expect(page.locator(".result-card.status-passed").first).to_be_visible(timeout=90_000)
    submission = Submission.objects.get(user__username="member")
    web.kill9()
    seen_before = log_length(submission.pk)
    submission.refresh_from_db()
    assert submission.status == "running", "the run ended before the server died: nothing was tested"
    expect(page.locator("#phase")).to_contain_text("reconnecting", timeout=30_000)

    # The worker goes on: wait until test results the page has not seen were produced.
    wait_for(
        lambda: sum(e["type"] == "test" for e in replay(submission.pk, seen_before)) >= 2,
        "two more test results while the server was down",
    )
    missed = len(replay(submission.pk, seen_before))
    web.start()

    # The page finds the server again by itself (no reload) and shows the rest.
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible(timeout=90_000)
    wait_for(lambda: Submission.objects.filter(pk=submission.pk, status="graded").exists(), "the stored result")
    submission.refresh_from_db()
    stored = submission.result["tests"]

    ids = page.eval_on_selector_all("#cards .result-card", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), f"a test card appears twice: {ids}"
    assert sorted(ids) == sorted(f"card-{row['id']}" for row in stored)
    for row in stored:
        expect(page.locator(f"#card-{row['id']}")).to_have_class(re.compile(rf"\bstatus-{row['status']}\b"))
    verdicts = page.evaluate("window.__verdicts")
    assert len(verdicts) == 1, f"the verdict was shown {len(verdicts)} times: {verdicts}"
    score = f"Score: {submission.score:g} / {submission.max_score:g}"
    assert verdicts[0].startswith(score), (verdicts, score)
    assert submission.passed and all(row["status"] == "passed" for row in stored)

    # Every event the log holds, those produced while the server was down included, was handled
    # by the page, up to "recorded" (after which the page closes its socket). The final result
    # alone would refill every card, so the cards cannot show this by themselves.
    wait_for(lambda: page.evaluate("window.FromScratchExercise.stream().done"), "the page to close its stream")
    log = replay(submission.pk)
    recorded = next(e["seq"] for e in log if e["type"] == "recorded")
    handled = page.evaluate("Object.keys(window.FromScratchExercise.stream().seen).map(Number)")
    assert sorted(handled) == list(range(1, recorded + 1)), f"{missed} events were missed while down"
    assert not page.js_errors, page.js_errors
