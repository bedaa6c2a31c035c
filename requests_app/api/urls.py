from __future__ import annotations

from django.urls import path

from requests_app import converters
from requests_app.api import fulfilment, views

__all__ = ["converters", "urlpatterns"]

ACTIONS = ["submit", "approve", "reject", "extend", "hold", "resume", "withdraw"]

urlpatterns = [
    path("requests/", views.RequestCollectionApi.as_view(), name="api-requests"),
    path("requests/verify/", views.VerifyApi.as_view(), name="api-verify"),
    path("requests/search/", views.RequestSearchApi.as_view(), name="api-requests-search"),
    path("requests/<ref:reference>/", views.RequestDetailApi.as_view(), name="api-request-detail"),
    path("requests/<ref:reference>/assign/", views.AssignApi.as_view(), name="api-request-assign"),
    path(
        "requests/<ref:reference>/stores/<slug:store>/retry/",
        views.RetryStoreApi.as_view(),
        name="api-request-store-retry",
    ),
    path(
        "requests/<ref:reference>/send-back/",
        views.RequestActionApi.as_view(action_name="send_back"),
        name="api-request-send_back",
    ),
    path(
        "requests/<ref:reference>/confirm-authority/",
        views.RequestActionApi.as_view(action_name="confirm_authority"),
        name="api-request-confirm_authority",
    ),
    path(
        "requests/<ref:reference>/documents/",
        views.RequestDocumentsApi.as_view(),
        name="api-request-documents",
    ),
    path(
        "requests/<ref:reference>/confirm-identity/",
        views.RequestActionApi.as_view(action_name="confirm_identity"),
        name="api-request-confirm_identity",
    ),
    path(
        "requests/<ref:reference>/lift-restriction/",
        views.RequestActionApi.as_view(action_name="lift_restriction"),
        name="api-request-lift_restriction",
    ),
    path(
        "requests/<ref:reference>/erasure-plan/",
        fulfilment.ErasurePlanApi.as_view(),
        name="api-request-erasure-plan",
    ),
    path(
        "requests/<ref:reference>/legal-hold/",
        fulfilment.LegalHoldApi.as_view(),
        name="api-request-legal-hold",
    ),
    path(
        "requests/<ref:reference>/legal-hold/release/",
        fulfilment.LegalHoldReleaseApi.as_view(),
        name="api-request-legal-hold-release",
    ),
    path(
        "requests/<ref:reference>/erasure/<slug:store>/retry/",
        fulfilment.ErasureRetryApi.as_view(),
        name="api-request-erasure-retry",
    ),
    path(
        "requests/<ref:reference>/notices/<slug:store>/confirm/",
        fulfilment.NoticeConfirmApi.as_view(),
        name="api-request-notice-confirm",
    ),
    path(
        "requests/<ref:reference>/corrections/<int:position>/decide/",
        fulfilment.CorrectionDecisionApi.as_view(),
        name="api-request-correction-decide",
    ),
    path(
        "requests/<ref:reference>/rectification/retry/",
        fulfilment.RectificationRetryApi.as_view(),
        name="api-request-rectification-retry",
    ),
    path(
        "suppression/check/", fulfilment.SuppressionCheckApi.as_view(), name="api-suppression-check"
    ),
    *[
        path(
            f"requests/<ref:reference>/{action}/",
            (views.ApproveApi if action == "approve" else views.RequestActionApi).as_view(
                action_name=action
            ),
            name=f"api-request-{action}",
        )
        for action in ACTIONS
    ],
]
