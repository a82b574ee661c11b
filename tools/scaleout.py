"""The production topology on one machine: platform/Procfile's processes against a real
PostgreSQL and Redis, two web processes and three workers behind one port.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scaleout REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python tools/scaleout.py [--port 8000] [--smoke]

It runs the Procfile's `release` (migrations, static files), imports a small course and a learner,
then starts `web` twice (each on its own port, WEB_CONCURRENCY gunicorn workers), `worker-db`,
`worker-cpu`, `worker-gpu` and `beat`, exactly as the Procfile writes them (through `sh -c`, as
honcho and foreman do), under the production settings. In front of the web processes sits a
round-robin TCP proxy (there is no nginx here); it passes bytes, so websockets go through it too.
It stays up until Ctrl-C; `--smoke` instead signs in through the port, submits, waits for the
verdict on the submission's websocket and for the database to record it, checks that both web
processes served requests, prints a summary and exits (non-zero on any failure).
"""

import argparse
import asyncio
import http.cookiejar
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "platform" / "Procfile"
WORKERS = ("worker-db", "worker-cpu", "worker-gpu")
LEARNER_EMAIL = "learner@scaleout.local"
COURSE, EXERCISE, FILE = "scaleout", "mean", "stats.py"
CORRECT = (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
    "def variance(xs):\n    mu = mean(xs)\n    return sum((x - mu) ** 2 for x in xs) / len(xs)\n"
)
MAKE_LEARNER = """
import os
from accounts.models import User
from courses.models import Course
from courses.services import membership_enroll
user, _ = User.objects.get_or_create(username="learner", defaults={"email": os.environ["SCALEOUT_EMAIL"]})
user.set_password(os.environ["SCALEOUT_PASSWORD"])
user.save()
membership_enroll(user=user, course=Course.objects.get(slug=os.environ["SCALEOUT_COURSE"]))
"""


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """`name: command` lines; blank lines and # comments skipped."""
    processes = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise SystemExit(f"{path}:{number}: expected `name: command`, got {line!r}")
        processes[name.strip()] = command.strip()
    return processes


def die_with_parent():
    """If this script is killed outright (SIGKILL), what it started goes too (PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """Round-robin TCP proxy on its own event loop thread. A connection goes to the next backend
    that accepts it; `served[i]` counts connections backend i answered with at least one byte."""

    def __init__(self, port: int, backends: list[int]):
        self.port, self.backends = port, backends
        self.served = [0] * len(backends)
        self.next = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    async def _pipe(self, reader, writer, counted=None):
        try:
            while data := await reader.read(65536):
                if counted is not None:
                    self.served[counted] += 1
                    counted = None
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer):
        for _ in self.backends:
            index = self.next
            self.next = (self.next + 1) % len(self.backends)
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backends[index])
                break
            except OSError:
                continue  # that backend is down or still starting: try the next one
        else:
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, up_writer), self._pipe(up_reader, client_writer, counted=index))

    def start(self):
        async def serve():
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.ready.set()

        threading.Thread(
            target=lambda: (self.loop.run_until_complete(serve()), self.loop.run_forever()), daemon=True
        ).start()
        if not self.ready.wait(10):
            raise SystemExit(f"the proxy could not listen on 127.0.0.1:{self.port}")

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)


class Platform:
    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: str, cwd: Path = ROOT, **extra):
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(
            ["sh", "-c", command],
            cwd=cwd,
            env={**self.env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches gunicorn's and celery's children
            preexec_fn=die_with_parent,
        )
        self.procs.append((name, proc))

    def check_alive(self):
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-20:]
                raise SystemExit(f"{name} exited with code {proc.returncode}:\n" + "\n".join(tail))

    @staticmethod
    def _main_pids(proc) -> list[int]:
        """The process `sh -c` started (dash does not exec it), else sh itself."""
        try:
            return [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()] or [
                proc.pid
            ]
        except OSError:
            return [proc.pid]

    def stop(self):
        # SIGTERM to the main process only: Celery then finishes the task it holds and gunicorn
        # its requests (a SIGTERM to the whole group would kill a task mid-transaction).
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                for pid in self._main_pids(proc):
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
        deadline = time.monotonic() + 30
        for _name, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
            except ProcessLookupError:
                pass
            proc.wait()


def run(command: str, env: dict, what: str):
    out = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{what} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def environment(args, var: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            # The production settings, so a missing variable stops start-up as it would in a deployment.
            "DJANGO_SETTINGS_MODULE": "config.settings.prod",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on 127.0.0.1: no TLS proxy in front to redirect to or to carry secure cookies.
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "FROMSCRATCH_VAR_DIR": str(var),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    # One machine: one gunicorn worker per web process and one job at a time per worker, unless set.
    for name in ("WEB_CONCURRENCY", "CPU_WORKER_CONCURRENCY", "DB_WORKER_CONCURRENCY"):
        env.setdefault(name, "1")
    return env


def prepare(env: dict, var: Path, password: str):
    """The release step, then a one-exercise course and a learner enrolled in it."""
    procfile = read_procfile()
    run(procfile["release"], env, "release (migrate, collectstatic)")
    folder = var / "course"
    if not folder.exists():
        run(f"python manage.py course new {COURSE} --dir {folder}", env, "course new")
    run(f"python manage.py course import {folder} --publish", env, "course import")
    extra = {"SCALEOUT_EMAIL": LEARNER_EMAIL, "SCALEOUT_PASSWORD": password, "SCALEOUT_COURSE": COURSE}
    run(f"python manage.py shell -c {shlex.quote(MAKE_LEARNER)}", {**env, **extra}, "creating the learner")


def wait_healthy(url: str, platform: Platform, timeout: float):
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        platform.check_alive()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except Exception as exc:  # not up yet: connection refused, 503 while no worker answers
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"{url}/healthz was not green within {timeout:.0f} s ({last})")


def stored_status(database_url: str, submission_id: int, timeout: float) -> str:
    """The submission's stored result status once the database side has committed it."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as connection:
        while True:
            status, result = connection.execute(
                "SELECT status, result->>'status' FROM grader_submission WHERE id = %s", [submission_id]
            ).fetchone()
            if status in ("graded", "error") or time.monotonic() > deadline:
                return result if status == "graded" else status
            time.sleep(0.2)


def smoke(url: str, password: str, database_url: str, timeout: float) -> dict:
    """A learner's Submit through the port: sign in, submit, the verdict live, then recorded."""
    from websockets.sync.client import connect

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(url + "/accounts/login/", timeout=30).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"login": LEARNER_EMAIL, "password": password, "csrfmiddlewaretoken": csrf})
    with opener.open(url + "/accounts/login/", data=form.encode(), timeout=30) as response:
        if not any(c.name == "sessionid" for c in jar):
            raise SystemExit(f"signing in failed (HTTP {response.status} at {response.url})")
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    started = time.monotonic()
    request = urllib.request.Request(
        f"{url}/courses/{COURSE}/exercises/{EXERCISE}/submit/",
        data=json.dumps({"kind": "submit", "files": {FILE: CORRECT}}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": url + "/"},
    )
    with opener.open(request, timeout=30) as response:
        body = json.loads(response.read())
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    ws_url = url.replace("http://", "ws://") + body["ws"]
    verdict = recorded = None
    with connect(ws_url, origin=url, additional_headers={"Cookie": cookies}, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "resume", "after": 0}))
        deadline = time.monotonic() + timeout
        while recorded is None and time.monotonic() < deadline:
            try:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            event = frame.get("event") or {}
            if event.get("type") == "result" and verdict is None:
                verdict = (event, time.monotonic() - started)
            elif event.get("type") in ("recorded", "result"):
                recorded = (event, time.monotonic() - started)
    if verdict is None:
        raise SystemExit(f"no verdict on {ws_url} within {timeout:.0f} s")
    if recorded is None:
        raise SystemExit(f"the verdict was shown but the database side never recorded it within {timeout:.0f} s")
    # "recorded" is sent from inside the recording transaction: wait for the row itself.
    stored = stored_status(database_url, body["id"], timeout)
    if stored != verdict[0].get("status"):
        raise SystemExit(f"the learner was shown {verdict[0].get('status')!r} but the database holds {stored!r}")
    return {
        "submission": body["id"],
        "status": verdict[0].get("status"),
        "score": f"{verdict[0].get('score')}/{verdict[0].get('max_score')}",
        "verdict_s": round(verdict[1], 2),
        "recorded_s": round(recorded[1], 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--var", default=None, help="where logs, static files and the course go (default: var/scaleout)"
    )
    parser.add_argument("--smoke", action="store_true", help="submit once through the port, check, print, exit")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for start-up and for the verdict")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "set DATABASE_URL (or --database-url) to a PostgreSQL database: production runs on nothing else"
        )
    if not args.redis_url:
        raise SystemExit("set REDIS_URL (or --redis-url), e.g. redis://127.0.0.1:6379/5")
    var = Path(args.var or ROOT / "var" / "scaleout").resolve()
    (var / "log").mkdir(parents=True, exist_ok=True)
    env = environment(args, var)
    password = secrets.token_urlsafe(16)
    procfile = read_procfile()
    missing = {"release", "web", "beat", *WORKERS} - procfile.keys()
    if missing:
        raise SystemExit(f"{PROCFILE} has no {', '.join(sorted(missing))} process")

    prepare(env, var, password)
    platform = Platform(env, var / "log")
    web_ports = [free_port(), free_port()]
    proxy = Proxy(args.port, web_ports)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for n, port in enumerate(web_ports, 1):
            platform.start(f"web{n}", procfile["web"], PORT=str(port))
        for name in WORKERS:
            platform.start(name, procfile[name])
        # beat writes its schedule file into the working directory: var's, not the checkout.
        platform.start("beat", procfile["beat"], cwd=var, PYTHONPATH=str(ROOT))
        proxy.start()
        url = f"http://127.0.0.1:{args.port}"
        wait_healthy(url, platform, args.timeout)
        print(f"up: {url} -> web on {web_ports}, workers {', '.join(WORKERS)}, beat; logs in {var / 'log'}", flush=True)
        if args.smoke:
            summary = smoke(url, password, args.database_url, args.timeout)
            platform.check_alive()
            summary["served_by_web"] = proxy.served
            print("smoke: " + json.dumps(summary), flush=True)
            if summary["status"] != "passed":
                raise SystemExit(f"the correct solution was graded {summary['status']!r}")
            if not all(proxy.served):
                raise SystemExit(f"only some web processes served requests: {proxy.served}")
            print("smoke: ok", flush=True)
            return
        print(f"sign in as {LEARNER_EMAIL} / {password}; Ctrl-C stops everything", flush=True)
        while True:
            platform.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping...", flush=True)
    finally:
        proxy.stop()
        platform.stop()


if __name__ == "__main__":
    main()
