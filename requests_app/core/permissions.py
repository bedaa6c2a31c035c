"""Staff roles, as two groups: ``reviewer`` works requests; ``approver`` may also decide them.
Which role each action needs is the table in ``actions.py``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django_otp import user_has_device
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

REVIEWER = "reviewer"
APPROVER = "approver"
ROLES = (REVIEWER, APPROVER)


def actor_label(user: Any) -> str:
    """How a member of staff (or the system, ``None``) is named on the audit trail."""
    return f"staff:{user.get_username()}" if user is not None else "system"


def staff_name(user: Any) -> str:
    """A member of staff as the team knows them, on every page and download: "Rob Reviewer
    (reviewer2)", or the username alone when no name is set."""
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else str(user.get_username())


def _groups(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return set()
    return set(user.groups.values_list("name", flat=True))


def is_privacy_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(getattr(user, "is_superuser", False)) or bool(_groups(user) & set(ROLES))


def is_approver(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(getattr(user, "is_superuser", False)) or APPROVER in _groups(user)


class IsPrivacyStaff(BasePermission):
    message = "Only privacy staff (reviewer or approver) may use this endpoint."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_privacy_staff(request.user):
            return False
        # A browser session must have passed two-factor as the dashboard requires; API tokens are
        # issued to staff deliberately, for scripts, and carry no second factor.
        if isinstance(request.successful_authenticator, SessionAuthentication):
            return needs_second_factor(request.user) is None
        return True


def needs_second_factor(user: Any) -> str | None:
    """ "verify" when the user has an authenticator app but has not entered a code this session;
    "setup" when production requires two-factor and the user has none; else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user_has_device(user):
        return None if user.is_verified() else "verify"
    return "setup" if settings.DSAR_REQUIRE_2FA else None
