"""Shared test fixtures. Real services throughout (README "Tests"):

- Redis: REDIS_URL when set (CI: 127.0.0.1:6379), else a private redis-server on a unix socket
  started here for the session;
- the database: DATABASE_URL when set (CI: PostgreSQL), else SQLite (a file, so other processes
  can open it);
- `celery_worker`: a real Celery worker process on every queue, against the test database;
- `asgi_server`: a real daphne serving the project (HTTP and websockets) against the test database.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
pytest_plugins = ["tests.fixtures"]


def pytest_configure(config):
    from django.conf import settings

    url = settings.REDIS_URL
    if url.startswith("unix://"):
        from tools import redis_server

        sock = Path(url[len("unix://") :])
        if not redis_server.ping(sock):
            proc = redis_server.start(sock, sock.parent.parent / "log" / "redis-test.log")
            config._fs_redis = proc


def pytest_unconfigure(config):
    proc = getattr(config, "_fs_redis", None)
    if proc is not None:
        from tools import redis_server

        redis_server.stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """A URL for the database the test session uses (what other processes must open)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def service_env(**extra) -> dict:
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "FROMSCRATCH_KEY_PREFIX": settings.KEY_PREFIX,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Worker:
    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = None

    def start(self, **env):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
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
                "INFO",
                "-n",
                f"test{os.getpid()}-{time.time_ns()}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=service_env(GRADER_WARM_POOL="1", GPU_RUNNER_WARM=env.pop("warm", "py,torch"), **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout=60):
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited ({self.proc.returncode}); see {self.log_path}")
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"celery worker did not answer within {timeout}s; see {self.log_path}")

    def stop(self):
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def kill9(self):
        import signal

        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real worker consuming every queue, on the test database (use with transactional_db)."""
    worker = Worker(tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, tmp_path_factory):
    """A real daphne serving HTTP and websockets on a free port (use with transactional_db)."""
    import urllib.request

    port = free_port()
    log = open(tmp_path_factory.mktemp("asgi") / "daphne.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=service_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/accounts/login/", timeout=2)
            break
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError("daphne exited during start-up") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)
