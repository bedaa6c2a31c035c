from __future__ import annotations

from django.urls import path

from exports_app import certificate_views, views

urlpatterns = [
    path("downloads/<str:token>/", views.download_page, name="download"),
    path("downloads/<str:token>/<slug:format_>/", views.download_file, name="download-file"),
    path("status/<str:token>/files/<slug:format_>/", views.portal_file, name="portal-file"),
    path(
        "certificates/verify/",
        certificate_views.certificate_verify,
        name="certificate-verify",
    ),
    path(
        ".well-known/smarct-dsar-keys.json",
        certificate_views.signing_keys,
        name="signing-keys",
    ),
]
