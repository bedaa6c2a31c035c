from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import default_storage

from exports_app.content import record_key
from exports_app.models import Export, Redaction
from requests_app.gathering import gather
from requests_app.models import DataSubjectRequest
from requests_app.review import decisions
from smarct_dsar.crypto import iter_decrypted


def export_bytes(export: Export) -> bytes:
    with default_storage.open(export.file_name, "rb") as handle:
        return b"".join(iter_decrypted(handle, context=export.file_context))


def open_zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


@pytest.fixture
def approve(
    approver: Any, ready: Any, django_capture_on_commit_callbacks: Any
) -> Callable[[DataSubjectRequest], DataSubjectRequest]:
    """Submit (the reviewer) and approve (the approver) a gathered request; the exports are
    built (tasks run in-process)."""

    def _approve(dsr: DataSubjectRequest) -> DataSubjectRequest:
        ready(dsr)
        with django_capture_on_commit_callbacks(execute=True):
            decisions.request_approve(dsr=dsr, actor=approver)
        dsr.refresh_from_db()
        return dsr

    return _approve


@pytest.fixture
def bob_redacted(demo_map: Any, verified: Any) -> DataSubjectRequest:
    """Bob, gathered, with the other person in his first support ticket's message redacted."""
    dsr = verified(name="Bob Baker", email="bob@example.com")
    withhold_first_ticket(dsr, field="messages", reason="Names another person (a colleague)")
    return dsr


def withhold_first_ticket(dsr: DataSubjectRequest, **withheld: Any) -> Redaction:
    """Withhold Bob's first support ticket as gathered (whole, or its ``field``), by Rita."""
    step = dsr.gather_steps.get(store="support")
    table, ticket = next(gather.gathered_records(step))
    return Redaction.objects.create(
        request=dsr,
        store="support",
        table=table,
        record_key=record_key(ticket),
        created_by="staff:rita",
        **withheld,
    )
