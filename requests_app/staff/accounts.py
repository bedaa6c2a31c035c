"""Staff accounts for operators without the Django admin (off in production): create one with
its role, change a role, switch an account off, issue an API token. Each change is on the audit
trail (with no request), so who could act, and since when, is on the record."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction
from rest_framework.authtoken.models import Token

from requests_app.core.audit import event_append
from requests_app.core.errors import RuleViolation
from requests_app.core.permissions import APPROVER, REVIEWER

# A role and the groups it means: an approver also reviews.
ROLE_GROUPS = {REVIEWER: [REVIEWER], APPROVER: [REVIEWER, APPROVER]}


@dataclass(frozen=True)
class Issued:
    user: User
    password: str | None  # shown once, when this change set it
    token: str | None  # shown once, when this change issued it


@transaction.atomic
def staff_save(
    *,
    username: str,
    role: str,
    email: str = "",
    name: str = "",
    password: str | None = None,
    token: bool = False,
    operator: str = "operator",
) -> Issued:
    """Create the account (or change its role), with ``password`` or a new random one for a new
    account, and a fresh API token when asked (any old one stops working)."""
    if role not in ROLE_GROUPS:
        raise RuleViolation(f"Unknown role {role!r}: choose {' or '.join(ROLE_GROUPS)}.")
    # One person, one account: the two-person rule counts accounts, so a second account for the
    # same person (a name differing only in case, the same email) is refused.
    clash = User.objects.filter(username__iexact=username).exclude(username=username)
    if clash.exists():
        raise RuleViolation(f"An account called {clash.get().username!r} already exists.")
    if email and (
        User.objects.filter(email__iexact=email, is_active=True).exclude(username=username).exists()
    ):
        raise RuleViolation(f"Another active account already has the email address {email}.")
    user, created = User.objects.get_or_create(username=username)
    new_password = password or (secrets.token_urlsafe(15) if created else None)
    if new_password:
        user.set_password(new_password)
    if email:
        user.email = email
    if name:
        user.first_name, _, user.last_name = name.partition(" ")
    user.is_active = True
    user.is_staff = False  # privacy roles only: the Django admin is for operators
    user.save()
    before = sorted(user.groups.values_list("name", flat=True))
    groups = [Group.objects.get_or_create(name=g)[0] for g in ROLE_GROUPS[role]]
    user.groups.set(groups)
    raw_token = None
    if token:
        Token.objects.filter(user=user).delete()
        raw_token = Token.objects.create(user=user).key
    event_append(
        dsr=None,
        actor=f"operator:{operator}",
        action="staff_created" if created else "staff_changed",
        payload={
            "username": username,
            "roles": ROLE_GROUPS[role],
            "roles_before": before,
            "password_set": bool(new_password),
            "token_issued": token,
        },
    )
    return Issued(user, new_password if not password else None, raw_token)


@transaction.atomic
def staff_deactivate(*, username: str, operator: str = "operator") -> User:
    """Switch the account off: it can no longer log in, and its API token is deleted."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise RuleViolation(f"There is no account called {username!r}.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    Token.objects.filter(user=user).delete()
    event_append(
        dsr=None,
        actor=f"operator:{operator}",
        action="staff_deactivated",
        payload={"username": username},
    )
    return user
