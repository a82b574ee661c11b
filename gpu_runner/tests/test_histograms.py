"""check.histogram and the figures (heatmap, scatter, graph), from a test inside the sandbox to the stored result: counted where the values
live (torch's histc for a tensor, Python for a list), sent as counts only, kept in the result the
database validates, and never graded."""

import pytest

from courses.format.tree import load
from courses.format.validate import validate
from gpu_runner.execute import execute
from gpu_runner.sandbox.launch import Launcher, SandboxConfig
from gpu_runner.sandbox.pool import WarmPool
from grader.course_check import _exercise_files, _support
from grader.jobs import build_job
from grader.services.results import validate_result
from tests.fixtures import make_course_folder

pytestmark = pytest.mark.sandbox
TEST = """
import torch
from stats import mean


def test_hist(check):
    check.histogram("list", [0, 0.5, 1, 1, 2], bins=2, range=(0, 2))
    for step in (0, 7):
        check.histogram("tensor", torch.tensor([[-1.0, 0.0], [1.0, float("nan")]]), step=step, bins=4)
    check.heatmap("attention", torch.tril(torch.ones(3, 3)) / torch.arange(1, 4).view(3, 1), rows="abc", cols="abc")
    check.scatter("embedding", torch.tensor([[0.0, 1.0], [float("inf"), 2.0]]), labels=["a", "b"])
    check.graph("expression", [(1, "c = a + b"), (2, "a"), (3, "b")], [(2, 1), (3, 1)])
    check("mean", mean([1, 2]), tol=1e-9)
"""


def test_histograms_travel_from_a_test_to_the_stored_result(tmp_path):
    folder = make_course_folder(tmp_path / "c")
    ex_dir = folder / "modules/01-basics/exercises/mean"
    (ex_dir / "tests/hidden/test_hist.py").write_text(TEST)
    toml = ex_dir / "exercise.toml"
    toml.write_text(toml.read_text().replace("wall_seconds = 10", 'wall_seconds = 30\npreload = ["torch"]'))
    tree, problems = load(folder)
    spec, more = validate(tree)
    assert not problems and not more, (problems, more)
    ex = spec["exercises"]["mean"]
    bundle = _exercise_files(tree, ex)
    support = _support(tree, spec, ex, bundle)
    tests = [{**t, "name": t["title"]} for t in ex["tests"] if t["id"] == "test_hist"]
    job = build_job(
        spec=ex,
        bundle=bundle,
        content_hash="hist",
        files=bundle["solution"],
        tests=tests,
        support=support,
        reference_support=support,
        cached_reference={},
    )
    pool = WarmPool(Launcher(SandboxConfig(data_dir=tmp_path / "data", uid=62011, gid=62011)), enabled=False)
    try:
        payload = execute(job, pool=pool, data_dir=tmp_path / "data")
    finally:
        pool.close()
    result = payload["result"]
    assert result["status"] == "passed", result
    # [0, 1) holds 0 and 0.5; [1, 2] holds 1, 1 and 2 (the last bin includes its right edge).
    assert result["histograms"]["list"] == [{"step": 0, "lo": 0.0, "hi": 2.0, "counts": [2, 3]}]
    tensor = result["histograms"]["tensor"]
    assert [h["step"] for h in tensor] == [0, 7]
    assert tensor[1] == {"step": 7, "lo": -1.0, "hi": 1.0, "counts": [1, 0, 1, 1]}  # NaN left out
    figures = result["figures"]
    assert figures["attention"]["values"][1] == [0.5, 0.5, 0.0] and figures["attention"]["cols"] == ["a", "b", "c"]
    assert figures["embedding"] == {"kind": "scatter", "points": [[0.0, 1.0], [None, 2.0]], "labels": ["a", "b"]}
    assert figures["expression"]["edges"] == [["2", "1"], ["3", "1"]]
    validate_result({**result, "gradable": True})
