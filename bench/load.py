"""Load: N simulated learners using the platform at once, on this machine, through the real stack
as platform/Procfile runs it (production settings; gunicorn with 2 uvicorn workers; a database-side
Celery worker and a CPU runner worker, 2 processes each; PostgreSQL; Redis; the bubblewrap
sandbox), against the flagship course.

    python bench/load.py --learners 50            # starts its own stack (about 3 minutes)
    python bench/load.py --learners 200 --rounds 2
    python bench/load.py --url http://127.0.0.1:8000 --learners 20   # attach to a running stack

What each learner does (bench/learner.py): sign in, then per round read the lesson, open the
exercise, Submit (the course's reference solution, or a known-wrong variant of it: one of the
exercise's own mutants), follow the submission's websocket to the verdict and to `recorded`, ask
the offline tutor a question and read the reply to its end; 1-3 s of think time between steps.
The default exercise, `activations` (tanh and exp on the micrograd Value), is pure Python and
the cheapest of the course to grade; each learner is seeded with a passing Submit of `value`,
which unlocks it.

How to read the output:
- throughput: verdicts shown per second (first Submit to last verdict) and pages per second
  (GETs of the sign-in, lesson and exercise pages over the learners' whole run);
- latency p50/p95/p99: submit -> verdict is what the learner waits for (the POST until the
  `result` event on the websocket), submit -> recorded until the database has stored it; each
  page and the tutor (question sent -> reply finished) separately;
- errors by kind: every HTTP status, timeout or socket fault a learner met, and any verdict that
  was not the one the code deserves;
- lost: every submission id a learner got must end graded in the database with the verdict the
  learner was shown. Anything else is lost; the exit status is 1 when any is.

Bounded: at most --learners (<= 1000) learners, --rounds each, and a hard --deadline on the
learners' phase (what is still running then is cancelled and reported). Loopback only: a
non-loopback --url, database or Redis is refused. The started stack has a PostgreSQL database
and a Redis database number of its own (`loadbench`, 14), dropped/flushed first; --url mode
seeds and checks through DATABASE_URL and REDIS_URL, which must be the attached stack's.
"""

import argparse
import asyncio
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.learner import Plan, Tally, learner
from bench.stack import (
    PASSWORD,
    Stack,
    code_pair,
    flagship_exercise,
    free_port,
    import_flagship,
    machine_facts,
    percentile,
    postgres_reset,
    redis_flush,
    require_loopback,
    seed_learners,
    warm_reference,
)

COURSE = "zero-to-gpt"
MAX_LEARNERS = 1000


async def run_learners(plan: Plan, emails: list[str], deadline: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    tasks = [asyncio.create_task(learner(i, email, plan, tally)) for i, email in enumerate(emails)]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for step in tally.where.values():  # learners cut off by the deadline, by where they were
        tally.errors[f"still busy at the {deadline:.0f} s deadline, cancelled while {step}"] += 1
    for task in done:
        if task.exception() is not None:
            exc = task.exception()
            tally.errors[f"learner crashed: {type(exc).__name__}: {str(exc)[:80]}"] += 1
    return tally, time.perf_counter() - started


def check_stored(submissions: dict, settle: float, *, tag: str, exercise_slug: str) -> Counter:
    """Compare what each learner was shown with what the database ended with (waiting up to
    `settle` seconds for submissions still queued or running), and find stored submissions whose
    id no learner got (a POST that failed on its way back)."""
    from grader.models import Submission

    deadline = time.monotonic() + settle
    while True:
        rows = {
            r["pk"]: r
            for r in Submission.objects.filter(pk__in=list(submissions)).values(
                "pk", "status", "score", "gradable", "result"
            )
        }
        active = [pk for pk in submissions if pk not in rows or rows[pk]["status"] in ("queued", "running")]
        if not active or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    out = Counter()
    orphans = (
        Submission.objects.filter(user__email__startswith=f"load{tag}-", exercise_slug=exercise_slug)
        .exclude(pk__in=list(submissions))
        .count()
    )
    if orphans:
        out["stored, but no learner got its id (their POST failed)"] = orphans
    for pk, record in submissions.items():
        row, shown = rows.get(pk), record["shown"]
        if row is None:
            out["LOST: not in the database"] += 1
        elif row["status"] != "graded":
            out[f"LOST: ended {row['status']}"] += 1
        elif shown is None:
            out["graded (the learner saw no verdict)"] += 1
        elif (
            shown["status"] != (row["result"] or {}).get("status")
            or shown["gradable"] != row["gradable"]
            or not math.isclose(shown["score"] or 0, row["score"] or 0, abs_tol=1e-9)
        ):
            out["LOST: stored verdict differs from the one shown"] += 1
        else:
            out["graded with the verdict shown"] += 1
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def latency_row(name: str, values: list) -> str:
    if not values:
        return f"| {name} | 0 | - | - | - | - |"
    return (
        f"| {name} | {len(values)} | {ms(percentile(values, 0.5))} | {ms(percentile(values, 0.95))} "
        f"| {ms(percentile(values, 0.99))} | {ms(max(values))} |"
    )


def report(args, tally: Tally, wall: float, stored: Counter, mutant: str) -> int:
    pages = sum(len(tally.http[k]) for k in ("sign-in page (GET)", "lesson page", "exercise page"))
    requests = sum(len(v) for v in tally.http.values())
    verdicts = len(tally.submit_to_result)
    window = (tally.last_result - tally.first_submit) if verdicts else 0.0
    lost = sum(v for k, v in stored.items() if k.startswith("LOST"))
    print(
        f"\n{args.learners} learners x {args.rounds} round(s) on `{args.exercise}` (wrong code: mutant "
        f"`{mutant}`, share {args.wrong_share:.0%}), think {args.think[0]:g}-{args.think[1]:g} s, "
        f"ramp {args.ramp:g} s; learners' phase {wall:.1f} s; rounds done {tally.rounds_done}, "
        f"skipped near the deadline {tally.rounds_skipped}\n"
    )
    print("| throughput | count | per second |")
    print("|---|---|---|")
    print(
        f"| verdicts shown (first Submit to last verdict, {window:.1f} s) | {verdicts} | {verdicts / window if window else 0:.2f} |"
    )
    print(f"| pages (sign-in, lesson, exercise GETs; {wall:.1f} s) | {pages} | {pages / wall:.2f} |")
    print(f"| all HTTP requests | {requests} | {requests / wall:.2f} |")
    print("\n| latency | n | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    print(latency_row("submit -> verdict (POST to `result` event)", tally.submit_to_result))
    print(latency_row("submit -> recorded (stored in the database)", tally.submit_to_recorded))
    for kind in sorted(tally.http):
        print(latency_row(kind, tally.http[kind]))
    print(latency_row("tutor (question -> reply done)", tally.tutor))
    late = f"; `recorded` later than the browser's 5 s window: {tally.recorded_late}" if tally.recorded_late else ""
    print(f"\nerrors by kind ({sum(tally.errors.values())} in all{late}):")
    for kind, count in tally.errors.most_common() or [("none", 0)]:
        print(f"  {count:5d}  {kind}")
    print(f"\nsubmissions the learners got: {len(tally.submissions)}")
    for kind, count in sorted(stored.items()):
        print(f"  {count:5d}  {kind}")
    print(f"lost submissions: {lost}")
    return 1 if lost else 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=50, help=f"simulated learners (1-{MAX_LEARNERS}; default 50)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per learner (lesson, exercise, Submit, tutor; default 3)"
    )
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("MIN", "MAX"),
        help="think time between steps, seconds (default 1 3)",
    )
    parser.add_argument(
        "--ramp", type=float, default=20.0, help="learners arrive spread over this many seconds (default 20)"
    )
    parser.add_argument("--wrong-share", type=float, default=0.3, help="share of Submits with wrong code (default 0.3)")
    parser.add_argument(
        "--deadline", type=float, default=200.0, help="hard limit on the learners' phase, seconds (default 200)"
    )
    parser.add_argument(
        "--settle", type=float, default=60.0, help="how long to wait for unfinished submissions afterwards (default 60)"
    )
    parser.add_argument(
        "--exercise", default="activations", help="exercise of zero-to-gpt to submit to (default activations)"
    )
    parser.add_argument(
        "--mutant", default=None, help="which of the exercise's mutants is the wrong code (default: the first)"
    )
    parser.add_argument(
        "--web-workers", type=int, default=2, help="uvicorn worker processes (default 2, as the Procfile)"
    )
    parser.add_argument(
        "--cpu-concurrency", type=int, default=2, help="runner processes on grade.cpu (default 2, as the Procfile)"
    )
    parser.add_argument(
        "--db-concurrency", type=int, default=2, help="database-side processes on grader (default 2, as the Procfile)"
    )
    parser.add_argument("--url", default=None, help="attach to this running stack (loopback) instead of starting one")
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loadbench")
    )
    parser.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--seed", type=int, default=1, help="random seed of the learners' choices (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.learners <= MAX_LEARNERS:
        parser.error(f"--learners must be from 1 to {MAX_LEARNERS}, not {args.learners}")
    if not 1 <= args.rounds <= 20:
        parser.error(f"--rounds must be from 1 to 20, not {args.rounds}")
    if not 10 <= args.deadline <= 900:
        parser.error(f"--deadline must be from 10 to 900 seconds, not {args.deadline:g}")
    if not 0 <= args.think[0] <= args.think[1] <= 60:
        parser.error("--think MIN MAX must satisfy 0 <= MIN <= MAX <= 60")
    if not 0 <= args.wrong_share <= 1:
        parser.error("--wrong-share must be from 0 to 1")
    if args.url:
        require_loopback(args.url, what="--url")
        args.database_url = os.environ.get("DATABASE_URL", "")
        args.redis_url = os.environ.get("REDIS_URL", "")
        if not (args.database_url and args.redis_url):
            parser.error(
                "--url needs DATABASE_URL and REDIS_URL of the attached stack (to seed learners and check results)"
            )
    require_loopback(args.database_url, what="the database")
    require_loopback(args.redis_url, what="Redis")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="fs-load-"))
    stack = Stack(var=var, database_url=args.database_url, redis_url=args.redis_url)
    try:
        with stack:
            if not args.url:
                postgres_reset(args.database_url)
                redis_flush(args.redis_url)
            print("\n".join(machine_facts(database_url=args.database_url, redis_url=args.redis_url)), flush=True)
            if not args.url:
                import_flagship(stack)
            stack.setup_django()
            exercise = flagship_exercise(args.exercise)
            right, wrong, mutant = code_pair(exercise, args.mutant)
            if args.url:
                base = args.url.rstrip("/")
            else:
                nodes = [
                    stack.worker("worker-db", queues="grader", concurrency=args.db_concurrency, warm=""),
                    stack.worker("worker-cpu", queues="grade.cpu", concurrency=args.cpu_concurrency, warm="py,torch"),
                ]
                base = stack.web(free_port(), workers=args.web_workers)
                stack.wait_workers(nodes)
                print(
                    f"stack: gunicorn ({args.web_workers} uvicorn workers) at {base}, worker-db -c {args.db_concurrency}, "
                    f"worker-cpu -c {args.cpu_concurrency}; logs in {var}/log",
                    flush=True,
                )
            warm_reference(exercise)
            tag = str(int(time.time()))
            emails = seed_learners(args.learners, tag, exercise)
            plan = Plan(
                base=base,
                password=PASSWORD,
                course=COURSE,
                exercise=exercise.slug,
                lesson=exercise.spec.get("lesson") or "",
                right=right,
                wrong=wrong,
                rounds=args.rounds,
                think=tuple(args.think),
                ramp=args.ramp,
                wrong_share=args.wrong_share,
                seed=args.seed,
                # No round starts in the deadline's last minute (or last third, for short ones).
                last_round_at=time.monotonic() + args.deadline - min(60.0, args.deadline / 3),
            )
            tally, wall = asyncio.run(run_learners(plan, emails, args.deadline))
            stored = check_stored(tally.submissions, args.settle, tag=tag, exercise_slug=exercise.slug)
            if not args.url:
                stack.check_alive()
        status = report(args, tally, wall, stored, mutant)
    except BaseException:
        print(f"logs kept in {var}/log", file=sys.stderr)
        raise
    if status or tally.errors:
        print(f"logs kept in {var}/log (the servers' side of the errors above)")
    else:
        shutil.rmtree(var, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
