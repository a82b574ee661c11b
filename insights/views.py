"""`/metrics` (insights/metrics.py): for a Prometheus holding METRICS_TOKEN, or a superuser."""

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from insights.metrics import CONTENT_TYPE, scrape

REFUSAL = "metrics need Authorization: Bearer <METRICS_TOKEN> or a superuser's session\n"


def _allowed(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_superuser:
        return True
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # An empty METRICS_TOKEN turns token access off; it never means "an empty bearer will do".
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
def metrics(request):
    if not _allowed(request):
        return HttpResponse(REFUSAL, status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(scrape(), content_type=CONTENT_TYPE)
