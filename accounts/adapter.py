"""allauth's hooks, pointed at our sign-in limits (accounts/services.py) so the login form and
/admin/login/ share one count and one message."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms

from accounts.services import (
    LoginLimited,
    client_address,
    login_attempt_check,
    login_attempt_failed,
    login_attempt_succeeded,
)


def _login(credentials) -> str:
    return credentials.get("email") or credentials.get("username") or ""


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request, **credentials):
        # Replaces allauth's own "login_failed" limit (switched off in settings): ours, before
        # the password is checked.
        try:
            login_attempt_check(request=request, login=_login(credentials))
        except LoginLimited as limited:
            raise forms.ValidationError(limited.message, code="too_many_login_attempts") from None

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None:
            login_attempt_succeeded(request=request, login=_login(credentials))
        return user

    def authentication_failed(self, request, **credentials):
        login_attempt_failed(request=request, login=_login(credentials))

    def get_client_ip(self, request):
        # allauth's other limits (sign-up, password reset) see the same address as ours.
        return client_address(request)
