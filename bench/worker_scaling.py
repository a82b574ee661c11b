"""Worker scaling: graded submissions per second with 1, 2 and 4 runner processes consuming the
same queue, as a ratio to one process.

    python bench/worker_scaling.py                      # about 3 minutes
    python bench/worker_scaling.py --workers 1,2 --jobs 60 --rounds 5

The runner path alone: the job is built once as the web side builds it (grader.services.
submissions.job_build, for the pure-Python `activations` exercise with its expected values
cached), then K copies, each with a submission id of its own, go straight to the runner queue as
`gpu_runner.run_job`. Each runner is a separate `celery worker -Q grade.cpu -c 1` process with
its warm pool on. A job is graded when its `result` event is in its Redis event list; the time
is from just before the first send to the latest result event's own timestamp (`at`, written by
the worker), so how often this script polls does not matter. Nothing consumes the database
side's queue meanwhile: the database stays idle (those messages are purged between rounds).

End to end, printed beside it: K real submissions made with grader.services.submission_create
(as the submit view makes them: the row, then the job sent on commit), the same runner
processes plus one database-side worker (`-Q grader -c 1`) recording each result in PostgreSQL;
the time is from the first create to the last row's finished_at.

Each configuration gets a warm-up (2 jobs per process) and --rounds timed rounds; the table has
the median. Where the time goes, per job: CPU of the worker processes themselves, CPU of the
sandboxes they started and reaped (python, bwrap, the harness: their children's CPU time), and
the whole machine's busy CPU (everything, including Redis and this script).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import (
    Stack,
    code_pair,
    flagship_exercise,
    import_flagship,
    machine_facts,
    postgres_reset,
    redis_flush,
    require_loopback,
    seed_learners,
    warm_reference,
)

TICK = os.sysconf("SC_CLK_TCK")
FAKE_IDS = 10**12  # runner-only jobs' submission ids: far above any real row's


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def tree_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of a process and its live descendants."""
    own = reaped = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        f = stat.rsplit(")", 1)[1].split()
        own += (int(f[11]) + int(f[12])) / TICK  # utime, stime
        reaped += (int(f[13]) + int(f[14])) / TICK  # cutime, cstime
        stack.extend(int(c) for c in children)
    return own, reaped


class Runners:
    """N runner processes on the runner queue (and, for end to end, one database-side worker)."""

    def __init__(self, stack: Stack, count: int):
        self.stack, self.names = stack, [f"runner{count}-{i}" for i in range(count)]
        nodes = [stack.worker(n, queues="grade.cpu", concurrency=1, warm="py") for n in self.names]
        stack.wait_workers(nodes)

    def cpu(self) -> tuple[float, float]:
        own = reaped = 0.0
        for name in self.names:
            o, r = tree_cpu(self.stack.procs[name].pid)
            own, reaped = own + o, reaped + r
        return own, reaped

    def stop(self):
        for name in self.names:
            self.stack.stop(name)


def purge(queue: str) -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def runner_batch(job: dict, limits: tuple[int, int], first_id: int, k: int, timeout: float = 300) -> float:
    """Send k copies of `job`, wait for every `result` event; seconds from first send to last result."""
    import redis
    from django.conf import settings

    from config.celery import app
    from gpu_runner import contract
    from gpu_runner.events import log_key

    soft, hard = limits
    client = redis.Redis.from_url(settings.REDIS_URL)
    ids = list(range(first_id, first_id + k))
    started = time.time()
    for sid in ids:
        app.send_task(
            contract.RUN_JOB,
            args=[{**job, "submission_id": sid}],
            queue=contract.QUEUE_CPU,
            soft_time_limit=soft,
            time_limit=hard,
            priority=contract.PRIORITY_LEARNER,
        )
    finished = {}
    deadline = time.monotonic() + timeout
    while len(finished) < k:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(finished)} of {k} runner jobs reported a result within {timeout:.0f} s")
        pending = [sid for sid in ids if sid not in finished]
        with client.pipeline(transaction=False) as pipe:
            for sid in pending:
                pipe.lindex(log_key(sid), -1)
            for sid, last in zip(pending, pipe.execute(), strict=True):
                event = json.loads(last) if last else {}
                if event.get("type") == "result":
                    finished[sid] = event["at"]
        time.sleep(0.05)
    purge(contract.QUEUE_GRADER)  # the started/recorded messages nobody consumed
    return max(finished.values()) - started


def e2e_batch(user, exercise, files: dict, k: int, timeout: float = 300) -> float:
    """k submissions through submission_create; seconds from the first create to the last stored."""
    from grader.models import Submission
    from grader.services import submission_create

    started = time.time()
    ids = [submission_create(user=user, exercise=exercise, files=files).pk for _ in range(k)]
    deadline = time.monotonic() + timeout
    while Submission.objects.filter(pk__in=ids, status__in=("queued", "running")).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"end-to-end submissions still unfinished after {timeout:.0f} s")
        time.sleep(0.1)
    rows = list(Submission.objects.filter(pk__in=ids).values_list("status", "passed", "finished_at"))
    bad = [r for r in rows if r[0] != "graded" or not r[1]]
    if bad:
        raise SystemExit(f"{len(bad)} end-to-end submissions of the reference solution did not pass: {bad[:3]}")
    return max(r[2] for r in rows).timestamp() - started


def measure(args, stack, job, user, exercise, right) -> list[dict]:
    from grader.services.submissions import _time_limits

    limits = _time_limits(exercise.spec)  # the soft and hard limits the web side sends with the job
    rows = []
    next_id = FAKE_IDS
    for count in args.workers:
        # What else keeps the cores busy meanwhile (this machine may be shared): 2 s with nothing of ours running.
        before = machine_busy()
        time.sleep(2)
        background = (machine_busy() - before) / 2
        runners = Runners(stack, count)
        try:
            runner_batch(job, limits, next_id, 2 * count)  # warm-up: every process has graded and refilled
            next_id += 2 * count
            times, cpu = [], []
            for _ in range(args.rounds):
                busy0, (own0, reaped0) = machine_busy(), runners.cpu()
                times.append(runner_batch(job, limits, next_id, args.jobs))
                next_id += args.jobs
                (own1, reaped1) = runners.cpu()
                cpu.append((own1 - own0, reaped1 - reaped0, machine_busy() - busy0))
            e2e = []
            if args.e2e:
                stack.wait_workers([stack.worker("dbside", queues="grader", concurrency=1, warm="")])
                e2e_batch(user, exercise, right, 2 * count)  # warm-up
                e2e = [e2e_batch(user, exercise, right, args.jobs) for _ in range(args.rounds)]
                stack.stop("dbside")
        finally:
            runners.stop()
        median = statistics.median(times)
        per_job = [statistics.median(c[i] for c in cpu) / args.jobs for i in range(3)]
        rows.append(
            {"workers": count, "runner_s": times, "e2e_s": e2e, "cpu_per_job": per_job, "background": background}
        )
        print(
            f"  {count} worker(s): runner {args.jobs / median:.2f} jobs/s (rounds {', '.join(f'{t:.2f}' for t in times)} s)"
            + (f"; end to end {args.jobs / statistics.median(e2e):.2f}/s" if e2e else ""),
            flush=True,
        )
    return rows


def report(args, rows: list[dict]) -> None:
    base = args.jobs / statistics.median(rows[0]["runner_s"])
    base_e2e = args.jobs / statistics.median(rows[0]["e2e_s"]) if rows[0]["e2e_s"] else None
    print(
        f"\n{args.jobs} jobs per round, median of {args.rounds} rounds; exercise `{args.exercise}` (reference solution)\n"
    )
    print(
        "| runner processes | runner path jobs/s | ratio | end to end jobs/s | ratio | worker CPU/job "
        "| sandbox CPU/job | machine CPU/job | cores busy | busy before (not ours) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        rate = args.jobs / statistics.median(row["runner_s"])
        e2e = args.jobs / statistics.median(row["e2e_s"]) if row["e2e_s"] else None
        own, reaped, busy = (f"{x * 1000:.0f} ms" for x in row["cpu_per_job"])
        print(
            f"| {row['workers']} | {rate:.2f} | {rate / base:.2f}x | {f'{e2e:.2f}' if e2e else '-'} "
            f"| {f'{e2e / base_e2e:.2f}x' if e2e else '-'} | {own} | {reaped} | {busy} "
            f"| {rate * row['cpu_per_job'][2]:.2f} | {row['background']:.2f} |"
        )
    print(
        "\nworker CPU: the celery processes themselves; sandbox CPU: processes they started and reaped "
        "(bwrap, the interpreter, the harness); machine CPU: all cores busy, everything included; "
        "cores busy: machine CPU/job x jobs/s, the ceiling is the core count."
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"jobs": args.jobs, "rows": rows}, indent=1))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers", default="1,2,4", help="runner process counts to compare, first is the base (default 1,2,4)"
    )
    parser.add_argument("--jobs", type=int, default=40, help="jobs per timed round (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per configuration (default 3)")
    parser.add_argument(
        "--exercise", default="activations", help="a pure-Python exercise of zero-to-gpt (default activations)"
    )
    parser.add_argument("--no-e2e", dest="e2e", action="store_false", help="skip the end-to-end figure")
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loadbench")
    )
    parser.add_argument("--redis-url", default=os.environ.get("SCALING_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--json", help="also write every round's seconds here")
    args = parser.parse_args(argv)
    try:
        args.workers = [int(w) for w in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers takes counts separated by commas, e.g. 1,2,4; got {args.workers!r}")
    if not all(1 <= w <= 16 for w in args.workers):
        parser.error("each --workers count must be from 1 to 16")
    if not 1 <= args.jobs <= 1000 or not 1 <= args.rounds <= 20:
        parser.error("--jobs must be from 1 to 1000 and --rounds from 1 to 20")
    require_loopback(args.database_url, what="the database")
    require_loopback(args.redis_url, what="Redis")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="fs-scaling-"))
    # One learner makes every end-to-end submission: the platform's per-learner caps are not measured here.
    limits = {"RATE_LIMITS": "submission.user=1000000/60", "RATE_CAPS": "submission.active=1000000"}
    stack = Stack(var=var, database_url=args.database_url, redis_url=args.redis_url, **limits)
    try:
        with stack:
            postgres_reset(args.database_url)
            redis_flush(args.redis_url)
            print("\n".join(machine_facts(database_url=args.database_url, redis_url=args.redis_url)), flush=True)
            import_flagship(stack)
            stack.setup_django()
            exercise = flagship_exercise(args.exercise)
            if exercise.spec["resources"].get("preload") or exercise.device != "cpu":
                raise SystemExit(f"{args.exercise} is not a pure-Python CPU exercise (it preloads or needs a GPU)")
            right, _wrong, _ = code_pair(exercise, None)
            from accounts.models import User
            from grader.services.submissions import job_build

            user = User.objects.get(email=seed_learners(1, "scaling", exercise)[0])
            runners = Runners(stack, 1)
            stack.wait_workers([stack.worker("dbside", queues="grader", concurrency=1, warm="")])
            warm_reference(exercise)  # the job below carries the cached expected values
            stack.stop("dbside")
            runners.stop()
            job = job_build(
                exercise=exercise, files=right, tests=exercise.spec["tests"], uses_files={}, submission_id=0
            )
            job["submission_kind"] = "submit"
            rows = measure(args, stack, job, user, exercise, right)
        report(args, rows)
    except BaseException:
        print(f"logs kept in {var}/log", file=sys.stderr)
        raise
    shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
