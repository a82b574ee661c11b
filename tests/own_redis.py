"""A private redis-server on a TCP port of its own, and the test process pointed at it: for tests
that restart or break Redis without touching the one every other test (and person) shares.

Like a production Redis without AOF it keeps nothing on disk, so `restart()` loses whatever was in
it (queued Celery messages, event logs), which is the fault such a test is about."""

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from kombu import pools

from tests.services import die_with_parent, free_port
from tools.redis_server import redis_binary


class RedisServer:
    def __init__(self, workdir: Path):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self, timeout: float = 20) -> "RedisServer":
        args = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.dir), "--loglevel", "warning"]
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}); see {self.dir / 'redis.log'}")
            try:
                if self.client().ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    def kill9(self) -> None:
        """A crash: no shutdown, nothing saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def restart(self) -> None:
        """Crash and come back empty on the same port (clients reconnect to the same URL)."""
        self.kill9()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


def _repoint_clients(broker_url: str) -> None:
    """Drop this process's cached Redis connections so the next use opens `broker_url`'s server:
    Celery's broker pools (built once from the settings) and the event log's clients."""
    from config.celery import app
    from gpu_runner import events

    app.conf.broker_url = broker_url
    # Kombu keeps its pools in a registry keyed by connection: closing one would leave a closed
    # pool to be handed out again for the same URL later, so reset the registry itself.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    events._sync_client = None
    # The next event starts a publisher on the new URL. The old one is left idle rather than
    # stopped: stopping its loop under a pending read only trades it for "Task was destroyed".
    events._publisher = None


@contextmanager
def pointed_at(url: str):
    """This process uses the Redis at `url` (settings, Celery, channel layer, event log) until the
    block ends; worker processes started inside it get `url` too (tests.services.service_env)."""
    from django.conf import settings
    from django.test import override_settings

    from config.env import celery_broker_url, channel_layer_hosts

    layers = {"default": {**settings.CHANNEL_LAYERS["default"]}}
    layers["default"]["CONFIG"] = {**layers["default"]["CONFIG"], "hosts": channel_layer_hosts(url)}
    before = settings.CELERY_BROKER_URL
    # override_settings tells Channels (setting_changed), which drops its cached layer.
    with override_settings(REDIS_URL=url, CELERY_BROKER_URL=celery_broker_url(url), CHANNEL_LAYERS=layers):
        _repoint_clients(celery_broker_url(url))
        try:
            yield
        finally:
            _repoint_clients(before)
