"""Grading latency over the real path: HTTP submit -> Redis -> Celery worker -> bubblewrap sandbox
-> trusted comparison -> database -> result event on the websocket.

    python bench/grading_latency.py [--runs 30] [--warm-only] [--json out.json]

FROMSCRATCH_BENCH_ROOT=<checkout> benchmarks another checkout with this script (bench/ab.py uses
it to interleave this commit with an older one on the same machine).

Prints p50/p95 for a pure-Python exercise and a torch exercise, with and without the warm pool,
and the sandbox's start cost against a bare `python -c pass`. Everything runs on this machine in
a private var/ folder: SQLite, its own Redis, one Celery worker (concurrency 2), daphne.

"Warm" means a ready spare: between runs the script waits until the worker has refilled it
(a learner does not submit twice within 2 s); the back-to-back figure shows what happens when
they do, and the spare is still importing torch.
"""

import argparse
import asyncio
import http.cookiejar
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(os.environ.get("FROMSCRATCH_BENCH_ROOT") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))

SOFTMAX = {
    "exercise.toml": 'title = "Softmax in torch"\nprompt = "prompt.md"\nfiles = ["softmax.py"]\n\n[resources]\ndevice = "cpu"\nwall_seconds = 20\npreload = ["torch"]\n',
    "prompt.md": "Write `softmax(x)` over the last axis.\n",
    "starter/softmax.py": "import torch\n\n\ndef softmax(x):\n    return x\n",
    "solution/softmax.py": "import torch\n\n\ndef softmax(x):\n    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)\n    return e / e.sum(dim=-1, keepdim=True)\n",
    "tests/visible/test_softmax.py": "import torch\nfrom softmax import softmax\n\n\ndef test_rows(check):\n    check('sums', softmax(torch.randn(4, 7)).sum(dim=-1), tol=1e-6)\n\n\ndef test_values(check):\n    check('softmax', softmax(torch.randn(3, 5)), tol=1e-6)\n",
    "tests/hidden/test_softmax_hidden.py": "import torch\nfrom softmax import softmax\n\n\ndef test_large(check):\n    check('stable', softmax(torch.randn(2, 6) * 100), tol=1e-6)\n",
}
MEAN = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def build_course(dest: Path) -> Path:
    from tests.fixtures import make_course_folder

    folder = make_course_folder(dest, slug="bench", title="Latency bench")
    (folder / "modules/01-basics/module.toml").write_text(
        'title = "Bench"\nitems = ["lesson:welcome", "exercise:mean", "exercise:softmax"]\n'
    )
    for rel, text in SOFTMAX.items():
        path = folder / "modules/01-basics/exercises/softmax" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


class Platform:
    def __init__(self, var: Path):
        self.var = var
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "FROMSCRATCH_VAR_DIR": str(var),
            "REDIS_URL": f"unix://{var}/run/redis.sock",
            "DJANGO_DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            # One benchmark learner submits ~70 times in a few minutes: past the per-learner
            # window a real learner has (config/ratelimits.py), which is not what is measured.
            "RATE_LIMITS": "submission.user=100000/60",
        }
        self.procs = {}

    def manage(self, *args):
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL
        )

    def start(self, name, args, **extra):
        log = open(self.var / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            args, cwd=ROOT, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, name):
        proc = self.procs.pop(name)
        proc.terminate()
        proc.wait(30)

    def learner_and_web(self, port: int) -> str:
        """The benchmark learner (bench@example.org, enrolled in the bench course) and daphne on
        `port`, answering; returns its base URL."""
        self.manage(
            "shell",
            "-c",
            "from accounts.models import User; from courses.models import Course; from courses.services import membership_enroll;"
            "u = User.objects.create_user('bench', 'bench@example.org', 'bench-password');"
            "membership_enroll(user=u, course=Course.objects.get(slug='bench'))",
        )
        self.start(
            "web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        return base

    def worker(self, warm: bool):
        self.start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "grade.cpu,grade.gpu,grader",
                "-c",
                "2",
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            GRADER_WARM_POOL="1" if warm else "0",
            GPU_RUNNER_WARM="py,torch" if warm else "",
        )


class Client:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self):
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def login(self, email, password):
        self.opener.open(self.base + "/accounts/login/").read()
        data = urllib.parse.urlencode(
            {"login": email, "password": password, "csrfmiddlewaretoken": self.csrf()}
        ).encode()
        self.opener.open(
            urllib.request.Request(self.base + "/accounts/login/", data=data, headers={"Referer": self.base})
        ).read()

    def submit(self, exercise, files):
        body = json.dumps({"kind": "submit", "files": files}).encode()
        request = urllib.request.Request(
            f"{self.base}/courses/bench/exercises/{exercise}/submit/",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf(), "Referer": self.base},
        )
        return json.loads(self.opener.open(request).read())

    def cookie_header(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


async def one_run(client, exercise, files) -> tuple[float, str]:
    """Submit over HTTP, then wait on the websocket for the final result event."""
    import websockets

    started = time.perf_counter()
    created = await asyncio.to_thread(client.submit, exercise, files)
    url = client.base.replace("http", "ws") + created["ws"]
    async with websockets.connect(
        url, additional_headers={"Cookie": client.cookie_header(), "Origin": client.base}
    ) as ws:
        await ws.send(json.dumps({"type": "resume", "after": 0}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message.get("type") == "event" and message["event"]["type"] == "result":
                return time.perf_counter() - started, message["event"]["status"]


def measure(client, exercise, files, runs, pause):
    times = []
    for i in range(runs + 2):
        elapsed, status = asyncio.run(one_run(client, exercise, files))
        assert status == "passed", status
        if i >= 2:  # two warm-ups: the first computes the reference observations
            times.append(elapsed)
        time.sleep(pause)
    return times


def sandbox_start_cost(runs=30):
    """Median of bare `python -c pass` and of a cold sandboxed harness running an empty job."""
    from gpu_runner.sandbox.launch import Launcher, SandboxConfig
    from gpu_runner.sandbox.pool import WarmPool
    from gpu_runner.sandbox.session import run_job

    bare = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
    pool = WarmPool(Launcher(SandboxConfig(data_dir=Path(tempfile.mkdtemp()))), enabled=False)
    boxed = []
    for _ in range(runs):
        t = time.perf_counter()
        result = run_job(pool.take(), {"tests": []}, wall_seconds=10, memory_bytes=256 << 20)
        boxed.append(time.perf_counter() - t)
        assert result.finished
    return statistics.median(bare), statistics.median(boxed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warm-only", action="store_true", help="skip the cold (no pool) rows")
    parser.add_argument("--json", help="also write the rows (seconds per run) to this file")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    var = Path(tempfile.mkdtemp(prefix="fs-bench-"))
    os.environ.update(FROMSCRATCH_VAR_DIR=str(var), REDIS_URL=f"unix://{var}/run/redis.sock")
    import django

    from tools import redis_server

    redis = redis_server.start(var / "run" / "redis.sock", var / "redis.log")
    django.setup()
    platform = Platform(var)
    rows = []
    try:
        platform.manage("migrate", "--noinput", "-v0")
        folder = build_course(var / "bench-course")
        platform.manage("course", "import", str(folder), "--publish")
        base = platform.learner_and_web(8765)
        client = Client(base)
        client.login("bench@example.org", "bench-password")
        cases = [
            ("pure Python (mean)", "mean", {"stats.py": MEAN}, 0.5),
            ("torch (softmax)", "softmax", {"softmax.py": SOFTMAX["solution/softmax.py"]}, 3.0),
        ]
        for warm in (True,) if args.warm_only else (True, False):
            platform.worker(warm)
            time.sleep(6 if warm else 2)
            for label, exercise, files, pause in cases:
                times = measure(client, exercise, files, args.runs, pause if warm else 0.2)
                rows.append((label, "warm pool" if warm else "cold (no pool)", times))
                print(
                    f"  {label:<20} {rows[-1][1]:<15} p50 {statistics.median(times) * 1000:7.0f} ms   p95 {percentile(times, 0.95) * 1000:7.0f} ms",
                    flush=True,
                )
            if warm:
                times = measure(client, "softmax", {"softmax.py": SOFTMAX["solution/softmax.py"]}, 10, 0.0)
                rows.append(("torch (softmax)", "warm, back-to-back", times))
                print(
                    f"  {'torch (softmax)':<20} {'warm, back-to-back':<15} p50 {statistics.median(times) * 1000:7.0f} ms   p95 {percentile(times, 0.95) * 1000:7.0f} ms",
                    flush=True,
                )
            platform.stop("worker")
        bare, boxed = sandbox_start_cost()
    finally:
        for name in list(platform.procs):
            platform.stop(name)
        redis_server.stop(redis)
        shutil.rmtree(var, ignore_errors=True)
    print(
        f"\nsubmit -> result over HTTP + Redis + Celery + sandbox + websocket, {args.runs} runs each (2 warm-ups dropped):\n"
    )
    print("| exercise | worker | p50 | p95 | runs |")
    print("|---|---|---|---|---|")
    for label, mode, times in rows:
        print(
            f"| {label} | {mode} | {statistics.median(times) * 1000:.0f} ms | {percentile(times, 0.95) * 1000:.0f} ms | {len(times)} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"root": str(ROOT), "rows": [{"exercise": lb, "mode": m, "seconds": t} for lb, m, t in rows]},
                indent=1,
            )
        )
    print(
        f"\nsandbox start: bare `python -c pass` {bare * 1000:.1f} ms; a cold sandboxed harness with an empty job "
        f"{boxed * 1000:.1f} ms (ratio {boxed / bare:.1f}x)"
    )


if __name__ == "__main__":
    main()
