"""The person's portal on their status link: the question and their answer, proof, their files,
a new link, withdrawing (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone

from exports_app.models import FileDownloads
from requests_app.core import deadlines, documents
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, DocumentKind, RequestMessage, Status
from requests_app.review import case, decisions
from tests.support.documents import PDF, PNG

pytestmark = pytest.mark.django_db
HELD_ON = timezone.localdate()


def portal_of(dsr: DataSubjectRequest) -> str:
    return verification.status_link(dsr).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def upload(content: bytes, name: str) -> BytesIO:
    handle = BytesIO(content)
    handle.name = name
    return handle


@pytest.fixture
def held(
    verified: Any,
    reviewer: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> DataSubjectRequest:
    """A request in review, assigned to the reviewer, on hold since today with a question."""
    dsr = verified(name="Hal Held", email="hal@example.com")
    case.request_assign(dsr=dsr, actor=reviewer, assignee=reviewer)
    monkeypatch.setattr(deadlines, "today", lambda: HELD_ON)
    with django_capture_on_commit_callbacks(execute=True):
        case.request_hold(
            dsr=dsr, actor=reviewer, question="Which account number do you mean?", proof="identity"
        )
    dsr.refresh_from_db()
    return dsr


@pytest.fixture
def bob(
    demo_map: Any, verified: Any, ready: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> DataSubjectRequest:
    """Bob's access request, approved: its files built, waiting to be released."""
    dsr = verified(name="Bob Baker", email="bob@example.com")
    ready(dsr)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_approve(dsr=dsr, actor=approver)
    dsr.refresh_from_db()
    return dsr


def test_the_portal_shows_the_question_and_the_clarification_email_links_to_it(
    client: Any, held: DataSubjectRequest
) -> None:
    (asked,) = [m for m in mail.outbox if "more information" in m.body]
    path = re.search(r"https?://[^/\s]+(/status/[^/\s]+/)", asked.body).group(1)
    assert "proof of your identity" in asked.body
    html = client.get(path).content.decode()
    assert "Which account number do you mean?" in html
    assert "Send my answer" in html
    assert "Proof of your identity" in html
    assert "Waiting for your answer" in html
    for internal in ("on_hold", "in_review", "staff:", "reviewer"):
        assert internal not in html


def test_an_answer_with_proof_resumes_the_clock_the_day_it_arrives_and_tells_the_assignee(
    client: Any,
    held: DataSubjectRequest,
    reviewer: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    due_before = held.due_on
    path = portal_of(held)
    monkeypatch.setattr(deadlines, "today", lambda: HELD_ON + dt.timedelta(days=3))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{path}reply/",
            {"body": "Account 4471, thanks", "files": [upload(PNG, "passport.png")]},
        )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == Status.IN_REVIEW
    pause = held.pauses.get()
    assert pause.ended_on == HELD_ON + dt.timedelta(days=3)
    # the due date moves on by the three days paused (then to a working day, as the law says)
    assert held.due_on == deadlines.due_date(
        jurisdiction=held.jurisdiction,
        clock_start=held.clock_started_on,
        pauses=[(HELD_ON, HELD_ON + dt.timedelta(days=3))],
    )
    assert held.due_on >= due_before
    answer = RequestMessage.objects.get(request=held, direction="from_person")
    assert (answer.body, answer.author, answer.pause_id) == (
        "Account 4471, thanks",
        "requester",
        pause.pk,
    )
    (proof,) = answer.documents.all()
    assert (proof.kind, proof.content_type) == (DocumentKind.IDENTITY, "image/png")
    assert documents.document_bytes(proof) == PNG
    actions = [(e.action, e.actor) for e in held.events.order_by("seq")][-2:]
    assert actions == [("reply_received", "requester"), ("resume", "requester")]
    (told,) = mail.outbox
    assert told.to == [reviewer.email]
    assert held.reference in told.subject
    assert "Account 4471" not in told.body  # staff read it on the request's page
    page = client.get(path).content.decode()
    assert "Account 4471, thanks" in page
    assert "You answered our question, and work resumed" in page


def test_a_refused_answer_keeps_what_was_typed_and_changes_nothing(
    client: Any, held: DataSubjectRequest
) -> None:
    path = portal_of(held)
    program = upload(b"MZ\x90\x00 a Windows program", "id.pdf")
    response = client.post(f"{path}reply/", {"body": "Here you are", "files": [program]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "id.pdf is not a PDF, JPEG or PNG file" in html
    assert "Here you are" in html
    held.refresh_from_db()
    assert held.status == Status.ON_HOLD
    assert not RequestMessage.objects.filter(direction="from_person").exists()
    assert client.post(f"{path}reply/", {"body": "  "}).status_code == 400


def test_no_answer_without_a_question(client: Any, verified: Any) -> None:
    dsr = verified(email="nq@example.com")
    response = client.post(f"{portal_of(dsr)}reply/", {"body": "hello"})
    assert response.status_code == 409
    assert "no question waiting" in response.content.decode()


def test_an_oversized_upload_is_refused_before_it_is_read(
    client: Any, held: DataSubjectRequest, settings: Any
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = upload(PDF + b"%" * 2000, "big.pdf")
    response = client.post(f"{portal_of(held)}reply/", {"body": "big", "files": [big]})
    assert response.status_code == 400
    assert "too large" in response.content.decode()


def test_the_person_withdraws_with_a_confirmation(
    client: Any, verified: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = verified(name="Wyn Draw", email="wyn@example.com")
    path = portal_of(dsr)
    assert "Withdraw this request" in client.get(path).content.decode()
    confirm = client.get(f"{path}withdraw/").content.decode()
    assert "Yes, withdraw my request" in confirm
    dsr.refresh_from_db()
    assert dsr.status != Status.WITHDRAWN  # looking at the page withdraws nothing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{path}withdraw/").status_code == 302
    dsr.refresh_from_db()
    assert dsr.status == Status.WITHDRAWN
    assert dsr.events.get(action="withdraw").actor == "requester"
    (told,) = mail.outbox
    assert "withdrawn" in told.body
    assert "If you change your mind" in told.body
    assert client.post(f"{path}withdraw/").status_code == 409
    assert "Withdraw this request" not in client.get(path).content.decode()


def test_an_approved_request_cannot_be_withdrawn_by_the_person(
    client: Any, verified: Any, ready: Any, approver: Any
) -> None:
    dsr = verified(name="Ap Proved", email="ap@example.com", request_type="erasure")
    ready(dsr)
    decisions.request_approve(dsr=dsr, actor=approver)
    response = client.post(f"{portal_of(dsr)}withdraw/")
    assert response.status_code == 409
    assert "can no longer be withdrawn" in response.content.decode()


def test_released_files_are_on_the_portal_while_the_link_lives_then_a_new_link_is_asked_for(
    client: Any,
    bob: DataSubjectRequest,
    approver: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=bob, actor=approver)
    path = portal_of(bob)
    html = client.get(path).content.decode()
    files = re.findall(rf'href="({path}files/(\w+)/)"', html)
    assert [f for _, f in files] == ["pdf", "json", "csv"]  # the PDF, easiest to read, first
    assert "You can download each file 5 times, until" in html
    link = bob.download_links.get()
    got = client.get(files[0][0])
    assert b"".join(got.streaming_content).startswith(b"%PDF-")
    link.refresh_from_db()
    assert link.downloads == 1  # counted against the link, as a download by the link is
    assert bob.events.filter(action="downloaded").count() == 1
    html = client.get(path).content.decode()
    assert re.findall(r"(\d) downloads? left", html) == ["4", "5", "5"]  # of each file
    # the link is used up (every file): the files go from the portal, a new link can be asked for
    for export in bob.exports.all():
        FileDownloads.objects.update_or_create(
            link=link, format=export.format, defaults={"downloads": link.max_downloads}
        )
    html = client.get(path).content.decode()
    assert f"{path}files/" not in html
    assert client.get(files[0][0]).status_code == 410
    assert "Ask for a new download link" in html
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{path}new-link/").status_code == 302
    assert bob.events.filter(action="link_requested", actor="requester").count() == 1
    (told,) = mail.outbox
    assert told.to == [settings.DSAR_PRIVACY_CONTACT]  # nobody assigned: the team's inbox
    assert "new download link" in told.body
    assert "You have asked for a new download link" in client.get(path).content.decode()
    assert client.post(f"{path}new-link/").status_code == 409  # once, until staff answer
    # staff decide to send one: the files are back on the portal
    from exports_app.services import link_reissue

    reissuer = approver
    link_reissue(dsr=bob, actor=reissuer)
    assert f"{path}files/pdf/" in client.get(path).content.decode()


def test_an_agent_uploads_proof_of_authority_which_is_deleted_after_the_decision(
    client: Any,
    submit: Any,
    approver: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dsr = submit(
        name="Pat Person",
        email="pat@example.com",
        agent_name="Sol Icitor",
        agent_email="sol@lawfirm.example",
        agent_relationship="solicitor",
    )
    verify = re.search(r"(/verify/[^/\s]+/)", mail.outbox[0].body).group(1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(verify)
    (invite,) = mail.outbox
    assert invite.to == ["sol@lawfirm.example"]
    assert "proof that you may act" in invite.body
    path = re.search(r"https?://[^/\s]+(/status/[^/\s]+/)", invite.body).group(1)
    html = client.get(path).content.decode()
    assert "Proof that you may act for Pat Person" in html
    assert "Waiting for proof" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{path}proof/", {"files": [upload(PDF, "authority.pdf")]})
    assert response.status_code == 302
    (proof,) = dsr.documents.all()
    assert (proof.kind, proof.uploaded_by, proof.delete_after) == ("authority", "agent", None)
    # staff check it and confirm: the clock starts, and the proof is due to go
    with django_capture_on_commit_callbacks(execute=True):
        verification.request_confirm_authority(dsr=dsr, actor=approver, reason="Letter seen")
    proof.refresh_from_db()
    dsr.refresh_from_db()
    assert dsr.clock_started_on == timezone.localdate()
    assert proof.delete_after.date() == timezone.localdate() + dt.timedelta(
        days=settings.DSAR_PROOF_RETENTION_DAYS
    )
    assert documents.documents_expire() == 0  # not yet
    type(proof).objects.filter(pk=proof.pk).update(delete_after=timezone.now())
    name = proof.file_name
    with django_capture_on_commit_callbacks(execute=True):
        assert documents.documents_expire() == 1
    proof.refresh_from_db()
    assert proof.deleted_at is not None
    assert proof.file_name == ""
    assert not default_storage.exists(name)
    deleted = dsr.events.get(action="document_deleted")
    assert deleted.payload["kind"] == "authority"
    assert "A document you sent us was deleted" in client.get(path).content.decode()


def test_proof_of_identity_goes_once_staff_confirm_it(
    client: Any, held: DataSubjectRequest, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.post(f"{portal_of(held)}reply/", {"body": "Here", "files": [upload(PNG, "id.png")]})
    (proof,) = held.documents.all()
    assert proof.kind == DocumentKind.IDENTITY
    from requests_app.core.actions import available

    assert "confirm_identity" in available(held, reviewer)
    verification.request_confirm_identity(dsr=held, actor=reviewer)
    proof.refresh_from_db()
    assert proof.delete_after is not None
    assert held.events.filter(action="identity_confirmed").exists()
    assert "confirm_identity" not in available(held, reviewer)


def test_closing_a_request_sets_its_proof_to_go(
    client: Any, held: DataSubjectRequest, approver: Any
) -> None:
    client.post(f"{portal_of(held)}reply/", {"body": "Here", "files": [upload(PDF, "id.pdf")]})
    case.request_withdraw(dsr=held, actor=approver, reason="Asked by phone")
    assert held.documents.get().delete_after is not None


def test_the_conversation_is_in_the_request_record(
    client: Any, held: DataSubjectRequest, reviewer_api: Any
) -> None:
    client.post(
        f"{portal_of(held)}reply/", {"body": "Account 4471", "files": [upload(PDF, "a.pdf")]}
    )
    record = reviewer_api.get(f"/api/v1/requests/{held.reference}/").json()
    assert [(m["direction"], m["body"]) for m in record["messages"]] == [
        ("to_person", "Which account number do you mean?"),
        ("from_person", "Account 4471"),
    ]
    (document,) = record["documents"]
    assert record["messages"][1]["documents"] == [document["id"]]
    assert (document["kind"], document["original_name"]) == ("identity", "a.pdf")
    timeline = [e["action"] for e in record["events"]]
    assert {"hold", "reply_received", "document_added", "resume"} <= set(timeline)
