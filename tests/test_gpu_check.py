"""tools/gpu_check.py, the one-command GPU check of issue #15, in its CPU smoke mode: the same
script a lent GPU runs, end to end through the real sandbox and runner, on the exercise's
cpu_fallback configuration shortened to 100 steps (the bar raised to match)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["--device", "cpu", "--max-iters", "100", "--val-loss-max", "3.5"]


def gpu_check(tmp_path, *args):
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "OUT")}
    proc = subprocess.run(
        [sys.executable, "tools/gpu_check.py", *SMOKE, "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else None
    assert results is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, results, out


def test_smoke_run_grades_the_reference_and_the_mutants(tmp_path):
    proc, results, out = gpu_check(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = {r["run"]: r for r in results["runs"]}
    checks = {c["name"]: c for c in results["checks"]}

    reference = runs["reference"]
    assert reference["result"] == "pass" and reference["device"] == "cpu"
    assert reference["val_loss"] <= 3.5 and reference["tokens_per_s"] > 0 and reference["first_event_s"] >= 0
    for name in ("no_step", "lr_too_small", "trains_on_val"):
        assert runs[f"mutant {name}"]["result"] == "fails"
        assert checks[f"mutant {name} fails"]["status"] == "PASS"
        assert "test_first_steps" in checks[f"mutant {name} fails"]["reason"]

    # What only a GPU can show is skipped, with a reason, never passed.
    for name in ("CUDA in the sandbox", "allocator cap", "next job on a clean device", "torch.compile (sandbox)"):
        assert checks[name]["status"] == "SKIP" and checks[name]["reason"]
    # What a CPU sandbox can show is checked for real.
    assert checks["GPU nodes in the sandbox"]["status"] == "PASS"
    assert checks["hog gone after its job"]["status"] == "PASS"

    # The curve: validation loss falling against training seconds, in a CSV to read off.
    curve = (out / "curve.csv").read_text().splitlines()
    assert curve[0] == "step,train_seconds,wall_seconds,val_loss"
    points = [[float(x) for x in line.split(",")] for line in curve[1:]]
    assert len(points) >= 3 and points[-1][3] < points[0][3] - 1.0
    assert points[-1][1] > points[0][1] and points[-1][2] > points[0][2]
    assert checks["curve"]["status"] == "INFO" and "finished" in checks["curve"]["reason"]
    assert (out / "reference_train_loss.csv").read_text().startswith("seconds,step,train_loss")

    # The printed table names every run.
    table = (out / "table.txt").read_text()
    assert all(name in table for name in runs) and "PASS  reference passes" in table


def test_a_reference_over_its_bar_fails_the_check(tmp_path):
    """Exit status 1 when the reference does not pass: here its bar is set below what 100 steps reach."""
    proc, results, _ = gpu_check(tmp_path, "--val-loss-max", "1.0", "--mutants", "", "--skip", "probe,isolation,curve")
    assert proc.returncode == 1
    checks = {c["name"]: c for c in results["checks"]}
    assert checks["reference passes"]["status"] == "FAIL"
    assert "test_train_shakespeare" in checks["reference passes"]["reason"]
