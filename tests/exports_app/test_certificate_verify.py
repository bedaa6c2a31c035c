"""Anyone can check a deletion certificate: the public verification page and the published keys,
with a real certificate issued by the real erasure workflow (own demo estate)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from pypdf import PdfReader

from exports_app.models import Export, ExportFormat
from smarct_dsar import signing
from smarct_dsar.crypto import iter_decrypted
from tests.conftest import OwnEstate
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db

VERIFY = "/certificates/verify/"
KEYS = "/.well-known/smarct-dsar-keys.json"


@dataclass
class Issued:
    dsr: Any
    pdf: bytes
    sig: bytes
    download_path: str


def _file(export: Export) -> bytes:
    with default_storage.open(export.file_name, "rb") as handle:
        return b"".join(iter_decrypted(handle, context=export.file_context))


@pytest.fixture
def issued(
    own_estate: OwnEstate, verified: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> Issued:
    dsr = verified(request_type="erasure", name="Bob Baker", email="bob@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit_and_approve(dsr, approver, reason="checked")
    dsr.refresh_from_db()
    match = re.search(r"https?://[^/\s]+(/downloads/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return Issued(
        dsr,
        _file(Export.objects.get(request=dsr, format=ExportFormat.CERTIFICATE)),
        _file(Export.objects.get(request=dsr, format=ExportFormat.SIGNATURE)),
        match.group(1),
    )


def _check(pdf: bytes, sig: bytes, client: Client | None = None) -> Any:
    return (client or Client()).post(
        VERIFY,
        {
            "certificate": SimpleUploadedFile("c.pdf", pdf, "application/pdf"),
            "signature": SimpleUploadedFile("c.pdf.sig", sig, "application/octet-stream"),
        },
    )


def _verdict(response: Any) -> str:
    match = re.search(r'<h2 id="verdict-title">([^<]+)</h2>', response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def _new_key(tmp_path: Path, name: str) -> tuple[str, Path]:
    """A fresh Ed25519 key: its private PEM and the path of its public PEM."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = tmp_path / f"{name}.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _tree(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def test_a_real_certificate_is_genuine_and_nothing_uploaded_is_kept(
    issued: Issued, caplog: Any
) -> None:
    var, tmp = Path(django_settings.VAR_DIR), Path(tempfile.gettempdir())
    before_var, before_tmp = _tree(var), set(os.listdir(tmp))
    caplog.set_level(logging.DEBUG)
    response = _check(issued.pdf, issued.sig)
    assert response.status_code == 200
    assert _verdict(response) == "GENUINE"
    text = response.content.decode()
    assert issued.dsr.reference in text
    key = signing.key_id(signing.signing_key().public_key())
    assert f"signed with our current key {key}" in text
    signed = json.loads(issued.sig)["signed_at"]
    when = dt.datetime.fromisoformat(signed).astimezone(timezone.get_current_timezone())
    assert f"signed on {date_format(when, 'j F Y, H:i')}" in text
    assert _tree(var) == before_var  # no file written or touched in storage or var/
    assert set(os.listdir(tmp)) == before_tmp  # and no temporary upload file
    digest = signing.hashlib.sha256(issued.pdf).hexdigest()
    assert digest not in caplog.text
    assert issued.sig.decode()[:40] not in caplog.text


def test_one_byte_changed_a_swapped_sig_or_an_altered_sig_is_not_genuine(
    issued: Issued,
) -> None:
    tampered = bytearray(issued.pdf)
    tampered[len(tampered) // 2] ^= 0x01
    response = _check(bytes(tampered), issued.sig)
    assert response.status_code == 200
    assert _verdict(response) == "NOT GENUINE"
    assert "changed after we signed it" in response.content.decode()

    # a genuine .sig of another certificate (the same key, another document)
    other = signing.sign(issued.pdf + b"\n%another certificate", reference="DSR-2026-999999")
    response = _check(issued.pdf, other)
    assert _verdict(response) == "NOT GENUINE"
    assert "the .sig belongs to another certificate" in response.content.decode()

    forged = json.loads(issued.sig)
    forged["reference"] = "DSR-2026-999999"
    response = _check(issued.pdf, json.dumps(forged).encode())
    assert _verdict(response) == "NOT GENUINE"
    assert "The signature does not match" in response.content.decode()


def test_a_signature_by_a_key_we_never_published_is_not_genuine(
    issued: Issued, settings: Any, tmp_path: Path
) -> None:
    ours = settings.DSAR_SIGNING_KEY
    settings.DSAR_SIGNING_KEY, _ = _new_key(tmp_path, "stranger")
    stranger_sig = signing.sign(issued.pdf, reference=issued.dsr.reference)
    settings.DSAR_SIGNING_KEY = ours
    response = _check(issued.pdf, stranger_sig)
    assert _verdict(response) == "NOT GENUINE"
    assert "signed with a key we never published" in response.content.decode()


def test_a_certificate_signed_by_a_retired_key_stays_genuine_and_says_so(
    issued: Issued, settings: Any, tmp_path: Path
) -> None:
    old_public = tmp_path / "old.pub.pem"
    old_public.write_text(signing.public_key_pem())
    old_id = signing.key_id(signing.signing_key().public_key())
    settings.DSAR_SIGNING_KEY, _ = _new_key(tmp_path, "new")  # rotated
    settings.DSAR_TRUSTED_SIGNING_KEYS = [f"{old_public}@2026-10-01"]
    response = _check(issued.pdf, issued.sig)
    assert _verdict(response) == "GENUINE"
    assert f"our key {old_id}, which we retired on 1 October 2026" in response.content.decode()
    published = Client().get(KEYS).json()["keys"]
    assert [(k["key_id"], k["status"], k["retired_on"]) for k in published] == [
        (signing.key_id(signing.signing_key().public_key()), "current", None),
        (old_id, "retired", "2026-10-01"),
    ]
    settings.DSAR_TRUSTED_SIGNING_KEYS = []  # no longer trusted at all
    assert _verdict(_check(issued.pdf, issued.sig)) == "NOT GENUINE"


def test_the_well_known_keys_are_the_ones_signing_uses(issued: Issued, settings: Any) -> None:
    response = Client().get(KEYS)
    assert response.status_code == 200
    body = response.json()
    (key,) = body["keys"]
    assert key["key_id"] == json.loads(issued.sig)["key_id"]
    assert key["public_key_pem"] == signing.public_key_pem()
    raw = (
        signing.signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert key["fingerprint_sha256"] == signing.hashlib.sha256(raw).hexdigest()
    assert key["fingerprint_sha256"].startswith(key["key_id"])
    assert body["verify_page"] == settings.SITE_URL + VERIFY
    page = Client().get(VERIFY).content.decode()  # the page lists them in words
    assert key["fingerprint_sha256"] in page
    assert "Current key" in page


def test_the_certificate_tells_the_person_how_to_check_it_themselves(
    issued: Issued, settings: Any
) -> None:
    text = " ".join(
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(issued.pdf)).pages).split()
    )
    fingerprint = signing.published_keys()[0].fingerprint
    assert fingerprint[:16] in text.replace(" ", "")
    assert f"{settings.SITE_URL}{VERIFY}" in text
    assert "manage.py" not in text
    assert "send both files to" not in text


def test_the_certificates_download_page_has_its_own_words(issued: Issued) -> None:
    page = Client().get(issued.download_path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Your certificate of erasure" in text
    assert "Your data is ready" not in text
    assert "JSON and CSV" not in text
    assert f'href="{VERIFY}"' in text
    assert text.index("-deletion-certificate.pdf ·") < text.index("-deletion-certificate.pdf.sig")


def test_the_certificates_download_page_claims_no_more_than_the_email(issued: Issued) -> None:
    # Bob's invoices are kept by law: his erasure was carried out, not all of his data erased
    email = mail.outbox[-1].body
    assert "We have carried out your erasure request" in email
    text = Client().get(issued.download_path).content.decode()
    assert "We have erased your personal data" not in text
    assert "We have carried out your erasure request" in text


@pytest.mark.parametrize(
    ("pdf", "sig", "words"),
    [
        (b"GIF89a not a pdf", b"{}", "This is not a PDF file"),
        (b"%PDF-1.7 whatever", b"not json at all", "This is not a signature file"),
        (b"%PDF-1.7 whatever", b"[1, 2]", "This is not a signature file"),
        (b"%PDF-1.7 whatever", b"{" + b" " * 20000 + b"}", "a signature file is under 16 KB"),
        (b"%PDF-1.7 whatever", b"[" * 15000, "This is not a signature file"),  # deep: no 500
        (b"%PDF-1.7 whatever", b'{"a":' * 3000, "This is not a signature file"),
    ],
)
def test_bad_uploads_are_a_clear_400_with_the_field_named(
    pdf: bytes, sig: bytes, words: str
) -> None:
    response = _check(pdf, sig)
    assert response.status_code == 400
    text = response.content.decode()
    assert words in text
    assert "We could not check these files" in text
    assert 'aria-describedby="' in text
    assert "verdict-title" not in text


def test_a_missing_file_and_a_body_too_big_are_400s(settings: Any) -> None:
    response = Client().post(VERIFY, {})
    assert response.status_code == 400
    assert "Choose the certificate" in response.content.decode()
    settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES = 64 * 1024
    big = _check(b"%PDF-" + b"0" * 200_000, b"{}")
    assert big.status_code == 400
    assert "These files are too big" in big.content.decode()


def test_the_check_is_csrf_protected_and_rate_limited(settings: Any) -> None:
    cache.clear()
    strict = Client(enforce_csrf_checks=True)
    assert _check(b"%PDF-1.7", b"{}", strict).status_code == 403
    settings.DSAR_RATE_LIMIT_CERTIFICATE_CHECKS_PER_IP = 2
    assert _check(b"%PDF-1.7", b"{}").status_code == 200
    assert _check(b"%PDF-1.7", b"{}").status_code == 200
    limited = _check(b"%PDF-1.7", b"{}")
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert Client().get(VERIFY).status_code == 200  # reading the page is not a check


def _changed_sig(sig: bytes, how: str) -> bytes:
    data = json.loads(sig)
    if how == "padding bits":  # decodes to the same bytes, but is not the text we wrote
        last = data["signature"].rstrip("=")[-1]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        data["signature"] = data["signature"].replace(
            last + "==", alphabet[alphabet.index(last) + 1] + "=="
        )
        return json.dumps(data).encode()
    if how == "a field twice":
        return b'{"reference": "DSR-FAKE-000001", ' + sig.lstrip()[1:]
    if how == "a field we never wrote":
        return json.dumps({**data, "extra": "<b>hello</b>"}).encode()
    if how == "another encoding":
        return sig.decode().encode("utf-16")
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["padding bits", "a field twice", "a field we never wrote", "another encoding"]
)
def test_a_sig_file_changed_in_any_way_is_not_genuine(issued: Issued, how: str) -> None:
    changed = _changed_sig(issued.sig, how)
    assert changed != issued.sig
    response = _check(issued.pdf, changed)
    assert response.status_code in (200, 400)
    text = response.content.decode()
    assert "NOT GENUINE" in text or "This is not a signature file" in text
    assert not signing.verify(issued.pdf, changed).genuine
