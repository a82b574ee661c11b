from django.contrib import admin
from django.urls import include, path

from api import v1
from config import health
from insights.views import metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", v1.api.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("frontend.urls")),
]

handler403 = "frontend.views.errors.forbidden"
handler404 = "frontend.views.errors.not_found"
handler500 = "frontend.views.errors.server_error"
