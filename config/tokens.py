"""Bearer tokens for machine callers of operator endpoints (/healthz details, /metrics)."""

import hmac


def bearer_matches(request, token: str) -> bool:
    """True when the request carries `Authorization: Bearer <token>`. An empty token turns token
    access off; it never means "an empty bearer will do"."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
