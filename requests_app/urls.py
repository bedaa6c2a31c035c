from __future__ import annotations

from django.urls import path

from requests_app import converters
from requests_app.public import views

__all__ = ["converters", "urlpatterns"]


urlpatterns = [
    path("", views.intake_form, name="intake"),
    path("submitted/", views.submitted, name="submitted"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("status/<str:token>/", views.status_page, name="status"),
    path(
        "status/<str:token>/<slug:act>/",
        views.status_page,
        name="status-act",
    ),
    path("recipients/confirm/<str:token>/", views.notice_confirm, name="notice-confirm"),
]
