"""Staff two-factor devices (django-otp): enrolling an authenticator app with backup codes, and
removing them. Each change is emailed to the member of staff and appended to the audit trail, so
a device added by someone who stole a password does not go unseen."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from requests_app.core.audit import event_append
from requests_app.core.notifications import email_queue

BACKUP_CODES = 10


def _tell(user: User, template: str, action: str, device: str) -> None:
    event_append(
        dsr=None,
        actor=f"staff:{user.get_username()}",
        action=action,
        payload={"device": device},
    )
    if user.email:
        email_queue(
            template=template,
            to=user.email,
            context={
                "user": user,
                "device": device,
                "at": timezone.now(),
                "required": settings.DSAR_REQUIRE_2FA,
            },
        )


@transaction.atomic
def two_factor_enrol(*, user: User, device: TOTPDevice) -> list[str]:
    """Confirm an authenticator app and issue fresh single-use backup codes (returned once, to
    show once; any earlier ones stop working)."""
    device.confirmed = True
    device.save()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()  # no pending secret lingers
    StaticDevice.objects.filter(user=user).delete()
    backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    _tell(user, "two-factor-added", "two_factor_added", device.name)
    return codes


@transaction.atomic
def two_factor_remove(*, user: User) -> int:
    """Remove every authenticator app and backup code of ``user``."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    removed += StaticDevice.objects.filter(user=user).delete()[0]
    _tell(user, "two-factor-removed", "two_factor_removed", "all devices")
    return removed
