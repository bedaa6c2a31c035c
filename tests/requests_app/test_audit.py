"""The audit chain: intact after real work, and every kind of tampering detected."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from requests_app import lifecycle, retention
from requests_app.audit import chain_verify
from requests_app.models import RequestEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(verified: Any, approver: Any) -> Any:
    dsr = verified()
    lifecycle.request_hold(request=dsr, actor=approver, question="Which account, please?")
    lifecycle.request_resume(request=dsr, actor=approver)
    return dsr


def test_intact_chain_verifies(trail: Any, capsys: Any) -> None:
    assert list(chain_verify()) == []
    call_command("verify_audit")
    assert "audit chain intact" in capsys.readouterr().out


@pytest.mark.tampers_audit
def test_edited_event_is_detected(trail: Any) -> None:
    event = RequestEvent.objects.get(request=trail, action="hold")
    RequestEvent.objects.filter(pk=event.pk).update(actor="staff:someone-else")
    breaks = list(chain_verify())
    assert [b.seq for b in breaks] == [event.seq]
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit")


@pytest.mark.tampers_audit
def test_edited_payload_is_detected(trail: Any) -> None:
    event = RequestEvent.objects.get(request=trail, action="hold")
    RequestEvent.objects.filter(pk=event.pk).update(payload={"question": "something kinder"})
    assert any("payload" in b.problem for b in chain_verify())


@pytest.mark.tampers_audit
def test_deleted_event_is_detected(trail: Any) -> None:
    event = RequestEvent.objects.get(request=trail, action="hold")
    RequestEvent.objects.filter(pk=event.pk).delete()
    problems = [b.problem for b in chain_verify()]
    assert any("sequence gap" in p for p in problems)


@pytest.mark.tampers_audit
def test_deleting_the_last_event_is_detected(trail: Any) -> None:
    RequestEvent.objects.order_by("-seq").first().delete()  # type: ignore[union-attr]
    assert any("head" in b.problem for b in chain_verify())


@pytest.mark.tampers_audit
def test_rehashing_without_the_key_is_detected(trail: Any) -> None:
    # An attacker who edits an event and recomputes a plain SHA-256 still fails: the chain is keyed.
    import hashlib

    event = RequestEvent.objects.get(request=trail, action="resume")
    RequestEvent.objects.filter(pk=event.pk).update(hash=hashlib.sha256(b"forged").hexdigest())
    assert list(chain_verify())


def test_purging_personal_data_keeps_the_chain_verifiable(trail: Any) -> None:
    retention.request_purge_personal_data(request=trail)
    hold = RequestEvent.objects.get(request=trail, action="hold")
    assert hold.payload == {"purged": True}
    assert "Which account" not in str(
        RequestEvent.objects.filter(request=trail).values_list("payload", flat=True)
    )
    assert list(chain_verify()) == []
