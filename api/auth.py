"""Bearer tokens for the API (accounts/tokens.py), with the reason a token was refused and a
per-token rate window."""

from ninja.security import HttpBearer

from accounts.tokens import token_check
from config import ratelimits


class Refused(Exception):
    def __init__(self, status: int, detail: str, retry_after: int = 0):
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        checked = token_check(token)
        if checked.token is None:
            raise Refused(401, checked.reason)
        decision = ratelimits.hit("api.token", str(checked.token.pk))
        if not decision.allowed:
            raise Refused(429, decision.message, decision.retry_after)
        # The selectors' permission gates take request.user: the token's owner, nobody else.
        request.user = checked.token.user
        return checked.token


def need(request, scope: str) -> None:
    if scope not in request.auth.scopes:
        raise Refused(403, f"this token lacks the “{scope}” scope; create one with it in your settings")
