"""The audit chain: intact after real work, and every kind of tampering detected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from requests_app.core import retention
from requests_app.core.audit import chain_verify
from requests_app.core.checkpoints import FOLDER
from requests_app.models import AuditHead, RequestEvent
from requests_app.review import case

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(verified: Any, approver: Any) -> Any:
    dsr = verified()
    case.request_hold(dsr=dsr, actor=approver, question="Which account, please?")
    case.request_resume(dsr=dsr, actor=approver)
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
    retention.request_purge_personal_data(dsr=trail)
    hold = RequestEvent.objects.get(request=trail, action="hold")
    assert hold.payload == {"purged": True}
    assert "Which account" not in str(
        RequestEvent.objects.filter(request=trail).values_list("payload", flat=True)
    )
    assert list(chain_verify()) == []


# --- Issue 12, finding 6: the trail cannot be cut or rewritten without the keys --------------


def _grow(dsr: Any, approver: Any, notes: int) -> None:
    for n in range(notes):
        case.request_note(dsr=dsr, actor=approver, text=f"note {n}")


@pytest.mark.tampers_audit
def test_cutting_the_newest_events_and_moving_the_head_back_is_detected(
    trail: Any, approver: Any
) -> None:
    _grow(trail, approver, 12)
    keep = RequestEvent.objects.order_by("seq")[3]
    RequestEvent.objects.filter(seq__gt=keep.seq).delete()
    AuditHead.objects.filter(id=1).update(seq=keep.seq, hash=keep.hash)  # no key for the MAC
    problems = [b.problem for b in chain_verify()]
    assert problems == ["the chain head was moved without the audit key"]


@pytest.mark.tampers_audit
def test_a_head_copied_back_from_earlier_is_caught_by_the_checkpoint(
    trail: Any, approver: Any, capsys: Any
) -> None:
    earlier = AuditHead.objects.values("seq", "hash", "mac").get(id=1)
    _grow(trail, approver, 8)
    call_command("verify_audit")  # intact: anchored outside the database
    newest = AuditHead.objects.get(id=1).seq
    assert f"anchored the chain at #{newest}" in capsys.readouterr().out
    # with database access only: cut back to the earlier head and restore its row exactly
    RequestEvent.objects.filter(seq__gt=earlier["seq"]).delete()
    AuditHead.objects.filter(id=1).update(**earlier)
    assert list(chain_verify()) == []  # the database alone cannot tell
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit")
    err = capsys.readouterr().err
    assert f"event #{newest}: event #{newest} is missing" in err
    assert "events removed" in err


@pytest.mark.tampers_audit
def test_payloads_rewritten_and_marked_purged_are_detected(trail: Any) -> None:
    hold = RequestEvent.objects.get(request=trail, action="hold")
    resume = RequestEvent.objects.get(request=trail, action="resume")
    now = timezone.now()
    RequestEvent.objects.filter(pk=hold.pk).update(
        payload={"question": "something kinder"}, payload_purged_at=now
    )
    RequestEvent.objects.filter(pk=resume.pk).update(
        payload={"purged": True}, payload_purged_at=now
    )
    problems = sorted((b.seq, b.problem) for b in chain_verify())
    assert (hold.seq, "payload marked purged but is not the purge marker") in problems
    never = "payload marked purged, but its request's personal data was never purged"
    assert (hold.seq, never) in problems
    assert (resume.seq, never) in problems


@pytest.mark.tampers_audit
def test_a_purge_marked_on_a_request_without_its_purge_event_is_detected(trail: Any) -> None:
    retention.request_purge_personal_data(dsr=trail)
    assert list(chain_verify()) == []
    RequestEvent.objects.filter(request=trail, action="personal_data_purged").delete()
    problems = {b.problem for b in chain_verify()}
    assert "payload marked purged, but its request has no personal_data_purged event" in problems


@pytest.mark.tampers_audit
def test_a_forged_or_altered_checkpoint_is_reported(trail: Any, capsys: Any) -> None:
    call_command("verify_audit")
    name = _checkpoints()[-1]
    with default_storage.open(f"{FOLDER}/{name}", "rb") as handle:
        record = json.loads(handle.read())
    default_storage.delete(f"{FOLDER}/{name}")
    default_storage.save(
        f"{FOLDER}/{name}", ContentFile(json.dumps({**record, "seq": record["seq"] - 1}))
    )
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit")
    assert "is not genuine: its signature does not match" in capsys.readouterr().err


def test_verify_audit_says_what_it_checked_and_the_checkpoint_it_matched(
    trail: Any, capsys: Any
) -> None:
    retention.request_purge_personal_data(dsr=trail)
    _clear_checkpoints()
    call_command("verify_audit")
    first = capsys.readouterr().out
    head = AuditHead.objects.get(id=1)
    assert f"checked {head.seq} events (#1 to #{head.seq})" in first
    purged = RequestEvent.objects.filter(payload_purged_at__isnull=False).count()
    assert f"{purged} purged payloads, the head (authenticated), every request's status" in first
    assert "and 0 signed checkpoint(s)" in first
    assert "no checkpoint matched yet" in first
    call_command("verify_audit")
    second = capsys.readouterr().out
    assert f"newest checkpoint matched: #{head.seq} of " in second
    assert "and 1 signed checkpoint(s)" in second


def test_beat_anchors_the_chain_in_storage_with_a_signed_checkpoint(trail: Any) -> None:
    from requests_app.tasks import audit_checkpoint
    from smarct_dsar.celery import app
    from smarct_dsar.signing import record_problem

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "requests_app.tasks.audit_checkpoint" in schedule
    head = AuditHead.objects.get(id=1)
    _clear_checkpoints()
    assert audit_checkpoint() == head.seq
    assert audit_checkpoint() is None  # nothing new to anchor
    (name,) = _checkpoints()
    assert name.startswith(f"{head.seq:012d}-")
    with default_storage.open(f"{FOLDER}/{name}", "rb") as handle:
        record = json.loads(handle.read())
    assert (record["seq"], record["hash"]) == (head.seq, head.hash)
    assert record_problem(record) is None


@pytest.mark.tampers_audit
def test_an_event_recorded_after_the_purge_cannot_pass_as_purged(trail: Any, approver: Any) -> None:
    retention.request_purge_personal_data(dsr=trail)
    case.request_note(dsr=trail, actor=approver, text="Called the DPO")
    event = RequestEvent.objects.filter(request=trail, action="note").get()
    RequestEvent.objects.filter(pk=event.pk).update(
        payload={"purged": True}, payload_purged_at=timezone.now()
    )
    problems = [(b.seq, b.problem) for b in chain_verify()]
    assert problems == [(event.seq, "payload marked purged, but it was recorded after the purge")]


@pytest.mark.tampers_audit
def test_a_change_is_anchored_at_once_so_a_replayed_head_is_caught(
    trail: Any, approver: Any, capsys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # a database-only attacker keeps a genuine head row from before the change...
    call_command("verify_audit")
    earlier = AuditHead.objects.values("seq", "hash", "mac").get(id=1)
    cache.clear()  # (a new anchoring window)
    with django_capture_on_commit_callbacks(execute=True):
        case.request_withdraw(dsr=trail, actor=approver, reason="By phone")
    # ...the change was anchored within seconds (after its commit), before it could be cut
    RequestEvent.objects.filter(seq__gt=earlier["seq"]).delete()
    AuditHead.objects.filter(id=1).update(**earlier)
    assert list(chain_verify()) == []
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit")
    err = capsys.readouterr().err
    assert "events removed" in err
    assert f"{trail.reference} is withdrawn, but its last recorded move left it in_review" in err


def _checkpoints() -> list[str]:
    return sorted(default_storage.listdir(FOLDER)[1])


def _clear_checkpoints() -> None:
    for name in _checkpoints():
        default_storage.delete(f"{FOLDER}/{name}")


def test_checkpoints_older_than_a_day_are_thinned_to_the_first_of_each_day(db: Any) -> None:
    from datetime import UTC, datetime

    from requests_app.core.checkpoints import _thin

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    stamps = {
        1: datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        2: datetime(2026, 11, 23, 10, 0, tzinfo=UTC),  # the same day as 1: thinned
        3: datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        4: datetime(2026, 11, 25, 13, 0, tzinfo=UTC),  # within the last day: all kept
        5: datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
    }
    for seq, at in stamps.items():
        default_storage.save(f"{FOLDER}/{seq:012d}-{at:%Y%m%d%H%M%S}.json", ContentFile(b"{}"))
    _thin(_checkpoints(), now)
    assert [int(name[:12]) for name in _checkpoints()] == [1, 3, 4, 5]
