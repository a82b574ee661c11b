"""`manage.py course full`: an exercise's full-size training run, outside grading.

Graders run each training exercise in a CI-sized configuration with its own threshold (a few
minutes on one CPU core). The figures a lecture quotes (WaveNet's ~2.0 on names, a Transformer's
~1.9) need the full-size configuration an author writes in the exercise's `[full]` table. This
runs it once, in the same sandbox and harness as grading, on the reference solution or on a
folder of one's own files, and reports what the run measured: the metric curves as they arrive,
then every observation, with the bounds the tests state (`check.at_most` / `check.at_least`)
judged against it. Nothing is compared with a reference run: at this size there is none.
"""

from gpu_runner.execute import run_unjudged
from gpu_runner.summary import summarize
from grader.course_check import _exercise_files, _support
from grader.jobs import build_job


class NoFullRun(ValueError):
    pass


def full_spec(ex: dict) -> dict:
    """The exercise with its `[full]` table applied: config overrides and resource limits."""
    full = ex.get("full")
    if not full:
        raise NoFullRun(f"exercise {ex['slug']!r} has no [full] table")
    resources = dict(ex["resources"])
    resources.update({k: full[k] for k in ("wall_seconds", "memory_mb", "threads") if k in full})
    return {**ex, "resources": resources, "config": {**(ex.get("config") or {}), **(full.get("config") or {})}}


def full_job(tree, spec: dict, ex: dict, *, files: dict | None = None, only: list | None = None) -> dict:
    bundle = _exercise_files(tree, ex)
    big = full_spec(ex)
    # A graded test's timeout is sized for the CI configuration; here the whole run has the time.
    wall = big["resources"].get("wall_seconds")
    tests = [{**t, "name": t["title"], "timeout": wall} for t in ex["tests"] if not only or t["id"] in only]
    if only and len(tests) != len(set(only)):
        known = ", ".join(t["id"] for t in ex["tests"])
        raise NoFullRun(f"unknown test in {only}; {ex['slug']} has: {known}")
    support = _support(tree, spec, ex, bundle)
    if files is not None:  # your own copies of files the exercise takes from earlier ones
        support.update({f: text for f, text in files.items() if f not in ex["files"]})
        files = {f: text for f, text in files.items() if f in ex["files"]}
    return build_job(
        spec=big,
        bundle=bundle,
        content_hash="course-full",
        files=files if files is not None else bundle["solution"],
        tests=tests,
        support=support,
        reference_support=support,
        cached_reference={},
        kind="course-full",
    )


def bound_line(key: str, obs: dict) -> str:
    """One observation as a line: the value, and the verdict of a stated bound."""
    value, spec = obs.get("value"), obs.get("spec") or {}
    if isinstance(value, dict) and value.get("__array__"):
        shown = f"array {value.get('dtype')} of shape {value.get('shape')}"
    else:
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)[:80]
    kind, bound = spec.get("kind"), spec.get("bound")
    if kind in ("le", "ge") and isinstance(value, (int, float)) and isinstance(bound, (int, float)):
        ok = value <= bound if kind == "le" else value >= bound
        return f"{key} = {shown} ({'at most' if kind == 'le' else 'at least'} {bound:g}: {'ok' if ok else 'NOT MET'})"
    return f"{key} = {shown}"


def run_full(tree, spec, ex, *, pool, data_dir, mirror_dir="", files=None, only=None, on_metric=None) -> dict:
    """Run it; returns {"run": RunResult, "tests": {id: record}, "unmet": [lines]}."""
    job = full_job(tree, spec, ex, files=files, only=only)

    def on_event(event):
        if event.get("t") == "metric" and on_metric is not None:
            on_metric(event)
        return False

    run = run_unjudged(job, pool=pool, data_dir=data_dir, mirror_dir=mirror_dir, on_event=on_event)
    tests = summarize(run.events)["tests"]
    unmet = [
        f"{tid}: {bound_line(key, obs)}"
        for tid, rec in tests.items()
        for key, obs in rec["obs"].items()
        if "NOT MET" in bound_line(key, obs)
    ]
    return {"run": run, "job": job, "tests": tests, "unmet": unmet}
