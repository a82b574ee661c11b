"""tools/scaleout.py --smoke: the Procfile's processes under the production settings (two web
processes, the database-side, CPU and GPU workers, beat) behind one port, on a throwaway
PostgreSQL database and a private Redis database: a learner signs in, submits through the port,
sees the verdict on the websocket, the database records it, and both web processes served."""

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis

from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.worker, pytest.mark.sandbox, pytest.mark.slow, pytest.mark.timeout(600)]


def postgres_server() -> str:
    """The PostgreSQL server the tests use (DATABASE_URL), else the local default."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = os.environ.get("SCALEOUT_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return url


def private_redis(url: str, db: int) -> str:
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    parsed = urlparse(url)
    return parsed._replace(path=f"/{db}").geturl()


@pytest.fixture
def throwaway_database():
    import psycopg

    server = urlparse(postgres_server())
    admin = server._replace(path="/postgres").geturl()
    name = f"scaleout_{secrets.token_hex(4)}"
    try:
        connection = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {server.hostname}:{server.port} ({exc}); set SCALEOUT_POSTGRES_URL")
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield server._replace(path=f"/{name}").geturl()
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_smoke_through_one_port_with_two_web_processes_and_three_workers(throwaway_database, settings, tmp_path):
    import psycopg

    prefix = f"scaleout{secrets.token_hex(3)}:"
    redis_url = private_redis(settings.REDIS_URL, int(os.environ.get("SCALEOUT_REDIS_DB", "15")))
    env = {**os.environ, "FROMSCRATCH_KEY_PREFIX": prefix}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the tool runs the production settings itself
    command = [sys.executable, "tools/scaleout.py", "--smoke", "--port", str(free_port()), "--timeout", "240"]
    command += ["--database-url", throwaway_database, "--redis-url", redis_url, "--var", str(tmp_path / "var")]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=540)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the tool stops everything it started on SIGTERM
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"scaleout --smoke did not finish:\n{output[-3000:]}")
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    assert proc.returncode == 0, output[-3000:]
    summary = json.loads(next(line for line in output.splitlines() if line.startswith("smoke: {"))[len("smoke: ") :])
    score, max_score = map(float, summary["score"].split("/"))
    assert summary["status"] == "passed" and score == max_score > 0, summary
    served = summary["served_by_web"]
    assert len(served) == 2 and all(n > 0 for n in served), served
    # The database side recorded it: independent of what the browser was shown.
    with psycopg.connect(throwaway_database) as connection:
        rows = connection.execute("SELECT status, passed, queue FROM grader_submission").fetchall()
    assert rows == [("graded", True, "grade.cpu")]
