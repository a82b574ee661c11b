"""Sign-in limits, shared by allauth's login form and /admin/login/ (windows "login.address" and
"login.account" in config/ratelimits.py).

Only failed attempts count, so a learner who signs in often is never limited. A sign-in is
checked *before* its password is: once a window is full, no password is tried at all, so a
guesser learns nothing more until the window ends. The account key is the account itself when the
login names one (email and username then share a count), else the lowercased login, so guessing
through both spellings gives no extra tries.
"""

from dataclasses import dataclass

from django.conf import settings

from accounts.selectors import user_find_by_login
from config import ratelimits


@dataclass
class LoginLimited(Exception):
    message: str
    retry_after: int


def client_address(request) -> str:
    """REMOTE_ADDR, or the first entry of the header named by CLIENT_IP_HEADER when set. Set it
    only behind a proxy that writes that header itself, replacing what the client sent:
    otherwise anyone can claim any address."""
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.headers.get(header, "").split(",")[0].strip()
        if value:
            return value
    return request.META.get("REMOTE_ADDR") or "unknown"


def _account_key(login: str) -> str:
    user = user_find_by_login(login=login)
    return f"user:{user.pk}" if user else f"login:{(login or '').strip().lower()}"


def _keys(request, login):
    return (("login.address", client_address(request)), ("login.account", _account_key(login)))


def login_attempt_check(*, request, login: str) -> None:
    """Raise LoginLimited when either window is full; call before checking the password."""
    for name, key in _keys(request, login):
        decision = ratelimits.check(name, key)
        if not decision.allowed:
            raise LoginLimited(decision.message, decision.retry_after)


def login_attempt_failed(*, request, login: str) -> None:
    for name, key in _keys(request, login):
        ratelimits.hit(name, key)


def login_attempt_succeeded(*, request, login: str) -> None:
    """The account's failures are forgotten; the address's are not, or a guesser with one
    account of their own could sign into it between guesses to reset the count."""
    ratelimits.reset("login.account", _account_key(login))
