"""Shared test fixtures. Real services throughout (README "Tests"):

- Redis: REDIS_URL when set (CI: 127.0.0.1:6379), else a private redis-server on a unix socket
  started here for the session;
- the database: DATABASE_URL when set (CI: PostgreSQL), else SQLite (a file, so other processes
  can open it);
- `celery_worker`: a real Celery worker process on every queue, against the test database;
- `asgi_server`: a real daphne serving the project (HTTP and websockets) against the test database.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services import Worker, die_with_parent, free_port, service_env

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
        preexec_fn=die_with_parent,
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


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit windows live in the cache (config/ratelimits.py): each test starts with none used."""
    from django.core.cache import caches

    caches["default"].clear()
    yield
