from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from requests_app import converters
from requests_app.dashboard import (
    login,
    notifications,
    report_views,
    saved_views,
    twofactor,
    views,
    withholding,
)

__all__ = ["converters", "urlpatterns"]

urlpatterns = [
    path("login/", login.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", twofactor.verify, name="dashboard-otp-verify"),
    path("two-factor/", twofactor.setup, name="dashboard-otp-setup"),
    path("two-factor/backup-codes/", twofactor.backup_codes, name="dashboard-otp-backup-codes"),
    path("two-factor/remove/", twofactor.remove, name="dashboard-otp-remove"),
    path("notifications/", notifications.preferences, name="dashboard-notifications"),
    path("", views.queue, name="dashboard-queue"),
    path("queue.csv", views.queue_csv, name="dashboard-queue-csv"),
    path("bulk/", views.bulk, name="dashboard-bulk"),
    path("views/", saved_views.save, name="dashboard-saved-view-save"),
    path("views/<int:pk>/delete/", saved_views.delete, name="dashboard-saved-view-delete"),
    path("overview/", report_views.overview, name="dashboard-overview"),
    path("overview/report.csv", report_views.report_csv, name="dashboard-report-csv"),
    path("overview/report.pdf", report_views.report_pdf, name="dashboard-report-pdf"),
    path("requests/new/", views.log_request, name="dashboard-log-request"),
    path("requests/<ref:reference>/", views.request_page, name="dashboard-request"),
    path(
        "requests/<ref:reference>/stores/<slug:store>/retry/",
        views.retry_step,
        {"step": "gathering"},
        name="dashboard-retry-store",
    ),
    path(
        "requests/<ref:reference>/erasure/<slug:store>/retry/",
        views.retry_step,
        {"step": "erasure"},
        name="dashboard-retry-erasure",
    ),
    path(
        "requests/<ref:reference>/notices/<slug:store>/confirm/",
        views.confirm_notice,
        name="dashboard-confirm-notice",
    ),
    path(
        "requests/<ref:reference>/corrections/<int:position>/decide/",
        views.decide_correction,
        name="dashboard-decide-correction",
    ),
    path(
        "requests/<ref:reference>/data/<slug:store>/",
        withholding.store_data,
        name="dashboard-store-data",
    ),
    path(
        "requests/<ref:reference>/documents/<int:pk>/",
        views.document_view,
        name="dashboard-document",
    ),
    path(
        "requests/<ref:reference>/data/<slug:store>/redact/",
        withholding.redact,
        name="dashboard-redact",
    ),
    path(
        "requests/<ref:reference>/data/<slug:store>/redactions/<int:pk>/undo/",
        withholding.redaction_undo,
        name="dashboard-redaction-undo",
    ),
    path(
        "requests/<ref:reference>/data/<slug:store>/suggestions/dismiss/",
        withholding.suggestion_dismiss,
        name="dashboard-suggestion-dismiss",
    ),
    path("requests/<ref:reference>/<slug:action>/", views.request_action, name="dashboard-action"),
]
