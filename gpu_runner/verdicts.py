"""Trusted-side grading: compare the learner's observations with the reference's (DESIGN.md §5).

Runs outside the sandbox, in the runner process: `final_result` is computed once, when the run
ends, and the database side stores that very dict (after validating it), so what the learner is
shown and what is recorded cannot disagree. Every tolerance, bound and message comes from the
*reference* run's observation spec; nothing the learner's process reported can change how it is
judged, and evidence of tampering (summary.evidence_by_test) fails the test it touched.
"""

import math

from gpu_runner import wire
from gpu_runner.compare import compare, fmt
from gpu_runner.summary import evidence_by_test, integrity_report, summarize

__all__ = ["final_result", "grade", "grade_test", "infrastructure_result", "summarize"]

SCHEMA_VERSION = "1.0"
HISTOGRAMS_KEPT = 20  # per name, in a stored result
FIGURES_KEPT = 20  # figures (check.heatmap / scatter / graph) in a stored result
MAX_SERIES_POINTS = 2000
TIMEOUT_GRACE_SECONDS = 0.25  # the parent's own reading delay; the harness's alarm fires at the limit


# --- grading --------------------------------------------------------------------------------------
def _error_text(error: dict | None) -> str:
    if not error:
        return "the test raised an error"
    where = ""
    frames = [f for f in error.get("frames") or [] if not f.get("test")]
    if frames:
        where = f" (in {frames[-1]['file']}, line {frames[-1]['line']}, in {frames[-1]['func']})"
    message = error.get("message") or ""
    if error.get("type") == "ImportError" and "cannot import name" in message:
        # "cannot import name 'Value' from 'micrograd.engine' (/work/micrograd/engine.py)"
        parts = message.split("'")
        if len(parts) >= 4:
            module_file = parts[3].replace(".", "/") + ".py"
            return f"{module_file} must define {parts[1]}"
    if error.get("type") == "AttributeError" and "has no attribute" in message:
        return f"{message}{where}: is it defined (and spelled the same)?"
    return f"{error.get('type', 'Error')}: {message}{where}"


def syntax_message(err: dict) -> str:
    line = f", line {err['line']}" if err.get("line") else ""
    code = f": {err['code'].strip()}" if err.get("code") else ""
    return f"SyntaxError in {err.get('file', '?')}{line}: {err.get('message', 'invalid syntax')}{code}"


def _failure_text(out: dict, failures: list, visible: bool) -> str:
    """The learner's message for the first check that differed (and the expected/actual fields
    for visible tests). Its author's `msg`, which names the likely mistake, comes first."""
    key, expected, got, why = failures[0]
    spec = expected["spec"]
    threshold = spec.get("kind") in ("le", "ge")
    if threshold:
        detail = f"{key}: {why}"
    elif visible:
        detail = f"{key}: expected {fmt(expected['value'])}, got {fmt(got['value'])}" + (
            f" ({why})" if why not in ("", "values differ") else ""
        )
    else:
        detail = f"{key}: your result differs from the reference solution's"
    if visible:
        out["expected"], out["actual"] = fmt(expected["value"], 24), fmt(got["value"], 24)
        if threshold:
            out["expected"] = f"{'≤' if spec['kind'] == 'le' else '≥'} {fmt(spec['bound'])}"
    text = f"{spec['msg']} — {detail}" if spec.get("msg") else detail
    if len(failures) > 1:
        text += f" (and {len(failures) - 1} more check{'s' if len(failures) > 2 else ''})"
    return text


def blank_row(spec: dict) -> dict:
    return {
        "id": spec["id"],
        "name": spec.get("name") or spec["id"],
        "visibility": spec.get("visibility", "visible"),
        "max_points": spec.get("points", 1),
        "points": 0,
        "status": "failed",
        "message": "",
        "expected": None,
        "actual": None,
        "output": "",
        "output_truncated": False,
        "duration": None,
        "skipped_because": [],
        "error": None,
    }


def skipped_row(spec: dict, blockers: list[str]) -> dict:
    message = f"Skipped: it builds on {', '.join(blockers)}, which did not pass."
    return {**blank_row(spec), "status": "skipped", "skipped_because": blockers, "message": message}


TAMPERED = (
    "This test cannot count: the grader found that your code interfered with the grading itself "
    "({why}). The submission is flagged for review by the course staff."
)


def grade_test(spec: dict, mine: dict | None, ref: dict | None, *, process: dict, tampered=()) -> dict:
    """One test's verdict. `spec` is the exercise's test entry; `mine` / `ref` come from summarize();
    `tampered` lists the evidence (summary.evidence_by_test) that this test's run was interfered with."""
    row = _grade_test(spec, mine, ref, process=process)
    if tampered and not row.get("reference_failed"):
        row.update(status="failed", points=0, expected=None, actual=None)
        row["message"] = TAMPERED.format(why="; ".join(tampered[:3]))
        row["integrity"] = list(tampered[:5])
    return row


def _grade_test(spec: dict, mine: dict | None, ref: dict | None, *, process: dict) -> dict:
    visible = spec.get("visibility", "visible") == "visible"
    out = blank_row(spec)
    if ref is None or not ref.get("finished") or ref.get("outcome") != "ok":
        out.update(
            status="error",
            message="The reference solution did not complete this test, so it cannot be graded.",
        )
        out["reference_failed"] = True
        return out
    if mine is None or not mine.get("finished"):
        out["status"] = "error"
        if mine is not None and mine.get("started") and process.get("verdict") not in (None, "ok"):
            out["message"] = f"Stopped during this test. {process.get('detail') or process.get('verdict')}"
            out["error"] = {"type": process.get("verdict")}
        elif process.get("loading") == spec.get("file") and process.get("verdict") not in (None, "ok"):
            out["message"] = (
                f"Stopped while the tests imported your code. {process.get('detail') or process.get('verdict')}"
            )
            out["error"] = {"type": process.get("verdict")}
        elif process.get("verdict") not in (None, "ok"):
            out["message"] = f"Not run: the run had already stopped. {process.get('detail') or process.get('verdict')}"
        else:
            out["message"] = "This test did not report a result."
        return out
    out.update(
        duration=mine.get("duration"),
        output=mine.get("output", ""),
        output_truncated=mine.get("output_truncated", False),
    )
    if mine.get("duplicates"):
        out.update(
            status="error",
            message="This test reported the same check twice; the output looks tampered with, so it cannot count.",
        )
        return out
    limit = wire.as_float(spec.get("timeout"))
    if limit and mine.get("wall") is not None and mine["wall"] > limit + TIMEOUT_GRACE_SECONDS:
        # Measured by the trusted parent: catching the harness's timeout exception does not help.
        out.update(
            status="error",
            message=f"This test ran past its own time limit ({fmt(limit)} s; it took {mine['wall']:.1f} s).",
            error={"type": "timeout"},
        )
        return out
    if mine.get("outcome") == "timeout":
        out.update(
            status="error",
            message=f"This test ran past its own time limit ({spec.get('timeout')} s).",
            error={"type": "timeout"},
        )
        return out
    failures = []
    for key, expected in ref["obs"].items():
        got = mine["obs"].get(key)
        espec = expected["spec"]
        if got is None:
            continue  # reported below as "stopped before"
        ok, why = compare(got["value"], expected["value"], espec)
        if not ok:
            failures.append((key, expected, got, why))
    missing = [k for k in ref["obs"] if k not in mine["obs"]]
    if failures:
        # A check that differed explains more than whatever the test raised afterwards.
        out["message"] = _failure_text(out, failures, visible)
        if mine.get("outcome") == "exception":
            out["error"] = mine.get("error") or {}
            out["message"] += f"\nThen the test stopped: {_error_text(out['error'])}"
    elif mine.get("outcome") == "exception":
        error = mine.get("error") or {}
        out["error"] = error
        out["status"] = "failed" if error.get("type") == "AssertionError" else "error"
        out["message"] = _error_text(error)
    elif missing:
        out["message"] = f"The test finished without reaching check {missing[0]!r}."
    else:
        out.update(status="passed", points=spec.get("points", 1))
        return out
    if spec.get("message") and out["status"] != "passed":
        out["message"] = f"{out['message']}\n{spec['message']}"
    return out


def _downsample(series):
    if len(series) <= MAX_SERIES_POINTS:
        return series
    stride = math.ceil(len(series) / MAX_SERIES_POINTS)
    return series[::stride] + ([series[-1]] if (len(series) - 1) % stride else [])


def grade(
    *,
    tests: list[dict],
    learner_events: list[dict],
    reference_events: list[dict] | None,
    process: dict,
    reference_summary: dict | None = None,
) -> dict:
    """The whole result (docs/result-schema.md) minus what only the database side knows
    (timing of queue phases, gradable for infrastructure faults)."""
    mine = summarize(learner_events)
    ref = reference_summary if reference_summary is not None else summarize(reference_events or [])
    tampered = evidence_by_test(mine, tests, process)
    results, status_by_id = [], {}
    syntax = mine["syntax"]
    for spec in tests:
        blockers = [d for d in spec.get("depends_on") or [] if status_by_id.get(d) not in (None, "passed")]
        if syntax:
            err = syntax[0]
            row = grade_test(spec, None, ref["tests"].get(spec["id"]), process={"verdict": "syntax"})
            row.update(status="error", message=syntax_message(err), error={"type": "SyntaxError", **err})
        elif blockers:
            row = skipped_row(spec, blockers)
        else:
            row = grade_test(
                spec,
                mine["tests"].get(spec["id"]),
                ref["tests"].get(spec["id"]),
                process={**process, "loading": mine["loading"]},
                tampered=tampered.get(spec["id"], ()),
            )
        status_by_id[spec["id"]] = row["status"]
        results.append(row)
    metrics, histograms, figures = {}, {}, {}
    for rec in mine["tests"].values():
        for name, series in rec["metrics"].items():
            metrics.setdefault(name, []).extend(series)
        for name, drawn in rec.get("hists", {}).items():
            histograms.setdefault(name, []).extend(drawn)
        for name, drawn in rec.get("figs", {}).items():
            if name in figures or len(figures) < FIGURES_KEPT:
                figures[name] = drawn
    score = sum(r["points"] for r in results)
    max_score = sum(r["max_points"] for r in results)
    if syntax:
        status, message = "error", syntax_message(syntax[0])
    elif results and all(r["status"] == "passed" for r in results):
        status, message = "passed", f"All {len(results)} tests passed."
    elif process.get("verdict") not in (None, "ok") and any(r["status"] == "error" for r in results):
        status = "error"
        message = process.get("detail") or "The run stopped early."
    else:
        passed = sum(1 for r in results if r["status"] == "passed")
        status, message = "failed", f"{passed} of {len(results)} tests passed."
    return {
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "message": message,
        "score": score,
        "max_score": max_score,
        "tests": results,
        "metrics": {k: _downsample(v) for k, v in metrics.items()},
        # The last few of each name: the page shows one step at a time.
        **({"histograms": {k: v[-HISTOGRAMS_KEPT:] for k, v in histograms.items()}} if histograms else {}),
        **({"figures": figures} if figures else {}),
        "verdict": {"kind": process.get("verdict", "ok"), "detail": process.get("detail", "")},
        "integrity": integrity_report(mine, tampered, process),
    }


def infrastructure_result(*, tests: list[dict], message: str) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "status": "error",
        "gradable": False,
        "message": f"This submission could not be graded, through no fault of your code: {message}. It does not count as an attempt.",
        "score": 0,
        "max_score": sum(t.get("points", 1) for t in tests),
        "tests": [],
        "metrics": {},
        "verdict": {"kind": "infrastructure", "detail": message},
    }


def final_result(*, tests: list[dict], payload: dict, reference_events: list | None) -> dict:
    """The result of a runner payload, computed once by the runner (execute.py) from the job's
    tests, the reference observations it was graded against and the learner's events. The runner
    shows it the moment the run ends and the database side stores this same dict. JSON-safe:
    NaN and infinities appear as "NaN" / "Infinity" / "-Infinity"."""
    return wire.jsonsafe(_final_result(tests=tests, payload=payload, reference_events=reference_events))


def _final_result(*, tests, payload, reference_events) -> dict:
    if not payload.get("gradable", True):
        return infrastructure_result(
            tests=tests, message=payload.get("infrastructure_error") or "the grading infrastructure failed"
        )
    if reference_events is None:
        return infrastructure_result(tests=tests, message="no reference observations are available for this exercise")
    result = grade(
        tests=tests,
        learner_events=payload.get("learner_events") or [],
        reference_events=reference_events,
        process=payload.get("process") or {},
    )
    if any(t.pop("reference_failed", False) for t in result["tests"]):
        return infrastructure_result(tests=tests, message="the course's reference solution failed one of its own tests")
    result["gradable"] = True
    return result
