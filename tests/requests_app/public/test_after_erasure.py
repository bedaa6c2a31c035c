"""What a person reads after their files are gone (an erasure deleted them, or they expired and
were deleted), on their old download link and their status pages; and what an erasure's own
status page says while a recipient has not confirmed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from exports_app.models import DownloadLink, Export
from exports_app.services import exports_expire_files, link_reissue
from requests_app.models import DataSubjectRequest, ProcessorNotice, Status
from requests_app.review import decisions
from tests.conftest import OwnEstate
from tests.factories import UserFactory
from tests.requests_app.public.test_portal import portal_of
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db
BOB = "bob@example.com"
LINK = re.compile(r"https?://[^/\s]+(/downloads/[^/\s]+/)")


def _text(response: Any) -> str:
    """The page's words, tags stripped and spaces folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _day(at: Any) -> str:
    return date_format(timezone.localtime(at), "j F Y")


@pytest.fixture
def released(
    own_estate: OwnEstate, verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> tuple[DataSubjectRequest, str]:
    """Bob's access request, answered: its files released, the emailed link's path."""
    access = verified(name="Bob Baker", email=BOB)
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(access, approver)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.request_release(dsr=access, actor=UserFactory(username="bea", roles=["approver"]))
    found = LINK.search(mail.outbox[-1].body)
    assert found is not None
    return access, found.group(1)


def _erase(verified: Any, approver: Any, capture: Any) -> DataSubjectRequest:
    erasure = verified(name="Bob Baker", email=BOB, request_type="erasure")
    mail.outbox.clear()
    with capture(execute=True):
        submit_and_approve(erasure, approver, reason="checked")
    erasure.refresh_from_db()
    assert erasure.status == Status.COMPLETED
    return erasure


def test_an_erased_access_requests_old_link_says_the_erasure_deleted_its_files(
    client: Any,
    released: tuple[DataSubjectRequest, str],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    access, path = released
    erasure = _erase(verified, approver, django_capture_on_commit_callbacks)
    deleted_on = _day(Export.objects.filter(request=access).first().file_deleted_at)  # type: ignore[union-attr]
    for url in (path, f"{path}pdf/"):
        page = client.get(url)
        words = _text(page)
        assert page.status_code == 410
        assert erasure.reference in words
        assert deleted_on in words
        assert "deleted" in words
        assert "withdrawn" not in words
        assert "fresh link" not in words
        assert "used the maximum" not in words


def test_an_expired_links_page_says_its_files_were_deleted_and_when(
    client: Any, released: tuple[DataSubjectRequest, str]
) -> None:
    access, path = released
    DownloadLink.objects.filter(request=access).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    assert exports_expire_files() == 3
    deleted_on = _day(Export.objects.filter(request=access).first().file_deleted_at)  # type: ignore[union-attr]
    words = _text(client.get(path))
    assert f"deleted on {deleted_on}" in words
    assert "fresh link" not in words
    # the portal says the same, and offers no new link
    status = portal_of(access)
    words = _text(client.get(status))
    assert f"deleted on {deleted_on}" in words
    assert "Ask for a new download link" not in words
    assert "expired or been used up" not in words


def test_the_access_portal_after_an_erasure_says_why_and_refuses_a_new_link(
    client: Any,
    released: tuple[DataSubjectRequest, str],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    access, _ = released
    status = portal_of(access)
    erasure = _erase(verified, approver, django_capture_on_commit_callbacks)
    words = _text(client.get(status))
    assert erasure.reference in words
    assert "Ask for a new download link" not in words
    assert "expired or been used up" not in words
    assert "We will email it" not in words
    # asking anyway (an old page's form) is refused, saying why, and nothing is promised
    refused = client.post(f"{status}new-link/")
    assert refused.status_code == 409
    assert erasure.reference in _text(refused)
    assert not access.events.filter(action="link_requested").exists()
    # a file from the portal says the same
    assert erasure.reference in _text(client.get(f"{status}files/pdf/"))


def test_staff_see_that_an_asked_for_link_cannot_be_sent_once_the_files_are_erased(
    client: Any,
    released: tuple[DataSubjectRequest, str],
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    access, _ = released
    status = portal_of(access)
    DownloadLink.objects.filter(request=access).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{status}new-link/").status_code == 302  # asked before the erasure
    erasure = _erase(verified, approver, django_capture_on_commit_callbacks)
    words = _text(client.get(status))
    assert "We will email it" not in words
    assert erasure.reference in words
    client.force_login(approver)
    staff = _text(client.get(reverse("dashboard-request", args=[access.reference])))
    assert "The person asked for a new download link" in staff
    assert erasure.reference in staff
    assert "Send one if it is still right to" not in staff


def test_an_erasures_portal_names_who_has_not_confirmed_and_serves_the_certificate(
    client: Any,
    own_estate: OwnEstate,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    erasure = _erase(verified, approver, django_capture_on_commit_callbacks)
    waiting = sorted(
        set(ProcessorNotice.objects.filter(request=erasure).values_list("organisation", flat=True))
    )
    assert waiting  # the demo's Article 19 recipient has not confirmed
    status = portal_of(erasure)
    words = _text(client.get(status))
    assert "Your request is complete" not in words
    for organisation in waiting:
        assert organisation in words
    html = client.get(status).content.decode()
    files = re.findall(rf'href="({status}files/(\w+)/)"', html)
    assert [f for _, f in files] == ["certificate", "signature"]
    got = client.get(files[0][0])
    assert b"".join(got.streaming_content).startswith(b"%PDF-")
    assert erasure.events.filter(action="downloaded").count() == 1
    # every recipient confirms: now it is done
    ProcessorNotice.objects.filter(request=erasure).update(confirmed_at=timezone.now())
    assert "Your request is complete" in _text(client.get(status))
    # the link lapses: the certificate is kept, and a new link can be asked for
    DownloadLink.objects.filter(request=erasure).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    exports_expire_files()
    words = _text(client.get(status))
    assert "We keep your certificate" in words
    assert "Ask for a new download link" in words
    # and a new link does reach them (staff decide)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{status}new-link/").status_code == 302
    link_reissue(dsr=erasure, actor=approver)
    html = client.get(status).content.decode()
    assert f"{status}files/certificate/" in html
    assert f"{status}files/signature/" in html
