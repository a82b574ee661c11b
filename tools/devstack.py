"""`make run`: the whole platform on one machine, embedded defaults (README "make run").

Starts, in order: a private Redis (unless REDIS_URL is set), migrations, demo accounts and the
flagship course, a Celery worker on every queue (with the reaper's beat), and the ASGI server.
Prints the URL and demo accounts once /healthz is green. Ctrl-C stops everything it started.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import redis_server  # noqa: E402

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def say(message):
    print(f"\033[1m[make run]\033[0m {message}", flush=True)


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def pump(proc: subprocess.Popen, prefix: str):
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.write(f"{prefix} {line.decode('utf-8', 'replace')}")
        sys.stdout.flush()


class Stack:
    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.redis = None

    def start(self, name, args, env):
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        threading.Thread(target=pump, args=(proc, f"[{name}]"), daemon=True).start()
        self.procs.append((name, proc))
        return proc

    def stop(self):
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for _name, proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.redis is not None:
            redis_server.stop(self.redis)


def manage(env, *args, check=True):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=check)


def wait_healthy(url, stack, timeout=180):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for name, proc in stack.procs:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with code {proc.returncode} during start-up (see its output above)")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = str(exc)
        time.sleep(1)
    raise SystemExit(f"the platform did not become healthy within {timeout} s ({last}); see the output above")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    host, port = args.host, args.port

    if not port_free(host, port):
        raise SystemExit(
            f"port {port} on {host} is already in use: stop whatever uses it, or pick another with `make run PORT={port + 1}`"
        )

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    var = Path(env.get("FROMSCRATCH_VAR_DIR", ROOT / "var"))
    (var / "log").mkdir(parents=True, exist_ok=True)
    env["FROMSCRATCH_VAR_DIR"] = str(var)
    if host not in LOCAL_HOSTS:
        env.setdefault("DJANGO_ALLOWED_HOSTS", f"{host},127.0.0.1,localhost")

    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if not env.get("REDIS_URL"):
            socket_path = var / "run" / "redis.sock"
            if redis_server.ping(socket_path):
                say(f"reusing the Redis already answering on {socket_path}")
            else:
                stack.redis = redis_server.start(socket_path, var / "log" / "redis.log")
                say(f"started Redis ({redis_server.redis_binary()}) on {socket_path}")
            env["REDIS_URL"] = f"unix://{socket_path}"

        sandbox_ok, why = sandbox_check(env)
        if sandbox_ok:
            say(f"sandbox: {why}")
        elif host in LOCAL_HOSTS and not env.get("GRADER_UNSAFE_LOCAL"):
            env["GRADER_UNSAFE_LOCAL"] = "1"
            say(f"\033[31mWARNING: the sandbox cannot run here ({why}).\033[0m")
            say(
                "\033[31mGRADER_UNSAFE_LOCAL=1: submitted code runs WITHOUT isolation. This is only acceptable because the"
            )
            say("server listens on 127.0.0.1 alone, for one learner's own code on their own machine.\033[0m")
        elif not env.get("GRADER_UNSAFE_LOCAL"):
            raise SystemExit(
                f"the sandbox cannot run here ({why}) and HOST={host} is not local: refusing to grade untrusted code"
            )

        say("migrating the database...")
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "demo_data")

        workers = env.get("WORKER_CONCURRENCY", "2")
        stack.start(
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
                workers,
                "-B",
                "-s",
                str(var / "run" / "celerybeat-schedule"),
                "--loglevel",
                "INFO",
                "-n",
                f"local@{socket.gethostname()}",
            ],
            env,
        )
        stack.start(
            "web", [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "config.asgi:application"], env
        )
        url = f"http://{host}:{port}"
        wait_healthy(f"{url}/healthz", stack)
        print()
        say(f"\033[32mFrom Scratch is running at {url}\033[0m  (health: {url}/healthz)")
        say("demo accounts (email / password):")
        for line in DEMO_LINES:
            say(f"  {line}")
        say("Ctrl-C stops everything.")
        print(flush=True)
        while True:
            for name, proc in stack.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} stopped unexpectedly (code {proc.returncode}); shutting down")
            time.sleep(1)
    except KeyboardInterrupt:
        print()
        say("stopping...")
    finally:
        stack.stop()
        say("stopped.")


DEMO_LINES = [
    "student     student@fromscratch.local     learn-from-scratch",
    "ta          ta@fromscratch.local          learn-from-scratch",
    "instructor  instructor@fromscratch.local  learn-from-scratch",
    "admin       admin@fromscratch.local       learn-from-scratch   (site admin: /admin/)",
]


def sandbox_check(env):
    code = (
        "import django, json; django.setup();"
        "from gpu_runner import runtime; from gpu_runner.sandbox.diagnose import sandbox_status;"
        "print(json.dumps(sandbox_status(runtime.sandbox_config())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "GRADER_UNSAFE_LOCAL": ""}, capture_output=True, text=True
    )
    if out.returncode != 0:
        return False, (out.stderr.strip().splitlines() or ["the sandbox check failed"])[-1]
    import json

    ok, why = json.loads(out.stdout.strip().splitlines()[-1])
    return ok, why


if __name__ == "__main__":
    main()
