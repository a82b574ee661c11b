"""`/healthz`: is the database reachable, Redis answering, and at least one Celery worker alive?

200 only when all three are up, so a load balancer or `make run` can wait on it. Anonymous
callers learn only "ok" or "degraded": the per-check details name the database vendor, worker
host names and exception texts, which help an attacker more than a load balancer. Staff, and
monitors holding `HEALTHZ_TOKEN` (`Authorization: Bearer <token>`), get the details.

The worker ping is a broadcast on the broker that every worker answers; its outcome is cached
for `HEALTHZ_PING_SECONDS`, so a flood of /healthz requests costs the broker one ping per window.
"""

import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.tokens import bearer_matches

PING_KEY = "healthz:worker"  # the last ping's check, fresh for HEALTHZ_PING_SECONDS
LAST_KEY = "healthz:worker:last"  # the same, kept longer, for callers that lose the race below
LOCK_KEY = "healthz:worker:lock"


def _check(fn):
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a health probe reports every failure, whatever its type
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _redis():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
        return "pong"
    finally:
        client.close()


def _workers():
    from config.celery import app

    replies = app.control.ping(timeout=1.0, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 1 s")
    return sorted(name for reply in replies for name in reply)


def _cache_call(fn, *args, **kwargs):
    # The cache is Redis in production: when it is down the check must still answer, uncached.
    try:
        return fn(*args, **kwargs)
    except Exception:  # any cache backend error means "no cache", never a failed probe
        return None


def _worker_check():
    seconds = settings.HEALTHZ_PING_SECONDS
    cached = _cache_call(cache.get, PING_KEY)
    if cached is not None:
        return {**cached, "cached": True}
    # One caller per window pings; the others report the previous ping rather than pile on.
    if not _cache_call(cache.add, LOCK_KEY, 1, timeout=seconds):
        last = _cache_call(cache.get, LAST_KEY)
        if last is not None:
            return {**last, "cached": True}
    check = _check(_workers)
    _cache_call(cache.set, PING_KEY, check, timeout=seconds)
    _cache_call(cache.set, LAST_KEY, check, timeout=seconds * 10)
    return {**check, "cached": False}


def _may_see_details(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return bearer_matches(request, settings.HEALTHZ_TOKEN)


@never_cache
def healthz(request):
    checks = {"database": _check(_database), "redis": _check(_redis)}
    # Without Redis a worker ping can only time out; say so rather than wait.
    checks["worker"] = _worker_check() if checks["redis"]["ok"] else {"ok": False, "detail": "redis is down", "ms": 0}
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "degraded"}
    if _may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if healthy else 503)
