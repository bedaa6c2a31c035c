"""The Django admin: not mounted in production unless asked for; when mounted, behind the staff
log-in (with its lockout) and the second factor, like the dashboard."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import clear_url_caches
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_mounted(settings: Any) -> Iterator[Any]:
    """The URLs as a deployment with ``DSAR_ADMIN_ENABLED`` set would have them."""

    def mount(enabled: bool) -> None:
        import smarct_dsar.urls

        settings.DSAR_ADMIN_ENABLED = enabled
        importlib.reload(smarct_dsar.urls)
        clear_url_caches()

    yield mount
    mount(True)


@pytest.fixture
def superuser(db: Any) -> Any:
    user = UserFactory(username="root", roles=[])
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_unmounted_the_admin_is_not_found(admin_mounted: Any) -> None:
    # production's default (tests/smarct_dsar/test_site.py checks the setting under production settings)
    admin_mounted(False)
    assert Client().get("/admin/").status_code == 404
    assert Client().get("/admin/login/").status_code == 404


def test_the_admin_log_in_is_the_staff_log_in_with_its_lockout(
    admin_mounted: Any, superuser: Any, settings: Any
) -> None:
    admin_mounted(True)
    settings.DSAR_LOGIN_FAILURES_ALLOWED = 5
    client = Client()
    login = client.get("/admin/login/?next=/admin/")
    assert login.status_code == 302
    assert login["Location"].startswith("/staff/login/")
    # the finding: 40 wrong passwords on /admin/login/, then the right one, was accepted
    for password in ["wrong"] * 40 + [PASSWORD]:
        sent = client.post("/admin/login/", {"username": "root", "password": password})
        assert sent.status_code == 302
        assert sent["Location"].startswith("/staff/login/")  # no password is checked there
    assert client.get("/admin/").status_code == 302  # not logged in by any of them
    for _ in range(5):
        client.post("/staff/login/", {"username": "root", "password": "wrong"})
    right = client.post("/staff/login/", {"username": "root", "password": PASSWORD})
    assert right.status_code == 429


def test_a_superuser_with_a_device_needs_the_code_for_the_admin(
    admin_mounted: Any, superuser: Any
) -> None:
    admin_mounted(True)
    TOTPDevice.objects.create(user=superuser, name="app", confirmed=True)
    client = Client()
    assert (
        client.post("/staff/login/", {"username": "root", "password": PASSWORD}).status_code == 302
    )
    page = client.get("/admin/requests_app/requestevent/")
    assert page.status_code == 302
    assert page["Location"].startswith("/staff/login/verify/")


def test_demo_staff_are_not_admin_users(db: Any, settings: Any, tmp_path: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    settings.DEMO_MODE = True
    call_command("seed_demo")
    staff = get_user_model().objects.filter(username__in=["reviewer", "approver"])
    assert staff.count() == 2
    assert not any(user.is_staff or user.is_superuser for user in staff)
    assert all(user.email for user in staff)  # so two-factor changes reach them
