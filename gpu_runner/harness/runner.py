"""The grading harness: the first code that runs inside the sandbox.

It is trusted until it imports learner code, and untrusted afterwards: learner code shares this
process and can rewrite anything here. So the harness never decides pass/fail. It only reports
*observations* (what the learner's code computed) as JSON lines on the events fd; the trusted
parent compares them with the reference's. Hidden tests' expected values never come in here.

Protocol (one job per process, then exit: sys.modules caching makes reuse unsound):
  1. start, pre-import heavy modules (torch), `gc.freeze()`, install the audit hook, emit ready
  2. read one JSON job from stdin (it carries the channel token: lines without it are forged)
  3. compile every test source, drop the text; apply limits, write the learner's files; remove
     the harness from sys.modules/sys.path; snapshot what tests rely on; then import and run the
     tests in order, emitting obs / metric / log / test events (and integrity evidence)
  4. emit {"t": "done"} and `os._exit(0)`

The harness's state lives in this function's closures, not in module globals, and the harness's
modules leave `sys.modules` before the first learner import (defence in depth: see guard.py).
Standalone on purpose: standard library only (and torch/numpy if the job preloads them).
"""

import os
import sys


def main():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--work", default="/work")
    parser.add_argument("--data", default="/data")
    parser.add_argument("--preload", default="")
    args = parser.parse_args()
    harness_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, harness_dir)
    from fsharness.channel import open_channel

    os.set_inheritable(args.events_fd, False)  # children that exec never hold the channel
    emit, set_token = open_channel(args.events_fd)
    try:
        _preload([m for m in args.preload.split(",") if m])
        # Everything a job needs is imported before "ready": an import after it is paid on the
        # critical path of every submission (about 10 ms in the sandbox for these). The
        # function-level imports below then only look them up.
        import json  # noqa: F401
        import linecache  # noqa: F401
        import resource  # noqa: F401
        import signal  # noqa: F401
        import time  # noqa: F401
        import types  # noqa: F401

        from fsharness import api, guard, limits, report  # noqa: F401

        controls = guard.install(emit, harness_dir=harness_dir, work_dir=args.work, events_fd=args.events_fd)
        controls.prepare()
        emit({"t": "ready", "pid": os.getpid()})
        line = sys.stdin.buffer.readline()
        if line:
            _run_job(line, args, emit, set_token, controls, harness_dir)
    except BaseException as exc:
        try:
            emit({"t": "harness_error", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        except (OSError, ValueError):
            pass
    finally:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(0)


def _preload(modules):
    import gc

    for name in modules:
        if name == "torch":
            import torch

            torch.set_num_threads(1)  # one thread per job: no oversubscription on small hosts
            # The first assert_close lazily imports half of torch; pay that before the job.
            torch.testing.assert_close(torch.zeros(2), torch.zeros(2))
            torch.nn.functional.scaled_dot_product_attention(
                torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
            )
        else:
            __import__(name)
    # pytest-style repeated gc.collect() over torch's objects costs ~200 ms; freeze them.
    gc.collect()
    gc.freeze()


def _run_job(line, args, emit, set_token, controls, harness_dir):
    import json
    import time
    import types

    from fsharness import api, report
    from fsharness import limits as lim

    job = json.loads(line)
    del line
    set_token(job.pop("token", None))
    started = time.perf_counter()
    work = args.work
    tests = list(job.get("tests") or [])
    # Compile every test now and keep only the code: hidden sources are never written to disk
    # and no harness object keeps their text for learner code to find.
    visible_names, compiled, visible_sources = {}, {}, {}
    sources = job.pop("test_sources", None) or {}
    for i, (file, source) in enumerate(sources.items()):
        visible = any(t["file"] == file and t.get("visibility") == "visible" for t in tests)
        filename = os.path.join(work, file) if visible else f"<hidden test {i}>"
        if visible:
            visible_sources[file] = source
            import linecache

            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        visible_names[file] = filename
        try:
            compiled[file] = compile(source, filename, "exec")
        except SyntaxError as exc:
            compiled[file] = exc
    del sources
    limits = job.get("limits") or {}
    lim.apply_limits(limits)
    _torch_settings(job, limits)
    files = dict(job.pop("support_files", None) or {})
    learner = dict(job.pop("files", None) or {})
    files.update(learner)
    _write_files(work, files)
    os.chdir(work)
    sys.path.insert(0, work)
    os.environ["HOME"] = work
    for key, value in (job.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    ctx = {"work": work, "learner_files": set(learner), "visible_sources": visible_sources}
    output_total = [0]

    errors = report.syntax_errors(files, ctx)
    for err in errors:
        emit({"t": "syntax", "error": err})
    if errors:
        return _finish(emit, job, started, output_total)

    seed = int(job.get("seed", 0))
    Check = api.make_check(
        emit=emit,
        before_obs=lambda test_id: _report_altered(controls, emit, test_id),
        job=job,
        data_dir=args.data,
        seed_for=lambda tid: lim.seed_for(seed, tid),
    )
    # What the test loop needs from the harness's modules, held here before they are forgotten.
    h = types.SimpleNamespace(
        Capture=api.Capture,
        describe=report.describe,
        on_alarm=report.on_alarm,
        TestTimeout=report.TestTimeout,
        HarnessError=report.HarnessError,
        seed_for=lim.seed_for,
        seed_everything=lim.seed_everything,
    )
    # Out of reach from here on: `import fsharness`, `import api` or `import __main__` in
    # learner code finds nothing of the harness (and importing it anew is reported).
    harness_globals = [(name, module.__dict__) for name, module in sys.modules.items() if name.startswith("fsharness.")]
    _forget_harness(harness_dir)
    controls.arm(
        test_files=set(visible_names.values()), extra_types=(Check, api.Capture), extra_namespaces=harness_globals
    )
    by_file = {}
    for test in tests:
        by_file.setdefault(test["file"], []).append(test)
    for file, file_tests in by_file.items():
        _run_file(file, compiled.get(file), file_tests, ctx, emit, controls, Check, output_total, seed, h)
    controls.at(test=None, file=None)
    _finish(emit, job, started, output_total)


def _torch_settings(job, limits):
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.set_num_threads(max(1, int(limits.get("threads") or 1)))
    gpu_mb = limits.get("gpu_memory_mb")
    if job.get("device") == "cuda" and gpu_mb and torch.cuda.is_available():
        # A soft guard only (the allocator's cap); the real boundary is one job per GPU/MIG slice.
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_mb * 2**20 / total))


def _write_files(work, files):
    root = os.path.realpath(work)
    for rel, content in files.items():
        path = os.path.realpath(os.path.join(root, rel))
        if not path.startswith(root + os.sep):
            raise ValueError(f"file path escapes the work dir: {rel}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(content)


def _forget_harness(harness_dir):
    import types

    for name in [n for n in sys.modules if n == "fsharness" or n.startswith("fsharness.")]:
        del sys.modules[name]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != harness_dir]
    sys.modules["__main__"] = types.ModuleType("__main__")


def _report_altered(controls, emit, test_id):
    changed = controls.altered()
    if changed:
        emit(
            {
                "t": "integrity",
                "level": "evidence",
                "kind": "altered",
                "detail": "replaced " + ", ".join(changed),
                "test": test_id,
                "file": None,
            }
        )


def _run_file(file, code, tests, ctx, emit, controls, Check, output_total, seed, from_harness):
    import types

    module = types.ModuleType("_fs_tests_" + "".join(c if c.isalnum() else "_" for c in file))
    module.__file__ = code.co_filename if isinstance(code, types.CodeType) else file
    load_error = None
    emit({"t": "load", "file": file})
    controls.at(test=None, file=file)
    capture = from_harness.Capture(emit, output_total, tests[0]["id"])
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    try:
        if code is None:
            raise from_harness.HarnessError(f"no test source for {file}")
        if isinstance(code, SyntaxError):
            raise code
        exec(code, module.__dict__)
    except BaseException as exc:
        load_error = from_harness.describe(exc, ctx)
    finally:
        sys.stdout, sys.stderr = real_out, real_err
    # What the learner's code printed while being imported shows on the file's first test.
    preamble = capture.value()
    for test in tests:
        _run_test(module, test, load_error, preamble, emit, controls, Check, output_total, seed, from_harness, ctx)
        preamble = ""


def _run_test(module, test, load_error, preamble, emit, controls, Check, output_total, seed, h, ctx):
    import signal
    import time

    tid = test["id"]
    controls.at(test=tid, file=test["file"])
    emit({"t": "start", "test": tid})
    t0 = time.perf_counter()
    capture = h.Capture(emit, output_total, tid)
    outcome, error = "ok", None
    fn = module.__dict__.get(test.get("function") or tid)
    if load_error is not None:
        outcome, error = "exception", load_error
    elif not callable(fn):
        outcome, error = (
            "exception",
            {"type": "HarnessError", "message": f"test function {tid} not found", "frames": []},
        )
    else:
        h.seed_everything(h.seed_for(seed, tid))
        real_out, real_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        timeout = float(test.get("timeout") or 0)
        if timeout:
            signal.signal(signal.SIGALRM, h.on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            fn(Check(tid))
        except BaseException as exc:
            outcome, error = "exception", h.describe(exc, ctx)
            if isinstance(exc, h.TestTimeout):
                outcome = "timeout"
        finally:
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = real_out, real_err
    _report_altered(controls, emit, tid)
    if preamble:
        capture.parts.insert(0, preamble)
    emit(
        {
            "t": "test",
            "test": tid,
            "outcome": outcome,
            "error": error,
            "duration": round(time.perf_counter() - t0, 4),
            "output": capture.value(),
            "output_truncated": capture.truncated,
        }
    )


def _finish(emit, job, started, output_total):
    import resource
    import time

    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    gpu_peak = None
    torch = sys.modules.get("torch")
    if torch is not None and job.get("device") == "cuda" and torch.cuda.is_initialized():
        gpu_peak = torch.cuda.max_memory_allocated()
    emit(
        {
            "t": "done",
            "seconds": round(time.perf_counter() - started, 4),
            "gpu_peak_bytes": gpu_peak,
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 3),
            "max_rss_kb": max(usage.ru_maxrss, children.ru_maxrss),
            "output_truncated": output_total[0] >= (1 << 20),
        }
    )


if __name__ == "__main__":
    main()
