"""The grading harness: the first code that runs inside the sandbox.

It is trusted until it imports learner code, and untrusted afterwards: learner code shares this
process and can rewrite anything here. So the harness never decides pass/fail. It only reports
*observations* (what the learner's code computed) as JSON lines on the events fd; the trusted
parent compares them with the reference's. Hidden tests' expected values never come in here.

Protocol (one job per process, then exit: sys.modules caching makes reuse unsound):
  1. start, pre-import heavy modules (torch), `gc.freeze()`, emit {"t": "ready"}
  2. read one JSON job from stdin
  3. apply resource limits, write files, run tests in order; emit obs / metric / log / test events
  4. emit {"t": "done"} and `os._exit(0)`

Standalone on purpose: it imports nothing from the project, only the standard library (and
torch/numpy if the job preloads them).
"""

import argparse
import gc
import json
import os
import random
import resource
import signal
import sys
import time
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api import OUTPUT_CAP, Capture, Check, Events


class Harness:
    def __init__(self, args):
        self.events = Events(args.events_fd)
        self.work = args.work
        self.data_dir = args.data
        self.output_total = 0
        self.preamble = ""
        self.job = {}
        self.learner_files = set()
        self.visible_sources = {}

    # --- set-up -------------------------------------------------------------------------------
    def preload(self, modules):
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

    def apply_limits(self, limits):
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu_used = int(used.ru_utime + used.ru_stime) + 1
        cpu = int(limits.get("cpu_seconds") or 0)
        if cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_used + cpu, cpu_used + cpu + 2))
        for name, key in (
            ("RLIMIT_FSIZE", "file_bytes"),
            ("RLIMIT_NOFILE", "open_files"),
            ("RLIMIT_NPROC", "processes"),
            ("RLIMIT_AS", "address_space_bytes"),
        ):
            value = limits.get(key)
            if value:
                res = getattr(resource, name)
                hard = resource.getrlimit(res)[1]
                value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
                resource.setrlimit(res, (value, value))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def write_files(self, files):
        root = os.path.realpath(self.work)
        for rel, content in files.items():
            path = os.path.realpath(os.path.join(root, rel))
            if not path.startswith(root + os.sep):
                raise ValueError(f"file path escapes the work dir: {rel}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(content)

    def seed_for(self, test_id):
        # The same seed for the reference and the learner: random draws line up.
        return (int(self.job.get("seed", 0)) * 1000003 + sum(map(ord, test_id))) % (2**31)

    def seed_everything(self, seed):
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)

    # --- reporting ----------------------------------------------------------------------------
    def describe(self, exc):
        """The exception as a learner should see it: type, message, and only the frames in their
        own files (and visible tests). Harness frames and hidden tests are left out."""
        frames = []
        for frame in traceback.extract_tb(exc.__traceback__):
            rel = os.path.relpath(frame.filename, self.work) if frame.filename.startswith(self.work) else frame.filename
            if rel in self.learner_files:
                frames.append({"file": rel, "line": frame.lineno, "func": frame.name, "code": (frame.line or "")[:300]})
            elif rel in self.visible_sources:
                frames.append(
                    {
                        "file": rel,
                        "line": frame.lineno,
                        "func": frame.name,
                        "code": (frame.line or "")[:300],
                        "test": True,
                    }
                )
            elif rel.startswith("<hidden"):
                frames.append({"file": "(hidden test)", "line": None, "func": frame.name, "code": "", "test": True})
        message = str(exc)
        if isinstance(exc, AssertionError) and not message and frames:
            message = f"assert failed: {frames[-1]['code']}"
        if isinstance(exc, SyntaxError):
            rel = (
                os.path.relpath(exc.filename or "", self.work)
                if (exc.filename or "").startswith(self.work)
                else exc.filename
            )
            return {
                "type": "SyntaxError",
                "message": exc.msg,
                "file": rel,
                "line": exc.lineno,
                "code": (exc.text or "").rstrip()[:300],
                "frames": [],
            }
        return {"type": type(exc).__name__, "message": message[:2000], "frames": frames[-8:]}

    # --- the job ------------------------------------------------------------------------------
    def run(self):
        line = sys.stdin.buffer.readline()
        if not line:
            return
        job = json.loads(line)
        self.job = job
        started = time.perf_counter()
        self.apply_limits(job.get("limits") or {})
        threads = int((job.get("limits") or {}).get("threads") or 1)
        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            torch.set_num_threads(max(1, threads))
            gpu_mb = (job.get("limits") or {}).get("gpu_memory_mb")
            if job.get("device") == "cuda" and gpu_mb and torch.cuda.is_available():
                # A soft guard only (the allocator's cap); the real boundary is one job per GPU/MIG slice.
                total = torch.cuda.get_device_properties(0).total_memory
                torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_mb * 2**20 / total))
        files = dict(job.get("support_files") or {})
        files.update(job.get("files") or {})
        self.learner_files = set(job.get("files") or {})
        self.write_files(files)
        os.chdir(self.work)
        sys.path.insert(0, self.work)
        os.environ["HOME"] = self.work
        for key, value in (job.get("env") or {}).items():
            os.environ[str(key)] = str(value)

        if self.syntax_errors(files):
            return self.finish(started)

        # Group tests by file, keeping the order the job lists them in.
        sources = job.get("test_sources") or {}
        by_file = {}
        for test in job["tests"]:
            by_file.setdefault(test["file"], []).append(test)
        for file, tests in by_file.items():
            self.run_file(file, sources.get(file, ""), tests, visible=tests[0].get("visibility") == "visible")
        self.finish(started)

    def syntax_errors(self, files):
        found = False
        for rel, content in files.items():
            if not rel.endswith(".py"):
                continue
            try:
                compile(content, os.path.join(self.work, rel), "exec")
            except SyntaxError as exc:
                info = self.describe(exc)
                info["file"] = rel
                self.events.emit(t="syntax", error=info)
                found = True
        return found

    def run_file(self, file, source, tests, visible):
        # Hidden test sources are compiled from memory and never written to disk, so learner code
        # cannot open them; visible ones get real line numbers in tracebacks.
        filename = os.path.join(self.work, file) if visible else f"<hidden test {len(self.visible_sources)}>"
        if visible:
            self.visible_sources[file] = source
            import linecache

            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module = types.ModuleType("_fs_tests_" + "".join(c if c.isalnum() else "_" for c in file))
        module.__file__ = filename
        load_error = None
        self.events.emit(t="load", file=file)
        capture = Capture(self, tests[0]["id"])
        real_out, real_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        try:
            exec(compile(source, filename, "exec"), module.__dict__)
        except BaseException as exc:
            load_error = self.describe(exc)
        finally:
            sys.stdout, sys.stderr = real_out, real_err
        # What the learner's code printed while being imported shows on the file's first test.
        self.preamble = capture.value()
        for test in tests:
            self.run_test(module, test, load_error)
            self.preamble = ""

    def run_test(self, module, test, load_error):
        tid = test["id"]
        self.events.emit(t="start", test=tid)
        t0 = time.perf_counter()
        capture = Capture(self, tid)
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
            self.seed_everything(self.seed_for(tid))
            real_out, real_err = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = capture
            timeout = float(test.get("timeout") or 0)
            if timeout:
                signal.signal(signal.SIGALRM, _on_alarm)
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                fn(Check(self, tid))
            except BaseException as exc:
                outcome, error = "exception", self.describe(exc)
                if isinstance(exc, TestTimeout):
                    outcome = "timeout"
            finally:
                if timeout:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                sys.stdout, sys.stderr = real_out, real_err
        if self.preamble:
            capture.parts.insert(0, self.preamble)
        self.events.emit(
            t="test",
            test=tid,
            outcome=outcome,
            error=error,
            duration=round(time.perf_counter() - t0, 4),
            output=capture.value(),
            output_truncated=capture.truncated,
        )

    def finish(self, started):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        gpu_peak = None
        torch = sys.modules.get("torch")
        if torch is not None and self.job.get("device") == "cuda" and torch.cuda.is_initialized():
            gpu_peak = torch.cuda.max_memory_allocated()
        self.events.emit(
            t="done",
            seconds=round(time.perf_counter() - started, 4),
            gpu_peak_bytes=gpu_peak,
            cpu_seconds=round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 3),
            max_rss_kb=max(usage.ru_maxrss, children.ru_maxrss),
            output_truncated=self.output_total >= OUTPUT_CAP,
        )


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("this test ran past its time limit")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--work", default="/work")
    parser.add_argument("--data", default="/data")
    parser.add_argument("--preload", default="")
    args = parser.parse_args()
    harness = Harness(args)
    try:
        harness.preload([m for m in args.preload.split(",") if m])
        harness.events.emit(t="ready", pid=os.getpid())
        harness.run()
    except BaseException as exc:
        try:
            harness.events.emit(t="harness_error", error=f"{type(exc).__name__}: {exc}")
        except OSError:
            pass
    finally:
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
