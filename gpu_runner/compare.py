"""Comparing one observed value with the reference's, by the reference's spec, and rendering
values for learners. Pure functions, used by verdicts.py on the trusted side."""

import math


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
