"""The first learner after a publish (issue #14, item 6), and back-to-back torch jobs.

    python bench/first_learner.py [--trials 7] [--b2b 10]

Part 1. Each trial publishes a new version of a small course whose two exercises (pure-Python
`mean`, torch `softmax`) changed, so nothing is cached for them; then one learner does what a
learner does first: Run, then Submit, on each. Timed as the learner sees it (HTTP submit to the
final `result` event on the websocket). Two modes in one run, alternating trial by trial:
`warm-up` (GRADER_WARM_REFERENCES on: `course import --publish --wait` returns once the workers
have cached the expected values) and `no warm-up` (the reference runs on the learner's time).

Part 2. Ten torch submissions back to back (the next one sent the moment the last result
arrives), with one and with two ready spares per kind in the worker (GRADER_WARM_DEPTH), and the
cost of the alternative we did not build: fork() of a process that already imported torch.

Everything on this machine: SQLite, its own Redis, one Celery worker (concurrency 2), daphne.
"""

import argparse
import asyncio
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading_latency import MEAN, ROOT, SOFTMAX, Client, Platform, build_course, percentile


class Learner(Client):
    def submit(self, exercise, files, kind="submit"):
        body = json.dumps({"kind": kind, "files": files}).encode()
        request = urllib.request.Request(
            f"{self.base}/courses/bench/exercises/{exercise}/submit/",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf(), "Referer": self.base},
        )
        return json.loads(self.opener.open(request).read())


async def timed(client, exercise, files, kind) -> float:
    import websockets

    started = time.perf_counter()
    created = await asyncio.to_thread(client.submit, exercise, files, kind)
    url = client.base.replace("http", "ws") + created["ws"]
    async with websockets.connect(
        url, additional_headers={"Cookie": client.cookie_header(), "Origin": client.base}
    ) as ws:
        await ws.send(json.dumps({"type": "resume", "after": 0}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if message.get("type") == "event" and message["event"]["type"] == "result":
                assert message["event"]["status"] == "passed", message["event"]
                return time.perf_counter() - started


def publish(platform, folder, trial, warm) -> float:
    """A new version in which both exercises changed (their prompts), so neither is cached."""
    for slug in ("mean", "softmax"):
        prompt = folder / "modules/01-basics/exercises" / slug / "prompt.md"
        prompt.write_text(prompt.read_text().split("\n<!-- trial")[0] + f"\n<!-- trial {trial} -->\n")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "course", "import", str(folder), "--publish", "--wait", "300" if warm else "0"],
        cwd=ROOT,
        env={**platform.env, "GRADER_WARM_REFERENCES": "1" if warm else "0"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def fork_cost(runs=20) -> tuple[float, float]:
    """Median seconds: a new interpreter importing torch, and fork() of one that has."""
    spawn = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        spawn.append(time.perf_counter() - t)
    code = (
        "import os, time, statistics, torch\nts = []\nfor _ in range(RUNS):\n    t = time.perf_counter()\n"
        "    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
        "    ts.append(time.perf_counter() - t)\nprint(statistics.median(ts))\n"
    ).replace("RUNS", str(runs))
    forked = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    return statistics.median(spawn), forked


def row(label, times):
    return f"| {label} | {statistics.median(times) * 1000:.0f} ms | {percentile(times, 0.95) * 1000:.0f} ms | {len(times)} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=7, help="publishes per mode")
    parser.add_argument("--b2b", type=int, default=10, help="back-to-back torch submissions per depth")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="fs-first-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        FROMSCRATCH_VAR_DIR=str(var),
        REDIS_URL=f"unix://{var}/run/redis.sock",
    )
    import django

    from tools import redis_server

    redis = redis_server.start(var / "run" / "redis.sock", var / "redis.log")
    django.setup()
    platform = Platform(var)
    times = {}
    try:
        platform.manage("migrate", "--noinput", "-v0")
        folder = build_course(var / "bench-course")
        publish(platform, folder, 0, warm=False)
        base = platform.learner_and_web(8766)
        client = Learner(base)
        client.login("bench@example.org", "bench-password")
        platform.env["GRADER_WARM_DEPTH"] = "2"
        platform.worker(warm=True)
        time.sleep(8)
        cases = [
            ("pure Python", "mean", {"stats.py": MEAN}),
            ("torch", "softmax", {"softmax.py": SOFTMAX["solution/softmax.py"]}),
        ]
        for trial in range(1, 2 * args.trials + 1):
            warm = trial % 2 == 1
            mode = "warm-up" if warm else "no warm-up"
            times.setdefault(("publish --wait", mode), []).append(publish(platform, folder, trial, warm))
            for label, exercise, files in cases:
                for kind in ("run", "submit"):
                    key = (f"{label}: first {kind.capitalize()}", mode)
                    times.setdefault(key, []).append(asyncio.run(timed(client, exercise, files, kind)))
                    time.sleep(3.0)  # a learner reads the result; the spare refills
            print(f"  trial {trial} ({mode}) done", flush=True)
        platform.stop("worker")
        for depth in ("1", "2"):
            platform.env["GRADER_WARM_DEPTH"] = depth
            platform.worker(warm=True)
            time.sleep(10)
            files = {"softmax.py": SOFTMAX["solution/softmax.py"]}
            asyncio.run(timed(client, "softmax", files, "submit"))
            time.sleep(4)
            runs = [asyncio.run(timed(client, "softmax", files, "submit")) for _ in range(args.b2b)]
            times[(f"torch back-to-back, {depth} spare(s) per kind", "warm-up")] = runs
            platform.stop("worker")
        spawn, forked = fork_cost()
    finally:
        for name in list(platform.procs):
            platform.stop(name)
        redis_server.stop(redis)
        shutil.rmtree(var, ignore_errors=True)
    print("\n| what (learner's view: submit -> result event) | p50 | p95 | n |\n|---|---|---|---|")
    for (label, mode), values in times.items():
        print(row(f"{label} ({mode})", values))
    print(
        f"\nforkserver alternative: a new interpreter importing torch {spawn * 1000:.0f} ms; "
        f"fork() of one that has {forked * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
