"""Gathering: one step per connected store, each streaming the person's records into an encrypted
file through Django's storage API. All progress is in ``GatherStep`` rows.

* A step is claimed with a conditional update, so two workers never gather the same store at once.
* A step writes a new file on every attempt and swaps it in only when complete, so running it
  twice never duplicates records.
* When the last step is done, the request moves to ``in_review`` (decided in the database, not by
  a Celery chord). A failed step leaves the request in ``gathering`` with that store visibly
  failed and retryable; the other stores carry on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from requests_app import datamap
from requests_app.core.audit import event_append
from requests_app.core.errors import RuleViolation
from requests_app.core.lifecycle import transition
from requests_app.core.locking import lock, request_locked, staff_action
from requests_app.core.permissions import actor_label
from requests_app.core.queue import Task
from requests_app.core.steps import Step, step_fail, step_retry, step_retry_later, steps_plan
from requests_app.core.steps import steps_to_requeue as steps_to_requeue_of
from requests_app.models import DataSubjectRequest, GatherStep, Status, StepStatus
from requests_app.stores import Batch, Subject, connector_for
from requests_app.stores.base import json_default
from smarct_dsar.claims import claim, finish_with_file
from smarct_dsar.crypto import Writable, iter_decrypted_lines
from smarct_dsar.encrypted_files import store_encrypted

log = logging.getLogger(__name__)


def subject_of(dsr: DataSubjectRequest) -> Subject:
    """Who the stores are searched for: only what the person proved. The verified email; never
    the phone number typed into the form, which anyone could have typed."""
    return Subject(
        email=dsr.requester_email,
        reference=dsr.reference,
        received=timezone.localtime(dsr.received_at).date() if dsr.received_at else None,
    )


def gathering_start(dsr: DataSubjectRequest) -> None:
    """Move a verified request to gathering (its row locked) and plan its steps."""
    gathering_plan(transition(dsr, "start_gathering", actor="system"))


def gathering_plan(dsr: DataSubjectRequest) -> list[Step]:
    """A step per searchable store, queued after commit. Idempotent."""
    stores = [s.name for s in datamap.current().stores.values() if s.searchable]
    steps = steps_plan(GatherStep, dsr=dsr, stores=stores, task=Task.GATHER_STORE)
    if not steps:
        transaction.on_commit(partial(gathering_maybe_finish, request_id=dsr.pk))
    return steps


def _claim(step_id: int, task_id: str) -> GatherStep | None:
    # Only while the request is gathering: a withdrawn request is not gathered any further.
    steps = GatherStep.objects.filter(pk=step_id, request__status=Status.GATHERING)
    if not claim(steps, waiting=StepStatus.PENDING, working=StepStatus.RUNNING, task_id=task_id):
        return None
    return GatherStep.objects.select_related("request").get(pk=step_id)


@dataclass
class Tally:
    records: int = 0
    tables: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)


def write_records(batches: Iterable[Batch], categories: dict[str, str], out: Writable) -> Tally:
    """Write batches as JSON Lines, one line per batch: ``{"t": table, "c": [columns] or null,
    "rows": [...]}`` (see ``gathered_records``); ``out`` encrypts them (``store_encrypted``)."""
    tally = Tally()
    for batch in batches:
        line = orjson.dumps(
            {"t": batch.table, "c": batch.columns, "rows": batch.rows},
            default=json_default,
            option=orjson.OPT_NON_STR_KEYS,
        )
        out.write(line + b"\n")
        tally.tables[batch.table] += len(batch.rows)
    tally.records = sum(tally.tables.values())
    for table, count in tally.tables.items():
        tally.categories[categories.get(table, "unknown")] += count
    return tally


def gathering_run_step(*, step_id: int, task_id: str) -> bool:
    """Gather one store. Returns False when the step was not ours to run (done, or someone else's)."""
    step = _claim(step_id, task_id)
    if step is None:
        return False
    store = datamap.current().stores.get(step.store)
    if store is None:
        raise RuleViolation(f"store '{step.store}' is no longer in the data map")
    categories = {name: table.category for name, table in store.tables.items()}
    records = connector_for(store).find(subject_of(step.request))
    tally, stored = store_encrypted(
        f"gathered/{step.request.reference}/{step.store}-{step.attempts}.jsonl.enc",
        context=step.file_context,
        write=lambda out: write_records(records, categories, out),
    )
    finished = finish_with_file(
        GatherStep.objects.filter(pk=step.pk),
        working=StepStatus.RUNNING,
        task_id=task_id,
        new_file=stored.name,
        old_file=step.file_name,
        status=StepStatus.DONE,
        finished_at=timezone.now(),
        error="",
        file_sha256=stored.stored_sha256,
        record_count=tally.records,
        table_counts=dict(tally.tables),
        category_counts=dict(tally.categories),
        lock=lambda: lock(step.request),
        record=lambda: event_append(
            dsr=step.request,
            actor="system",
            action="store_gathered",
            payload={"store": step.store, "records": tally.records},
        ),
    )
    if not finished:  # the step was taken from us meanwhile; ours is not the file of record
        return False
    gathering_maybe_finish(request_id=step.request_id)
    return True


def gathering_retry_later(*, step_id: int, task_id: str, error: str) -> None:
    step_retry_later(GatherStep, step_id=step_id, task_id=task_id, error=error)


def gathering_fail_step(*, step_id: int, task_id: str, error: str) -> None:
    step_fail(GatherStep, step_id=step_id, task_id=task_id, error=error, action="store_failed")


def gathering_maybe_finish(*, request_id: int) -> None:
    """Move the request on to review once every store is done. Safe to call from every finishing
    step: the check is made again with the row locked."""
    dsr = DataSubjectRequest.objects.get(pk=request_id)
    if dsr.status == Status.GATHERING and not _unfinished(dsr):
        request_finish_gathering(dsr=dsr)


def _unfinished(dsr: DataSubjectRequest) -> bool:
    return dsr.gather_steps.exclude(status=StepStatus.DONE).exists()


@request_locked
def request_finish_gathering(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    if dsr.status != Status.GATHERING or _unfinished(dsr):
        return dsr  # another step's worker moved it on first
    return transition(dsr, "finish_gathering", actor="system")


@staff_action("retry_store")
def gathering_retry_store(*, dsr: DataSubjectRequest, store: str, actor: User) -> Step:
    """Staff retry one failed store; the others keep what they gathered."""
    return step_retry(
        GatherStep,
        dsr=dsr,
        store=store,
        task=Task.GATHER_STORE,
        actor=actor_label(actor),
        action="store_retry",
        refusal="Only a failed store of a request that is gathering can be retried.",
    )


def steps_to_requeue() -> list[int]:
    return steps_to_requeue_of(GatherStep, request_status=Status.GATHERING)


def gathered_batches(step: GatherStep) -> Iterator[Batch]:
    """The decrypted batches of a finished step, streaming from storage."""
    with default_storage.open(step.file_name, "rb") as handle:
        for line in iter_decrypted_lines(handle, context=step.file_context):
            item = orjson.loads(line)
            columns = tuple(item["c"]) if item["c"] is not None else None
            yield Batch(item["t"], columns, item["rows"])


def gathered_records(step: GatherStep) -> Iterator[tuple[str, dict[str, Any]]]:
    """The decrypted ``(table, record)`` pairs of a finished step, streaming."""
    for batch in gathered_batches(step):
        for record in batch.records():
            yield batch.table, record


def gathered_files_delete(dsr: DataSubjectRequest) -> int:
    """Delete the request's gathered copies (after release, the files are the record; after an
    erasure, nothing of it may remain). Returns how many files went. Safe to call again."""
    deleted = 0
    for step in GatherStep.objects.filter(request=dsr).exclude(file_name=""):
        default_storage.delete(step.file_name)
        GatherStep.objects.filter(pk=step.pk).update(file_name="")
        deleted += 1
    return deleted


def gatherings_to_finish() -> list[int]:
    """Requests still gathering whose every store is done, untouched for a sweep interval."""
    stale = timezone.now() - timedelta(seconds=settings.DSAR_SWEEP_AFTER_SECONDS)
    gathering = DataSubjectRequest.objects.filter(status=Status.GATHERING, updated_at__lt=stale)
    return list(
        gathering.filter(gather_steps__isnull=False)
        .exclude(
            gather_steps__status__in=[StepStatus.PENDING, StepStatus.RUNNING, StepStatus.FAILED]
        )
        .distinct()
        .values_list("pk", flat=True)
    )
