"""TOTP two-factor for staff: setting it up, the second log-in step, and requiring it."""

from __future__ import annotations

import base64
import re
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


def pending(client: Client) -> TOTPDevice:
    """The authenticator the set-up page offers this session, read off the page as a person
    would (its secret lives in the session, not yet in the database)."""
    page = client.get("/staff/two-factor/").content.decode()
    assert "add an account by entering this key" in page
    found = re.search(r'class="secret"><code>([A-Z2-7 ]+)</code>', page)
    assert found is not None
    return TOTPDevice(key=base64.b32decode(found.group(1).replace(" ", "")).hex())


@pytest.fixture
def rita_with_app(reviewer: Any) -> TOTPDevice:
    client = logged_in("rita")
    offered = pending(client)
    response = client.post("/staff/two-factor/", {"token": code(offered), "password": PASSWORD})
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=reviewer)
    assert device.confirmed
    assert device.key == offered.key
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


def _other(device: TOTPDevice, *avoid: str) -> str:
    return next(
        c
        for c in ("111111", "222222", "333333")
        if c not in (*avoid, code(device), code(device, 1))
    )


def test_a_password_only_session_cannot_enrol_another_authenticator(
    rita_with_app: TOTPDevice, settings: Any
) -> None:
    # the finding: with only the password, open the setup page, take a fresh secret, confirm it,
    # and be fully logged in (dashboard and API)
    settings.DSAR_REQUIRE_2FA = True
    attacker = logged_in("rita")
    page = attacker.get("/staff/two-factor/")
    assert page.status_code == 302
    assert page["Location"].startswith("/staff/login/verify/")
    assert TOTPDevice.objects.filter(user=rita_with_app.user).count() == 1  # no new secret
    forged = TOTPDevice.objects.create(user=rita_with_app.user, name="mine", confirmed=False)
    attempt = attacker.post("/staff/two-factor/", {"token": code(forged), "password": PASSWORD})
    assert attempt.status_code == 302
    assert attempt["Location"].startswith("/staff/login/verify/")
    forged.refresh_from_db()
    assert not forged.confirmed
    assert attacker.get("/staff/").status_code == 302
    assert attacker.get("/api/v1/requests/").status_code == 403


def test_the_first_authenticator_needs_the_password_again(reviewer: Any) -> None:
    client = logged_in("rita")
    device = pending(client)
    without = client.post("/staff/two-factor/", {"token": code(device)})
    assert without.status_code == 400
    wrong = client.post("/staff/two-factor/", {"token": code(device), "password": "guess"})
    assert wrong.status_code == 400
    assert b"password is not right" in wrong.content
    assert not TOTPDevice.objects.filter(user=reviewer).exists()  # nothing set up


def test_setup_codes_are_rate_limited(reviewer: Any, settings: Any) -> None:
    settings.DSAR_LOGIN_FAILURES_ALLOWED = 2
    client = logged_in("rita")
    device = pending(client)
    wrong = {"token": _other(device), "password": PASSWORD}
    codes = [client.post("/staff/two-factor/", wrong).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    right = client.post("/staff/two-factor/", {"token": code(device), "password": PASSWORD})
    assert right.status_code == 429


def test_adding_an_authenticator_is_emailed_audited_and_gives_backup_codes(
    reviewer: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    from requests_app.models import RequestEvent

    client = logged_in("rita")
    assert b"<svg" in client.get("/staff/two-factor/").content  # a QR code to scan
    device = pending(client)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/staff/two-factor/", {"token": code(device), "password": PASSWORD})
    assert done.status_code == 302
    codes_page = client.get(done["Location"])
    backup = StaticDevice.objects.get(user=reviewer)
    tokens = [t.token for t in backup.token_set.all()]
    assert len(tokens) == 10
    assert all(t.encode() in codes_page.content for t in tokens)
    assert client.get(done["Location"]).status_code == 302  # shown once
    (mail,) = [m for m in mailoutbox if "rita@" in m.to[0]]
    assert "authenticator" in mail.subject.lower()
    event = RequestEvent.objects.get(action="two_factor_added")
    assert event.request is None
    assert event.actor == "staff:rita"
    # a backup code logs in once, instead of the app
    again = logged_in("rita")
    assert again.post("/staff/login/verify/", {"token": tokens[0]}).status_code == 302
    assert again.get("/staff/").status_code == 200
    third = logged_in("rita")
    assert third.post("/staff/login/verify/", {"token": tokens[0]}).status_code == 400


def test_removing_two_factor_needs_a_verified_session_and_the_password(
    rita_with_app: TOTPDevice, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from requests_app.models import RequestEvent

    attacker = logged_in("rita")  # password only
    refused = attacker.post("/staff/two-factor/remove/", {"password": PASSWORD})
    assert refused.status_code == 302
    assert refused["Location"].startswith("/staff/login/verify/")
    assert TOTPDevice.objects.filter(user=rita_with_app.user).exists()
    time.sleep(1.1)
    owner = logged_in("rita")
    assert owner.post("/staff/login/verify/", {"token": code(rita_with_app, 1)}).status_code == 302
    assert owner.post("/staff/two-factor/remove/", {"password": "guess"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        removed = owner.post("/staff/two-factor/remove/", {"password": PASSWORD})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=rita_with_app.user).exists()
    assert RequestEvent.objects.filter(action="two_factor_removed").count() == 1
    assert any("removed" in m.subject.lower() for m in mailoutbox)


def test_the_backup_codes_page_is_for_staff_only(outsider: Any) -> None:
    page = Client().get("/staff/two-factor/backup-codes/")
    assert page.status_code == 302
    assert page["Location"].startswith("/staff/login/")
    client = Client()
    client.force_login(outsider)
    assert client.get("/staff/two-factor/backup-codes/").status_code == 403


def test_a_set_up_started_by_staff_is_never_shown_to_another_session(reviewer: Any) -> None:
    # the outsider's finding: the pending secret lived on a shared unconfirmed device, so a
    # password-only session saw the same secret and, once the owner confirmed it, logged in
    victim, attacker = logged_in("rita"), logged_in("rita")
    victims, attackers = pending(victim), pending(attacker)
    assert victims.key != attackers.key
    assert pending(victim).key == victims.key  # stable for its own session until confirmed
    confirmed = victim.post("/staff/two-factor/", {"token": code(victims), "password": PASSWORD})
    assert confirmed.status_code == 302
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1  # no stray pending devices
    again = logged_in("rita")
    assert again.post("/staff/login/verify/", {"token": code(attackers)}).status_code == 400


def test_removal_password_attempts_are_rate_limited(
    rita_with_app: TOTPDevice, settings: Any
) -> None:
    settings.DSAR_LOGIN_FAILURES_ALLOWED = 2
    time.sleep(1.1)
    owner = logged_in("rita")
    assert owner.post("/staff/login/verify/", {"token": code(rita_with_app, 1)}).status_code == 302
    codes = [
        owner.post("/staff/two-factor/remove/", {"password": "guess"}).status_code for _ in range(3)
    ]
    assert codes == [400, 400, 429]
