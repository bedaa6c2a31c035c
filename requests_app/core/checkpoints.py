"""Checkpoints: the audit trail anchored outside its database.

A checkpoint is the chain's newest ``seq`` and ``hash``, signed with the Ed25519 key that signs
deletion certificates and written through the storage API (S3-compatible storage in production:
another system, with other credentials, than the database). One is written just after a change
commits (``audit.anchor_soon``; at most one task per ``DSAR_AUDIT_ANCHOR_SECONDS``), every minute by
beat when the chain has grown (what a burst added after that task, or a lost task), and by every
``verify_audit`` that finds the chain intact. Checkpoints older than a day are thinned to the
first of each day.

Someone who can write to the database but not to that storage, and does not hold the signing
key, cannot hide a truncation older than the newest checkpoint: every checkpoint must still match
its event, and the newest one says how long the chain was at least. The events of the last few
seconds before it, and a head row copied back from within them, are the window that remains. After a legitimate restore of the database from a backup,
the checkpoints newer than the backup report the events that were lost; move them aside (see
docs/security.md) once that loss is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from requests_app.core.audit import ChainBreak
from requests_app.models import AuditHead, RequestEvent
from smarct_dsar.signing import record_problem, sign_record

FOLDER = "audit/checkpoints"
FORMAT = "smarct-dsar-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    name: str


def _names() -> list[str]:
    try:
        return sorted(default_storage.listdir(FOLDER)[1])
    except FileNotFoundError:
        return []


def checkpoint_write() -> Checkpoint | None:
    """Sign and store the chain's head as it is now; None when there is nothing new to anchor.
    The head is read as committed, so the checkpoint is of a chain that exists."""
    head = AuditHead.objects.filter(id=1).first()
    names = _names()
    if head is None or head.seq == 0 or (names and int(names[-1][:12]) >= head.seq):
        return None
    now = timezone.now()
    at = now.isoformat(timespec="seconds")
    record = sign_record({"format": FORMAT, "seq": head.seq, "hash": head.hash, "at": at})
    name = default_storage.save(
        f"{FOLDER}/{head.seq:012d}-{now:%Y%m%d%H%M%S}.json",
        ContentFile(json.dumps(record, indent=1).encode()),
    )
    _thin(names, now)
    return Checkpoint(head.seq, head.hash, at, name)


def _thin(names: list[str], now: datetime) -> None:
    """Keep every checkpoint of the last day, and the first of each day before it."""
    cutoff = f"{now - timedelta(days=1):%Y%m%d%H%M%S}"
    seen_days: set[str] = set()
    for name in names:  # in seq order, so the first of a day is met first
        stamp = name[13:27]
        if stamp >= cutoff:
            continue
        if stamp[:8] in seen_days:
            default_storage.delete(f"{FOLDER}/{name}")
        seen_days.add(stamp[:8])


@dataclass
class CheckpointReport:
    checked: int = 0
    newest: Checkpoint | None = None  # the newest checkpoint that matched its event


def checkpoints_verify(report: CheckpointReport) -> Iterator[ChainBreak]:
    """Every stored checkpoint must be genuine and match the event it names."""
    found: list[Checkpoint] = []
    for file in _names():
        name = f"{FOLDER}/{file}"
        with default_storage.open(name, "rb") as handle:
            raw = handle.read()
        try:
            record = json.loads(raw)
            problem = record_problem(record) if isinstance(record, dict) else "it is not a record"
        except ValueError:
            problem = "it is not JSON"
        if problem is not None or record.get("format") != FORMAT:
            yield ChainBreak(0, f"checkpoint {file} is not genuine: {problem or 'unknown format'}")
            continue
        found.append(Checkpoint(int(record["seq"]), str(record["hash"]), str(record["at"]), name))
    hashes = dict(
        RequestEvent.objects.filter(seq__in=[c.seq for c in found]).values_list("seq", "hash")
    )
    for checkpoint in sorted(found, key=lambda c: c.seq):
        report.checked += 1
        if checkpoint.seq not in hashes:
            yield ChainBreak(
                checkpoint.seq,
                f"event #{checkpoint.seq} is missing, but the checkpoint of {checkpoint.at} "
                "shows the chain reached it (events removed)",
            )
        elif hashes[checkpoint.seq] != checkpoint.hash:
            yield ChainBreak(
                checkpoint.seq,
                f"event #{checkpoint.seq} is not the one the checkpoint of {checkpoint.at} "
                "anchored (the chain was rewritten)",
            )
        else:
            report.newest = checkpoint
