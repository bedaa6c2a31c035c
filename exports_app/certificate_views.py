"""Anyone can check a deletion certificate: the public verification page and the published keys.

The person (or a regulator) uploads the certificate PDF and its ``.sig``; the page answers
GENUINE or NOT GENUINE, and why, with ``smarct_dsar.signing.verify`` (the check behind
``manage.py verify_certificate`` too). Nothing uploaded is kept: the files are read in memory
(``FILE_UPLOAD_HANDLERS`` holds only the memory handler: no temporary file; a body over
``DSAR_CERTIFICATE_CHECK_MAX_BYTES`` plus a ``.sig``'s 16 KB is refused whole), never written anywhere, and neither their
content nor their digest is logged.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from smarct_dsar import signing
from smarct_dsar.proxies import client_ip
from smarct_dsar.ratelimit import rate_limit_hit, too_many_page

SIGNATURE_MAX_BYTES = 16 * 1024
HOW_TO_CHECK = (
    "The .sig file is JSON. Take its fields format, algorithm, key_id, sha256, signed_at and "
    "reference; serialise them as JSON with sorted keys and no spaces (separators ',' and ':'); "
    "its signature field is the base64 Ed25519 signature of those bytes by the key below whose "
    "key_id it names. The certificate is the one signed when the SHA-256 of the PDF, in hex, "
    "equals the sha256 field."
)  # a real .sig is about 400 bytes


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def _read(upload: UploadedFile, limit: int, too_big: str) -> bytes:
    if (upload.size or 0) > limit:
        raise forms.ValidationError(too_big, code="too_big")
    return upload.read()


class CertificateCheckForm(forms.Form):
    certificate = forms.FileField(
        label=gettext_lazy("The certificate (PDF)"),
        help_text=gettext_lazy("The file ending -deletion-certificate.pdf."),
        error_messages={"required": gettext_lazy("Choose the certificate's PDF file.")},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )
    signature = forms.FileField(
        label=gettext_lazy("Its signature (.sig file)"),
        help_text=gettext_lazy("The file ending -deletion-certificate.pdf.sig that came with it."),
        error_messages={"required": gettext_lazy("Choose the certificate's .sig file.")},
        widget=forms.ClearableFileInput(attrs={"accept": ".sig"}),
    )

    def clean_certificate(self) -> bytes:
        data = _read(
            self.cleaned_data["certificate"],
            settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES,
            gettext("This file is too big: a certificate is under %(mb)s MB.")
            % {"mb": _mb(settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES)},
        )
        if not data.startswith(b"%PDF-"):
            raise forms.ValidationError(
                gettext("This is not a PDF file: choose the certificate, which ends .pdf."),
                code="not_pdf",
            )
        return data

    def clean_signature(self) -> bytes:
        data = _read(
            self.cleaned_data["signature"],
            SIGNATURE_MAX_BYTES,
            gettext("This file is too big: a signature file is under %(kb)s KB.")
            % {"kb": SIGNATURE_MAX_BYTES // 1024},
        )
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):  # (deep nesting: not ours either)
            parsed = None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(
                gettext(
                    "This is not a signature file: choose the file ending .pdf.sig that came "
                    "with the certificate."
                ),
                code="not_signature",
            )
        return data


def _why_not(verdict: signing.Verdict) -> str:
    """What the person reads when the certificate is not genuine (``signing.Problem``)."""
    if verdict.problem == signing.Problem.UNKNOWN_KEY:
        return gettext(
            "It was signed with a key we never published (%(key)s): it is not one of our "
            "certificates."
        ) % {"key": verdict.key_id}
    if verdict.problem == signing.Problem.SIGNATURE:
        return gettext(
            "The signature does not match: the .sig file was changed after we signed it."
        )
    if verdict.problem == signing.Problem.ALTERED:
        return gettext(
            "The certificate is not the document this .sig file signs: it was changed after we "
            "signed it (even one byte counts), or the .sig belongs to another certificate."
        )
    return gettext("The .sig file is not one of our signature files.")


def _key_words(verdict: signing.Verdict) -> str:
    if verdict.key_current:
        return gettext("It is signed with our current key %(key)s.") % {"key": verdict.key_id}
    if verdict.key_retired_on:
        return gettext(
            "It is signed with our key %(key)s, which we retired on %(date)s: certificates it "
            "signed before then stay genuine."
        ) % {"key": verdict.key_id, "date": date_format(verdict.key_retired_on, "j F Y")}
    return gettext(
        "It is signed with our key %(key)s, which we have retired: certificates it signed "
        "stay genuine."
    ) % {"key": verdict.key_id}


def _when(signed_at: str) -> str:
    """The signing time as a person reads it, in the site's time zone (as signed, if odd)."""
    try:
        moment = datetime.fromisoformat(signed_at)
    except ValueError:
        return signed_at
    if timezone.is_naive(moment):
        return signed_at
    return date_format(timezone.localtime(moment), "j F Y, H:i")


def _page(
    request: HttpRequest, form: CertificateCheckForm, status: int = 200, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "exports_app/certificate_verify.html",
        {
            "form": form,
            "keys": signing.published_keys(),
            "keys_url": reverse("signing-keys"),
            "max_mb": _mb(settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES),
            **extra,
        },
        status=status,
    )


def _too_big(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES + SIGNATURE_MAX_BYTES


@never_cache
@require_http_methods(["GET", "POST"])
def certificate_verify(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, CertificateCheckForm())
    verdict_limit = rate_limit_hit(
        scope="certificate-check-ip",
        identity=client_ip(request),
        limit=settings.DSAR_RATE_LIMIT_CERTIFICATE_CHECKS_PER_IP,
    )
    if not verdict_limit.allowed:
        return too_many_page(request, verdict_limit)
    if _too_big(request):  # refused whole, before the form looks at it
        form = CertificateCheckForm()
        return _page(
            request,
            form,
            status=400,
            too_big=gettext("These files are too big: a certificate is under %(mb)s MB.")
            % {"mb": _mb(settings.DSAR_CERTIFICATE_CHECK_MAX_BYTES)},
        )
    form = CertificateCheckForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    verdict = signing.verify(form.cleaned_data["certificate"], form.cleaned_data["signature"])
    return _page(
        request,
        CertificateCheckForm(),
        verdict=verdict,
        signed_on=_when(verdict.signed_at),
        why_not="" if verdict.genuine else _why_not(verdict),
        key_words=_key_words(verdict) if verdict.genuine else "",
    )


@require_GET
def signing_keys(request: HttpRequest) -> JsonResponse:
    """The public keys certificates are signed with (current and retired), for anyone to check
    a certificate without us: ``/.well-known/smarct-dsar-keys.json``."""
    response = JsonResponse(
        {
            "format": "smarct-dsar-keys/1",
            "controller": settings.DSAR_CONTROLLER_NAME,
            "verify_page": settings.SITE_URL + reverse("certificate-verify"),
            "signature_format": signing.FORMAT,
            "how_to_check": HOW_TO_CHECK,
            "keys": [
                {
                    "key_id": k.key_id,
                    "algorithm": "Ed25519",
                    "fingerprint_sha256": k.fingerprint,
                    "status": "current" if k.current else "retired",
                    "retired_on": k.retired_on.isoformat() if k.retired_on else None,
                    "public_key_pem": k.pem,
                }
                for k in signing.published_keys()
            ],
        },
        json_dumps_params={"indent": 1},
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response
