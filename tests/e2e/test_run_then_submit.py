"""In Chromium, on a cold reference cache as a fresh instance has it: paste the reference solution,
Run it, then Submit the same code. The Submit must get its full score, the page must never show
"could not be graded" (the bug of issue #10: the Run cached only the visible tests' expectations
and the database graded the Submit against half of them), and what the learner does next — an edit
that breaks it, Submitted again — must fail without taking their pass away."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_up
from tests.e2e.test_learner_journey import EXERCISE_URL, set_code

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SOLUTION = (ROOT / "content/zero-to-gpt/modules/01-autograd/exercises/value/solution/micrograd/engine.py").read_text()

# Record every verdict the page shows, so a brief wrong one cannot slip by between two polls.
WATCH = """() => {
  window.__verdicts = [];
  const seen = () => { const v = document.getElementById('verdict'); if (v && v.innerText) window.__verdicts.push(v.innerText); };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_run_then_submit_of_correct_code_gets_full_marks_on_a_cold_cache(new_page):
    from grader.models import ReferenceRun

    ReferenceRun.objects.all().delete()  # a fresh instance: nothing cached yet
    page = new_page()
    sign_up(page, "linus")
    page.goto("/courses/zero-to-gpt/")
    page.click("button:has-text('Enroll in Zero to GPT')")
    page.goto(EXERCISE_URL)
    page.evaluate(WATCH)

    set_code(page, SOLUTION)
    page.click("#run-btn")
    expect(page.locator("#verdict")).to_contain_text("All", timeout=120_000)
    run_cards = page.locator(".result-card").count()
    assert run_cards == page.locator(".result-card.status-passed").count() > 0
    # The Run drew the learner's own expression graph, from their Value objects.
    graph = page.locator('#fig-box figure[data-kind="graph"]')
    expect(graph).to_be_visible()
    expect(graph.locator("text", has_text="data 4 · grad 1").first).to_be_attached()  # y = a*b + c = 4

    page.click("#submit-btn")
    hidden = page.locator(".result-card", has_text="(hidden test)")
    expect(hidden.first).to_be_visible(timeout=120_000)  # this Submit's cards, not the Run's
    expect(page.locator("#verdict")).to_contain_text("All", timeout=120_000)
    submit_cards = page.locator(".result-card")
    assert submit_cards.count() > run_cards  # the hidden tests ran too
    assert submit_cards.count() == page.locator(".result-card.status-passed").count()
    shown = page.evaluate("window.__verdicts")
    assert not [v for v in shown if "could not be graded" in v], shown

    # Next: break it and Submit again. It fails, and the exercise stays passed.
    set_code(page, SOLUTION.replace("self.grad += ", "self.grad = ", 1))
    page.click("#submit-btn")
    expect(page.locator("#verdict")).to_be_hidden(timeout=30_000)
    expect(page.locator(".result-card.status-failed").first).to_be_visible(timeout=120_000)
    expect(page.locator("#verdict")).not_to_contain_text("could not be graded")
    page.goto("/courses/zero-to-gpt/")
    row = page.locator(".items li", has=page.locator("a:has-text('A scalar autograd engine')"))
    expect(row).to_contain_text("passed")
    # The lesson shows the graph from the learner's latest run (the broken Submit drew one too:
    # gradients of 1 where += became =).
    page.goto("/courses/zero-to-gpt/lessons/derivatives/")
    expect(page.locator('#lesson-figures figure[data-kind="graph"]')).to_be_visible()
    assert not page.js_errors, page.js_errors
