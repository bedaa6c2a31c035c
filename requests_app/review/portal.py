"""The person's side of the conversation, on their portal (the status link): answering the
question staff asked, uploading proof, withdrawing the request, asking for a new download link.

Whoever holds the status link is the person we write to (the agent, when one acts for them), and
each change is theirs on the timeline (``requester`` or ``agent``). Each service locks the
request's row and checks its state inside the transaction, like every staff action.

- A reply to an open question resumes the clock at once: the pause ends the day the reply
  arrives, and the due date moves on by the days paused. The assignee (or, with none, the team)
  is told (``core/alerts.py``), as is any message or request from the person.
- Proof of an agent's authority can be uploaded while the request waits for it; proof of
  identity with the reply to a question that asked for it. Both are checked by content (PDF,
  JPEG, PNG) and stored encrypted (``core/documents.py``).
- A request can be withdrawn until it is approved; from then on it is being carried out.
- A new download link is asked for once every link has expired or been used up: staff decide
  (``reissue_link``), since a link sent to the wrong place is a disclosure. Never once the
  files are gone (an erasure deleted them, or they expired and were deleted,
  ``exports_app.gone``): no link can reach them, and the person is told why.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from exports_app.gone import files_gone
from exports_app.models import DownloadLink
from exports_app.services import live_link
from requests_app.core.alerts import staff_notify
from requests_app.core.audit import event_append
from requests_app.core.documents import (
    PERSON,
    PROOF_TYPES,
    Upload,
    document_add,
    uploads_check,
)
from requests_app.core.errors import IllegalTransition, RuleViolation
from requests_app.core.locking import request_locked
from requests_app.intake.receive import reject_control_characters
from requests_app.models import (
    DataSubjectRequest,
    DocumentKind,
    MessageDirection,
    NotificationKind,
    RequestMessage,
    Status,
)
from requests_app.review.case import resumed, withdrawn

# Until approval the person may withdraw; after it, the response is being carried out.
WITHDRAWABLE = frozenset(
    {
        Status.AWAITING_VERIFICATION,
        Status.VERIFIED,
        Status.GATHERING,
        Status.IN_REVIEW,
        Status.READY_FOR_APPROVAL,
        Status.ON_HOLD,
    }
)
MAX_REPLY_CHARS = 5000


def who(dsr: DataSubjectRequest) -> str:
    """The holder of the status link, as the timeline names them."""
    return "agent" if dsr.has_agent else "requester"


def awaits_authority(dsr: DataSubjectRequest) -> bool:
    return (
        dsr.has_agent
        and dsr.authority_confirmed_at is None
        and dsr.status == Status.AWAITING_VERIFICATION
    )


def open_question(dsr: DataSubjectRequest) -> RequestMessage | None:
    """The question the person has still to answer, if any."""
    if dsr.status != Status.ON_HOLD:
        return None
    return (
        RequestMessage.objects.filter(
            request=dsr, direction=MessageDirection.TO_PERSON, pause__ended_on__isnull=True
        )
        .select_related("pause")
        .order_by("-created_at")
        .first()
    )


def uploads_allowed(dsr: DataSubjectRequest, uploads: list[Upload]) -> None:
    """Refuse files that are not PDF, JPEG or PNG, too many at once, or more than the person
    may send on one request in all."""
    refusals = uploads_check(uploads, allowed=PROOF_TYPES)
    if refusals:
        raise RuleViolation(" ".join(refusals), field="files")
    sent = dsr.documents.filter(uploaded_by__in=PERSON).count()
    limit = settings.DSAR_DOCUMENTS_PER_REQUEST
    if uploads and sent + len(uploads) > limit:
        raise RuleViolation(
            gettext(
                "You have sent the most files we take for one request (%(limit)s). If you need "
                "to send more, write to %(contact)s quoting %(reference)s."
            )
            % {
                "limit": limit,
                "contact": settings.DSAR_PRIVACY_CONTACT,
                "reference": dsr.reference,
            },
            field="files",
        )


def reply_text(body: str) -> str:
    body = body.strip()
    if not body:
        raise RuleViolation(gettext("Write your answer."), field="body")
    if len(body) > MAX_REPLY_CHARS:
        raise RuleViolation(
            gettext("Keep your answer under %(count)s characters.") % {"count": MAX_REPLY_CHARS},
            field="body",
        )
    try:
        reject_control_characters(body, multiline=True)
    except ValidationError as exc:
        raise RuleViolation(
            gettext("Your answer contains a control character; please remove it."), field="body"
        ) from exc
    return body


@request_locked
def request_reply(
    *, dsr: DataSubjectRequest, body: str, uploads: list[Upload]
) -> DataSubjectRequest:
    """The person answers the open question: the answer and any files are kept, the clock
    resumes today, and staff are told."""
    question = open_question(dsr)
    if question is None:
        raise IllegalTransition(gettext("There is no question waiting for your answer."))
    body = reply_text(body)
    uploads_allowed(dsr, uploads)
    asked_for_proof = question.pause is not None and question.pause.proof == DocumentKind.IDENTITY
    if asked_for_proof and not uploads:
        raise RuleViolation(
            gettext(
                "Attach proof of your identity (a PDF, or a photo of a document). If you cannot, "
                "write to %(contact)s quoting %(reference)s."
            )
            % {"contact": settings.DSAR_PRIVACY_CONTACT, "reference": dsr.reference},
            field="files",
        )
    actor = who(dsr)
    message = RequestMessage.objects.create(
        request=dsr,
        direction=MessageDirection.FROM_PERSON,
        body=body,
        author=actor,
        pause=question.pause,
        created_at=timezone.now(),
    )
    kind = (
        DocumentKind.IDENTITY
        if question.pause and question.pause.proof == DocumentKind.IDENTITY
        else DocumentKind.ATTACHMENT
    )
    for upload in uploads:
        document_add(
            dsr=dsr, upload=upload, kind=kind, actor=actor, allowed=PROOF_TYPES, message=message
        )
    event_append(
        dsr=dsr,
        actor=actor,
        action="reply_received",
        payload={"message": message.pk, "text": body, "files": len(uploads)},
    )
    dsr = resumed(dsr, actor=actor, reason="The person answered on their request's page.")
    _tell_staff(dsr, NotificationKind.REPLY, f"message:{message.pk}")
    return dsr


@request_locked
def request_upload_authority(
    *, dsr: DataSubjectRequest, uploads: list[Upload], note: str = ""
) -> DataSubjectRequest:
    """The agent uploads proof that they may act for the person; staff are told to check it."""
    if not awaits_authority(dsr):
        raise IllegalTransition(gettext("This request is not waiting for proof of authority."))
    if not uploads:
        raise RuleViolation(gettext("Choose the file that shows your authority."), field="files")
    uploads_allowed(dsr, uploads)
    message = RequestMessage.objects.create(
        request=dsr,
        direction=MessageDirection.FROM_PERSON,
        body=reply_text(note) if note.strip() else "Proof of authority uploaded.",
        author="agent",
        created_at=timezone.now(),
    )
    for upload in uploads:
        document_add(
            dsr=dsr,
            upload=upload,
            kind=DocumentKind.AUTHORITY,
            actor="agent",
            allowed=PROOF_TYPES,
            message=message,
        )
    _tell_staff(dsr, NotificationKind.AUTHORITY, f"message:{message.pk}")
    return dsr


@request_locked
def request_withdraw_by_person(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """The person withdraws their own request (until it is approved)."""
    if dsr.status not in WITHDRAWABLE:
        raise IllegalTransition(
            gettext(
                "This request can no longer be withdrawn: it has been approved and is being "
                "carried out, or it is closed."
            )
        )
    return withdrawn(
        dsr, actor=who(dsr), reason="You withdrew it on your request's page.", by_person=True
    )


def link_requested_since_last(dsr: DataSubjectRequest) -> bool:
    """The person asked for a new link after the last one was sent."""
    last = DownloadLink.objects.filter(request=dsr).order_by("-created_at").first()
    asked = dsr.events.filter(action="link_requested")
    if last is not None:
        asked = asked.filter(at__gt=last.created_at)
    return asked.exists()


def may_ask_for_link(dsr: DataSubjectRequest) -> bool:
    return (
        dsr.status == Status.COMPLETED
        and DownloadLink.objects.filter(request=dsr).exists()
        and live_link(dsr) is None
        and not link_requested_since_last(dsr)
        and files_gone(dsr) is None  # no link can reach deleted files
    )


@request_locked
def request_new_link(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """The person asks for a new download link; staff decide whether to send one."""
    if (gone := files_gone(dsr)) is not None:
        raise IllegalTransition(gone.words() + " " + gettext("No new link can be sent for them."))
    if not may_ask_for_link(dsr):
        raise IllegalTransition(
            gettext(
                "A new link can be asked for once the last one has expired or been used up, and "
                "only once until we answer."
            )
        )
    event = event_append(dsr=dsr, actor=who(dsr), action="link_requested")
    _tell_staff(dsr, NotificationKind.LINK_REQUESTED, f"event:{event.seq}")
    return dsr


def _tell_staff(dsr: DataSubjectRequest, kind: NotificationKind, occasion: str) -> None:
    """The assignee (or, with nobody assigned, the team) is told, as they chose to be."""
    staff_notify(dsr=dsr, kind=kind, occasion=occasion)
