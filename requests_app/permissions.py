"""Staff roles, as two groups.

``reviewer`` works requests; ``approver`` may also approve and reject.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

REVIEWER = "reviewer"
APPROVER = "approver"
ROLES = (REVIEWER, APPROVER)
APPROVER_ACTIONS = frozenset({"approve", "reject", "release"})


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
        return is_privacy_staff(request.user)


class IsApprover(BasePermission):
    message = "Only an approver may take this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_approver(request.user)
