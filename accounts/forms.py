"""/admin/login/ under the same sign-in limits as allauth's form (accounts/services.py)."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from accounts.services import LoginLimited, login_attempt_check, login_attempt_failed, login_attempt_succeeded


class LimitedAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        login = self.cleaned_data.get("username") or ""
        if not (login and self.cleaned_data.get("password")):
            return super().clean()
        try:
            login_attempt_check(request=self.request, login=login)
        except LoginLimited as limited:
            raise forms.ValidationError(limited.message, code="too_many_login_attempts") from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # A wrong password, or a right one for an account that may not use the admin.
            login_attempt_failed(request=self.request, login=login)
            raise
        login_attempt_succeeded(request=self.request, login=login)
        return cleaned
