"""The Django admin is for operators to look, not to change workflow state (that goes through
the services, which keep the audit chain). Everything here is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from requests_app.models import (
    DataSubjectRequest,
    OutgoingEmail,
    OutgoingWebhook,
    RequestEvent,
    StaffNotification,
)

# Staff accounts and roles change only through ``manage.py create_staff``, on the audit trail: a
# rename in the admin would detach a person from what they prepared (the two-person rule), and a
# group edit would change a role unrecorded. The admin shows them read-only.
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataSubjectRequest)
class RequestAdmin(ReadOnlyAdmin):
    list_display = ["reference", "request_type", "status", "received_at", "due_on"]
    list_filter = ["status", "request_type", "jurisdiction"]
    search_fields = ["reference", "requester_email"]


@admin.register(RequestEvent)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "request", "at", "actor", "action", "from_status", "to_status"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin):
    list_display = ["pk", "request", "template", "status", "attempts", "sent_at"]
    exclude = ["to_encrypted", "subject_encrypted", "text_encrypted", "html_encrypted"]


@admin.register(StaffNotification)
class StaffNotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "request", "recipient", "delivery", "occasion"]
    list_filter = ["kind", "delivery"]


@admin.register(OutgoingWebhook)
class OutgoingWebhookAdmin(ReadOnlyAdmin):
    list_display = ["pk", "status", "attempts", "created_at", "sent_at", "last_error"]


@admin.register(User)
class StaffAdmin(ReadOnlyAdmin):
    list_display = ["username", "email", "is_active", "last_login"]
    exclude = ["password"]


@admin.register(Group)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ["name"]
