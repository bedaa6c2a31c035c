"""Detached Ed25519 signatures for deletion certificates.

A certificate PDF travels with a small JSON signature file (``<name>.pdf.sig``)::

    {"format": "smarct-dsar-signature/1", "algorithm": "Ed25519", "key_id": "…",
     "sha256": "<of the PDF>", "signed_at": "…", "reference": "DSR-…", "signature": "<base64>"}

The signature covers the canonical JSON of every other field, so the PDF's digest, the request
reference and the time cannot be swapped either. Verification trusts only our own keys (the
current one and retired ones listed in ``DSAR_TRUSTED_SIGNING_KEYS``), never a key the file
brings with it. Anyone can check with the published public key, without Smarct.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

FORMAT = "smarct-dsar-signature/1"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@lru_cache(maxsize=2)
def _private(pem: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except ValueError as exc:
        raise ImproperlyConfigured(
            "DSAR_SIGNING_KEY is not a PEM private key. Fix: openssl genpkey -algorithm ed25519"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(
            "DSAR_SIGNING_KEY must be an Ed25519 key. Fix: openssl genpkey -algorithm ed25519"
        )
    return key


def signing_key() -> Ed25519PrivateKey:
    return _private(settings.DSAR_SIGNING_KEY)


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """key id → public key: the current signing key and every retired one still trusted."""
    keys = [signing_key().public_key()]
    for path in settings.DSAR_TRUSTED_SIGNING_KEYS:
        loaded = serialization.load_pem_public_key(Path(path).read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys.append(loaded)
    return {key_id(k): k for k in keys}


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(document: bytes, *, reference: str) -> bytes:
    """The detached signature file for ``document``."""
    key = signing_key()
    fields = {
        "format": FORMAT,
        "algorithm": "Ed25519",
        "key_id": key_id(key.public_key()),
        "sha256": hashlib.sha256(document).hexdigest(),
        "signed_at": timezone.now().isoformat(timespec="seconds"),
        "reference": reference,
    }
    signature = base64.b64encode(key.sign(_canonical(fields))).decode()
    return json.dumps({**fields, "signature": signature}, indent=1).encode() + b"\n"


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    reason: str
    reference: str = ""
    signed_at: str = ""
    key_id: str = ""


def verify(document: bytes, signature_file: bytes) -> Verdict:
    """Is ``document`` exactly what we signed? Checks the signature against our trusted keys,
    then the document's digest against the signed one."""
    try:
        data = json.loads(signature_file)
        fields = {k: data[k] for k in ("format", "algorithm", "key_id", "sha256", "signed_at")}
        fields["reference"] = data["reference"]
        signature = base64.b64decode(data["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        return Verdict(False, "the signature file is not a Smarct DSAR signature")
    if fields["format"] != FORMAT or fields["algorithm"] != "Ed25519":
        return Verdict(False, f"unknown signature format {fields['format']!r}")
    key = trusted_keys().get(str(fields["key_id"]))
    if key is None:
        return Verdict(False, f"signed by key {fields['key_id']}, which this Smarct does not trust")
    try:
        key.verify(signature, _canonical(fields))
    except InvalidSignature:
        return Verdict(False, "the signature does not match: the signature file was altered")
    if hashlib.sha256(document).hexdigest() != fields["sha256"]:
        return Verdict(False, "the certificate was altered after it was signed")
    return Verdict(
        True,
        "genuine and unaltered",
        reference=str(fields["reference"]),
        signed_at=str(fields["signed_at"]),
        key_id=str(fields["key_id"]),
    )


def sign_record(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the current key's id and an Ed25519 signature over all of them (for small
    signed records such as the audit trail's checkpoints)."""
    key = signing_key()
    signed = {**fields, "key_id": key_id(key.public_key())}
    return {**signed, "signature": base64.b64encode(key.sign(_canonical(signed))).decode()}


def record_problem(record: dict[str, Any]) -> str | None:
    """Why a signed record is not genuine (by a key we trust, unaltered); None when it is."""
    try:
        fields = {k: v for k, v in record.items() if k != "signature"}
        signature = base64.b64decode(record["signature"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        return "it carries no signature"
    key = trusted_keys().get(str(fields.get("key_id")))
    if key is None:
        return f"it is signed by key {fields.get('key_id')!r}, which this Smarct does not trust"
    try:
        key.verify(signature, _canonical(fields))
    except InvalidSignature:
        return "its signature does not match: it was altered"
    return None
