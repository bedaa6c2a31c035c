"""The append-only, tamper-evident event trail.

Every event's ``hash`` is an HMAC (key: ``DSAR_AUDIT_KEY``) over the previous event's hash and
the event's own fields, the payload entering through its SHA-256 digest. Editing, inserting,
reordering or deleting an event breaks the chain at that point, and without the key the chain
cannot be recomputed. Appends are serialised by locking the single ``AuditHead`` row, which
carries its own HMAC over seq and hash: cutting the newest events off and moving the head back
needs the key too.

A purged payload is checkable: it is exactly the purge marker, on a request whose personal data
was purged, which has its ``personal_data_purged`` event. What the database alone cannot prove
(a head row copied back from earlier, with everything after it deleted) the signed checkpoints
outside it do: ``checkpoints.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from requests_app.core.queue import Task, send
from requests_app.models import AuditHead, DataSubjectRequest, EventAction, RequestEvent

GENESIS = "0" * 64
PURGED_PAYLOAD: dict[str, Any] = {"purged": True}


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _mac(text: str) -> str:
    return hmac.new(settings.DSAR_AUDIT_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def head_mac(seq: int, chain_hash: str) -> str:
    """The head's authentication: without the audit key it cannot be moved anywhere else."""
    return _mac(f"head:{seq}:{chain_hash}")


def _chain_hash(event: RequestEvent) -> str:
    body = {
        "seq": event.seq,
        "request": event.request.reference if event.request is not None else None,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "from": event.from_status,
        "to": event.to_status,
        "payload": event.payload_digest,
        "prev": event.prev_hash,
    }
    key = settings.DSAR_AUDIT_KEY.encode()
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


@transaction.atomic
def event_append(
    *,
    dsr: DataSubjectRequest | None,
    actor: str,
    action: str,
    from_status: str = "",
    to_status: str = "",
    payload: dict[str, Any] | None = None,
) -> RequestEvent:
    """Append one event to the chain. Call inside the transaction that makes the change.

    The request's row is locked before the head (a no-op when the service already holds it), so
    every transaction takes the two in the same order and none can deadlock another."""
    if action not in EventAction.values:
        raise ValueError(f"unknown audit action {action!r}: name it in models.EventAction")
    if dsr is not None:
        list(DataSubjectRequest.objects.select_for_update().filter(pk=dsr.pk).values("pk"))
    head, _ = AuditHead.objects.select_for_update().get_or_create(
        id=1, defaults={"seq": 0, "hash": GENESIS, "mac": head_mac(0, GENESIS)}
    )
    body = payload or {}
    event = RequestEvent(
        seq=head.seq + 1,
        request=dsr,
        at=timezone.now(),
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        payload=body,
        payload_digest=payload_digest(body),
        prev_hash=head.hash,
    )
    event.hash = _chain_hash(event)
    event.save()
    AuditHead.objects.filter(id=1).update(
        seq=event.seq, hash=event.hash, mac=head_mac(event.seq, event.hash)
    )
    transaction.on_commit(anchor_soon)
    return event


def anchor_soon() -> None:
    """After a commit that appended events: a checkpoint at once, at most one queued per
    ``DSAR_AUDIT_ANCHOR_SECONDS`` (the task anchors whatever the head is when it runs; beat's
    run every minute anchors what a burst added after it). No countdown: a worker holding
    delayed tasks has been seen to stop consuming after a Redis reconnect."""
    if cache.add("audit-anchor-pending", 1, timeout=settings.DSAR_AUDIT_ANCHOR_SECONDS):
        send(Task.AUDIT_CHECKPOINT)


def event_purge_payloads(*, dsr: DataSubjectRequest) -> int:
    """Drop the personal data in a request's events; the chain still verifies via the digests."""
    return RequestEvent.objects.filter(request=dsr, payload_purged_at__isnull=True).update(
        payload=PURGED_PAYLOAD, payload_purged_at=timezone.now()
    )


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


@dataclass
class ChainReport:
    """What ``chain_verify`` looked at, for ``verify_audit`` to say."""

    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    purged: int = 0
    head_authenticated: bool = False


def chain_verify(report: ChainReport | None = None) -> Iterator[ChainBreak]:
    """Yield every place the chain is broken; yields nothing when it is intact. ``report``, if
    given, is filled in with what was checked."""
    report = report if report is not None else ChainReport()
    expected_prev = GENESIS
    expected_seq = 1
    purged: dict[int, list[int]] = {}  # request id → seqs of its purged events
    purges: dict[int, int] = {}  # request id → seq of its personal_data_purged event
    events = RequestEvent.objects.select_related("request").order_by("seq")
    for event in events.iterator(chunk_size=2000):
        report.events += 1
        if event.seq != expected_seq:
            yield ChainBreak(event.seq, f"sequence gap: expected #{expected_seq}")
        if event.prev_hash != expected_prev:
            yield ChainBreak(event.seq, "previous-hash link does not match the event before it")
        if event.payload_purged_at is None:
            if payload_digest(event.payload) != event.payload_digest:
                yield ChainBreak(event.seq, "payload was altered (digest mismatch)")
        else:
            report.purged += 1
            yield from _purge_problems(event)
            purged.setdefault(event.request_id or 0, []).append(event.seq)
        if event.action == "personal_data_purged" and event.request_id is not None:
            purges.setdefault(event.request_id, event.seq)
        if not hmac.compare_digest(_chain_hash(event), event.hash):
            yield ChainBreak(event.seq, "event content was altered (hash mismatch)")
        expected_prev, expected_seq = event.hash, event.seq + 1
    for request_id, seqs in purged.items():
        for seq in seqs:
            if request_id not in purges:
                yield ChainBreak(
                    seq, "payload marked purged, but its request has no personal_data_purged event"
                )
            elif seq > purges[request_id]:
                yield ChainBreak(seq, "payload marked purged, but it was recorded after the purge")
    report.last_seq, report.last_hash = expected_seq - 1, expected_prev
    yield from _head_problems(report)


def statuses_verify() -> Iterator[ChainBreak]:
    """Every request is in the status its last recorded move left it in: a request whose latest
    moves were cut from the trail (with its row left as it is) shows here."""
    last: dict[int, tuple[int, str]] = {}
    moves = RequestEvent.objects.exclude(to_status="").exclude(request=None)
    for request_id, seq, status in moves.values_list("request_id", "seq", "to_status").iterator(
        chunk_size=5000
    ):
        last[request_id] = (seq, status)
    rows = DataSubjectRequest.objects.values_list("pk", "reference", "status")
    for pk, reference, status in rows.iterator(chunk_size=5000):
        seq, recorded = last.get(pk, (0, ""))
        if status != recorded:
            yield ChainBreak(
                seq,
                f"{reference} is {status}, but its last recorded move left it "
                f"{recorded or 'unrecorded'} (moves removed from the trail?)",
            )


def _purge_problems(event: RequestEvent) -> Iterator[ChainBreak]:
    """A purged payload is exactly the marker, on a request whose personal data was purged."""
    if event.payload != PURGED_PAYLOAD:
        yield ChainBreak(event.seq, "payload marked purged but is not the purge marker")
    dsr = event.request
    if dsr is None or dsr.personal_data_purged_at is None:
        yield ChainBreak(
            event.seq, "payload marked purged, but its request's personal data was never purged"
        )


def _head_problems(report: ChainReport) -> Iterator[ChainBreak]:
    head = AuditHead.objects.filter(id=1).first()
    if head is None:
        if report.events:
            yield ChainBreak(0, "the chain head is missing")
        return
    if not hmac.compare_digest(head.mac, head_mac(head.seq, head.hash)):
        yield ChainBreak(head.seq, "the chain head was moved without the audit key")
    elif (head.seq, head.hash) != (report.last_seq, report.last_hash):
        yield ChainBreak(head.seq, "the chain head does not match the last event (events removed)")
    else:
        report.head_authenticated = True
