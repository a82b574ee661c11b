"""Comparing one observed value with the reference's, by the reference's spec, and rendering
values for learners. Pure functions on the trusted side (verdicts.py calls them).

Strict on purpose: the learner's process writes the observation, so anything the comparison
does not check is something a forged observation may omit. Arrays must agree in shape, dtype,
element count and every element; lists in length and every item; dicts in keys and every value;
strings, None and booleans exactly. Numbers within the tolerance the *reference* run recorded.
Nothing here raises on a malformed value: `Invalid` observations (gpu_runner/wire.py) and any
surprise become a failed check with a plain reason.
"""

import math

from gpu_runner.wire import Invalid, _is_array_tag, as_float, number

_NUMERIC_KINDS = ("float", "bfloat", "half", "complex", "int", "uint", "long", "short", "bool")


def fmt(v, limit=12) -> str:
    """A short human-readable rendering of an observed value. Never raises."""
    try:
        return _fmt(v, limit)
    except Exception:
        return "(a value that cannot be shown)"


def _fmt(v, limit) -> str:
    if isinstance(v, Invalid):
        return f"(unreadable: {v.why})"
    n = number(v)
    if n is not None:
        if type(n) is float:
            return f"{n:.6g}" if math.isfinite(n) else str(n)
        text = str(n) if abs(n) < 10**40 else f"an integer of {len(str(abs(n)))} digits"
        return text
    if _is_array_tag(v):
        data = v.get("data") or []
        body = ", ".join(_fmt(x, limit) for x in data[:limit]) + (", …" if len(data) > limit else "")
        shape = "×".join(str(s) for s in v.get("shape") or []) or "scalar"
        return f"[{body}] (shape {shape}, {v.get('dtype')})"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, limit) for x in v[:limit]) + (", …" if len(v) > limit else "") + "]"
    if isinstance(v, dict):
        items = list(v.items())[:limit]
        return "{" + ", ".join(f"{k!r}: {_fmt(x, limit)}" for k, x in items) + (", …" if len(v) > limit else "") + "}"
    text = repr(v)
    return text if len(text) <= 200 else text[:200] + "…"


def _close(a, b, atol, rtol) -> bool:
    """Is observed number `a` within tolerance of expected `b`? bools are not numbers here."""
    if type(a) is bool or type(b) is bool:
        return type(a) is bool and type(b) is bool and a is b
    x, y = number(a), number(b)
    if x is None or y is None:
        return False
    if type(x) is int and type(y) is int:
        # Exact integer arithmetic at any size (int <= float comparisons are exact in Python).
        diff = abs(x - y)
        if diff == 0:
            return True
        return diff <= atol + (rtol * as_float(abs(y)) if rtol else 0.0)
    fx, fy = as_float(x), as_float(y)
    if math.isnan(fx) or math.isnan(fy):
        return math.isnan(fx) and math.isnan(fy)
    if math.isinf(fx) or math.isinf(fy):
        return fx == fy
    return abs(fx - fy) <= atol + rtol * abs(fy)


def _difference(a, b) -> float:
    fx, fy = as_float(a), as_float(b)
    if fx is None or fy is None:
        return math.inf
    d = abs(fx - fy)
    return d if math.isfinite(d) else math.inf


def _dtype_family(dtype: str) -> str:
    return next((k for k in _NUMERIC_KINDS if dtype.startswith(k)), dtype)


def _compare_arrays(actual, expected, spec, atol, rtol) -> tuple[bool, str]:
    ashape, eshape = list(actual["shape"]), list(expected["shape"])
    if ashape != eshape:
        return False, f"shape {tuple(ashape)} but expected {tuple(eshape)}"
    adt, edt = actual["dtype"], expected["dtype"]
    # `dtype=False` in the reference's spec relaxes the dtype to its family (float32 vs float64).
    if spec.get("dtype", True) is False:
        if _dtype_family(adt) != _dtype_family(edt):
            return False, f"dtype {adt} but expected a {_dtype_family(edt)} type like {edt}"
    elif adt != edt:
        return False, f"dtype {adt} but expected {edt}"
    adata, edata = actual["data"], expected["data"]
    if len(adata) != len(edata):  # wire.check_value ties data to shape; belt and braces
        return False, f"{len(adata)} values but expected {len(edata)}"
    bad, worst, worst_i = 0, -1.0, None
    # Fast pass over plain numbers (a tensor's worth of them per check); anything it does not
    # accept at once (tags, bools, big or mixed types, inf, a real difference) gets the full rule.
    doubtful = [
        i
        for i, (x, y) in enumerate(zip(adata, edata, strict=True))
        if not (
            (type(x) is float and type(y) is float and abs(x - y) <= atol + rtol * abs(y) < math.inf)
            or (type(x) is int and type(y) is int and x == y)
        )
    ]
    for i in doubtful:
        x, y = adata[i], edata[i]
        if not _close(x, y, atol, rtol):
            bad += 1
            d = _difference(x, y)
            if d > worst:
                worst, worst_i = d, i
    if not bad:
        return True, ""
    return False, f"{bad} of {len(edata)} values differ (largest difference {fmt(worst)} at flat index {worst_i})"


def compare(actual, expected, spec) -> tuple[bool, str]:
    """(ok, why-not). `spec` is the reference run's: kind close|exact|le|ge, atol, rtol, bound."""
    try:
        return _compare(actual, expected, spec if isinstance(spec, dict) else {}, 0)
    except Exception as exc:
        return False, f"the grader cannot read this value ({type(exc).__name__})"


def _tolerances(spec, kind) -> tuple[float, float]:
    if kind == "exact":
        return 0.0, 0.0
    atol, rtol = as_float(spec.get("atol", 1e-6)), as_float(spec.get("rtol", 0.0))
    atol = atol if atol is not None and math.isfinite(atol) and atol >= 0 else 1e-6
    rtol = rtol if rtol is not None and math.isfinite(rtol) and rtol >= 0 else 0.0
    return atol, rtol


def _compare(actual, expected, spec, depth) -> tuple[bool, str]:
    if isinstance(actual, Invalid):
        return False, f"your code produced a value the grader cannot read: {actual.why}"
    if depth > 64:
        return False, "a value nested too deeply to compare"
    kind = spec.get("kind", "close")
    if kind in ("le", "ge"):
        value, bound = as_float(actual), as_float(spec.get("bound"))
        if bound is None:
            return False, "the reference recorded no bound for this check"
        if value is None or type(actual) is bool or math.isnan(value):
            return False, f"got {fmt(actual)}, which is not a number"
        ok = value <= bound if kind == "le" else value >= bound
        return (
            ok,
            "" if ok else f"got {fmt(value)}, needs to be {'at most' if kind == 'le' else 'at least'} {fmt(bound)}",
        )
    atol, rtol = _tolerances(spec, kind)
    if _is_array_tag(expected) or _is_array_tag(actual):
        if not (_is_array_tag(expected) and _is_array_tag(actual)):
            shape = tuple(expected["shape"]) if _is_array_tag(expected) else None
            return (
                False,
                f"expected {f'an array/tensor of shape {shape}' if shape is not None else fmt(expected)}, got {fmt(actual)}",
            )
        return _compare_arrays(actual, expected, spec, atol, rtol)
    if isinstance(expected, list) or isinstance(actual, list):
        if not (isinstance(expected, list) and isinstance(actual, list)):
            return False, f"expected a list, got {fmt(actual)}" if isinstance(
                expected, list
            ) else f"expected {fmt(expected)}, got a list"
        if len(expected) != len(actual):
            return False, f"length {len(actual)} but expected {len(expected)}"
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            ok, why = _compare(x, y, {**spec, "kind": kind}, depth + 1)
            if not ok:
                return False, f"item {i}: {why}" if why else f"item {i} differs"
        return True, ""
    en = number(expected)
    if type(expected) is dict and en is None:
        if type(actual) is not dict or number(actual) is not None:
            return False, f"expected a dict with keys {sorted(expected)[:8]}, got {fmt(actual)}"
        if set(actual) != set(expected):
            missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
            return False, "keys differ" + (f": missing {missing[:5]}" if missing else "") + (
                f", unexpected {extra[:5]}" if extra else ""
            )
        for k in expected:
            ok, why = _compare(actual[k], expected[k], spec, depth + 1)
            if not ok:
                return False, f"[{k!r}]: {why}"
        return True, ""
    if type(expected) is bool or type(actual) is bool:
        ok = type(expected) is bool and type(actual) is bool and expected is actual
        return ok, "" if ok else "values differ"
    if en is not None:
        ok = number(actual) is not None and _close(actual, expected, atol, rtol)
        return ok, "" if ok else "values differ"
    ok = type(actual) is type(expected) and actual == expected
    return ok, "" if ok else "values differ"
