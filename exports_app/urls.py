from __future__ import annotations

from django.urls import path

from exports_app import views

urlpatterns = [
    path("downloads/<str:token>/", views.download_page, name="download"),
    path("downloads/<str:token>/<slug:format_>/", views.download_file, name="download-file"),
    path("status/<str:token>/files/<slug:format_>/", views.portal_file, name="portal-file"),
]
