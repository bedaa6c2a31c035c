"""Emailed download links: only the right person's files, counted, logged, expiring; a friendly
page for every problem; staff preview, revoke and reissue; expired files deleted."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone

from exports_app import services
from exports_app.models import DownloadLink
from requests_app.models import RequestEvent
from requests_app.review import decisions

pytestmark = pytest.mark.django_db


def _link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/downloads/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def released(
    demo_map: Any,
    verified: Any,
    approve: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> Any:
    def _release(email: str) -> tuple[Any, str]:
        dsr = approve(verified(email=email))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            decisions.request_release(dsr=dsr, actor=approver)
        return dsr, _link(mail.outbox[-1])

    return _release


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_link_downloads_each_file_decrypted(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    page = client.get(path)
    assert page.status_code == 200
    assert b"Download JSON" in page.content
    assert b"Download PDF" in page.content
    response = client.get(f"{path}json/")
    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == f'attachment; filename="{dsr.reference}-your-data.json"'
    )
    assert json.loads(_body(response))["subject"]["email"] == "alice@example.com"
    assert _body(client.get(f"{path}pdf/")).startswith(b"%PDF")


def test_a_download_is_counted_and_logged(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    _body(client.get(f"{path}csv/", HTTP_USER_AGENT="Firefox/132", REMOTE_ADDR="198.51.100.7"))
    link = DownloadLink.objects.get(request=dsr)
    assert link.downloads == 1
    event = dsr.events.get(action="downloaded")
    assert event.payload == {
        "format": "csv",
        "ip": "198.51.100.7",
        "user_agent": "Firefox/132",
        "link": link.pk,
    }
    assert client.get(path).status_code == 200  # viewing the page is not a download
    assert DownloadLink.objects.get(pk=link.pk).downloads == 1


def test_an_exhausted_link_is_refused_kindly(client: Any, released: Any, settings: Any) -> None:
    _, path = released("alice@example.com")
    for _ in range(settings.DSAR_DOWNLOAD_MAX):
        assert client.get(f"{path}json/").status_code == 200
    refused = client.get(f"{path}json/")
    assert refused.status_code == 410
    assert b"maximum number of times" in refused.content
    assert b"Each file can be downloaded a limited number of times" in refused.content
    assert b"new link" in refused.content


def test_an_expired_link_is_refused_kindly(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    DownloadLink.objects.filter(request=dsr).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    for url in (path, f"{path}json/"):
        response = client.get(url)
        assert response.status_code == 410
        assert b"has expired" in response.content
        assert b"Traceback" not in response.content


def test_a_wrong_or_tampered_token_gets_a_404_page(client: Any, released: Any) -> None:
    _, path = released("alice@example.com")
    token = path.split("/")[2]
    for bad in ("nonsense", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 300):
        response = client.get(f"/downloads/{bad}/json/")
        assert response.status_code == 404
        assert b"not valid" in response.content


def test_a_revoked_link_is_refused_and_a_reissued_one_works(
    client: Any, released: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr, old = released("alice@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.link_reissue(dsr=dsr, actor=approver)
    new = _link(mail.outbox[-1])
    assert new != old
    assert client.get(f"{old}json/").status_code == 410
    assert b"withdrawn" in client.get(old).content
    assert client.get(f"{new}json/").status_code == 200


def test_one_persons_link_never_reaches_another_persons_files(client: Any, released: Any) -> None:
    alice, alice_path = released("alice@example.com")
    bob, _bob_path = released("bob@example.com")
    alice_json = json.loads(_body(client.get(f"{alice_path}json/")))
    assert alice_json["request"]["reference"] == alice.reference
    assert "bob@example.com" not in json.dumps(alice_json)
    page = client.get(alice_path).content.decode()
    assert bob.reference not in page


def test_a_file_missing_from_storage_is_a_friendly_page(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    default_storage.delete(dsr.exports.get(format="pdf").file_name)
    response = client.get(f"{path}pdf/")
    assert response.status_code == 404
    assert b"not part of this download" in response.content


def test_expired_files_are_deleted_and_their_record_kept(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    names = [e.file_name for e in dsr.exports.all()]
    assert services.exports_expire_files() == 0  # the link is still live
    DownloadLink.objects.filter(request=dsr).update(expires_at=timezone.now() - timedelta(days=1))
    assert services.exports_expire_files() == 3
    assert not any(default_storage.exists(n) for n in names)
    assert all(e.file_deleted_at and e.sha256 and e.size_bytes for e in dsr.exports.all())
    expired = client.get(path)  # the link expired and its files went: the person is told both
    assert expired.status_code == 410
    assert b"after your download link stopped working" in expired.content
    assert b"Your files were deleted on" in expired.content
    assert b"fresh link" not in expired.content  # none can reach them


def test_staff_preview_before_release(
    demo_map: Any, verified: Any, approve: Any, reviewer_api: Any, api: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    assert api.get(f"/api/v1/requests/{dsr.reference}/exports/json/").status_code in (401, 403)
    response = reviewer_api.get(f"/api/v1/requests/{dsr.reference}/exports/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert dsr.events.filter(action="export_previewed").count() == 1


def test_release_through_the_api_needs_an_approver(
    demo_map: Any, verified: Any, approve: Any, reviewer_api: Any, approver_api: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    assert reviewer_api.post(f"/api/v1/requests/{dsr.reference}/release/").status_code == 403
    response = approver_api.post(f"/api/v1/requests/{dsr.reference}/release/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed"
    assert all(e["released_at"] for e in body["exports"])
    assert len(body["download_links"]) == 1


def test_redaction_through_the_api_then_rebuild(
    demo_map: Any,
    verified: Any,
    approve: Any,
    reviewer_api: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from exports_app.content import record_key
    from requests_app.gathering import gather
    from tests.exports_app.conftest import export_bytes

    dsr = approve(verified(email="bob@example.com"))
    _, ticket = next(gather.gathered_records(dsr.gather_steps.get(store="support")))
    bad = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/redactions/", {"store": "support"}, format="json"
    )
    assert bad.status_code == 400
    assert "table" in bad.json()
    no_reason = reviewer_api.post(
        f"/api/v1/requests/{dsr.reference}/redactions/",
        {"store": "support", "table": "tickets", "record_key": record_key(ticket)},
        format="json",
    )
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()  # a reason, or grounds: the person reads it
    with django_capture_on_commit_callbacks(execute=True):
        ok = reviewer_api.post(
            f"/api/v1/requests/{dsr.reference}/redactions/",
            {
                "store": "support",
                "table": "tickets",
                "record_key": record_key(ticket),
                "reason": "Other people",
            },
            format="json",
        )
    assert ok.status_code == 200
    # changed after approval: back to review (to be approved again), the files built again
    assert ok.json()["status"] == "in_review"
    dsr.refresh_from_db()
    document = json.loads(io.BytesIO(export_bytes(dsr.exports.get(format="json"))).read())
    assert document["data"]["support"]["tickets"]["records"][0] == {"[REDACTED]": "Other people"}


def test_an_unreadable_file_is_a_friendly_page_and_costs_no_download(
    client: Any, released: Any
) -> None:
    dsr, path = released("alice@example.com")
    export = dsr.exports.get(format="json")
    with default_storage.open(export.file_name, "rb") as handle:
        damaged = bytearray(handle.read())
    damaged[40] ^= 1  # one flipped bit inside the first frame
    default_storage.delete(export.file_name)
    default_storage.save(export.file_name, io.BytesIO(bytes(damaged)))
    response = client.get(f"{path}json/")
    assert response.status_code == 500
    assert b"cannot be read" in response.content
    assert b"Traceback" not in response.content
    assert DownloadLink.objects.get(request=dsr).downloads == 0
    assert client.get(f"{path}csv/").status_code == 200  # the other files still work


# --- Issue 13, finding 4: files cannot be swapped in storage ------------------------------------


def _replace(name: str, data: bytes) -> None:
    from django.core.files.base import ContentFile

    default_storage.delete(name)
    assert default_storage.save(name, ContentFile(data)) == name


def test_another_persons_file_copied_over_hers_is_never_served(
    client: Any, released: Any, caplog: Any
) -> None:
    alice, alice_path = released("alice@example.com")
    bob, _ = released("bob@example.com")
    with default_storage.open(bob.exports.get(format="json").file_name, "rb") as handle:
        bobs = handle.read()
    _replace(alice.exports.get(format="json").file_name, bobs)  # his file, her link
    response = client.get(f"{alice_path}json/")
    assert response.status_code == 500
    assert b"cannot be read" in response.content
    assert b"bob@example.com" not in response.content
    assert DownloadLink.objects.get(request=alice).downloads == 0  # not counted
    assert "not delivered" in caplog.text


def test_a_file_that_decrypts_but_is_not_the_one_recorded_is_stopped_and_not_counted(
    client: Any, released: Any, monkeypatch: Any, caplog: Any
) -> None:
    import io

    from smarct_dsar import crypto

    monkeypatch.setattr(crypto, "FRAME_BYTES", 1000)  # several chunks: the check ends the stream
    alice, path = released("alice@example.com")
    export = alice.exports.get(format="json")
    forged = io.BytesIO()
    writer = crypto.EncryptedWriter(forged, context=export.file_context)  # right key, right place
    writer.write(b'{"data": "not what was built"}' + b" " * 5000)
    writer.close()
    _replace(export.file_name, forged.getvalue())
    response = client.get(f"{path}json/")
    assert response.status_code == 200  # the first chunk went out before the end was checked
    from exports_app.files import FileMismatch

    with pytest.raises(FileMismatch):
        _body(response)
    assert DownloadLink.objects.get(request=alice).downloads == 0  # given back
    assert RequestEvent.objects.filter(request=alice, action="download_not_delivered").exists()
    assert "does not match its recorded SHA-256" in caplog.text


# --- Downloads are counted per file ----------------------------------------------------------


def _left_on_page(page: Any) -> dict[str, str]:
    """Each file's button (or used-up label) and its 'N downloads left', in page order."""
    html = page.content.decode()
    items = re.findall(r'<li class="download">(.*?)</li>', html, re.S)
    found = {}
    for item in items:
        name = re.search(r"-(your-data|deletion-certificate)\.([a-z.]+) ·", item)
        left = re.search(r"(\d+) downloads? left", item)
        assert name, item
        assert left, item
        found[name.group(2)] = left.group(1)
    return found


def test_each_file_may_be_downloaded_the_limit_times_and_the_sixth_of_one_is_refused_alone(
    client: Any, released: Any, settings: Any
) -> None:
    dsr, path = released("alice@example.com")
    assert settings.DSAR_DOWNLOAD_MAX == 5
    for format_ in ("pdf", "json"):
        for _ in range(5):
            response = client.get(f"{path}{format_}/")
            assert response.status_code == 200
            _body(response)
    refused = client.get(f"{path}pdf/")
    assert refused.status_code == 410
    assert b"This file has been downloaded the maximum number of times" in refused.content
    page = client.get(path)  # the link still works: the CSV has all its downloads
    assert page.status_code == 200
    assert _left_on_page(page) == {"pdf": "0", "json": "0", "zip": "5"}
    assert b"no downloads left" in page.content
    assert services.live_link(dsr) is not None
    assert services.exports_expire_files() == 0  # a live link still reaches the files
    for _ in range(5):
        assert client.get(f"{path}csv/").status_code == 200
    link = DownloadLink.objects.get(request=dsr)
    assert link.downloads == 15  # every file, for the record
    assert services.live_link(dsr) is None  # every file used up: the link is
    used_up = client.get(path)
    assert used_up.status_code == 410
    assert b"used the maximum number of times" in used_up.content
    assert dsr.events.filter(action="downloaded").count() == 15


def test_the_page_lists_the_pdf_first_and_the_downloads_left_of_each_file(
    client: Any, released: Any
) -> None:
    _, path = released("alice@example.com")
    for _ in range(2):
        _body(client.get(f"{path}json/"))
    page = client.get(path)
    assert list(_left_on_page(page).items()) == [("pdf", "5"), ("json", "3"), ("zip", "5")]
    text = page.content.decode()
    assert "You can download each file 5 times." in text
    assert "Your data is ready" in text
    assert "certificate" not in text.lower()


def test_the_email_says_the_limit_is_per_file(released: Any) -> None:
    released("alice@example.com")
    message = mail.outbox[-1]
    assert "each file 5 times" in message.body
    html = message.alternatives[0][0]
    assert "each file 5 times" in html
    assert "for 5 downloads" not in message.body
    listed = re.findall(r"your-data\.(pdf|json|zip) ", message.body)
    assert listed == ["pdf", "json", "zip"]  # the PDF, easiest to read, first


def test_a_file_given_back_is_counted_for_that_file_only(client: Any, released: Any) -> None:
    dsr, path = released("alice@example.com")
    _body(client.get(f"{path}json/"))
    _body(client.get(f"{path}pdf/"))
    link = DownloadLink.objects.get(request=dsr)
    services.download_uncount(link=link, export=dsr.exports.get(format="json"))
    assert _left_on_page(client.get(path)) == {"pdf": "4", "json": "5", "zip": "5"}
    assert DownloadLink.objects.get(pk=link.pk).downloads == 1


def test_a_link_that_expired_after_it_was_read_counts_no_download(released: Any) -> None:
    # the page read the link while it was live; by the time the download is counted (inside the
    # link's lock) it has expired: the check is made again there, and nothing is counted
    dsr, _ = released("alice@example.com")
    link = DownloadLink.objects.get(request=dsr)
    DownloadLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    counted = services.download_record(
        link=link, export=dsr.exports.get(format="pdf"), ip="127.0.0.1", user_agent="test"
    )
    assert counted is False
    assert DownloadLink.objects.get(pk=link.pk).downloads == 0
    assert not RequestEvent.objects.filter(request=dsr, action="downloaded").exists()
