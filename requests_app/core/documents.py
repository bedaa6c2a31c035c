"""Documents about a request: what it arrived with (a letter, an email), and the proof a person
uploads (of identity, or of an agent's authority).

A file's type is decided by its content, never its name: a PDF starts ``%PDF-``, a JPEG
``FF D8 FF``, a PNG its eight-byte signature, and an email (``.eml``, staff's attachments only)
parses as a message with a From and a Date. Anything else is refused, as is a file over
``DSAR_DOCUMENT_MAX_BYTES``. The file is encrypted as it is written and saved through the storage
API under ``documents/<reference>/``; staff see it in the browser through
``dashboard`` (``document_view``) with a content type that cannot run (and a sandbox).

Proof is kept only while needed (the ICO's guidance): once the decision it was for is made
(the agent's authority or the person's identity confirmed, or the request closed) it is due for
deletion ``DSAR_PROOF_RETENTION_DAYS`` later, and the daily sweep deletes it and puts that on the
timeline. Attachments a request arrived with are part of its record and go with the request's
personal data (``retention.py``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from requests_app.core.audit import event_append
from requests_app.models import DataSubjectRequest, DocumentKind, RequestDocument, RequestMessage
from smarct_dsar.crypto import iter_decrypted
from smarct_dsar.encrypted_files import store_encrypted

PDF, JPEG, PNG, EML = "application/pdf", "image/jpeg", "image/png", "message/rfc822"
PROOF_TYPES = frozenset({PDF, JPEG, PNG})
ATTACHMENT_TYPES = PROOF_TYPES | {EML}
# What each type is called to a person choosing a file.
TYPE_WORDS = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG", EML: gettext_lazy("email (.eml)")}


class DocumentRefused(ValueError):
    """The file is not one we take: the message says why, in words for the person."""


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


def sniff(content: bytes) -> str:
    """The file's type from its first bytes (and, for an email, from parsing it), or ``""``."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    message = email.message_from_string(text, policy=email.policy.default)
    if message.get("From") and message.get("Date") and not message.defects:
        return EML
    return ""


def check(upload: Upload, *, allowed: frozenset[str]) -> str:
    """The upload's type, or ``DocumentRefused`` saying why it cannot be taken."""
    limit = settings.DSAR_DOCUMENT_MAX_BYTES
    if not upload.content:
        if not upload.name:
            raise DocumentRefused(gettext("The file is empty."))
        raise DocumentRefused(gettext("%(name)s is empty.") % {"name": upload.name})
    if len(upload.content) > limit:
        raise DocumentRefused(
            gettext(
                "%(name)s is larger than %(mb)s MB: please send a smaller copy or a photo of it."
            )
            % {"name": upload.name, "mb": limit // (1024 * 1024)}
        )
    kind = sniff(upload.content)
    if kind not in allowed:
        names = [str(TYPE_WORDS[t]) for t in sorted(allowed, key=list(TYPE_WORDS).index)]
        words = (
            gettext("%(list)s or %(last)s") % {"list": ", ".join(names[:-1]), "last": names[-1]}
            if len(names) > 1
            else names[0]
        )
        raise DocumentRefused(
            gettext("%(name)s is not a %(types)s file (we look at what it holds).")
            % {"name": upload.name, "types": words}
        )
    return kind


def uploads_check(uploads: Iterable[Upload], *, allowed: frozenset[str]) -> list[str]:
    """Every refusal among ``uploads`` (empty when all may be taken), and at most
    ``DSAR_DOCUMENTS_PER_UPLOAD`` files."""
    uploads = list(uploads)
    errors = []
    if len(uploads) > settings.DSAR_DOCUMENTS_PER_UPLOAD:
        errors.append(
            gettext("Send at most %(count)s files at a time.")
            % {"count": settings.DSAR_DOCUMENTS_PER_UPLOAD}
        )
    for upload in uploads:
        try:
            check(upload, allowed=allowed)
        except DocumentRefused as exc:
            errors.append(str(exc))
    return errors


def document_add(
    *,
    dsr: DataSubjectRequest,
    upload: Upload,
    kind: str,
    actor: str,
    allowed: frozenset[str],
    message: RequestMessage | None = None,
) -> RequestDocument:
    """Check, encrypt and store one document, in the caller's transaction; on the timeline."""
    content_type = check(upload, allowed=allowed)
    document = RequestDocument.objects.create(
        request=dsr,
        message=message,
        kind=kind,
        original_name=_safe_name(upload.name),
        content_type=content_type,
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    _, stored = store_encrypted(
        f"documents/{dsr.reference}/{document.pk}.bin",
        context=document.file_context,
        write=lambda out: out.write(upload.content),
    )
    # Should the transaction roll back, the stored file has no row: the daily orphan sweep
    # (``retention.orphans_sweep``) removes it.
    document.file_name = stored.name
    document.save(update_fields=["file_name"])
    event_append(
        dsr=dsr,
        actor=actor,
        action="document_added",
        payload={"document": document.pk, "kind": kind, "type": content_type},
    )
    return document


def document_bytes(document: RequestDocument) -> bytes:
    """The document's plaintext, decrypted in memory and checked against its SHA-256."""
    with default_storage.open(document.file_name, "rb") as handle:
        content = b"".join(iter_decrypted(handle, context=document.file_context))
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise ValueError(f"document {document.pk} does not match its recorded SHA-256")
    return content


def email_text(content: bytes) -> dict[str, str]:
    """An .eml as staff read it: its headers and its body as text: the plain-text part, or
    else the HTML part's source shown as text (never rendered), never its attachments. An
    unknown or wrong charset is read as UTF-8 with replacement characters, never an error."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None and not message.is_multipart():
        body = message
    return {
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "date": str(message.get("Date", "")),
        "subject": str(message.get("Subject", "")),
        "kind": body.get_content_subtype() if body is not None else "",
        "text": _part_text(body) if body is not None else "",
    }


def _part_text(part: Any) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError, KeyError, AssertionError):
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return text if isinstance(text, str) else ""


def proof_decided(*, dsr: DataSubjectRequest, kinds: Iterable[str]) -> int:
    """The decision the proof was for is made: it is due for deletion after the set time."""
    return _due_for_deletion(RequestDocument.objects.filter(request=dsr, kind__in=list(kinds)))


def request_closed(*, dsr: DataSubjectRequest) -> int:
    """The request is closed: whatever the person sent (proof asked for or not: people send a
    passport with any answer) is due for deletion after the set time. What staff attached (the
    letter a request came in) is the request's record and goes with its personal data."""
    return _due_for_deletion(RequestDocument.objects.filter(request=dsr, uploaded_by__in=PERSON))


def _due_for_deletion(documents: Any) -> int:
    due = timezone.now() + timedelta(days=settings.DSAR_PROOF_RETENTION_DAYS)
    return documents.filter(delete_after__isnull=True, deleted_at__isnull=True).update(
        delete_after=due
    )


def document_delete(*, document: RequestDocument, actor: str, why: str) -> None:
    """Delete the stored file; the row stays as the record that it existed and went."""
    with transaction.atomic():
        # the request first, as every change to a request takes its locks (``locking.py``)
        DataSubjectRequest.objects.select_for_update().get(pk=document.request_id)
        locked = RequestDocument.objects.select_for_update().get(pk=document.pk)
        if locked.deleted_at is not None:
            return
        name = locked.file_name
        locked.deleted_at = timezone.now()
        locked.file_name = ""
        locked.original_name = ""
        locked.save(update_fields=["deleted_at", "file_name", "original_name"])
        event_append(
            dsr=locked.request,
            actor=actor,
            action="document_deleted",
            payload={"document": locked.pk, "kind": locked.kind, "why": why},
        )
        transaction.on_commit(lambda: default_storage.delete(name) if name else None)


def documents_expire() -> int:
    """Delete every proof document whose time has come (daily beat). Returns how many went."""
    due = RequestDocument.objects.filter(
        delete_after__lte=timezone.now(), deleted_at__isnull=True
    ).select_related("request")
    count = 0
    for document in due:
        document_delete(
            document=document,
            actor="system",
            why=f"kept {settings.DSAR_PROOF_RETENTION_DAYS} days after the decision it was for",
        )
        count += 1
    return count


def _safe_name(name: str) -> str:
    """The name as shown to staff: no folders, no control characters, at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:120] or "document"


PROOF_KINDS = frozenset({DocumentKind.IDENTITY, DocumentKind.AUTHORITY})
# Who a document came from when the person (or their agent) sent it on their portal.
PERSON = ("requester", "agent")
