"""A learner's personal API tokens: create (the token is shown once), list, revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import ApiToken
from accounts.tokens import SCOPES, token_create, token_revoke


@login_required
def tokens(request, created=None):
    return render(
        request,
        "frontend/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user),
            "scopes": SCOPES,
            "created": created,
            "base_url": request.build_absolute_uri("/").rstrip("/"),
        },
    )


@login_required
@require_POST
def token_new(request):
    days = request.POST.get("days", "90")
    try:
        if days != "never" and not days.isdigit():
            raise ValueError("expires: choose a number of days or never")
        _token, text = token_create(
            user=request.user,
            name=request.POST.get("name", ""),
            scopes=request.POST.getlist("scopes"),
            days=None if days == "never" else int(days),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("api_tokens")
    # Shown once, in this response: the clear text is never stored, not even in the session.
    return tokens(request, created=text)


@login_required
@require_POST
def token_delete(request, token_id):
    if token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked: anything using it now gets a 401.")
    else:
        messages.error(request, "No such active token.")
    return redirect("api_tokens")
