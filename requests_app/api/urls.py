from __future__ import annotations

from django.urls import path

from requests_app import converters
from requests_app.api import views

__all__ = ["converters", "urlpatterns"]

ACTIONS = ["approve", "reject", "extend", "hold", "resume", "withdraw"]

urlpatterns = [
    path("requests/", views.RequestCollectionApi.as_view(), name="api-requests"),
    path("requests/verify/", views.VerifyApi.as_view(), name="api-verify"),
    path("requests/<ref:reference>/", views.RequestDetailApi.as_view(), name="api-request-detail"),
    path("requests/<ref:reference>/assign/", views.AssignApi.as_view(), name="api-request-assign"),
    path(
        "requests/<ref:reference>/stores/<slug:store>/retry/",
        views.RetryStoreApi.as_view(),
        name="api-request-store-retry",
    ),
    path(
        "requests/<ref:reference>/confirm-authority/",
        views.RequestActionApi.as_view(action_name="confirm_authority"),
        name="api-request-confirm_authority",
    ),
    *[
        path(
            f"requests/<ref:reference>/{action}/",
            views.RequestActionApi.as_view(action_name=action),
            name=f"api-request-{action}",
        )
        for action in ACTIONS
    ],
]
