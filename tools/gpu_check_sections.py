"""The sections of tools/gpu_check.py. Each runs jobs through the runner's own entry points
(`execute` for graded runs, `run_unjudged` for the probes and the curve, as `course full` does)
and adds runs and PASS/FAIL/SKIP lines to the report."""

import csv
import json
import os
import signal
import time

from gpu_runner import verdicts
from gpu_runner.execute import execute, named_tests, run_unjudged
from gpu_runner.sandbox.pool import WarmPool
from gpu_runner.summary import summarize
from tools import gpu_check_jobs as jobs
from tools import gpu_check_probes as probes


class Context:
    def __init__(self, **values):
        self.__dict__.update(values)
        self.baseline_used_mb = None


class TimedPool(WarmPool):
    """The worker's warm pool, noting how long each job waited for its sandbox: a cold start
    (spawn, `import torch`) shows in the time to first event, a warm spare does not."""

    waited = 0.0

    def take(self, **kwargs):
        started = time.monotonic()
        spare = super().take(**kwargs)
        self.waited = time.monotonic() - started
        return spare


# --- reading runs ---------------------------------------------------------------------------------
def marked(output: str) -> dict | None:
    """What a probe reported: its `GPUCHECK {json}` lines merged, in order."""
    found = {}
    for line in (output or "").splitlines():
        if line.startswith(probes.MARK):
            try:
                found.update(json.loads(line[len(probes.MARK) :]))
            except ValueError:  # a line cut at 500 characters in a log event
                continue
    return found or None


def output_of(run, record) -> str:
    """A test's whole output, or, when the run was cut before the test ended, the lines it
    streamed live as log events."""
    return record.get("output") or "\n".join(e.get("line", "") for e in run.events if e.get("t") == "log")


def curve_points(events) -> list[dict]:
    """The curve test's evaluations from its metric events: step, training seconds, the
    parent's clock at arrival (`_at`) and val loss. Whole even when the run was cut."""
    by_step = {}
    for e in events:
        if e.get("t") == "metric" and e.get("name") in ("val_loss", "train_seconds") and type(e.get("step")) is int:
            point = by_step.setdefault(e["step"], {"step": e["step"]})
            point[e["name"]] = e.get("value")
            if e["name"] == "val_loss":
                point["wall_seconds"] = e.get("_at")
    return [p for _, p in sorted(by_step.items()) if "val_loss" in p and "train_seconds" in p]


def first_event_s(pool, events):
    """Seconds from asking for a sandbox to the run's first event: the wait for a spare, then the
    first event's `_at` (the parent's clock from hand-over). For the last run `pool` handed out."""
    return round(pool.waited + events[0]["_at"], 3) if events else None


def gpu_peak_mb(events):
    done = next((e for e in events if e.get("t") == "done"), None) or {}
    peak = done.get("gpu_peak_bytes")
    return round(peak / 2**20, 1) if isinstance(peak, (int, float)) else None


def tokens_per_s(events, config):
    """From the train_loss points' arrival times (the parent's clock): steps x batch x context."""
    points = [e for e in events if e.get("t") == "metric" and e.get("name") == "train_loss"]
    if len(points) < 2 or points[-1]["_at"] <= points[0]["_at"]:
        return None
    steps = points[-1]["step"] - points[0]["step"]
    return round(steps * config["batch_size"] * config["block_size"] / (points[-1]["_at"] - points[0]["_at"]))


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _device(ctx) -> str:
    return "cuda" if ctx.gpu else "cpu"


def _unjudged(ctx, job):
    started = time.monotonic()
    run = run_unjudged(job, pool=ctx.pool, data_dir=ctx.data_dir, mirror_dir=ctx.mirror)
    record = summarize(run.events)["tests"].get(job["tests"][0]["id"]) or {}
    return run, record, round(time.monotonic() - started, 2)


def _why(run, record) -> str:
    error = (record.get("error") or {}).get("message") or ""
    return "; ".join(filter(None, [run.verdict, run.detail, error[:300], run.stderr.strip()[-300:]]))


# --- sections -------------------------------------------------------------------------------------
def probe(ctx) -> None:
    """One job in the sandbox: which /dev nodes it sees, and CUDA, bf16, flash and compile in it."""
    job = jobs.small_job("gpu-probe", probes.PROBE_TEST, "test_probe", gpu=ctx.gpu, config={"compile": True})
    run, record, wall = _unjudged(ctx, job)
    info = marked(output_of(run, record))
    ctx.report.data["sandbox_probe"] = info
    ctx.report.run(
        {"run": "probe", "device": _device(ctx), "first_event_s": first_event_s(ctx.pool, run.events), "wall_s": wall}
        | {"peak_gpu_mb": gpu_peak_mb(run.events), "result": "ok" if info else "FAIL", "detail": run.detail}
    )
    if info is None:
        ctx.report.check("FAIL", "sandbox probe", f"no report from inside: {_why(run, record)}")
        return
    nodes = info["nvidia_nodes"]
    if ctx.config.unsafe:
        ctx.report.check("SKIP", "GPU nodes in the sandbox", "no sandbox (--unsafe): the job sees the host's /dev")
    elif not ctx.gpu:
        status = "PASS" if not nodes else "FAIL"
        ctx.report.check(status, "GPU nodes in the sandbox", f"a CPU job's /dev holds {nodes or 'no nvidia node'}")
    else:
        expected = set(ctx.config.gpu_nodes)
        gpus = [n for n in nodes if n[len("/dev/nvidia") :].isdigit()]
        status = "PASS" if set(nodes) == expected and len(gpus) == 1 else "FAIL"
        ctx.report.check(status, "GPU nodes in the sandbox", f"inside: {nodes}; assigned: {sorted(expected)}")
    if not ctx.gpu:
        for name in (
            "CUDA in the sandbox",
            "bf16 autocast (sandbox)",
            "flash attention (sandbox)",
            "torch.compile (sandbox)",
        ):
            ctx.report.check("SKIP", name, "no CUDA device on this run (CPU fallback path)")
        return
    if not info.get("cuda"):
        why = f"{info.get('cuda_error')}; /sys readable: {info['sys_readable']}; LD_LIBRARY_PATH={info['ld_library_path']}"
        ctx.report.check("FAIL", "CUDA in the sandbox", why)
        return
    ctx.baseline_used_mb = info.get("used_mb")
    ctx.report.check(
        "PASS",
        "CUDA in the sandbox",
        f"{info['name']} (CUDA_VISIBLE_DEVICES={info['visible']}), init {info['cuda_init_seconds']} s, "
        f"a fresh context uses {info['used_mb']} MB",
    )
    for key, name in (("bf16", "bf16 autocast"), ("flash", "flash attention"), ("compile", "torch.compile")):
        result = info.get(key) or {}
        extra = (
            f"; with USER and cache dirs set: {json.dumps(info['compile_with_env'])}"
            if key == "compile" and "compile_with_env" in info
            else ""
        )
        ctx.report.check("PASS" if result.get("ok") else "FAIL", f"{name} (sandbox)", json.dumps(result)[:300] + extra)


def survivors(marker: str) -> list[int]:
    """Processes anywhere on this machine whose command line carries the hog's marker."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def kill_survivors(marker: str) -> None:
    for pid in survivors(marker):  # only this check's own hog children carry the marker
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def isolation(ctx) -> None:
    report = ctx.report
    # 1. The allocator cap: the learner's test must fail with a message that says why.
    cap, alloc = (2048, 3072) if ctx.gpu else (256, 384)
    payload = execute(
        jobs.cap_job(gpu=ctx.gpu, cap_mb=cap, alloc_mb=alloc),
        pool=ctx.pool,
        data_dir=ctx.data_dir,
        mirror_dir=ctx.mirror,
    )
    row = (payload.get("result") or {}).get("tests", [{}])[0]
    status, message = row.get("status"), (row.get("message") or "").strip()
    report.run(
        {"run": "allocate past cap", "device": payload.get("device"), "wall_s": _wall(payload)}
        | {"first_event_s": first_event_s(ctx.pool, payload.get("learner_events")), "result": status}
        | {"peak_gpu_mb": (payload.get("resources") or {}).get("peak_gpu_memory_mb"), "detail": message[:120]}
    )
    if not payload.get("gradable", True):
        report.check("FAIL", "allocator cap", f"not gradable: {payload.get('infrastructure_error')}")
    elif not ctx.gpu:
        report.check("SKIP", "allocator cap", f"CUDA's allocator only; on the CPU the {alloc} MB job ran and {status}")
    elif status != "passed" and "out of memory" in message.lower():
        report.check("PASS", "allocator cap", f"{alloc} MB under a {cap} MB gpu_memory_mb: {status}: {message[:240]}")
    else:
        report.check("FAIL", "allocator cap", f"{alloc} MB under a {cap} MB gpu_memory_mb: {status}: {message[:240]}")

    # 2. A hog whose child tries to outlive the job.
    hog_mb = 4096 if ctx.gpu else 64
    job = jobs.small_job(
        "gpu-hog",
        probes.HOG_TEST,
        "test_hog",
        gpu=ctx.gpu,
        config={"hog_mb": hog_mb, "marker": ctx.marker},
        gpu_memory_mb=3 * hog_mb,
        processes=512,
    )
    run, record, wall = _unjudged(ctx, job)
    info = marked(output_of(run, record)) or {}
    report.run(
        {
            "run": "memory hog",
            "device": _device(ctx),
            "first_event_s": first_event_s(ctx.pool, run.events),
            "wall_s": wall,
        }
        | {"peak_gpu_mb": gpu_peak_mb(run.events), "result": run.verdict, "detail": run.detail}
    )
    ended, left = time.monotonic(), survivors(ctx.marker)
    while left and time.monotonic() - ended < 30:  # the spare is reaped off the critical path
        time.sleep(0.2)
        left = survivors(ctx.marker)
    if not info.get("child_held"):
        report.check("FAIL", "hog gone after its job", f"the hog's child never held its memory: {_why(run, record)}")
    elif left:
        kill_survivors(ctx.marker)
        report.check("FAIL", "hog gone after its job", f"its child (pids {left}) still ran 30 s after the job ended")
    else:
        gone = time.monotonic() - ended
        report.check(
            "PASS",
            "hog gone after its job",
            f"a child in its own session holding {hog_mb} MB was gone {gone:.1f} s after",
        )

    # 3. The next job starts on a clean device.
    if not ctx.gpu or ctx.baseline_used_mb is None:
        report.check(
            "SKIP", "next job on a clean device", "no GPU memory to compare (CPU run, or CUDA failed in the probe)"
        )
        return
    run, record, wall = _unjudged(ctx, jobs.small_job("gpu-clean", probes.CLEAN_TEST, "test_clean", gpu=True))
    after = (marked(output_of(run, record)) or {}).get("used_mb")
    during, base = info.get("during_mb"), ctx.baseline_used_mb
    numbers = f"used by a fresh job: {base} MB before the hog, {during} MB during it, {after} MB in the next job"
    clean = after is not None and after <= base + 512
    report.check("PASS" if clean else "FAIL", "next job on a clean device", numbers)


def _wall(payload):
    return round(payload["finished_at"] - payload["started_at"], 2) if payload.get("finished_at") else None


def grading(ctx) -> bool:
    """The reference on the worker's warm-up path, then the mutants graded against it. True when
    the check failed: the reference did not pass, or a mutant passed every test."""
    ex, report = ctx.ex, ctx.report
    config = ex.config
    # Keep time for the mutants and the curve: past that the reference is cut (and fails, saying so).
    room = int(report.left(ctx.args.budget) - 200)
    wall = min(ex.ex["resources"]["wall_seconds"], max(60, room))
    job = ex.job(ex.solution(), kind="reference", wall_seconds=wall)
    payload = execute(job, pool=ctx.pool, data_dir=ctx.data_dir, mirror_dir=ctx.mirror)
    events = payload.get("reference_events") or []
    write_csv(
        report.out / "reference_train_loss.csv",
        ["seconds", "step", "train_loss"],
        [[e["_at"], e["step"], e["value"]] for e in events if e.get("t") == "metric" and e.get("name") == "train_loss"],
    )
    row = {"run": "reference", "device": payload.get("device"), "first_event_s": first_event_s(ctx.pool, events)}
    row |= {"wall_s": _wall(payload), "tokens_per_s": tokens_per_s(events, config), "peak_gpu_mb": gpu_peak_mb(events)}
    if not payload.get("gradable", True):
        report.run({**row, "result": "FAIL", "detail": payload.get("infrastructure_error")})
        report.check("FAIL", "reference passes", f"{payload.get('infrastructure_error')} (wall limit {wall} s)")
        report.check("SKIP", "mutants fail", "no reference observations to grade them against")
        return True
    # The reference's own bounds (val loss under the bar) judged by the product's grader.
    graded = verdicts.final_result(
        tests=named_tests(job),
        payload={"gradable": True, "learner_events": events, "process": {"verdict": "ok"}},
        reference_events=events,
    )
    failing = [t for t in graded["tests"] if t["status"] != "passed"]
    train = summarize(events)["tests"].get("test_train_shakespeare") or {}
    val = (train.get("obs", {}).get("val_loss") or {}).get("value")
    detail = f"{failing[0]['id']}: {failing[0]['message'][:200]}" if failing else ""
    report.run({**row, "val_loss": val, "result": "FAIL" if failing else "pass", "detail": detail})
    report.check(
        "FAIL" if failing else "PASS",
        "reference passes",
        detail
        or f"val loss {val:.4f} <= {config['val_loss_max']} after {config['max_iters']} steps; "
        f"the training test took {train.get('duration')} s",
    )
    cached, bad = {payload["reference_device"]: events}, bool(failing)
    for name in filter(None, ctx.args.mutants.split(",")):
        files, must_fail = ex.mutant(name)
        p = execute(
            ex.job(files, kind="course-test", cached=cached),
            pool=ctx.pool,
            data_dir=ctx.data_dir,
            mirror_dir=ctx.mirror,
        )
        statuses = {t["id"]: t["status"] for t in (p.get("result") or {}).get("tests", [])}
        failed = [t for t in p["result"]["tests"] if t["status"] in ("failed", "error")]
        missed = [tid for tid in must_fail if statuses.get(tid) == "passed"]
        passed_all = p.get("gradable", True) and all(s == "passed" for s in statuses.values())
        bad |= passed_all
        why = p.get("infrastructure_error") or (
            f"{failed[0]['id']}: {failed[0]['message'].splitlines()[0]}" if failed else ""
        )
        events_m = p.get("learner_events") or []
        report.run(
            {"run": f"mutant {name}", "device": p.get("device"), "first_event_s": first_event_s(ctx.pool, events_m)}
            | {"wall_s": _wall(p), "peak_gpu_mb": (p.get("resources") or {}).get("peak_gpu_memory_mb")}
            | {"result": "PASSED" if passed_all else "fails", "detail": why[:120]}
        )
        ok = p.get("gradable", True) and failed and not missed
        reason = why if ok else (f"expected to fail {missed}" if missed else why or "passes every test")
        report.check("PASS" if ok else "FAIL", f"mutant {name} fails", reason[:300])
    return bad


def curve(ctx) -> None:
    """The reference loop, val loss against training seconds: the GPU proposal, or on a CPU the
    fallback config (sized to the same calibration, so every line of CURVE_TEST runs)."""
    report, left = ctx.report, ctx.report.left(ctx.args.budget)
    if left < 60:
        report.check("SKIP", "curve", f"only {left:.0f} s of the --budget left")
        return
    if ctx.gpu:
        config = dict(ctx.proposal)
    else:
        small = {"target_seconds": 3, "calibrate_iters": 30, "curve_points": 5, "curve_eval_batches": 5}
        config = {**ctx.ex.config, **small, "max_iters_cap": ctx.ex.config["max_iters"], "curve_max_seconds": 60}
    run, record, wall = _unjudged(ctx, ctx.ex.curve_job(config, wall_seconds=max(30, int(left - 15))))
    info, points = marked(output_of(run, record)) or {}, curve_points(run.events)
    report.data["curve"] = {"config": config, "result": info, "points": points}
    done = bool(info.get("final_val_loss"))
    report.run(
        {"run": "curve" + (" (proposal)" if ctx.gpu else ""), "device": _device(ctx), "wall_s": wall}
        | {"first_event_s": first_event_s(ctx.pool, run.events), "tokens_per_s": info.get("tokens_per_second")}
        | {"peak_gpu_mb": info.get("peak_gpu_mb"), "val_loss": info.get("final_val_loss")}
        | {"result": "ok" if done else "cut", "detail": "" if done else _why(run, record)}
    )
    if not points:
        report.check("FAIL", "curve", f"no curve came back: {_why(run, record)}")
        return
    write_csv(
        report.out / "curve.csv",
        ["step", "train_seconds", "wall_seconds", "val_loss"],
        [[p["step"], p["train_seconds"], p.get("wall_seconds"), p["val_loss"]] for p in points],
    )
    target, limit = ctx.target["val_loss"], ctx.target["train_seconds"]
    hit = next((p for p in points if p["val_loss"] <= target), None)
    last = points[-1]
    summary = (
        f"{info.get('max_iters', '?')} steps planned ({'bf16' if info.get('amp') else 'fp32'}), "
        f"{'finished' if done else 'CUT at step ' + str(last['step'])} after {last['train_seconds']:.1f} s of training, "
        f"{info.get('tokens_per_second', '?')} tokens/s, last val {last['val_loss']:.4f}; "
        + (
            f"val <= {target} first at {hit['train_seconds']:.1f} s (step {hit['step']})"
            if hit
            else f"never <= {target}"
        )
    )
    if ctx.gpu:
        status = "PASS" if hit and hit["train_seconds"] <= limit else "FAIL"
        report.check(status, f"val <= {target} within {limit} s", summary)
    else:
        report.check("INFO", "curve", summary)
