"""Trusted-side grading: compare the learner's observations with the reference's (DESIGN.md §5).

Runs outside the sandbox, in the runner process (for live per-test cards) and again in the
database-side task that stores the result, from the same inputs, so the two always agree.
Every tolerance, bound and message comes from the *reference* run's observation spec; nothing the
learner's process reported can change how it is judged.
"""

import math

SCHEMA_VERSION = "1.0"
MAX_SERIES_POINTS = 2000


# --- reading a run's events ----------------------------------------------------------------------
def summarize(events: list[dict]) -> dict:
    """Fold a run's event stream into per-test records."""
    tests: dict[str, dict] = {}
    summary = {"syntax": [], "tests": tests, "done": None, "harness_error": None, "running": None, "loading": None}

    def record(tid):
        return tests.setdefault(tid, {"started": False, "finished": False, "obs": {}, "duplicates": [], "metrics": {}})

    for event in events:
        t = event.get("t")
        if t == "syntax":
            summary["syntax"].append(event.get("error") or {})
        elif t == "load":
            summary["loading"] = event.get("file")
        elif t == "start" and isinstance(event.get("test"), str):
            record(event["test"])["started"] = True
            summary["running"], summary["loading"] = event["test"], None
        elif t == "obs" and isinstance(event.get("test"), str) and isinstance(event.get("key"), str):
            rec = record(event["test"])
            if event["key"] in rec["obs"]:
                rec["duplicates"].append(event["key"])
            else:
                rec["obs"][event["key"]] = {"value": event.get("value"), "spec": event.get("spec") or {}}
        elif t == "metric" and isinstance(event.get("test"), str):
            series = record(event["test"])["metrics"].setdefault(str(event.get("name")), [])
            if len(series) < 100_000:
                series.append([event.get("step"), _decode_float(event.get("value"))])
        elif t == "test" and isinstance(event.get("test"), str):
            rec = record(event["test"])
            if rec["finished"]:
                rec["duplicates"].append("(test result)")
                continue
            rec.update(
                finished=True,
                outcome=event.get("outcome"),
                error=event.get("error"),
                duration=event.get("duration"),
                output=str(event.get("output") or "")[: 64 << 10],
                output_truncated=bool(event.get("output_truncated")),
            )
            if summary["running"] == event["test"]:
                summary["running"] = None
        elif t == "done" and summary["done"] is None:
            summary["done"] = event
        elif t == "harness_error":
            summary["harness_error"] = event.get("error")
    return summary


# --- comparing values -----------------------------------------------------------------------------
def _decode_float(v):
    if isinstance(v, dict) and "__float__" in v:
        return float(v["__float__"])
    return v


def _is_array(v):
    return isinstance(v, dict) and v.get("__array__") is True


def _num(v):
    v = _decode_float(v)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def fmt(v, limit=12) -> str:
    """A short human-readable rendering of an observed value."""
    v = _decode_float(v)
    if _is_array(v):
        data = [_decode_float(x) for x in v["data"][:limit]]
        body = ", ".join(fmt(x) for x in data) + (", …" if len(v["data"]) > limit else "")
        shape = "×".join(str(s) for s in v["shape"]) or "scalar"
        return f"[{body}] (shape {shape}, {v['dtype']})"
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v[:limit]) + (", …" if len(v) > limit else "") + "]"
    text = repr(v)
    return text if len(text) <= 200 else text[:200] + "…"


def _close(a, b, atol, rtol):
    a, b = _decode_float(a), _decode_float(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def compare(actual, expected, spec) -> tuple[bool, str]:
    """(ok, why-not). `spec` is the reference run's: kind close|exact|le|ge, atol, rtol, bound."""
    kind = spec.get("kind", "close")
    if kind in ("le", "ge"):
        value = _num(actual)
        bound = float(spec["bound"])
        if value is None or math.isnan(value):
            return False, f"got {fmt(actual)}, which is not a number"
        ok = value <= bound if kind == "le" else value >= bound
        return (
            ok,
            "" if ok else f"got {fmt(value)}, needs to be {'at most' if kind == 'le' else 'at least'} {fmt(bound)}",
        )
    atol = float(spec.get("atol", 0.0 if kind == "exact" else 1e-6))
    rtol = float(spec.get("rtol", 0.0))
    if kind == "exact":
        atol = rtol = 0.0
    if _is_array(expected) or _is_array(actual):
        if not (_is_array(expected) and _is_array(actual)):
            return (
                False,
                f"expected an array/tensor of shape {tuple(expected['shape']) if _is_array(expected) else '?'}, got {fmt(actual)}",
            )
        if list(actual["shape"]) != list(expected["shape"]):
            return False, f"shape {tuple(actual['shape'])} but expected {tuple(expected['shape'])}"
        worst, worst_i = 0.0, None
        for i, (x, y) in enumerate(zip(actual["data"], expected["data"], strict=False)):
            if not _close(x, y, atol, rtol):
                xd, yd = _decode_float(x), _decode_float(y)
                diff = (
                    abs(xd - yd)
                    if isinstance(xd, (int, float)) and isinstance(yd, (int, float)) and math.isfinite(xd - yd)
                    else math.inf
                )
                if worst_i is None or diff > worst:
                    worst, worst_i = diff, i
        if worst_i is None:
            return True, ""
        bad = sum(1 for x, y in zip(actual["data"], expected["data"], strict=False) if not _close(x, y, atol, rtol))
        return (
            False,
            f"{bad} of {len(expected['data'])} values differ (largest difference {fmt(worst)} at flat index {worst_i})",
        )
    if isinstance(expected, list) or isinstance(actual, list):
        if not (isinstance(expected, list) and isinstance(actual, list)):
            return False, f"expected a list, got {fmt(actual)}"
        if len(expected) != len(actual):
            return False, f"length {len(actual)} but expected {len(expected)}"
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            ok, why = compare(x, y, {**spec, "kind": kind})
            if not ok:
                return False, f"item {i}: {why}" if why else f"item {i} differs"
        return True, ""
    if isinstance(expected, dict) and not _is_array(expected) and "__float__" not in expected:
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return (
                False,
                f"keys {sorted(actual) if isinstance(actual, dict) else fmt(actual)} but expected {sorted(expected)}",
            )
        for k in expected:
            ok, why = compare(actual[k], expected[k], spec)
            if not ok:
                return False, f"[{k!r}]: {why}"
        return True, ""
    if _num(expected) is not None:
        ok = _num(actual) is not None and _close(actual, expected, atol, rtol)
        return ok, "" if ok else "values differ"
    ok = type(actual) is type(expected) and actual == expected
    return ok, "" if ok else "values differ"


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


def grade_test(spec: dict, mine: dict | None, ref: dict | None, *, process: dict) -> dict:
    """One test's verdict. `spec` is the exercise's test entry; `mine` / `ref` come from summarize()."""
    visible = spec.get("visibility", "visible") == "visible"
    out = {
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
    if ref is None or not ref.get("finished") or ref.get("outcome") != "ok":
        out.update(
            status="error",
            message="The reference solution did not complete this test, so it cannot be graded. Course staff have been told.",
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
    if mine.get("outcome") == "exception":
        error = mine.get("error") or {}
        out["error"] = error
        is_assert = error.get("type") == "AssertionError"
        out["status"] = "failed" if is_assert else "error"
        text = _error_text(error)
        if failures:
            key, expected, got, why = failures[0]
            text = f"{key}: {why}" if visible else f"{key}: your result differs from the reference's"
        out["message"] = text
    elif failures:
        key, expected, got, why = failures[0]
        spec_msg = expected["spec"].get("msg")
        if visible:
            detail = (
                f"{key}: {why}"
                if expected["spec"].get("kind") in ("le", "ge")
                else f"{key}: expected {fmt(expected['value'])}, got {fmt(got['value'])}"
                + (f" ({why})" if why not in ("", "values differ") else "")
            )
            out["expected"], out["actual"] = fmt(expected["value"], 24), fmt(got["value"], 24)
            if expected["spec"].get("kind") in ("le", "ge"):
                out["expected"] = f"{'≤' if expected['spec']['kind'] == 'le' else '≥'} {fmt(expected['spec']['bound'])}"
        else:
            detail = (
                f"{key}: {why}"
                if expected["spec"].get("kind") in ("le", "ge")
                else f"{key}: your result differs from the reference solution's"
            )
        out["message"] = f"{spec_msg} — {detail}" if spec_msg else detail
        if len(failures) > 1:
            out["message"] += f" (and {len(failures) - 1} more check{'s' if len(failures) > 2 else ''})"
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
    results, status_by_id = [], {}
    syntax = mine["syntax"]
    for spec in tests:
        blockers = [d for d in spec.get("depends_on") or [] if status_by_id.get(d) not in (None, "passed")]
        if syntax:
            err = syntax[0]
            row = grade_test(spec, None, ref["tests"].get(spec["id"]), process={"verdict": "syntax"})
            row.update(status="error", message=syntax_message(err), error={"type": "SyntaxError", **err})
        elif blockers:
            row = {
                "id": spec["id"],
                "name": spec.get("name") or spec["id"],
                "visibility": spec.get("visibility", "visible"),
                "max_points": spec.get("points", 1),
                "points": 0,
                "status": "skipped",
                "message": f"Skipped: it builds on {', '.join(blockers)}, which did not pass.",
                "expected": None,
                "actual": None,
                "output": "",
                "output_truncated": False,
                "duration": None,
                "skipped_because": blockers,
                "error": None,
            }
        else:
            row = grade_test(
                spec,
                mine["tests"].get(spec["id"]),
                ref["tests"].get(spec["id"]),
                process={**process, "loading": mine["loading"]},
            )
        status_by_id[spec["id"]] = row["status"]
        results.append(row)
    metrics = {}
    for rec in mine["tests"].values():
        for name, series in rec["metrics"].items():
            metrics.setdefault(name, []).extend(series)
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
        "verdict": {"kind": process.get("verdict", "ok"), "detail": process.get("detail", "")},
    }
