"""Run one self-contained grading job: pick the device, make sure the reference observations
exist, run the learner's code in a sandbox, stream per-test verdicts live, and return the
payload the database side records (DESIGN.md §3-§5). Needs no database: a GPU host only needs
the broker."""

import logging
import time

from gpu_runner import datasets, verdicts, wire
from gpu_runner.device import cuda_available
from gpu_runner.sandbox.pool import SandboxUnavailable, WarmPool
from gpu_runner.sandbox.session import run_job
from gpu_runner.summary import evidence_by_test

log = logging.getLogger(__name__)
RUNNER_VERSION = "fromscratch-runner/1.0"
KEEP_EVENTS = {"syntax", "load", "start", "obs", "metric", "hist", "fig", "test", "done", "harness_error", "integrity"}
METRIC_FLUSH_SECONDS = 0.15


class JobError(Exception):
    """An infrastructure fault: the submission is not gradable and costs no attempt."""


def _limits(resources: dict) -> dict:
    wall = float(resources.get("wall_seconds", 30))
    return {
        "cpu_seconds": int(wall) + 2,
        "file_bytes": int(resources.get("file_mb", 64)) << 20,
        "open_files": 256,
        "processes": 512,
        "threads": int(resources.get("threads", 1)),
        "gpu_memory_mb": int(resources.get("gpu_memory_mb", 0)),
    }


class LiveGrader:
    """Turns the harness's raw events into learner-facing events as they arrive."""

    def __init__(self, tests, reference_summary, stream, stop_once_failed=None):
        self.tests = {t["id"]: t for t in tests}
        # `course test --fail-fast`: a candidate that must fail stops once it has failed one
        # test and every test in this list (its mutant's `fails`). None: run every test.
        self.stop_once_failed = None if stop_once_failed is None else set(stop_once_failed)
        self.order = [t["id"] for t in tests]
        self.ref = reference_summary
        self.stream = stream
        self.events = []
        self.status = {}
        self.metric_buffer, self.metric_sent = {}, {}
        self.logs = self.hists = self.figs = 0
        self.progress_sent = {}

    def on_event(self, event) -> bool:
        """Handle one harness event; True asks the session to stop the run early."""
        self.events.append(event)
        t = event.get("t")
        if t == "test" and event.get("test") in self.tests and self.stream is None:
            self._judge(event["test"])
            return self._all_remaining_blocked() or self._failed_enough()
        if self.stream is None:
            return False
        if t == "start" and event.get("test") in self.tests:
            self.stream.emit(
                "test_started", test=event["test"], index=self.order.index(event["test"]), total=len(self.order)
            )
        elif t == "test" and event.get("test") in self.tests:
            self._flush_metrics(force=True)
            row = self._judge(event["test"])
            self.stream.emit("test", result=row, index=self.order.index(row["id"]), total=len(self.order))
            return self._all_remaining_blocked() or self._failed_enough()
        elif t == "syntax":
            self.stream.emit("syntax", message=verdicts.syntax_message(event.get("error") or {}))
        elif t == "metric":
            key = str(event.get("name"))
            if type(event.get("step")) is int:
                self.metric_buffer.setdefault(key[:100], []).append(
                    [event["step"], wire.safe_float(event.get("value"))]
                )
            self._flush_metrics()
        elif t == "hist":
            drawn = wire.histogram(event)
            if drawn is not None and self.hists < wire.MAX_HISTOGRAMS_PER_TEST * len(self.order):
                self.hists += 1
                self.stream.emit(
                    "histogram", test=_text(event.get("test")), name=_text(event.get("name"), 100), **drawn
                )
        elif t == "fig":
            drawn = wire.figure(event)
            if drawn is not None and self.figs < wire.MAX_FIGURES_PER_TEST * len(self.order):
                self.figs += 1
                self.stream.emit("figure", test=_text(event.get("test")), name=_text(event.get("name"), 100), **drawn)
        elif t == "log" and self.logs < 500:
            self.logs += 1
            self.stream.emit("log", test=_text(event.get("test")), line=_text(event.get("line"), 500))
        elif t == "progress":
            # At most a few a second reach Redis and the browser, whatever the process sends.
            test, now = _text(event.get("test")), time.monotonic()
            fraction = wire.as_float(event.get("fraction"))
            if fraction is not None and now - self.progress_sent.get(test, 0) >= 1 / wire.MAX_PROGRESS_PER_SECOND:
                self.progress_sent[test] = now
                self.stream.emit(
                    "progress", test=test, fraction=max(0.0, min(1.0, fraction)), label=_text(event.get("label"), 80)
                )
        return False

    def _judge(self, test_id) -> dict:
        spec = self.tests[test_id]
        blockers = [d for d in spec.get("depends_on") or [] if self.status.get(d) not in (None, "passed")]
        if blockers:
            row = verdicts.skipped_row(spec, blockers)
        else:
            # This test's events and the run's integrity events only: folding the whole stream
            # at every test's end made a job's live judging quadratic in its events.
            mine = verdicts.summarize(
                [
                    e
                    for e in self.events
                    if isinstance(e, dict) and (e.get("test") == test_id or e.get("t") == "integrity")
                ]
            )
            tampered = evidence_by_test(mine, [spec], {})
            row = verdicts.grade_test(
                spec,
                mine["tests"].get(test_id),
                self.ref["tests"].get(test_id),
                process={},
                tampered=tampered.get(test_id, ()),
            )
        self.status[test_id] = row["status"]
        return row

    def _blocked(self, test_id, seen=()) -> bool:
        for dep in self.tests[test_id].get("depends_on") or []:
            if dep in seen or dep not in self.tests:
                continue
            if self.status.get(dep) not in (None, "passed") or self._blocked(dep, (*seen, test_id)):
                return True
        return False

    def _all_remaining_blocked(self) -> bool:
        """Every test still to run depends on one that failed: its result is already known
        (skipped), so there is no point spending minutes on, say, a training run."""
        remaining = [tid for tid in self.order if tid not in self.status]
        return bool(remaining) and all(self._blocked(tid) for tid in remaining)

    def _failed_enough(self) -> bool:
        if self.stop_once_failed is None or len(self.status) == len(self.order):
            return False
        failed = {tid for tid, status in self.status.items() if status != "passed"}
        return bool(failed) and self.stop_once_failed <= failed

    def _flush_metrics(self, force=False):
        now = time.monotonic()
        for name, points in list(self.metric_buffer.items()):
            if points and (force or now - self.metric_sent.get(name, 0) >= METRIC_FLUSH_SECONDS):
                self.stream.emit("metric", name=name, points=points)
                self.metric_buffer[name] = []
                self.metric_sent[name] = now


def _text(v, limit=300) -> str:
    return v[:limit] if isinstance(v, str) else ""


def _with_address_space(job, device) -> dict:
    """Where no memory cgroup can be made (a non-root worker), RLIMIT_AS is the memory limit.
    It breaks CUDA, so GPU jobs go without; torch itself maps ~0.7 GB of address space."""
    from gpu_runner.sandbox import cgroups

    limits = dict(job["_limits"])
    if device == "cpu" and not cgroups.available():
        baseline = 1024 if "torch" in (job.get("preload") or []) else 256
        limits["address_space_bytes"] = (int(job["_resources"].get("memory_mb", 1024)) + baseline) << 20
    return limits


def _runnable(job, resources, *, data_dir, mirror_dir) -> dict:
    """The job with what a run needs on this worker: its resources, limits and cached datasets."""
    job = {**job, "_resources": resources, "_limits": _limits(resources)}
    job["_datasets"] = datasets.ensure_all(data_dir, job.get("datasets"), mirror_dir=mirror_dir)
    return job


def _sandbox_job(job, *, files, support, tests, device, config) -> dict:
    return {
        "files": files,
        "support_files": support,
        "tests": [
            {
                "id": t["id"],
                "file": t["file"],
                "function": t.get("function", t["id"]),
                "visibility": t.get("visibility", "visible"),
                "timeout": t.get("timeout"),
            }
            for t in tests
        ],
        "test_sources": {t["file"]: job["test_sources"][t["file"]] for t in tests},
        "limits": _with_address_space(job, device),
        "seed": job.get("seed", 0),
        "device": device,
        "config": config,
    }


def _run(pool: WarmPool, job, *, files, tests, device, config, on_event=None, reference=False):
    resources = job["_resources"]
    spare = pool.take(
        preload=tuple(job.get("preload") or ()),
        gpu=device == "cuda",
        work_mb=resources.get("disk_mb"),
        data=job.get("_datasets"),
    )
    try:
        support = job.get("reference_support_files" if reference else "support_files") or {}
        return run_job(
            spare,
            _sandbox_job(job, files=files, support=support, tests=tests, device=device, config=config),
            wall_seconds=float(resources.get("wall_seconds", 30)),
            memory_bytes=int(resources.get("memory_mb", 1024)) << 20,
            pids_max=int(resources.get("processes", 128)),
            cpus=max(1.0, float(resources.get("threads", 1))),
            on_event=on_event,
        )
    finally:
        pool.refill(preload=tuple(job.get("preload") or ()), gpu=device == "cuda", work_mb=resources.get("disk_mb"))


def _gpu_peak_mb(run):
    done = next((e for e in run.events if e.get("t") == "done"), {})
    peak = done.get("gpu_peak_bytes")
    return round(peak / 2**20, 1) if isinstance(peak, (int, float)) else None


def _process_info(run) -> dict:
    return {
        "verdict": run.verdict,
        "detail": run.detail,
        "exit_code": run.exit_code,
        "signal": run.signal,
        "stdout": run.stdout[-(64 << 10) :],
        "stderr": run.stderr[-(64 << 10) :],
        "stdout_truncated": run.stdout_truncated,
        "stderr_truncated": run.stderr_truncated,
    }


def named_tests(job: dict) -> list[dict]:
    return [{**t, "name": t.get("title") or t.get("name") or t["id"]} for t in job.get("tests") or []]


def execute(job: dict, *, pool: WarmPool, data_dir, mirror_dir: str = "", stream=None) -> dict:
    """Returns the payload for `grader.record_result` (or the course checker)."""
    started = time.time()
    payload = {
        "submission_id": job.get("submission_id"),
        "attempt": job.get("attempt"),
        "kind": job.get("kind", "submission"),
        "runner_version": RUNNER_VERSION,
        "started_at": started,
        "gradable": True,
    }
    graded_against = None
    try:
        graded_against = _execute(
            job, pool=pool, data_dir=data_dir, mirror_dir=mirror_dir, stream=stream, payload=payload
        )
    except datasets.DatasetError as exc:  # the detail is for instructors (recorded), never the learner
        payload.update(gradable=False, infrastructure_error=datasets.LEARNER_MESSAGE, dataset_error=str(exc))
    except (JobError, SandboxUnavailable) as exc:
        payload.update(gradable=False, infrastructure_error=str(exc))
    except Exception:  # a grader bug must end this job, not loop through retries
        log.exception("grading job for submission %s failed", job.get("submission_id"))
        payload.update(
            gradable=False,
            infrastructure_error="the grader failed unexpectedly (the error is logged for the operators)",
        )
    payload["finished_at"] = time.time()
    if job.get("kind") != "reference":
        # The one verdict: computed here, once, from the job's tests, the reference observations
        # this run was graded against (cached plus any computed now) and the learner's events.
        # The database side stores this dict; it never grades again.
        payload["result"] = verdicts.final_result(
            tests=named_tests(job), payload=payload, reference_events=graded_against
        )
    return payload


def _execute(job, *, pool, data_dir, mirror_dir, stream, payload):
    resources = dict(job.get("resources") or {})
    config = dict(job.get("config") or {})
    want_gpu = job.get("device") == "gpu"
    use_gpu = want_gpu and cuda_available()
    if want_gpu and not use_gpu:
        fallback = job.get("cpu_fallback") or {}
        if not fallback.get("allowed"):
            raise JobError("this exercise needs a GPU, this worker has none, and the exercise allows no CPU fallback")
        resources.update(
            {k: v for k, v in fallback.items() if k in ("wall_seconds", "memory_mb", "disk_mb", "threads")}
        )
        config.update(fallback.get("config") or {})
        payload["cpu_fallback"] = True
    device = "cuda" if use_gpu else "cpu"
    payload["device"] = device
    job = _runnable(job, resources, data_dir=data_dir, mirror_dir=mirror_dir)

    tests = job["tests"]
    # Expected values: the cached reference observations, plus a reference run for any test of
    # this job they don't cover yet (tests are independent, so per-test caching is sound: a first
    # "Run" computes only the visible tests, not an hour of hidden training).
    reference_events = list((job.get("reference") or {}).get(device) or [])
    known = {tid for tid, rec in verdicts.summarize(reference_events)["tests"].items() if rec.get("outcome") == "ok"}
    missing = [
        t
        for t in (tests if job.get("kind") != "reference" else job.get("reference_tests") or tests)
        if t["id"] not in known
    ]
    if missing:
        if not job.get("reference_files"):
            raise JobError(
                "no reference observations are cached for this exercise and the job carries no reference solution"
            )
        run = _run(pool, job, files=job["reference_files"], tests=missing, device=device, config=config, reference=True)
        fresh = [e for e in run.events if e.get("t") in KEEP_EVENTS]
        summary = verdicts.summarize(fresh)
        broken = [t["id"] for t in missing if summary["tests"].get(t["id"], {}).get("outcome") != "ok"]
        if run.verdict != "ok" or broken:
            detail = run.detail or ", ".join(
                f"{tid}: {verdicts._error_text(summary['tests'].get(tid, {}).get('error'))}" for tid in broken[:3]
            )
            raise JobError(f"the reference solution does not pass its own tests ({run.verdict}; {detail})")
        payload["reference_events"] = fresh  # only the new tests: the database side merges them in
        payload["reference_device"] = device
        payload["reference_integrity"] = verdicts.summarize(fresh)["integrity"]
        reference_events += fresh
    if job.get("kind") == "reference":
        return reference_events
    ref_summary = verdicts.summarize(reference_events)
    if stream is not None:
        stream.emit("running", device=device, cpu_fallback=bool(payload.get("cpu_fallback")), total=len(tests))
    live = LiveGrader(tests, ref_summary, stream, stop_once_failed=job.get("stop_once_failed"))
    run = _run(pool, job, files=job["files"], tests=tests, device=device, config=config, on_event=live.on_event)
    if stream is not None:
        live._flush_metrics(force=True)
        stream.emit("grading", verdict=run.verdict)
    payload["learner_events"] = [e for e in run.events if e.get("t") in KEEP_EVENTS]
    payload["process"] = _process_info(run)
    payload["process"]["channel"] = dict(run.channel)
    payload["resources"] = {
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "peak_memory_mb": round(run.peak_memory_bytes / 2**20, 1) if run.peak_memory_bytes else None,
        "peak_gpu_memory_mb": _gpu_peak_mb(run),
    }
    return reference_events


def run_unjudged(job: dict, *, pool: WarmPool, data_dir, mirror_dir: str = "", on_event=None):
    """One sandboxed run of the job's files with no reference and no verdict: `course full`
    trains at full size and reads the numbers (metrics, observations, bounds) off the events."""
    resources = dict(job.get("resources") or {})
    device = "cuda" if job.get("device") == "gpu" and cuda_available() else "cpu"
    if job.get("device") == "gpu" and device == "cpu":
        raise JobError("this exercise's full-size run needs a GPU, and this machine has none")
    job = _runnable(job, resources, data_dir=data_dir, mirror_dir=mirror_dir)
    return _run(
        pool,
        job,
        files=job["files"],
        tests=job["tests"],
        device=device,
        config=job.get("config") or {},
        on_event=on_event,
    )
