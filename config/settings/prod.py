"""Production: every required variable must be present and well formed, or start-up stops with
one line naming it (see config/env.py)."""

from config.env import ConfigError, channel_layer_hosts, database_config, env, redis_url, require
from config.settings.base import *  # noqa: F403
from config.settings.base import CHANNEL_LAYERS, GRADER_UNSAFE_LOCAL, redis_caches

DEBUG = False
DATABASES = {"default": database_config(require("DATABASE_URL", hint="postgres://user:password@host:5432/db"))}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ConfigError("DATABASE_URL is malformed: production runs on PostgreSQL (postgres://...)")
# A pool per process instead of persistent connections: under ASGI every request runs its sync
# code on a thread of its own, and a persistent connection stays with a thread that is never
# reused, so CONN_MAX_AGE leaked one PostgreSQL connection per concurrent request until the server
# refused new clients (bench/web.py at 50 connections: "sorry, too many clients already").
if env.bool("DJANGO_DB_POOL", default=True):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DJANGO_DB_POOL_MIN", default=2),
        "max_size": env.int("DJANGO_DB_POOL_MAX", default=10),
        "timeout": 10,
    }

REDIS_URL = redis_url(require("REDIS_URL", hint="redis://host:6379/0"))
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = channel_layer_hosts(REDIS_URL)
CELERY_BROKER_URL = REDIS_URL if not REDIS_URL.startswith("unix://") else "redis+socket://" + REDIS_URL[7:]
CACHES = redis_caches(REDIS_URL)

SECRET_KEY = require(
    "DJANGO_SECRET_KEY",
    hint="a long random string, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`",
)
if len(SECRET_KEY) < 32 or SECRET_KEY.startswith("dev-only"):
    raise ConfigError("DJANGO_SECRET_KEY is malformed: use at least 32 random characters")

ALLOWED_HOSTS = [
    h.strip()
    for h in require("DJANGO_ALLOWED_HOSTS", hint="comma-separated host names, e.g. learn.example.org").split(",")
    if h.strip()
]
if not ALLOWED_HOSTS or any(" " in h for h in ALLOWED_HOSTS):
    raise ConfigError("DJANGO_ALLOWED_HOSTS is malformed: give comma-separated host names")
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{h}" for h in ALLOWED_HOSTS if not h.startswith(".")]
)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER above).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=True)
# Probes (k8s readiness, compose healthcheck) and Prometheus's scrape of /metrics speak plain
# HTTP to the pod, past the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# A year, as hstspreload.org asks; set DJANGO_HSTS_SECONDS=0 while first trying TLS out.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# Preloading is a one-way door (leaving browsers' lists takes months) that binds every subdomain:
# an operator opts in. Until then `check --deploy`'s reminder (W021) is a choice, not a finding.
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
CSP_ENABLED = env.bool("DJANGO_CSP", default=True)
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Unsandboxed grading runs every learner's code with the worker's own rights: never for others.
if GRADER_UNSAFE_LOCAL:
    raise ConfigError(
        "GRADER_UNSAFE_LOCAL is set: production refuses to run learner code without the sandbox (unset it)"
    )
