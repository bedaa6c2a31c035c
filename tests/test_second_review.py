"""Issue 13: what a second outside attacker found after the fixes, each a test first."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from requests_app.fulfilment.erasure import erasure_holds
from smarct_dsar.logfilter import redact
from smarct_dsar.storage import StorageUnavailable, scratch_file
from tests.support.workflow import submit_for_approval

pytestmark = pytest.mark.django_db


def test_the_purge_empties_the_mailbox_key_too(verified: Any) -> None:
    from requests_app.core.retention import request_purge_personal_data

    dsr = verified(email="Purge.Me+tag@example.com")
    assert dsr.requester_email_key == "purge.me@example.com"
    request_purge_personal_data(dsr=dsr)
    dsr.refresh_from_db()
    assert dsr.requester_email_key == ""


def test_json_in_another_charset_is_refused_not_a_500(api: Any) -> None:
    body = ('["\u2241",' + "[" * 100_000 + "]" * 100_000 + "]").encode("utf-16-le")
    response = api.generic(
        "POST", "/api/v1/requests/", body, content_type="application/json; charset=utf-16-le"
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


@pytest.mark.parametrize(
    "line",
    [
        "GET /contacts?email=zoe2%40ex%C3%A4mple.com",
        "mail for zoe@exämple.com",
        "GET /x?email=bob@[192.168.0.1]",
        "to Ünïcode.Nämé@example.org",
    ],
)
def test_addresses_with_international_or_literal_domains_are_redacted_in_logs(line: str) -> None:
    cleaned = redact(line)
    assert "[email]" in cleaned
    for part in ("zoe", "bob@", "Nämé", "192.168"):
        assert part not in cleaned


def test_a_full_scratch_disk_while_building_is_a_storage_fault() -> None:
    full = pytest.raises(StorageUnavailable, match="file storage could not be written")
    with full, scratch_file():
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(ConnectionRefusedError), scratch_file():  # the network's, not storage's
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")


def test_an_access_request_awaiting_approval_holds_the_erasure(verified: Any) -> None:
    access = submit_for_approval(verified(email="alice@example.com"))
    erasure = verified(email="alice@example.com", request_type="erasure")
    assert access.status == "ready_for_approval"
    assert any(access.reference in reason for reason in erasure_holds(erasure))


@pytest.mark.parametrize(
    "name",
    ["Bob\u3164", "\u115fBob", "Bob\u2800", "Bo\u034fb", "Bob\ufe0f", "Bob\U000e0041"],
)
def test_default_ignorable_characters_are_refused_in_names(api: Any, name: str) -> None:
    body = {"request_type": "access", "name": name, "email": "x@example.com"}
    response = api.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
