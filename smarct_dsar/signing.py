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
from datetime import date
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
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


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


@dataclass(frozen=True)
class PublishedKey:
    """A public key certificates are checked against, as published (``published_keys``)."""

    key: Ed25519PublicKey
    retired_on: date | None = None  # None: the current signing key (or no date was given)
    current: bool = False

    @property
    def key_id(self) -> str:
        return key_id(self.key)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw 32-byte public key, in hex; ``key_id`` is its first 16 digits."""
        return hashlib.sha256(_raw(self.key)).hexdigest()

    @property
    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _retired_key(entry: str) -> PublishedKey:
    """One ``DSAR_TRUSTED_SIGNING_KEYS`` entry: ``PATH`` or ``PATH@YYYY-MM-DD`` (the day the key
    was retired, which the verification page tells)."""
    path, _, day = entry.partition("@")
    try:
        retired_on = date.fromisoformat(day) if day else None
        loaded = serialization.load_pem_public_key(Path(path).read_bytes())
    except (ValueError, OSError) as exc:
        raise ImproperlyConfigured(
            f"DSAR_TRUSTED_SIGNING_KEYS: {entry!r} is not PATH or PATH@YYYY-MM-DD of a PEM public "
            f"key ({exc}). Fix: openssl pkey -in old.pem -pubout > old.pub.pem"
        ) from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise ImproperlyConfigured(f"DSAR_TRUSTED_SIGNING_KEYS: {path} is not an Ed25519 key.")
    return PublishedKey(loaded, retired_on=retired_on)


def published_keys() -> list[PublishedKey]:
    """The current signing key first, then every retired one still trusted: what the
    well-known key list publishes and what ``verify`` trusts."""
    keys = [PublishedKey(signing_key().public_key(), current=True)]
    keys += [_retired_key(entry) for entry in settings.DSAR_TRUSTED_SIGNING_KEYS]
    return keys


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """key id → public key: the current signing key and every retired one still trusted."""
    return {k.key_id: k.key for k in reversed(published_keys())}


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


# What a certificate's signature file holds besides the signature, each once (``sign``).
SIGNED_FIELDS = ("format", "algorithm", "key_id", "sha256", "signed_at", "reference")


def _each_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a field given twice")
    return dict(pairs)


def signature_read(signature_file: bytes) -> tuple[dict[str, str], bytes] | None:
    """The signed fields and the signature of a ``.sig`` file, read strictly; None when it is not
    a file ``sign`` could have written: UTF-8 JSON, one object holding exactly our fields, each
    once and a string, the signature in canonical base64. A lenient reader would let a changed
    file pass for unchanged (a field twice, an unsigned extra field, other padding bits)."""
    try:
        data = json.loads(signature_file.decode("utf-8"), object_pairs_hook=_each_once)
    except (ValueError, RecursionError):  # (a UnicodeDecodeError is a ValueError)
        return None
    if (
        not isinstance(data, dict)
        or set(data) != {*SIGNED_FIELDS, "signature"}
        or not all(isinstance(value, str) for value in data.values())
    ):
        return None
    try:
        signature = base64.b64decode(data["signature"], validate=True)
    except ValueError:
        return None
    if base64.b64encode(signature).decode() != data["signature"]:
        return None
    return {key: data[key] for key in SIGNED_FIELDS}, signature


class Problem:
    """Why a certificate is not genuine: a code the CLI and the verification page both word."""

    MALFORMED = "malformed"  # the .sig is not a Smarct DSAR signature file
    FORMAT = "format"  # a signature format or algorithm we do not use
    UNKNOWN_KEY = "unknown_key"  # signed by a key we never published
    SIGNATURE = "signature"  # the signature does not match the .sig's fields
    ALTERED = "altered"  # the document is not the one signed


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    reason: str
    problem: str = ""  # a ``Problem`` when not genuine
    reference: str = ""
    signed_at: str = ""
    key_id: str = ""
    key_current: bool = False
    key_retired_on: date | None = None


def verify(document: bytes, signature_file: bytes) -> Verdict:
    """Is ``document`` exactly what we signed? Checks the signature against our published keys
    (``published_keys``), then the document's digest against the signed one. The one check
    behind ``manage.py verify_certificate`` and the public verification page."""
    read = signature_read(signature_file)
    if read is None:
        return Verdict(
            False, "the signature file is not a Smarct DSAR signature", problem=Problem.MALFORMED
        )
    fields, signature = read
    if fields["format"] != FORMAT or fields["algorithm"] != "Ed25519":
        return Verdict(
            False, f"unknown signature format {fields['format']!r}", problem=Problem.FORMAT
        )
    published = {k.key_id: k for k in published_keys()}
    key = published.get(str(fields["key_id"]))
    if key is None:
        return Verdict(
            False,
            f"signed by key {fields['key_id']}, which this Smarct does not trust",
            problem=Problem.UNKNOWN_KEY,
            key_id=str(fields["key_id"]),
        )
    try:
        key.key.verify(signature, _canonical(fields))
    except InvalidSignature:
        return Verdict(
            False,
            "the signature does not match: the signature file was altered",
            problem=Problem.SIGNATURE,
        )
    if hashlib.sha256(document).hexdigest() != fields["sha256"]:
        return Verdict(
            False, "the certificate was altered after it was signed", problem=Problem.ALTERED
        )
    return Verdict(
        True,
        "genuine and unaltered",
        reference=str(fields["reference"]),
        signed_at=str(fields["signed_at"]),
        key_id=key.key_id,
        key_current=key.current,
        key_retired_on=key.retired_on,
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
