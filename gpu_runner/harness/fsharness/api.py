"""What tests see inside the sandbox: `check` (observations, metrics, datasets), plus the capture
of printed output. Loaded by runner.py before any learner code; standard library only.

Nothing here decides pass/fail: `check(...)` reports a value, and the trusted parent compares it
with the reference's value for the same check, with the tolerances the *reference* run recorded.
The classes have no instance `__dict__`, so `check.true = ...` on an instance fails, and the
guard's snapshot covers their class dicts, so replacing a method on the class is evidence.
"""

import io
import time

from fsharness.encode import encode

OUTPUT_CAP = 1 << 20  # bytes of captured print output per run
PER_TEST_OUTPUT_CAP = 64 << 10
LOG_LINES_PER_TEST = 200
METRIC_POINTS_PER_TEST = 20_000
HISTOGRAMS_PER_TEST = 200  # = wire.MAX_HISTOGRAMS_PER_TEST
HISTOGRAM_BINS = 100  # = wire.MAX_HISTOGRAM_BINS
FIGURES_PER_TEST = 20  # = wire.MAX_FIGURES_PER_TEST; sizes below = wire.FIGURE_LIMITS
HEATMAP_SIDE, SCATTER_POINTS, GRAPH_NODES, GRAPH_EDGES, LABEL = 64, 1000, 300, 600, 60


def _plain(values):
    """Nested numbers as plain Python (a tensor or array through its own tolist, no import)."""
    if hasattr(values, "detach"):
        values = values.detach()
    if hasattr(values, "cpu"):
        values = values.cpu()
    return values.tolist() if hasattr(values, "tolist") else values


def _num(v):
    v = float(v)
    return v if v == v and v not in (float("inf"), float("-inf")) else None


def _labels(labels, n):
    return [str(x)[:LABEL] for x in list(labels)[:n]] if labels is not None else None


PROGRESS_INTERVAL = 0.2  # seconds between progress events (= wire.MAX_PROGRESS_PER_SECOND)


class Capture(io.TextIOBase):
    """Collects what a test prints (via sys.stdout/sys.stderr), capped, and streams the first
    lines live as log events."""

    def __init__(self, emit, totals, test_id):
        self._emit, self._totals, self.test_id = emit, totals, test_id
        self.parts, self.size, self.truncated, self.lines_sent, self.partial = [], 0, False, 0, ""

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        room = min(PER_TEST_OUTPUT_CAP - self.size, OUTPUT_CAP - self._totals[0])
        if room <= 0:
            self.truncated = True
            return len(text)
        chunk = text[:room]
        if len(chunk) < len(text):
            self.truncated = True
        self.parts.append(chunk)
        self.size += len(chunk)
        self._totals[0] += len(chunk)
        if self.lines_sent < LOG_LINES_PER_TEST:
            self.partial += chunk
            *lines, self.partial = self.partial.split("\n")
            for line in lines[: LOG_LINES_PER_TEST - self.lines_sent]:
                self._emit({"t": "log", "test": self.test_id, "line": line[:500]})
                self.lines_sent += 1
        return len(text)

    def flush(self):
        pass

    def value(self):
        return "".join(self.parts)


def make_check(*, emit, before_obs, job, data_dir, seed_for):
    """The `Check` class for this job. `before_obs()` runs before a test's first observation is
    sent (the guard's snapshot comparison, ~0.1-0.3 ms; the runner runs it again when the test
    ends); `emit` writes one event."""
    import os

    device = job.get("device", "cpu")
    config = dict(job.get("config") or {})
    exists, join, basename = os.path.exists, os.path.join, os.path.basename
    clock = time.monotonic

    class Check:
        """What a test receives as its `check` argument."""

        __slots__ = ("_test", "_keys", "_metrics", "_hists", "_figs", "_progress_at", "device", "config", "seed")

        def __init__(self, test_id):
            self._test, self._keys, self._metrics, self._progress_at = test_id, set(), 0, 0.0
            self._hists = self._figs = 0
            self.device, self.config, self.seed = device, dict(config), seed_for(test_id)

        def _obs(self, key, value, spec):
            if not isinstance(key, str) or not key:
                raise TypeError("check(name, value): name must be a non-empty string")
            if key in self._keys:
                raise ValueError(f"check name {key!r} used twice in one test; give each check its own name")
            if not self._keys:  # the snapshot is checked at a test's first value and at its end:
                before_obs(self._test)  # a patch that is undone in between evades any sampling
            self._keys.add(key)
            emit({"t": "obs", "test": self._test, "key": key, "value": encode(value), "spec": spec})

        def __call__(self, key, value, *, tol=None, rtol=None, atol=None, exact=False, dtype=True, msg=None):
            """Expect `value` to equal the reference solution's value for the same check.
            `dtype=False` accepts another dtype of the same family (float32 for float64)."""
            spec = {"kind": "exact" if exact else "close"}
            if tol is not None:
                spec["atol"] = float(tol)
            if atol is not None:
                spec["atol"] = float(atol)
            if rtol is not None:
                spec["rtol"] = float(rtol)
            if dtype is False:
                spec["dtype"] = False
            if msg:
                spec["msg"] = str(msg)
            self._obs(key, value, spec)

        def at_most(self, key, value, bound, *, msg=None):
            """A measured value that must not exceed `bound` (judged on the trusted side)."""
            self._obs(key, value, {"kind": "le", "bound": float(bound), **({"msg": str(msg)} if msg else {})})

        def at_least(self, key, value, bound, *, msg=None):
            self._obs(key, value, {"kind": "ge", "bound": float(bound), **({"msg": str(msg)} if msg else {})})

        def true(self, key, value, *, msg=None):
            """A property that must hold (the reference also reports True). Its expected value is
            known, so it cannot carry a grade alone: pair it with value checks."""
            self._obs(key, bool(value), {"kind": "exact", **({"msg": str(msg)} if msg else {})})

        def metric(self, name, step, value):
            """A point on a live chart (e.g. the training loss)."""
            if self._metrics >= METRIC_POINTS_PER_TEST:
                return
            self._metrics += 1
            emit(
                {
                    "t": "metric",
                    "test": self._test,
                    "name": str(name)[:100],
                    "step": int(step),
                    "value": encode(float(value)),
                }
            )

        def histogram(self, name, values, *, step=0, bins=50, range=None):
            """A histogram drawn beside the training chart (e.g. one layer's activations or
            gradients). Only the counts travel; a tensor is counted by torch itself (histc), a
            list in Python. Not graded: pair it with value checks on what it shows."""
            if self._hists >= HISTOGRAMS_PER_TEST:
                return
            bins = max(1, min(int(bins), HISTOGRAM_BINS))
            if hasattr(values, "histc"):  # a torch tensor: no copy to Python, no import here
                flat = values.detach().float().flatten()
                flat = flat[flat == flat]  # drop NaN
                n = int(flat.numel())
                lo, hi = range if range else ((flat.min().item(), flat.max().item()) if n else (0.0, 1.0))
                counts = (
                    [int(c) for c in flat.histc(bins, float(lo), float(hi) if hi > lo else float(lo) + 1.0).tolist()]
                    if n
                    else [0] * bins
                )
            else:
                xs = [float(v) for v in values]
                xs = [v for v in xs if v == v]
                n = len(xs)
                lo, hi = range if range else ((min(xs), max(xs)) if xs else (0.0, 1.0))
                lo, hi = float(lo), float(hi)
                width = (hi - lo) / bins if hi > lo else 1.0
                counts = [0] * bins
                for v in xs:
                    if lo <= v <= hi:
                        counts[min(int((v - lo) / width), bins - 1)] += 1
            self._hists += 1
            emit(
                {
                    "t": "hist",
                    "test": self._test,
                    "name": str(name)[:100],
                    "step": int(step),
                    "lo": encode(float(lo)),
                    "hi": encode(float(hi)),
                    "counts": counts,
                }
            )

        def _figure(self, name, kind, data):
            if self._figs >= FIGURES_PER_TEST:
                return
            self._figs += 1
            emit({"t": "fig", "test": self._test, "name": str(name)[:100], "kind": kind, **data})

        def heatmap(self, name, matrix, *, rows=None, cols=None):
            """A matrix drawn as a heatmap on the learner's page (an attention map: rows attend to
            columns). At most 64 x 64; labels are shown along the edges. Not graded."""
            values = [[_num(v) for v in list(row)[:HEATMAP_SIDE]] for row in list(_plain(matrix))[:HEATMAP_SIDE]]
            self._figure(
                name,
                "heatmap",
                {"values": values, "rows": _labels(rows, HEATMAP_SIDE), "cols": _labels(cols, HEATMAP_SIDE)},
            )

        def scatter(self, name, points, *, labels=None):
            """2-D points with optional text labels (an embedding table with two dimensions).
            At most 1,000 points. Not graded."""
            pts = [[_num(p[0]), _num(p[1])] for p in list(_plain(points))[:SCATTER_POINTS]]
            self._figure(name, "scatter", {"points": pts, "labels": _labels(labels, SCATTER_POINTS)})

        def graph(self, name, nodes, edges):
            """A directed graph: `nodes` as (id, label) pairs, `edges` as (from_id, to_id) pairs
            (an expression graph, a BPE merge tree). Drawn in layers from the sources. At most
            300 nodes and 600 edges. Not graded."""
            ns = [[str(i)[:LABEL], str(label)[:LABEL]] for i, label in list(nodes)[:GRAPH_NODES]]
            es = [[str(a)[:LABEL], str(b)[:LABEL]] for a, b in list(edges)[:GRAPH_EDGES]]
            self._figure(name, "graph", {"nodes": ns, "edges": es})

        def data(self, name):
            """Path of a dataset the exercise declares (read-only)."""
            path = join(data_dir, basename(name))
            if not exists(path):
                raise FileNotFoundError(f"dataset {name!r} is not available to this exercise")
            return path

        def progress(self, fraction, label=""):
            now = clock()
            fraction = max(0.0, min(1.0, float(fraction)))
            if fraction < 1.0 and now - self._progress_at < PROGRESS_INTERVAL:
                return
            self._progress_at = now
            emit({"t": "progress", "test": self._test, "fraction": fraction, "label": str(label)[:80]})

    return Check
