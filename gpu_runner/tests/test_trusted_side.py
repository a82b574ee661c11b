"""The trusted side reads whatever the sandbox wrote without crashing, compares strictly, and turns
every unreadable value into that test's failure (issue #10: bounded decoding, strict compare).
Pure functions: no sandbox needed."""

import json
import math

import pytest

from gpu_runner import verdicts, wire
from gpu_runner.compare import compare

NESTED = 1
for _ in range(30):
    NESTED = [NESTED]
ARRAY = {"__array__": True, "shape": [2, 2], "dtype": "float32", "data": [1.0, 2.0, 3.0, 4.0]}


def arr(data, shape=None, dtype="float32"):
    return {"__array__": True, "shape": shape if shape is not None else [len(data)], "dtype": dtype, "data": data}


# --- framing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000,
        b'{"t": "obs", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"t": "obs", "value": ' + b"9" * 5000 + b"}",  # past CPython's int digit limit
        b'{"t": "obs", "value": NaN}',  # Python's json would accept this token
        b"\xff\xfe not utf-8",
        b'"just a string"',
        b'{"t": "made-up"}',
        b'{"no_type": 1}',
        b"{" * (9 << 20),
    ],
)
def test_lines_that_are_not_events_are_dropped_not_raised(line):
    assert wire.decode_line(line) is None


@pytest.mark.parametrize(
    "value,why",
    [
        ({"__float__": "zz"}, "special number"),
        ({"__array__": True}, "shape, dtype and data"),
        ({"__array__": True, "shape": [3], "dtype": "float32", "data": [1.0]}, "1 values instead of 3"),
        ({"__array__": True, "shape": [2], "dtype": "float32", "data": [1.0, "x"]}, "other than numbers"),
        ({"__array__": True, "shape": [-1], "dtype": "float32", "data": []}, "shape"),
        ({"__array__": True, "shape": [10**7], "dtype": "int64", "data": []}, "more than"),
        (float("inf"), "non-finite"),
        (NESTED, "nested"),
    ],
)
def test_malformed_observations_become_invalid_with_a_reason(value, why):
    result = wire.observed(value)
    assert isinstance(result, wire.Invalid) and why in result.why


def test_well_formed_observations_pass_through():
    for value in (None, True, 3, 10**400, 2.5, "s", [1, [2]], {"a": ARRAY}, {"__float__": "nan"}, ARRAY):
        assert wire.observed(value) is value


# --- strict comparison -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "actual,why",
    [
        (arr([1.0, 2.0, 3.0, 4.0], [4]), "shape (4,)"),
        (arr([1.0, 2.0, 3.0, 4.0], [2, 2], "float64"), "dtype float64"),
        (arr([1.0, 2.0, 3.0, 5.0], [2, 2]), "1 of 4 values differ"),
        (arr([], [0, 2]), "shape (0, 2)"),
        ([1.0, 2.0, 3.0, 4.0], "expected an array"),
        (wire.Invalid("an array without data"), "cannot read"),
    ],
)
def test_arrays_must_agree_in_shape_dtype_count_and_every_element(actual, why):
    ok, message = compare(actual, ARRAY, {"kind": "close", "atol": 1e-6})
    assert not ok and why in message


def test_a_truncated_array_cannot_pass_even_with_a_forged_shape():
    # The attack of issue #10: keep the shape, drop the values. The count no longer matches the
    # shape, so the value is unreadable, and unreadable never equals anything.
    forged = wire.observed({"__array__": True, "shape": [2, 2], "dtype": "float32", "data": []})
    assert isinstance(forged, wire.Invalid)
    assert not compare(forged, ARRAY, {"kind": "close"})[0]


def test_dtype_false_accepts_the_same_family_only():
    spec = {"kind": "close", "dtype": False}
    assert compare(arr([1.0, 2.0, 3.0, 4.0], [2, 2], "float64"), ARRAY, spec)[0]
    assert not compare(arr([1, 2, 3, 4], [2, 2], "int64"), ARRAY, spec)[0]


@pytest.mark.parametrize(
    "actual,expected,spec,ok",
    [
        (True, 1, {"kind": "exact"}, False),  # a bool is not a number
        (1, True, {"kind": "exact"}, False),
        (10**400, 10**400, {"kind": "close"}, True),  # no OverflowError
        (10**400 + 1, 10**400, {"kind": "close"}, False),
        (10**400, 1.0, {"kind": "close"}, False),
        ({"__float__": "nan"}, {"__float__": "nan"}, {"kind": "close"}, True),
        (0.0, {"__float__": "nan"}, {"kind": "close"}, False),
        ({"__float__": "inf"}, {"__float__": "inf"}, {"kind": "close"}, True),
        ({"__float__": "-inf"}, {"__float__": "inf"}, {"kind": "close"}, False),
        ([1, 2], [1, 2, 3], {"kind": "close"}, False),
        ({"a": 1}, {"a": 1, "b": 2}, {"kind": "close"}, False),
        ("abc", "abc", {"kind": "exact"}, True),
        (None, 0, {"kind": "close"}, False),
        (2.0, 1.0, {"kind": "le", "bound": 1.5}, False),
        ({"__float__": "nan"}, 0.0, {"kind": "le", "bound": 1.5}, False),
        (True, 0.0, {"kind": "ge", "bound": 0.5}, False),
        (1.0, 0.0, {"kind": "le", "bound": "not a number"}, False),
    ],
)
def test_scalars_lists_and_thresholds(actual, expected, spec, ok):
    assert compare(actual, expected, spec)[0] is ok


# --- the whole verdict -----------------------------------------------------------------------------
TESTS = [{"id": "test_a", "name": "a", "file": "t.py", "visibility": "hidden", "points": 2}]


def run(obs_value, *, extra=(), process=None):
    """Reference and learner events for one test with one check, through final_result."""
    ref = [
        {"t": "start", "test": "test_a"},
        {"t": "obs", "test": "test_a", "key": "y", "value": ARRAY, "spec": {"kind": "close", "atol": 1e-6}},
        {"t": "test", "test": "test_a", "outcome": "ok"},
        {"t": "done"},
    ]
    mine = [
        {"t": "start", "test": "test_a"},
        {"t": "obs", "test": "test_a", "key": "y", "value": obs_value, "spec": {"kind": "close", "atol": 1e9}},
        *extra,
        {"t": "test", "test": "test_a", "outcome": "ok"},
        {"t": "done"},
    ]
    payload = {"gradable": True, "learner_events": mine, "process": process or {"verdict": "ok", "detail": ""}}
    return verdicts.final_result(tests=TESTS, payload=payload, reference_events=ref)


def test_the_reference_value_passes_and_the_learners_own_tolerance_is_ignored():
    assert run(ARRAY)["status"] == "passed"
    # The learner's spec asked for atol=1e9; the reference's 1e-6 applies.
    assert run(arr([1.0, 2.0, 3.0, 4.5], [2, 2]))["tests"][0]["status"] == "failed"


@pytest.mark.parametrize(
    "value",
    [
        {"__array__": True},
        {"__float__": "zz"},
        {"__array__": True, "shape": [2, 2], "dtype": "float32", "data": []},
        10**400,
        "a string",
    ],
)
def test_crafted_values_fail_the_test_with_a_plain_message(value):
    result = run(value)
    row = result["tests"][0]
    assert result["gradable"] and row["status"] == "failed" and row["points"] == 0
    assert row["expected"] is None  # hidden: never the expected value
    assert "reference solution" in row["message"] or "cannot read" in row["message"]


def test_nan_metrics_are_stored_as_json_that_postgresql_accepts():
    nan_metric = {"t": "metric", "test": "test_a", "name": "loss", "step": 3, "value": {"__float__": "nan"}}
    inf_metric = {"t": "metric", "test": "test_a", "name": "loss", "step": 4, "value": {"__float__": "inf"}}
    result = run(ARRAY, extra=[nan_metric, inf_metric])
    assert result["metrics"]["loss"] == [[3, "NaN"], [4, "Infinity"]]
    json.dumps(result, allow_nan=False)  # raises if a float NaN slipped through


def test_histograms_are_kept_and_malformed_ones_dropped():
    def hist(**fields):
        return {"t": "hist", "test": "test_a", "name": "layer 1", "step": 0, "lo": -1.0, "hi": 1.0, **fields}

    good = hist(counts=[1, 2, 3])
    later = hist(step=100, counts=[0, 5, 1], lo={"__float__": "nan"})  # NaN edge: dropped
    junk = [
        hist(counts=[-1, 2]),
        hist(counts=list(range(101))),
        hist(counts=[1.5]),
        hist(counts=[1], lo=2.0, hi=1.0),
        hist(counts=[1], step="x"),
        hist(counts="1,2"),
        hist(counts=[1], hi=10**400),
    ]
    result = run(ARRAY, extra=[good, later, *junk])
    assert result["histograms"] == {"layer 1": [{"step": 0, "lo": -1.0, "hi": 1.0, "counts": [1, 2, 3]}]}
    assert result["status"] == "passed"  # drawn, never graded
    json.dumps(result, allow_nan=False)


def test_figures_are_validated_and_the_last_under_a_name_kept():
    def fig(kind, **fields):
        return {"t": "fig", "test": "test_a", "name": fields.pop("name", kind), "kind": kind, **fields}

    good = [
        fig("heatmap", values=[[0.5, None], [{"__float__": "nan"}, 1]], rows=["a", "b"], cols=None),
        fig("scatter", points=[[0.0, 1.0], [2, 3]], labels=["x", "<b>y</b>"]),
        fig("graph", name="g", nodes=[["1", "a + b"], ["2", "a"]], edges=[["2", "1"]]),
        fig("graph", name="g", nodes=[["1", "only"]], edges=[]),  # replaces the first "g"
    ]
    junk = [
        fig("heatmap", name="h1", values=[[1, 2], [3]]),  # ragged
        fig("heatmap", name="h2", values=[[0.0] * 65]),  # too wide
        fig("heatmap", name="h3", values=[["x"]]),
        fig("scatter", name="s1", points=[[1, 2, 3]]),
        fig("scatter", name="s2", points=[[0, 0]] * 1001),
        fig("scatter", name="s3", points=[[0, 0]], labels=[1]),
        fig("graph", name="g1", nodes=[["1", "a"]], edges=[["1", "missing"]]),
        fig("graph", name="g2", nodes=[[1, "a"]], edges=[]),
        fig("pie", name="p", values=[1]),
    ]
    result = run(ARRAY, extra=good + junk)
    figures = result["figures"]
    assert sorted(figures) == ["g", "heatmap", "scatter"]
    assert figures["heatmap"]["values"] == [[0.5, None], [None, 1.0]] and figures["heatmap"]["rows"] == ["a", "b"]
    assert figures["scatter"]["labels"] == ["x", "<b>y</b>"]  # text: the page never parses it as markup
    assert figures["g"] == {"kind": "graph", "nodes": [["1", "only"]], "edges": []}
    assert result["status"] == "passed"
    json.dumps(result, allow_nan=False)


def test_tampering_evidence_fails_the_test_it_touched_and_flags_the_result():
    evidence = {
        "t": "integrity",
        "level": "evidence",
        "kind": "altered",
        "detail": "replaced torch.allclose",
        "test": "test_a",
    }
    result = run(ARRAY, extra=[evidence])
    row = result["tests"][0]
    assert row["status"] == "failed" and row["points"] == 0 and "torch.allclose" in row["message"]
    assert result["integrity"]["flagged"] and result["status"] == "failed"


def test_recorded_introspection_is_listed_for_staff_but_fails_nothing():
    recorded = {
        "t": "integrity",
        "level": "recorded",
        "kind": "sys._getframe",
        "detail": "inspected the call stack",
        "test": "test_a",
    }
    result = run(ARRAY, extra=[recorded])
    assert result["status"] == "passed" and not result["integrity"]["flagged"]
    assert result["integrity"]["recorded"][0]["detail"] == "inspected the call stack"


def test_lines_the_harness_did_not_write_fail_every_test():
    result = run(ARRAY, process={"verdict": "ok", "detail": "", "channel": {"forged": 3, "malformed": 0}})
    assert result["status"] == "failed" and result["integrity"]["flagged"]
    assert "grader's channel" in result["tests"][0]["message"]


def test_hostile_event_fields_never_raise():
    junk = [
        {"t": "obs", "test": ["not", "a", "str"], "key": "y", "value": 1},
        {"t": "obs", "test": "test_a", "key": {"k": 1}, "value": 1},
        {"t": "test", "test": "x" * 10_000, "outcome": "ok"},
        {"t": "metric", "test": "test_a", "name": None, "step": "three", "value": "x"},
        {"t": "syntax", "error": "not a dict"},
        {"t": "integrity", "level": 5, "kind": None, "detail": ["x"], "test": 7},
        {"t": "test", "test": "test_a", "outcome": "ok", "error": {"frames": "nope"}, "duration": "long"},
    ]
    result = run(ARRAY, extra=junk)
    assert result["gradable"] and result["tests"][0]["status"] in ("failed", "error")
    json.dumps(result, allow_nan=False)


def test_jsonsafe_replaces_every_non_finite_float():
    data = {"a": [math.nan, {"b": math.inf}], "c": -math.inf, "d": 1.5}
    assert wire.jsonsafe(data) == {"a": ["NaN", {"b": "Infinity"}], "c": "-Infinity", "d": 1.5}


def test_the_fast_pass_over_arrays_agrees_with_the_full_rule_element_by_element():
    """compare.py accepts plain close numbers in one pass and sends the rest to `_close`; the
    verdict must be what `_close` alone gives, for every mix of values a sandbox can send."""
    import random

    from gpu_runner.compare import _close, _compare_arrays

    pool = [0.0, 1.0, -1.0, 1e-7, 1.0000001, 1e308, -1e308, float("inf"), float("-inf"), 3, 10**30, True]
    pool += [{"__float__": "NaN"}, {"__float__": "Infinity"}, {"__float__": "-Infinity"}, 2**53 + 1]
    rng = random.Random(5)
    for _ in range(2000):
        n = rng.randint(1, 6)
        a = [rng.choice(pool) for _ in range(n)]
        e = [x if rng.random() < 0.6 else rng.choice(pool) for x in a]
        atol, rtol = rng.choice([(0.0, 0.0), (1e-6, 0.0), (1e-5, 1e-3)])
        arr = lambda d: {"__array__": True, "shape": [len(d)], "dtype": "float32", "data": d}  # noqa: E731
        ok, _ = _compare_arrays(arr(a), arr(e), {}, atol, rtol)
        assert ok == all(_close(x, y, atol, rtol) for x, y in zip(a, e, strict=True)), (a, e, atol, rtol)
