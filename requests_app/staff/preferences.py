"""A member of staff's own choices: how they are told of notifications (``core/alerts.py``)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from requests_app.core.errors import RuleViolation
from requests_app.models import StaffPreferences


def staff_delivery(user: User) -> str:
    """Each notification as it happens (no choice made yet), or a daily digest."""
    found = StaffPreferences.objects.filter(user=user).values_list("delivery", flat=True).first()
    return found or StaffPreferences.Delivery.EACH


@transaction.atomic
def staff_preferences_set(*, user: User, delivery: str) -> StaffPreferences:
    """Choose how ``user`` is told. Notifications already waiting for a digest still go in the
    next one; from now on they come as chosen."""
    if delivery not in StaffPreferences.Delivery.values:
        raise RuleViolation("Choose each as it happens or a daily digest.", field="delivery")
    preferences, _ = StaffPreferences.objects.update_or_create(
        user=user, defaults={"delivery": delivery}
    )
    return preferences
