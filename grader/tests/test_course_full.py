"""`course full`: an exercise's full-size run, in the real sandbox, reporting what it measured.
The graded run uses [config]; the full-size run must use [full]'s overrides instead, stream the
metric curve, judge the stated bounds, and say clearly when a bound is not met."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures import make_course_folder

pytestmark = pytest.mark.sandbox
TRAINING = """
def test_training(check):
    n = check.config["steps"]
    for step in range(n):
        check.metric("loss", step, 1.0 / (step + 1))
    check.at_most("final loss", 1.0 / n, check.config["loss_max"])
"""


def folder_with_full(tmp_path, full: str):
    folder = make_course_folder(tmp_path / "c")
    ex = folder / "modules/01-basics/exercises/mean"
    (ex / "tests/hidden/test_training.py").write_text(TRAINING)
    toml = ex / "exercise.toml"
    toml.write_text(
        toml.read_text().replace(
            "[tests.test_mean_small]",
            f"[config]\nsteps = 3\nloss_max = 0.5\n\n[full]\n{full}\n\n[tests.test_mean_small]",
        )
    )
    return folder


def test_the_full_run_uses_its_own_config_and_reports_the_curve_and_bounds(tmp_path, capsys):
    folder = folder_with_full(tmp_path, 'config = { steps = 40, loss_max = 0.05 }\nabout = "40 steps"')
    call_command("course", "full", str(folder), "--exercise", "mean", "--test", "test_training")
    out = capsys.readouterr().out
    assert "loss @ 39: 0.0250" in out  # 40 steps, not the graded 3
    assert "final loss = 0.0250 (at most 0.05: ok)" in out
    assert "test_mean_small" not in out  # only the test asked for
    # The learner's own files: a wrong mean still runs the training test (nothing is compared).
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stats.py").write_text("def mean(xs):\n    return 0\n\n\ndef variance(xs):\n    return 0\n")
    call_command("course", "full", str(folder), "--exercise", "mean", "--files", str(mine))
    out = capsys.readouterr().out
    assert "your files" in out and "mean([1, 2, 3, 4]) = 0" in out


def test_an_unmet_bound_fails_loudly(tmp_path, capsys):
    folder = folder_with_full(tmp_path, "config = { steps = 10, loss_max = 0.01 }")
    with pytest.raises(CommandError, match="did not reach its bounds: test_training: final loss = 0.1000"):
        call_command("course", "full", str(folder), "--exercise", "mean", "--test", "test_training")
    assert "NOT MET" in capsys.readouterr().out


def test_an_exercise_without_a_full_table_is_refused_by_name(tmp_path):
    folder = make_course_folder(tmp_path / "c")
    with pytest.raises(CommandError, match="exercise 'mean' has no \\[full\\] table"):
        call_command("course", "full", str(folder), "--exercise", "mean")
    with pytest.raises(CommandError, match="unknown test"):
        call_command(
            "course",
            "full",
            str(folder_with_full(tmp_path / "x", "config = {}")),
            "--exercise",
            "mean",
            "--test",
            "nope",
        )
