"""`/metrics` (insights/metrics.py): for a Prometheus holding METRICS_TOKEN, or a superuser."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

from config.tokens import bearer_matches
from insights.metrics import CONTENT_TYPE, scrape

REFUSAL = "metrics need Authorization: Bearer <METRICS_TOKEN> or a superuser's session\n"


def _allowed(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_superuser:
        return True
    return bearer_matches(request, settings.METRICS_TOKEN)


@never_cache
def metrics(request):
    if not _allowed(request):
        return HttpResponse(REFUSAL, status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(scrape(), content_type=CONTENT_TYPE)
