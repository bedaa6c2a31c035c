"""Pages that exist only in demo mode (``DSAR_DEMO``): the outbox of emails the app 'sent'."""

from __future__ import annotations

from django.urls import path

from smarct_dsar import demo_views

urlpatterns = [
    path("ping", demo_views.ping, name="demo-ping"),
    path("outbox/", demo_views.outbox, name="demo-outbox"),
    path("outbox/<str:name>/", demo_views.outbox_message, name="demo-outbox-message"),
    path("outbox/<str:name>/html/", demo_views.outbox_message_html, name="demo-outbox-html"),
]
