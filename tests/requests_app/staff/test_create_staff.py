"""``manage.py create_staff``: operators create staff with a role and a token without the admin."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from requests_app.models import RequestEvent

pytestmark = pytest.mark.django_db


def _run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    import sys

    previous, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command("create_staff", *args, stdout=out)
    finally:
        sys.stdin = previous
    return out.getvalue()


def test_an_approver_with_a_token_works_at_once(verified: Any) -> None:
    out = _run("anna", "--role", "approver", "--email", "anna@smarct.example", "--token")
    password = re.search(r"password \(shown once.*\): (\S+)", out).group(1)  # type: ignore[union-attr]
    token = re.search(r"API token \(shown once\): (\S+)", out).group(1)  # type: ignore[union-attr]
    user = User.objects.get(username="anna")
    assert sorted(user.groups.values_list("name", flat=True)) == ["approver", "reviewer"]
    assert not user.is_staff  # the Django admin is for operators, not privacy staff
    assert authenticate(username="anna", password=password) == user
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/requests/").status_code == 200
    event = RequestEvent.objects.get(action="staff_created")
    assert event.payload["roles"] == ["reviewer", "approver"]
    assert event.payload["token_issued"] is True
    assert token not in str(event.payload)
    assert password not in str(event.payload)


def test_a_role_is_changed_and_an_account_switched_off(verified: Any) -> None:
    out = _run("bill", "--role", "approver", "--token", stdin="")
    token = re.search(r"API token \(shown once\): (\S+)", out).group(1)  # type: ignore[union-attr]
    dsr = verified()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    out = _run("bill", "--role", "reviewer")
    assert "password" not in out  # an existing account keeps its password
    reject = api.post(f"/api/v1/requests/{dsr.reference}/reject/", {"reason": "x"}, format="json")
    assert reject.status_code == 403
    _run("bill", "--deactivate")
    refused = api.get("/api/v1/requests/")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Invalid token."
    actions = list(RequestEvent.objects.filter(request=None).values_list("action", flat=True))
    assert actions[-3:] == ["staff_created", "staff_changed", "staff_deactivated"]


def test_a_password_can_come_on_stdin(db: Any) -> None:
    out = _run("cara", "--role", "reviewer", "--password-stdin", stdin="a long pass phrase\n")
    assert "password" not in out
    assert authenticate(username="cara", password="a long pass phrase") is not None
