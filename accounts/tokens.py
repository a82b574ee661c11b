"""Personal API tokens: create, revoke, and check one. A token reads `fs_<prefix>_<secret>`; the
prefix finds the row, the secret is compared by hash in constant time."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiToken

SCOPES = ApiToken.Scope.values
MAX_TOKENS = 20  # per user: enough for every machine and notebook, not a way to hoard


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str, scopes: list[str], days: int | None = 90) -> tuple[ApiToken, str]:
    """A new token and its full text, which is shown once and never stored."""
    name = " ".join((name or "").split())[:80]
    if not name:
        raise ValueError("give the token a name (where you will use it: “laptop”, “colab”)")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}")
    if days is not None and not 1 <= days <= 366:
        raise ValueError("a token lives between 1 and 366 days (or does not expire)")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS:
        raise ValueError(f"you have {MAX_TOKENS} active tokens: revoke one first")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return token, f"fs_{prefix}_{secret}"


def token_revoke(*, user, token_id: int) -> bool:
    return bool(
        ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


@dataclass(frozen=True)
class Checked:
    token: ApiToken | None
    reason: str  # why it was refused, one line, for the client


def token_check(raw: str, *, now=None) -> Checked:
    now = now or timezone.now()
    parts = (raw or "").strip().split("_")
    if len(parts) < 3 or parts[0] != "fs":
        return Checked(None, "not a From Scratch token (they start with fs_)")
    prefix, secret = parts[1], "_".join(parts[2:])
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return Checked(None, "unknown token: create one in your settings (Account → API tokens)")
    if token.revoked_at is not None:
        return Checked(None, f"token “{token.name}” was revoked on {token.revoked_at:%Y-%m-%d}")
    if token.expires_at is not None and token.expires_at <= now:
        return Checked(None, f"token “{token.name}” expired on {token.expires_at:%Y-%m-%d}")
    if not token.user.is_active:
        return Checked(None, "this account is disabled")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most a write a minute
    return Checked(token, "")
