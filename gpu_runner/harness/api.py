"""What tests see inside the sandbox: `check` (observations, metrics, datasets), plus the
capture of printed output and the events channel to the parent. Loaded by runner.py; standard
library only."""

import io
import json
import os

import encode

OUTPUT_CAP = 1 << 20  # bytes of captured print output per run
PER_TEST_OUTPUT_CAP = 64 << 10
LOG_LINES_PER_TEST = 200


class Events:
    """Line-buffered JSON events to the parent. Writes go straight to the fd (no Python buffer)
    so a crash right after an observation still delivers it."""

    def __init__(self, fd: int):
        self.fd = fd

    def emit(self, **event):
        data = (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


class Capture(io.TextIOBase):
    """Collects what a test prints (via sys.stdout/sys.stderr), capped, and streams the first
    lines live as log events."""

    def __init__(self, harness, test_id):
        self.harness, self.test_id = harness, test_id
        self.parts, self.size, self.truncated, self.lines_sent, self.partial = [], 0, False, 0, ""

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        room = min(PER_TEST_OUTPUT_CAP - self.size, OUTPUT_CAP - self.harness.output_total)
        if room <= 0:
            self.truncated = True
            return len(text)
        chunk = text[:room]
        if len(chunk) < len(text):
            self.truncated = True
        self.parts.append(chunk)
        self.size += len(chunk)
        self.harness.output_total += len(chunk)
        if self.lines_sent < LOG_LINES_PER_TEST:
            self.partial += chunk
            *lines, self.partial = self.partial.split("\n")
            for line in lines[: LOG_LINES_PER_TEST - self.lines_sent]:
                self.harness.events.emit(t="log", test=self.test_id, line=line[:500])
                self.lines_sent += 1
        return len(text)

    def flush(self):
        pass

    def value(self):
        return "".join(self.parts)


class Check:
    """What a test receives as its `check` argument. Every call reports an observation; the
    comparison (tolerances, thresholds, messages) happens outside the sandbox, using the spec
    recorded by the *reference* run, so learner code cannot loosen it."""

    def __init__(self, harness, test_id):
        self._harness, self._test = harness, test_id
        self._keys = set()
        self.device = harness.job.get("device", "cpu")
        self.config = dict(harness.job.get("config") or {})
        self.seed = harness.seed_for(test_id)

    def _emit(self, key, value, spec):
        if not isinstance(key, str) or not key:
            raise TypeError("check(name, value): name must be a non-empty string")
        if key in self._keys:
            raise ValueError(f"check name {key!r} used twice in one test; give each check its own name")
        self._keys.add(key)
        self._harness.events.emit(t="obs", test=self._test, key=key, value=encode.encode(value), spec=spec)

    def __call__(self, key, value, *, tol=None, rtol=None, atol=None, exact=False, msg=None):
        """Expect `value` to equal the reference solution's value for the same check."""
        spec = {"kind": "exact" if exact else "close"}
        if tol is not None:
            spec["atol"] = float(tol)
        if atol is not None:
            spec["atol"] = float(atol)
        if rtol is not None:
            spec["rtol"] = float(rtol)
        if msg:
            spec["msg"] = str(msg)
        self._emit(key, value, spec)

    def at_most(self, key, value, bound, *, msg=None):
        self._emit(key, value, {"kind": "le", "bound": float(bound), **({"msg": str(msg)} if msg else {})})

    def at_least(self, key, value, bound, *, msg=None):
        self._emit(key, value, {"kind": "ge", "bound": float(bound), **({"msg": str(msg)} if msg else {})})

    def true(self, key, value, *, msg=None):
        """A property that must hold (the reference also reports True)."""
        self._emit(key, bool(value), {"kind": "exact", **({"msg": str(msg)} if msg else {})})

    def metric(self, name, step, value):
        """A point on a live chart (e.g. the training loss); judged only if the exercise declares
        a threshold for it."""
        self._harness.events.emit(
            t="metric", test=self._test, name=str(name), step=int(step), value=encode.encode(float(value))
        )

    def data(self, name):
        """Path of a dataset the exercise declares (read-only)."""
        path = os.path.join(self._harness.data_dir, os.path.basename(name))
        if not os.path.exists(path):
            raise FileNotFoundError(f"dataset {name!r} is not available to this exercise")
        return path

    def progress(self, fraction, label=""):
        self._harness.events.emit(
            t="progress", test=self._test, fraction=max(0.0, min(1.0, float(fraction))), label=str(label)[:80]
        )
