"""`/healthz`: is the database reachable, Redis answering, and at least one Celery worker alive?

200 only when all three are up, so a load balancer or `make run` can wait on it.
"""

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


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


@never_cache
def healthz(request):
    checks = {"database": _check(_database), "redis": _check(_redis)}
    # Without Redis a worker ping can only time out; say so rather than wait.
    checks["worker"] = _check(_workers) if checks["redis"]["ok"] else {"ok": False, "detail": "redis is down", "ms": 0}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
