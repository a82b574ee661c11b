"""The contract between the sandbox and the trusted side: what may come out of the events fd, and
how it is read (issue #8 of the design notes: "the trusted side never crashes on what the
sandbox says").

Everything the sandboxed process writes is hostile input: learner code shares the harness's
process and can write any bytes to the events fd. So every line is decoded here, once, with
bounds on its size, nesting and element counts, and every field a grader reads is checked for
type. A line that fails is *dropped and counted* (the count is evidence of tampering: the
harness itself never writes one), never an exception on the trusted side. A value that passes
the framing but is not a well-formed observation becomes an `Invalid` marker, which the
comparison turns into that check's failure with a plain message.

The harness (gpu_runner/harness/, standard library only) mirrors the producer side of these
constants; `tests` check that they agree.
"""

import json
import math

# --- limits --------------------------------------------------------------------------------------
MAX_LINE_BYTES = 8 << 20  # one event line (an observed array of 250,000 floats is ~5 MB)
MAX_DEPTH = 24  # nesting of an observed value (lists of dicts of lists ...)
MAX_ELEMENTS = 250_000  # elements of one observed array; also the encoder's limit
MAX_NODES = 300_000  # scalars + containers in one observed value
MAX_EVENTS = 50_000  # events per run, all kinds
MAX_EVENT_BYTES = 96 << 20  # bytes on the events fd per run
MAX_PROGRESS_PER_SECOND = 5  # progress events the runner forwards (the harness also throttles)
MAX_TEXT = 2000  # characters of a message / label field kept
MAX_KEY = 300  # characters of a check name or test id
MAX_HISTOGRAMS_PER_TEST = 200  # histogram events kept per test (the harness sends no more)
MAX_HISTOGRAM_BINS = 100
MAX_FIGURES_PER_TEST = 20
FIGURE_KINDS = ("heatmap", "scatter", "graph")
FIGURE_LIMITS = {"side": 64, "points": 1000, "nodes": 300, "edges": 600, "label": 60}

# Event types a harness emits, and the fields the trusted side reads from each.
EVENT_TYPES = frozenset(
    {
        "ready",
        "syntax",
        "load",
        "start",
        "obs",
        "metric",
        "hist",
        "fig",
        "test",
        "done",
        "harness_error",
        "log",
        "progress",
        "integrity",
    }
)
FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
# How non-finite floats are written in anything stored or sent to browsers (JSON has no NaN, and
# PostgreSQL's jsonb rejects the token Python's json module writes for it). JavaScript's
# Number("NaN") / Number("Infinity") read them back.
NONFINITE_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


class Invalid:
    """An observed value the grader cannot read; carries the reason for the learner."""

    __slots__ = ("why",)

    def __init__(self, why: str):
        self.why = why

    def __repr__(self):
        return f"Invalid({self.why!r})"


# --- framing -------------------------------------------------------------------------------------
def _refuse_constant(name):
    # Python's json accepts the non-standard NaN / Infinity tokens; the harness never writes them.
    raise ValueError(f"{name} is not JSON")


def decode_line(raw: bytes) -> dict | None:
    """One events line as a dict, or None when it is not a well-formed event."""
    if len(raw) > MAX_LINE_BYTES:
        return None
    try:
        event = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError, UnicodeDecodeError, MemoryError):
        # json's C decoder raises RecursionError on deep nesting, ValueError on ints longer
        # than sys.int_info.str_digits_check_threshold: both are just "not an event".
        return None
    if not isinstance(event, dict) or not isinstance(event.get("t"), str) or event["t"] not in EVENT_TYPES:
        return None
    return event


# --- observed values -----------------------------------------------------------------------------
def _is_float_tag(v) -> bool:
    return isinstance(v, dict) and len(v) == 1 and "__float__" in v


def _is_array_tag(v) -> bool:
    return isinstance(v, dict) and v.get("__array__") is True


def _check_array(v) -> str:
    shape, dtype, data = v.get("shape"), v.get("dtype"), v.get("data")
    if set(v) != {"__array__", "shape", "dtype", "data"}:
        return "an array without exactly shape, dtype and data"
    if not isinstance(shape, list) or len(shape) > 32 or not all(type(s) is int and s >= 0 for s in shape):
        return "an array whose shape is not a list of sizes"
    if not isinstance(dtype, str) or not (0 < len(dtype) <= 40):
        return "an array without a dtype"
    if not isinstance(data, list):
        return "an array without data"
    count = math.prod(shape)
    if count > MAX_ELEMENTS or len(data) > MAX_ELEMENTS:
        return f"an array with more than {MAX_ELEMENTS:,} elements"
    if len(data) != count:
        return f"an array of shape {tuple(shape)} with {len(data)} values instead of {count}"
    for x in data:
        if type(x) in (int, float, bool):
            continue
        if not (_is_float_tag(x) and x["__float__"] in FLOAT_TAGS):
            return "an array holding something other than numbers"
    return ""


def check_value(value, *, depth: int = 0, budget: list | None = None) -> str:
    """'' when `value` is a well-formed observation, else why not (in words for the learner)."""
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        return f"a value with more than {MAX_NODES:,} parts"
    if depth > MAX_DEPTH:
        return f"a value nested more than {MAX_DEPTH} levels deep"
    if value is None or type(value) in (bool, int, str):
        return ""
    if type(value) is float:
        return "" if math.isfinite(value) else "a bare non-finite number"
    if isinstance(value, list):
        for item in value:
            why = check_value(item, depth=depth + 1, budget=budget)
            if why:
                return why
        return ""
    if isinstance(value, dict):
        if "__float__" in value:
            return "" if _is_float_tag(value) and value["__float__"] in FLOAT_TAGS else "a malformed special number"
        if "__array__" in value:
            if not _is_array_tag(value):
                return "a malformed array"
            budget[0] -= len(value.get("data") or [])
            return _check_array(value) or (f"a value with more than {MAX_NODES:,} parts" if budget[0] < 0 else "")
        for _k, item in value.items():
            why = check_value(item, depth=depth + 1, budget=budget)
            if why:
                return why
        return ""
    return f"a value of type {type(value).__name__}"


def observed(value):
    """The value as the comparison reads it: itself when well-formed, else an `Invalid`."""
    why = check_value(value)
    return Invalid(why) if why else value


# --- numbers -------------------------------------------------------------------------------------
def number(v):
    """int or float for a wire number (tags decoded), else None. Never raises."""
    if _is_float_tag(v):
        return FLOAT_TAGS.get(v["__float__"]) if isinstance(v["__float__"], str) else None
    if type(v) in (int, float):
        return v
    return None


def as_float(v) -> float | None:
    """A float for a wire number, ints of any size included (too large ones become ±inf)."""
    n = number(v)
    if n is None:
        return None
    try:
        return float(n)
    except OverflowError:
        return math.inf if n > 0 else -math.inf


def safe_float(v):
    """A number as it is stored and shown: finite floats and ints as themselves, NaN and the
    infinities as the strings of NONFINITE_TEXT, anything else None."""
    n = number(v)
    if n is None:
        return None
    if type(n) is float and not math.isfinite(n):
        return "NaN" if math.isnan(n) else ("Infinity" if n > 0 else "-Infinity")
    return n


def jsonsafe(obj, _depth=0):
    """`obj` with every non-finite float replaced by its NONFINITE_TEXT string, so the result is
    valid JSON for browsers and PostgreSQL. Stored results and events pass through this."""
    if type(obj) is float:
        return obj if math.isfinite(obj) else safe_float(obj)
    if _depth > 64:
        return None
    if isinstance(obj, dict):
        return {k: jsonsafe(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonsafe(v, _depth + 1) for v in obj]
    return obj


def histogram(event: dict) -> dict | None:
    """A "hist" event's drawable part, or None when it is malformed: counts are non-negative
    ints (at most MAX_HISTOGRAM_BINS), lo < hi finite."""
    counts, step = event.get("counts"), event.get("step")
    lo, hi = as_float(event.get("lo")), as_float(event.get("hi"))
    if type(step) is not int or not isinstance(counts, list) or not 0 < len(counts) <= MAX_HISTOGRAM_BINS:
        return None
    if not all(type(c) is int and 0 <= c < 1 << 53 for c in counts):
        return None
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        return None
    return {"step": step, "lo": float(lo), "hi": float(hi), "counts": counts}


def _labels(value, n) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > n or not all(isinstance(x, str) for x in value):
        raise ValueError
    return [x[: FIGURE_LIMITS["label"]] for x in value]


def _cell(v):
    if v is None:
        return None
    f = as_float(v)
    if f is None:
        raise ValueError
    return f if math.isfinite(f) else None


def figure(event: dict) -> dict | None:
    """A "fig" event's drawable part ({kind, ...}), or None when it is malformed or too big.
    Labels are plain strings: the page writes them as text, never as markup."""
    kind, lim = event.get("kind"), FIGURE_LIMITS
    try:
        if kind == "heatmap":
            values = event.get("values")
            if not isinstance(values, list) or not 0 < len(values) <= lim["side"]:
                return None
            width = len(values[0]) if isinstance(values[0], list) else 0
            if not 0 < width <= lim["side"] or any(not isinstance(r, list) or len(r) != width for r in values):
                return None
            return {
                "kind": kind,
                "values": [[_cell(v) for v in row] for row in values],
                "rows": _labels(event.get("rows"), lim["side"]),
                "cols": _labels(event.get("cols"), lim["side"]),
            }
        if kind == "scatter":
            points = event.get("points")
            if not isinstance(points, list) or not 0 < len(points) <= lim["points"]:
                return None
            if any(not isinstance(p, list) or len(p) != 2 for p in points):
                return None
            return {
                "kind": kind,
                "points": [[_cell(p[0]), _cell(p[1])] for p in points],
                "labels": _labels(event.get("labels"), lim["points"]),
            }
        if kind == "graph":
            nodes, edges = event.get("nodes"), event.get("edges")
            if not isinstance(nodes, list) or not isinstance(edges, list):
                return None
            if not 0 < len(nodes) <= lim["nodes"] or len(edges) > lim["edges"]:
                return None
            pairs = [
                p for p in nodes + edges if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            ]
            if len(pairs) != len(nodes) + len(edges):
                return None
            ids = {n[0] for n in nodes}
            if any(a not in ids or b not in ids for a, b in edges):
                return None
            cut = lim["label"]
            return {
                "kind": kind,
                "nodes": [[i[:cut], label[:cut]] for i, label in nodes],
                "edges": [[a[:cut], b[:cut]] for a, b in edges],
            }
    except (ValueError, TypeError, AttributeError):
        return None
    return None
