"""TOTP two-factor for staff: setting it up, the second log-in step, and requiring it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def code(device: TOTPDevice, offset: int = 0) -> str:
    """The device's code for this 30-second step (offset 0), or the next one (1): setting up uses
    the current code, and django-otp never accepts the same code twice."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def logged_in(username: str) -> Client:
    client = Client()
    assert (
        client.post("/staff/login/", {"username": username, "password": PASSWORD}).status_code
        == 302
    )
    return client


@pytest.fixture
def rita_with_app(reviewer: Any) -> TOTPDevice:
    client = logged_in("rita")
    assert b"add an account by entering this key" in client.get("/staff/two-factor/").content
    device = TOTPDevice.objects.get(user=reviewer)
    response = client.post("/staff/two-factor/", {"token": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_once_set_up_log_in_asks_for_a_code(rita_with_app: TOTPDevice) -> None:
    client = logged_in("rita")
    queue = client.get("/staff/")
    assert queue.status_code == 302
    assert queue["Location"].startswith("/staff/login/verify/")
    assert (
        client.get("/api/v1/requests/").status_code == 403
    )  # the session API follows the same rule
    wrong = client.post(
        "/staff/login/verify/?next=/staff/",
        {"token": "123456" if code(rita_with_app) != "123456" else "654321"},
    )
    assert wrong.status_code == 400
    assert b"not right" in wrong.content
    refused = client.post("/staff/login/verify/?next=/staff/", {"token": code(rita_with_app, 1)})
    assert (
        refused.status_code == 400
    )  # django-otp throttles the device for a second after a failure
    time.sleep(1.2)
    right = client.post("/staff/login/verify/?next=/staff/", {"token": code(rita_with_app, 1)})
    assert right.status_code == 302
    assert right["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert client.get("/api/v1/requests/").status_code == 200


def test_wrong_codes_are_rate_limited(rita_with_app: TOTPDevice, settings: Any) -> None:
    settings.DSAR_LOGIN_FAILURES_ALLOWED = 2
    client = logged_in("rita")
    wrong = "111111" if "111111" not in (code(rita_with_app), code(rita_with_app, 1)) else "222222"
    codes = [client.post("/staff/login/verify/", {"token": wrong}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]


def test_an_unsafe_next_is_ignored(rita_with_app: TOTPDevice) -> None:
    client = logged_in("rita")
    response = client.post(
        "/staff/login/verify/?next=https://evil.example/", {"token": code(rita_with_app, 1)}
    )
    assert response["Location"] == "/staff/"


def test_production_can_require_two_factor(reviewer: Any, settings: Any) -> None:
    settings.DSAR_REQUIRE_2FA = True
    client = logged_in("rita")
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/two-factor/")
