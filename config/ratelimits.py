"""Every rate limit and concurrency cap of the platform, in one place.

Two kinds of limit live here:

- **windows**: at most `limit` hits per `window` seconds for one key (a login attempt per address,
  a submission per learner). Counted in Django's cache, which is Redis in production, so every
  web process shares the count; fixed windows, because they are one `incr` per hit and a burst of
  twice the limit across a window edge is harmless for what they guard.
- **caps**: at most N things in flight at once (a learner's queued and running submissions).
  Those are counted by whoever owns the things (the grader counts submissions in the database);
  this module only holds the numbers and words the message, so the UI can warn before the cap.

Course policies (#10) and staff overrides (#12) extend `POLICIES` / `CAPS` by name; nothing else
in the code base hard-codes a limit.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: int
    # Who is told, in words: "{what} ... try again in N s".
    what: str


# name -> default window. Settings can override one: RATE_LIMITS = {"login.address": (30, 300)}.
POLICIES: dict[str, Window] = {
    # Sign-in (allauth's form and /admin/login/): per address, and per account whatever the address.
    "login.address": Window(20, 300, "sign-in attempts from this address"),
    "login.account": Window(10, 300, "sign-in attempts for this account"),
    # A loop that submits as fast as it can must not fill the queues for everyone else.
    "submission.user": Window(30, 60, "submissions"),
    "tutor.leak_check": Window(60, 60, "tutor code checks"),
    # Each personal API token: a script in a loop slows itself down, not the site.
    "api.token": Window(120, 60, "API requests with this token"),
}

# name -> default cap. Settings can override one: RATE_CAPS = {"submission.active": 5}.
CAPS: dict[str, int] = {
    # Submissions (Run or Submit) one learner may have queued or running at once, across courses.
    "submission.active": 3,
    # GPU submissions one learner may have queued or running at once: a GPU worker is scarce.
    "submission.active_gpu": 1,
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    used: int
    limit: int
    retry_after: int  # seconds until the window resets (0 when allowed)
    message: str = ""


def window(name: str) -> Window:
    base = POLICIES[name]
    override = (getattr(settings, "RATE_LIMITS", None) or {}).get(name)
    if override:
        return Window(int(override[0]), int(override[1]), base.what)
    return base


def cap(name: str) -> int:
    override = (getattr(settings, "RATE_CAPS", None) or {}).get(name)
    return int(override) if override is not None else CAPS[name]


def _cache_key(name: str, key: str, start: int) -> str:
    # Keys can be e-mail addresses or IPs: hash them so nothing personal sits in Redis keys.
    digest = hashlib.sha256(f"{name}\0{key}".encode()).hexdigest()[:32]
    return f"rl:{name}:{digest}:{start}"


def _window_start(w: Window, now: float) -> int:
    return int(now // w.seconds) * w.seconds


def hit(name: str, key: str, *, now: float | None = None) -> Decision:
    """Count one hit against `name` for `key`; allowed while the count stays within the limit."""
    w = window(name)
    now = time.time() if now is None else now
    start = _window_start(w, now)
    used = _count(caches["default"], _cache_key(name, str(key), start), ttl=w.seconds + 5)
    if used <= w.limit:
        return Decision(True, used, w.limit, 0)
    return _refused(w, used, start, now)


def _count(cache, ck: str, *, ttl: int) -> int:
    """Add one to a window's count and return it. On Redis that is one round trip (INCR and
    EXPIRE in a pipeline): Django's add()-then-incr() takes three (incr checks EXISTS first)
    and sits on every Submit's path."""
    if isinstance(cache, RedisCache):
        key = cache.make_and_validate_key(ck)
        # `_cache` is Django's own client wrapper; the key and the integer encoding are Django's,
        # so get() and peek() read the same count back.
        pipe = cache._cache.get_client(key, write=True).pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl)
        used, _ = pipe.execute()
        return int(used)
    # add() is atomic and only sets a missing key; incr() is atomic.
    if cache.add(ck, 1, timeout=ttl):
        return 1
    try:
        return cache.incr(ck)
    except ValueError:  # expired between add() and incr()
        cache.add(ck, 1, timeout=ttl)
        return 1


def check(name: str, key: str, *, now: float | None = None) -> Decision:
    """Would one more hit be allowed? Records nothing: for limits that count only failures (a
    sign-in is checked before the password, and counted only when the password was wrong)."""
    w = window(name)
    now = time.time() if now is None else now
    used = peek(name, key, now=now)
    if used < w.limit:
        return Decision(True, used, w.limit, 0)
    return _refused(w, used, _window_start(w, now), now)


def _refused(w: Window, used: int, start: int, now: float) -> Decision:
    retry = max(1, int(start + w.seconds - now))
    return Decision(
        False,
        used,
        w.limit,
        retry,
        f"Too many {w.what}: at most {w.limit} every {_span(w.seconds)}. Try again in {_span(retry)}.",
    )


def peek(name: str, key: str, *, now: float | None = None) -> int:
    """Hits counted so far in the current window (no hit recorded)."""
    w = window(name)
    now = time.time() if now is None else now
    return int(caches["default"].get(_cache_key(name, str(key), _window_start(w, now))) or 0)


def reset(name: str, key: str, *, now: float | None = None) -> None:
    """Forget the current window's hits (a successful sign-in clears the failures before it)."""
    w = window(name)
    now = time.time() if now is None else now
    caches["default"].delete(_cache_key(name, str(key), _window_start(w, now)))


def cap_message(name: str, *, active: int) -> str:
    """The learner's words when a cap stops them (or, with active == cap - 1, warns them)."""
    limit = cap(name)
    if name == "submission.active_gpu":
        return (
            f"You already have {active} GPU submission{'s' if active != 1 else ''} waiting or running "
            f"(at most {limit} at a time). It will finish soon; then submit again."
        )
    return (
        f"You already have {active} submission{'s' if active != 1 else ''} waiting or running "
        f"(at most {limit} at a time). Wait for one to finish, then try again."
    )


def _span(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    return f"{round(seconds / 60)} minutes"
