"""Lesson and exercise pages under 50 concurrent connections, against a bare page (issue #14, item 4).

    python bench/web.py [--seconds 15] [--connections 50] [--database-url postgres://...]

Production settings behind a TLS proxy (X-Forwarded-Proto: https), gunicorn with uvicorn workers
(one by default: see --workers), PostgreSQL, its own Redis, the flagship course, one signed-in
learner. `wrk` (Debian package; `tools/system_packages.sh bench`) drives each page in turn on
the same server in the same run: the bare page is a Django template of the same size as the
lesson page, rendered with no database work. Targets: throughput >= 0.8x and p99 <= 1.5x the
bare page's. Loopback only; the database is dropped at the end.
"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each page beside a bare page of its own size: the exercise page is larger than the lesson page.
PAGES = [
    ("bare template, lesson page's size", "/bench/bare/lesson/"),
    ("lesson page", "/courses/zero-to-gpt/lessons/{lesson}/"),
    ("bare template, exercise page's size", "/bench/bare/exercise/"),
    ("exercise page", "/courses/zero-to-gpt/exercises/value/"),
]


def run(env, *args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, text=True, capture_output=True, **kw)


SETUP = """
from accounts.models import User
from courses.models import Course
from courses.services import membership_enroll
from django.contrib.sessions.backends.db import SessionStore
from django.conf import settings
from importlib import import_module
u = User.objects.create_user('bench', 'bench@example.org', 'bench-password')
course = Course.objects.get(slug='zero-to-gpt')
membership_enroll(user=u, course=course)
store = import_module(settings.SESSION_ENGINE).SessionStore()
store['_auth_user_id'] = str(u.pk)
store['_auth_user_backend'] = 'django.contrib.auth.backends.ModelBackend'
store['_auth_user_hash'] = u.get_session_auth_hash()
store.create()
lesson = course.published_version.lessons.order_by('module__position', 'position').first()
print(settings.SESSION_COOKIE_NAME, store.session_key, lesson.slug)
"""


def wrk(url, cookie, seconds, connections) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms, and the count of non-2xx answers must be 0."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            "X-Forwarded-Proto: https",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors under load for {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, ms("50"), ms("99")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per page per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    # One server process by default: with two, wrk's 50 keep-alive connections are split between
    # the processes however their accept() calls raced, and a page's figure came out 119 or 62
    # req/s from one round to the next. The same count serves every page either way.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/fs_webbench")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: tools/system_packages.sh bench (or apt-get install wrk)")
    var = Path(tempfile.mkdtemp(prefix="fs-web-"))
    sys.path.insert(0, str(ROOT))
    from tools import redis_server

    redis = redis_server.start(var / "redis.sock", var / "redis.log")
    dbname = args.database_url.rsplit("/", 1)[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": f"{ROOT / 'bench' / 'web'}:{ROOT}",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"unix://{var}/redis.sock",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "FROMSCRATCH_VAR_DIR": str(var),
        "GRADER_WARM_REFERENCES": "0",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {dbname}"], check=True
    )
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {dbname}"], check=True)
    server = None
    try:
        run(env, "manage.py", "migrate", "--noinput", "-v0")
        run(env, "manage.py", "collectstatic", "--noinput", "-v0")
        run(env, "manage.py", "course", "import", "content/zero-to-gpt", "--publish")
        cookie_name, key, lesson = run(env, "manage.py", "shell", "-c", SETUP).stdout.split()[-3:]
        cookie = f"{cookie_name}={key}"
        port = 8790
        log = open(var / "web.log", "ab")
        server = subprocess.Popen(
            [
                "gunicorn",
                "config.asgi:application",
                "-k",
                "uvicorn_worker.UvicornWorker",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        sizes = {}
        for name, path in (("lesson", PAGES[1][1]), ("exercise", PAGES[3][1])):
            page = None
            for _ in range(150):
                try:
                    request = urllib.request.Request(
                        base + path.format(lesson=lesson), headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
                    )
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        page = answer.read()
                        csrf = [
                            c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or [] if "csrftoken=" in c
                        ]
                    if csrf and "csrftoken=" not in cookie:
                        # What a browser holds after its first page: the session and the CSRF cookie.
                        cookie += "; " + csrf[0]
                    break
                except OSError:
                    time.sleep(0.2)
            assert page and b"<html" in page, f"the {name} page did not load"
            sizes[name] = len(page)
            (ROOT / "bench" / "web" / "templates").mkdir(exist_ok=True)
            (ROOT / "bench" / "web" / "templates" / f"bare-{name}.html").write_bytes(
                b"{% verbatim %}" + page + b"{% endverbatim %}"
            )
        # Interleaved rounds, medians: wrk's connections stay with whichever server process
        # accepted them, and one uneven split halves a page's figure (seen: 119 then 62 req/s).
        samples = {label: [] for label, _ in PAGES}
        for _, path in PAGES:
            wrk(base + path.format(lesson=lesson), cookie, 3, args.connections)  # warm the caches
        for round_ in range(args.rounds):
            for label, path in PAGES:
                samples[label].append(wrk(base + path.format(lesson=lesson), cookie, args.seconds, args.connections))
                print(f"  round {round_ + 1}, {label}: {samples[label][-1][0]:.0f} req/s", flush=True)
        rows = [(label, *(statistics.median(s[i] for s in samples[label]) for i in range(3))) for label, _ in PAGES]
    except BaseException:
        log_text = (var / "web.log").read_text(errors="replace") if (var / "web.log").exists() else ""
        print("server log (last lines):\n" + "\n".join(log_text.splitlines()[-25:]), file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        redis_server.stop(redis)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {dbname}"])
        shutil.rmtree(var, ignore_errors=True)
        shutil.rmtree(ROOT / "bench" / "web" / "templates", ignore_errors=True)
    print(
        f"\n{args.connections} connections, medians of {args.rounds} interleaved rounds of {args.seconds} s per page, "
        f"gunicorn x{args.workers} uvicorn workers, lesson page {sizes['lesson']} bytes, "
        f"exercise page {sizes['exercise']} bytes\n"
    )
    print("| page | req/s | p50 | p99 | throughput vs bare | p99 vs bare |\n|---|---|---|---|---|---|")
    for i, (label, rps, p50, p99) in enumerate(rows):
        bare_rps, _, bare_p99 = rows[i - i % 2][1:]  # the bare page of the same size, just before it
        print(f"| {label} | {rps:.0f} | {p50:.1f} ms | {p99:.1f} ms | {rps / bare_rps:.2f}x | {p99 / bare_p99:.2f}x |")


if __name__ == "__main__":
    main()
