"""One place that reads the environment.

Production start-up must stop with a single line naming the variable that is missing or wrong,
not a traceback: `ConfigError` is a `SystemExit`, so whichever process imports the settings
(manage.py, the ASGI server, a Celery worker) exits with just that line.
"""

from urllib.parse import urlparse

import environ

env = environ.Env()


class ConfigError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"configuration error: {message}")


def require(name: str, *, hint: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ConfigError(f"{name} is not set ({hint})")
    return value


def database_config(url: str, *, name: str = "DATABASE_URL") -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigError(f"{name} is malformed: expected postgres://user@host:5432/db, got scheme {parsed.scheme!r}")
    if parsed.scheme != "sqlite" and not (parsed.hostname and parsed.path.strip("/")):
        raise ConfigError(f"{name} is malformed: it needs a host and a database name")
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ConfigError(f"{name} is malformed: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        from pathlib import Path

        if config["NAME"] and config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # The embedded default has a web process and a worker writing one file: WAL lets readers
        # proceed during a write, IMMEDIATE transactions take the write lock up front instead of
        # failing with "database is locked" on upgrade, and the timeout waits out the other writer.
        config["OPTIONS"] = {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Connections are reused across requests; health checks drop the ones a restart broke.
        config["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def redis_url(url: str, *, name: str = "REDIS_URL") -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name} is malformed: expected redis://host:6379/0 or unix:///path/redis.sock")
    if parsed.scheme == "unix" and not parsed.path:
        raise ConfigError(f"{name} is malformed: a unix:// URL needs the socket's path")
    if parsed.scheme != "unix" and not parsed.hostname:
        raise ConfigError(f"{name} is malformed: it has no host")
    return url


def channel_layer_hosts(url: str) -> list[dict]:
    """channels-redis waits on BZPOPMIN for 5 s at a time; redis-py 8 also gives every socket a
    5 s read timeout by default, so an idle socket could time out just before Redis answers and
    kill the consumer. The read timeout must stay above the blocking wait."""
    return [{"address": url, "socket_timeout": 15, "socket_connect_timeout": 5}]


def celery_broker_url(url: str) -> str:
    """Kombu spells a unix-socket Redis `redis+socket://`; redis-py and channels-redis spell it `unix://`."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://") :]
    return url


def _known(key: str, known, name: str) -> str:
    if key not in known:
        raise ConfigError(f"{name} names {key!r}, which is not a limit (known: {', '.join(sorted(known))})")
    return key


def rate_limit_overrides(text: str, *, known, name: str = "RATE_LIMITS") -> dict[str, tuple[int, int]]:
    """`submission.user=100/60,login.address=30/300` -> {name: (limit, seconds)}: windows of
    config/ratelimits.py an operator (or a benchmark that submits in a loop) sets differently."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        limit, _, seconds = value.partition("/")
        if not (key.strip() and limit.strip().isdigit() and seconds.strip().isdigit() and int(seconds) > 0):
            raise ConfigError(f"{name} is malformed at {part!r}: write name=limit/seconds, e.g. submission.user=30/60")
        out[_known(key.strip(), known, name)] = (int(limit), int(seconds))
    return out


def rate_cap_overrides(text: str, *, known, name: str = "RATE_CAPS") -> dict[str, int]:
    """`submission.active=5,submission.active_gpu=2` -> {name: cap}."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if not (key.strip() and value.strip().isdigit()):
            raise ConfigError(f"{name} is malformed at {part!r}: write name=N, e.g. submission.active=3")
        out[_known(key.strip(), known, name)] = int(value)
    return out
