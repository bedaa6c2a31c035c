from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from requests_app.health import healthz

urlpatterns = [
    path("", include("requests_app.urls")),
    path("", include("exports_app.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("api/v1/", include("requests_app.api.urls")),
    path("api/v1/", include("exports_app.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("staff/", include("requests_app.dashboard.urls")),
    path("healthz", healthz, name="healthz"),
]

if settings.DSAR_ADMIN_ENABLED:
    urlpatterns.append(path("admin/", admin.site.urls))

if settings.DEMO_MODE:
    urlpatterns.append(path("demo/", include("smarct_dsar.demo_urls")))

handler403 = "smarct_dsar.errors.permission_denied"
handler404 = "smarct_dsar.errors.not_found"
handler500 = "smarct_dsar.errors.server_error"
