"""The platform the load benchmarks run against, started from this checkout on this machine as
production runs it (config.settings.prod, platform/Procfile's processes): a PostgreSQL database
of the benchmark's own (dropped and created afresh), a Redis database number of its own
(flushed), gunicorn with uvicorn workers and Celery workers as separate processes, each logging
to a private folder. Used by bench/load.py and bench/worker_scaling.py; not a test fixture.
Plain HTTP on loopback: no TLS proxy, so secure cookies and the HTTPS redirect are off.

Everything listens on loopback only: the benchmarks generate load, and load must never leave the
machine (`require_loopback`).
"""

import importlib.metadata
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
FLAGSHIP = ROOT / "content" / "zero-to-gpt"
PASSWORD = "load-bench-password-7"


def require_loopback(url: str, *, what: str) -> str:
    """The URL itself, or SystemExit naming the host: these scripts only ever load this machine."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(
            f"{what} {url!r} is not on loopback (host {host or 'missing'!r}); this benchmark only loads 127.0.0.1"
        )
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(*, database_url: str, redis_url: str) -> list[str]:
    """What a reader needs to compare figures across machines and commits."""
    import psycopg
    import redis

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        pg = conn.execute("show server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    versions = ", ".join(
        f"{p} {_version(p)}" for p in ("Django", "channels", "channels-redis", "daphne", "celery", "psycopg", "redis")
    )
    return [
        f"cores: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), {cpu}, {mem_kb / 2**20:.1f} GiB RAM",
        f"kernel: {platform.release()}; Python {platform.python_version()}; PostgreSQL {pg}; Redis {redis_version}",
        f"packages: {versions}",
        f"checkout: {commit or 'unknown'}{' (with uncommitted changes)' if dirty else ''}",
    ]


def _libpq(database_url: str, dbname: str | None = None) -> str:
    """psycopg's connection string for a DATABASE_URL, optionally another database on the same server."""
    parsed = urllib.parse.urlparse(database_url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"the benchmark needs PostgreSQL; DATABASE_URL is {database_url!r}")
    name = dbname or parsed.path.lstrip("/")
    return urllib.parse.urlunparse(parsed._replace(scheme="postgresql", path=f"/{name}"))


def postgres_reset(database_url: str) -> None:
    """Drop and create the benchmark's database (it is the benchmark's own: nothing else lives there)."""
    import psycopg
    from psycopg import sql

    name = urllib.parse.urlparse(database_url).path.lstrip("/")
    with psycopg.connect(_libpq(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redis_flush(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


class Stack:
    """Processes started for one benchmark run, stopped (their whole process groups) on exit."""

    def __init__(self, *, var: Path, database_url: str, redis_url: str, **extra_env):
        self.var = var
        (var / "log").mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "FROMSCRATCH_VAR_DIR": str(var),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
            # Publishing warms every exercise's expected values (23 reference jobs, some training for
            # minutes): the benchmark warms only the exercise it uses (`warm_reference`).
            "GRADER_WARM_REFERENCES": "0",
            **extra_env,
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def setup_django(self) -> None:
        """This process opens the same database and Redis (seeding, checking what was stored)."""
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def manage(self, *args) -> None:
        # Quiet unless it fails: importing the flagship offline warns about every dataset it cannot fetch.
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def start(self, name: str, args: list[str], **env) -> subprocess.Popen:
        log = open(self.var / "log" / f"{name}.log", "ab")
        proc = subprocess.Popen(
            args, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def worker(self, name: str, *, queues: str, concurrency: int, warm: str = "py") -> str:
        """A Celery worker process; returns its node name (for `wait_workers`)."""
        node = f"{name}-{os.getpid()}@{socket.gethostname()}"
        self.start(
            name,
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-c", str(concurrency)]
            + ["-n", node, "--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            GRADER_WARM_POOL="1",
            GPU_RUNNER_WARM=warm,
        )
        return node

    def wait_workers(self, nodes: list[str], timeout: float = 90) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        waiting = set(nodes)
        while waiting:
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"workers {sorted(waiting)} did not answer within {timeout:.0f} s; see {self.var}/log")
            for reply in app.control.ping(destination=sorted(waiting), timeout=1.0) or []:
                waiting -= set(reply)

    def web(self, port: int, *, workers: int = 2) -> str:
        """gunicorn with uvicorn workers, as platform/Procfile's `web` serves the site."""
        self.start(
            "web",
            [sys.executable, "-m", "gunicorn", "config.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
            + ["--workers", str(workers), "--bind", f"127.0.0.1:{port}"],
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            self.check_alive()
            try:
                urllib.request.urlopen(url + "/accounts/login/", timeout=2).read()
                return url
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"the web server did not answer on {url} within 90 s; see {self.var}/log/web.log"
                    ) from None
                time.sleep(0.2)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with code {proc.returncode}; see {self.var}/log/{name}.log")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            try:
                self.stop(name)
            except ProcessLookupError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


def import_flagship(stack: Stack) -> None:
    """Procfile's `release` (migrate, collectstatic), then import and publish content/zero-to-gpt."""
    stack.manage("migrate", "--noinput", "-v0")
    stack.manage("collectstatic", "--noinput", "-v0")
    stack.manage("course", "import", str(FLAGSHIP), "--publish")


def warm_reference(exercise, *, timeout: float = 180) -> None:
    """What publishing does for every exercise (grader.services.references.references_warm), for
    this one only: a reference-only job, then wait until its expected values are stored. In steady
    state they are cached, so no measured submission pays for computing them."""
    from config.celery import app
    from gpu_runner import contract
    from grader.models import ReferenceRun
    from grader.services.references import covered_tests
    from grader.services.submissions import job_build

    tests = exercise.spec["tests"]
    wanted = {t["id"] for t in tests}

    def covered() -> bool:
        rows = ReferenceRun.objects.filter(content_hash=exercise.content_hash).values_list("events", flat=True)
        return wanted <= covered_tests(rows)

    if covered():
        return
    job = job_build(exercise=exercise, files={f: "" for f in exercise.spec["files"]}, tests=tests, uses_files={})
    job.update(kind="reference", reference_tests=tests, reference_for=exercise.slug)
    app.send_task(contract.RUN_JOB, args=[job], queue=contract.QUEUE_FOR_DEVICE[exercise.device])
    deadline = time.monotonic() + timeout
    while not covered():
        if time.monotonic() > deadline:
            raise SystemExit(f"the expected values of {exercise.slug} were not stored within {timeout:.0f} s")
        time.sleep(0.2)


def flagship_exercise(slug: str):
    """The published flagship's exercise `slug` (SystemExit naming what is missing)."""
    from courses.models import Course
    from courses.selectors import exercise_in_version

    course = Course.objects.select_related("published_version").filter(slug=FLAGSHIP.name).first()
    if course is None or course.published_version is None:
        raise SystemExit(f"course {FLAGSHIP.name} is not published on this stack")
    exercise = exercise_in_version(version=course.published_version, slug=slug)
    if exercise is None:
        raise SystemExit(f"{FLAGSHIP.name} has no exercise {slug!r}")
    return exercise


def seed_learners(n: int, tag: str, exercise) -> list[str]:
    """n enrolled learners (one password hash for all: hashing costs 0.24 s each), each with a
    passing Submit of every exercise this one's lock waits for."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from courses import prerequisites as rules
    from courses.models import Membership
    from courses.selectors import exercise_in_version
    from grader.models import Submission
    from grader.prerequisites import reference_files

    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(username=f"load{tag}-{i}", email=f"load{tag}-{i}@example.org", password=hashed) for i in range(n)]
    )
    course = exercise.version.course
    Membership.objects.bulk_create([Membership(user=u, course=course, role=Membership.Role.STUDENT) for u in users])
    for prerequisite in rules.prerequisites_of(exercise.spec):
        other = exercise_in_version(version=exercise.version, slug=prerequisite.exercise)
        files = reference_files(exercise=exercise, slug=prerequisite.exercise, names=prerequisite.files)
        Submission.objects.bulk_create(
            [
                Submission(
                    user=u,
                    course=course,
                    exercise=other,
                    exercise_slug=other.slug,
                    kind=Submission.Kind.SUBMIT,
                    status=Submission.Status.GRADED,
                    passed=True,
                    score=1,
                    max_score=1,
                    files=files,
                    finished_at=timezone.now(),
                )
                for u in users
            ]
        )
    return [u.email for u in users]


def code_pair(exercise, mutant_name: str | None) -> tuple[dict, dict, str]:
    """(right files, wrong files, the mutant's name): the reference solution, and the solution
    with one of the exercise's mutants applied (a wrong implementation its tests must catch)."""
    from courses.format.mutants import mutant_sources
    from courses.selectors import exercise_bundle

    bundle = exercise_bundle(exercise=exercise)
    right = {f: bundle["solution"][f] for f in exercise.spec["files"]}
    mutants = {m["name"]: m for m in exercise.spec.get("mutants") or []}
    if not mutants:
        raise SystemExit(f"exercise {exercise.slug} has no mutants to make wrong code from; pick another")
    name = mutant_name or sorted(mutants)[0]
    if name not in mutants:
        raise SystemExit(f"exercise {exercise.slug} has no mutant {name!r} (it has: {', '.join(sorted(mutants))})")
    return right, {**right, **mutant_sources(mutants[name], bundle)}, name


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
