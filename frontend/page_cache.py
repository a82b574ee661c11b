"""Rendered lesson and exercise pages kept per learner, served while nothing they show has changed.

A page is stored with the stamps it was rendered under (courses/stamps.py: the learner's own, the
site's, and this release's templates and code) and served only while all three are the same, for
at most PAGE_CACHE_SECONDS and never past a date the page depends on (a release or due date, a
submission window that frees up). A hit costs what any signed-in page costs (the session and the
user) plus one cache round trip; the miss renders as before.

What differs per request is not kept: the CSP nonce and the CSRF token are stored as placeholders
and filled in fresh. Not cached: anything but a plain GET (a query string, htmx), a request with
flash messages to show, a response that sets cookies or is not a 200 page.

On a hit the view does not run, so what it writes on a read (where the member was last, for
"continue") is replayed here from what the page recorded.
"""

import hashlib
import logging
from datetime import datetime
from functools import wraps
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from courses import services as course_services
from courses import stamps

log = logging.getLogger(__name__)

NONCE = b"\x00fs-nonce\x00"
TOKEN = b"\x00fs-csrf\x00"
SEEN = "fs_seen"  # session: membership id -> [kind, slug, when] last written by a cached page


def cached_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.PAGE_CACHE_SECONDS or not _cacheable(request):
            return view(request, *args, **kwargs)
        user_key = stamps.user_key(request.user.pk)
        key = _key(request)
        try:
            got = stamps.cache().get_many([user_key, stamps.SITE_KEY, key])  # a hit: this one round trip
            entry = got.pop(key, None)
            if len(got) < 2:
                got = stamps.current([user_key, stamps.SITE_KEY])
        except Exception:  # the cache is down: render as if there were none
            log.warning("page cache unavailable", exc_info=True)
            return view(request, *args, **kwargs)
        now_stamps = (got[user_key], got[stamps.SITE_KEY], release())
        if entry and entry["stamps"] == now_stamps:
            return _serve(request, entry)
        response = view(request, *args, **kwargs)
        _store(request, response, key, now_stamps)
        response["X-Page-Cache"] = "miss"
        return response

    return wrapper


def _key(request) -> str:
    """Per user and path. The join time is in it because ids can come back (a database restored
    from a backup, a test database rolled back) while the cache remembers the old owner's pages."""
    user = request.user
    joined = user.date_joined.timestamp() if user.date_joined else 0
    return f"page:{user.pk}:{joined}:{hashlib.sha256(request.path.encode()).hexdigest()[:32]}"


def touch(request, membership, kind: str, slug: str) -> None:
    """The view's "the member opened this page" write, recorded so that a hit can replay it."""
    if membership is None:
        return
    last = (membership.last_kind, membership.last_slug, membership.last_seen_at)
    written = course_services.membership_touch(membership_id=membership.pk, kind=kind, slug=slug, last=last)
    request._page_touch = (membership.pk, kind, slug)
    _remember_touch(request, membership.pk, kind, slug, written or membership.last_seen_at)


def not_after(request, *whens) -> None:
    """The page changes by itself at these times (release and due dates, a window freeing up)."""
    now = timezone.now()
    for when in whens:
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        if when is not None and when > now:
            until = getattr(request, "_page_until", None)
            request._page_until = when if until is None else min(until, when)


def skip(request) -> None:
    """Do not keep this rendering (it shows something that changes by the second)."""
    request._page_skip = True


def csrf(request):
    """Context processor, replacing Django's for `csrf_token`: one token per request, so that the
    rendered page holds one known string to swap for a placeholder."""

    def token():
        if not hasattr(request, "_page_token"):
            request._page_token = get_token(request)
        return request._page_token

    return {"csrf_token": SimpleLazyObject(token)}


_release = None


def release() -> str:
    """This release's templates, static manifest and page code: a deploy never serves a page
    rendered by the code it replaced."""
    global _release
    if _release is None:
        digest = hashlib.sha256()
        root = Path(settings.BASE_DIR)
        files = []
        for app in apps.get_app_configs():  # the project's own apps: their templates and code
            folder = Path(app.path)
            if folder.is_relative_to(root) and ".venv" not in folder.parts:
                files += sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".html") and "tests" not in p.parts)
        files.append(Path(settings.STATIC_ROOT) / "staticfiles.json")  # hashed static names
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode())
                digest.update(path.read_bytes())
        _release = digest.hexdigest()[:16]
    return _release


def _cacheable(request) -> bool:
    if request.method != "GET" or request.META.get("QUERY_STRING") or request.headers.get("HX-Request"):
        return False
    return request.user.is_authenticated and not _has_messages(request)


def _has_messages(request) -> bool:
    """Flash messages are shown once, by a render: a page with some is neither served nor kept."""
    messages = getattr(request, "_messages", None)
    return messages is not None and len(messages) > 0


def _store(request, response, key, now_stamps) -> None:
    if (
        response.status_code != 200
        or response.streaming
        or response.cookies
        or getattr(request, "_page_skip", False)
        or not response.get("Content-Type", "").startswith("text/html")
        or _has_messages(request)  # the view may have added some
    ):
        return
    seconds = settings.PAGE_CACHE_SECONDS
    until = getattr(request, "_page_until", None)
    if until is not None:
        seconds = min(seconds, int((until - timezone.now()).total_seconds()))
    if seconds < 1:
        return
    body = response.content
    nonce = getattr(request, "csp_nonce", "")
    if nonce:
        body = body.replace(nonce.encode(), NONCE)
    if hasattr(request, "_page_token"):
        body = body.replace(request._page_token.encode(), TOKEN)
    entry = {
        "stamps": now_stamps,
        "body": body,
        "type": response["Content-Type"],
        "touch": getattr(request, "_page_touch", None),
    }
    try:
        stamps.cache().set(key, entry, seconds)
    except Exception:
        log.warning("could not keep a rendered page", exc_info=True)


def _serve(request, entry) -> HttpResponse:
    body = entry["body"]
    if NONCE in body:
        body = body.replace(NONCE, request.csp_nonce.encode())
    if TOKEN in body:
        body = body.replace(TOKEN, get_token(request).encode())
    if entry["touch"]:
        membership_id, kind, slug = entry["touch"]
        seen = request.session.get(SEEN, {}).get(str(membership_id))
        last = (seen[0], seen[1], datetime.fromisoformat(seen[2])) if seen else None
        written = course_services.membership_touch(membership_id=membership_id, kind=kind, slug=slug, last=last)
        if written:
            _remember_touch(request, membership_id, kind, slug, written)
    response = HttpResponse(body, content_type=entry["type"])
    response["X-Page-Cache"] = "hit"
    return response


def _remember_touch(request, membership_id, kind, slug, when) -> None:
    if when is None:
        return
    seen = request.session.get(SEEN, {})
    record = [kind, slug, when.isoformat()]
    if seen.get(str(membership_id)) != record:
        request.session[SEEN] = {**seen, str(membership_id): record}
