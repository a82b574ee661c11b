"""Reads for sign-in."""

from django.db.models import Q

from accounts.models import User


def user_find_by_login(*, login: str) -> User | None:
    """The account a sign-in names, by email or username, case-insensitively (None if none)."""
    login = (login or "").strip()
    if not login:
        return None
    return User.objects.filter(Q(email__iexact=login) | Q(username__iexact=login)).order_by("pk").first()
