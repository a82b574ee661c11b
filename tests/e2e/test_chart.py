"""In Chromium: a diverging run's metrics ("NaN", "Infinity", "-Infinity" as the grader stores
them, gpu_runner/wire.py jsonsafe) are gaps in the training chart, not points at 0, and the
caption and metric table name them. The events reach the page the real way: a stored
submission's event log, replayed over its websocket when the exercise page opens."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e
LOSS = [[0, 2.5], [1, 2.0], [2, "NaN"], [3, 1.5], [4, 1.25], [5, "Infinity"], [6, 1.0], [7, "-Infinity"]]


def stored_run(make_user, name: str, message: str, extra: dict, events: list) -> str:
    """A learner `name`, enrolled, with one graded Run of the value exercise whose result has
    `extra` and whose event log is `events` then the result event; returns the user name."""
    from courses.models import Course, Exercise
    from courses.services import membership_enroll
    from grader.models import Submission

    course = Course.objects.get(slug="zero-to-gpt")
    user = make_user(name)
    membership_enroll(user=user, course=course)
    exercise = Exercise.objects.get(version=course.published_version, slug="value")
    result = {
        "status": "failed",
        "gradable": True,
        "score": 0,
        "max_score": 1,
        "message": message,
        "tests": [],
        "metrics": {},
        **extra,
    }
    log = [*events, {"seq": len(events) + 1, "attempt": 1, "kind": "run", "type": "result", **result}]
    Submission.objects.create(
        user=user,
        course=course,
        exercise=exercise,
        exercise_slug="value",
        kind="run",
        files={"micrograd/engine.py": "x = 1"},
        status="graded",
        result=result,
        events=log,
        score=0,
        max_score=1,
    )
    return name


@pytest.fixture
def diverged(site, make_user):
    return stored_run(
        make_user,
        "learner",
        "Training diverged.",
        {"metrics": {"train_loss": LOSS, "val_loss": [[0, "NaN"], [4, "NaN"]]}},
        [
            {"seq": 1, "attempt": 1, "type": "queued", "tests": [], "total": 0, "position": 1, "queue": "grade.cpu"},
            {"seq": 2, "attempt": 1, "type": "running", "device": "cpu"},
            {"seq": 3, "attempt": 1, "type": "metric", "name": "train_loss", "points": LOSS[:4]},
            {"seq": 4, "attempt": 1, "type": "metric", "name": "train_loss", "points": LOSS[4:]},
        ],
    )


def test_non_finite_metrics_are_gaps_and_named(new_page, diverged):
    page = new_page()
    log_in(page, diverged)
    page.goto("/courses/zero-to-gpt/exercises/value/")
    expect(page.locator("#verdict")).to_contain_text("Training diverged", timeout=20_000)
    expect(page.locator("#chart-box")).to_be_visible()
    drawn = page.evaluate("window.FromScratchExercise.chart()")
    assert drawn["train_loss"] == [[[0, 2.5], [1, 2.0]], [[3, 1.5], [4, 1.25]], [[6, 1.0]]]
    assert drawn["val_loss"] == []  # nothing finite: nothing drawn, and no 0 plotted
    expect(page.locator("#chart-caption")).to_contain_text("train_loss −∞ at step 7")
    expect(page.locator("#chart-caption")).to_contain_text("val_loss NaN at step 4")
    rows = page.locator("#metric-rows tr")
    expect(rows.nth(0)).to_have_text("train_loss−∞13")  # last, lowest finite, 3 not finite
    expect(rows.nth(1)).to_have_text("val_lossNaNNaN2")
    assert not page.js_errors, page.js_errors


ACT = [
    {"step": 0, "lo": -1.0, "hi": 1.0, "counts": [30, 2, 1, 2, 40]},
    {"step": 500, "lo": -1.0, "hi": 1.0, "counts": [5, 10, 40, 10, 5]},
]


@pytest.fixture
def with_histograms(site, make_user):
    grads = {"step": 500, "lo": -0.01, "hi": 0.01, "counts": [1, 3, 1]}
    return stored_run(
        make_user,
        "histo",
        "Diagnostics drawn.",
        {"histograms": {"layer 1 activations": ACT, "layer 1 gradients": [grads]}},
        [
            {"seq": 1, "attempt": 1, "type": "running", "device": "cpu"},
            {"seq": 2, "attempt": 1, "type": "histogram", "test": "t", "name": "layer 1 activations", **ACT[0]},
        ],
    )


def test_histograms_are_drawn_per_name_and_stepped_through(new_page, with_histograms):
    page = new_page()
    log_in(page, with_histograms)
    page.goto("/courses/zero-to-gpt/exercises/value/")
    expect(page.locator("#verdict")).to_contain_text("Diagnostics drawn", timeout=20_000)
    panels = page.locator("#hist-box figure")
    expect(panels).to_have_count(2)
    act = page.locator('#hist-box figure[data-name="layer 1 activations"]')
    # The last step is shown first; the slider goes back to step 0.
    expect(act.locator("figcaption")).to_have_text("layer 1 activations · step 500 · [-1, 1] · 70 values")
    slider = act.locator("input[type=range]")
    expect(slider).to_be_visible()
    slider.fill("0")
    expect(act.locator("figcaption")).to_contain_text("step 0")
    # One step only: no slider.
    expect(page.locator('#hist-box figure[data-name="layer 1 gradients"] input')).to_be_hidden()
    drawn = page.evaluate("window.FromScratchExercise.histograms()")
    assert [h["step"] for h in drawn["layer 1 activations"]] == [0, 500]
    assert not page.js_errors, page.js_errors


FIGURES = {
    "attention": {"kind": "heatmap", "values": [[1.0, None], [0.25, 0.75]], "rows": ["a", "b"], "cols": ["a", "b"]},
    "embedding": {"kind": "scatter", "points": [[0.0, 1.0], [1.0, 0.0]], "labels": ["a", "<b>bold</b>"]},
    "merges": {
        "kind": "graph",
        "nodes": [["1", "<img src=x onerror=alert(1)>"], ["2", "b"], ["3", "joined"]],
        "edges": [["1", "3"], ["2", "3"]],
    },
}


def test_figures_are_drawn_and_their_labels_stay_text(new_page, make_user, site):
    stored_run(make_user, "figs", "Figures drawn.", {"figures": FIGURES}, [])
    page = new_page()
    log_in(page, "figs")
    page.goto("/courses/zero-to-gpt/exercises/value/")
    expect(page.locator("#verdict")).to_contain_text("Figures drawn", timeout=20_000)
    box = page.locator("#fig-box")
    expect(box.locator("figure")).to_have_count(3)
    expect(box.locator('figure[data-kind="heatmap"] canvas')).to_be_visible()
    expect(box.locator('figure[data-kind="scatter"] figcaption')).to_have_text("embedding · 2 points")
    merges = box.locator('figure[data-kind="graph"]')
    expect(merges.locator("g[data-node]")).to_have_count(3)
    expect(merges.locator("line")).to_have_count(2)
    # A label that looks like markup is shown as text, never run or parsed.
    expect(merges.locator("text").first).to_contain_text("<img src=x")
    assert page.locator("#fig-box img").count() == 0
    assert not page.js_errors, page.js_errors
