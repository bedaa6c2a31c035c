"""Secrets and encryption at rest, in one place.

* Tokens in links carry 256 random bits; only their SHA-256 is stored, so a database leak
  yields no working link.
* Small values (queued email bodies) use Fernet (AES-128-CBC + HMAC-SHA256) through MultiFernet:
  the first key in ``DSAR_ENCRYPTION_KEYS`` encrypts, every key decrypts: that is rotation.
* Large files use AES-256-GCM frames under keys derived from the same configured keys (below).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from functools import lru_cache
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "EncryptedWriter",
    "InvalidToken",
    "decrypt",
    "encrypt",
    "iter_decrypted",
    "iter_decrypted_lines",
    "keyed_hash",
    "new_token",
    "token_hash",
]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(value: str, *, purpose: str) -> str:
    """A stable, non-reversible identifier for personal data (e.g. an email in a cache key)."""
    key = hashlib.sha256(f"{purpose}:{settings.DSAR_PSEUDONYM_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "DSAR_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 "
            "bytes). Fix: generate one with python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'."
        ) from exc


def encrypt(data: bytes) -> bytes:
    return _fernet(tuple(settings.DSAR_ENCRYPTION_KEYS)).encrypt(data)


def decrypt(data: bytes) -> bytes:
    return _fernet(tuple(settings.DSAR_ENCRYPTION_KEYS)).decrypt(data)


# --- Streaming encryption for large files ---------------------------------------------------------
# Large files (gathered data, exports) are written as frames of AES-256-GCM, an authenticated
# cipher: Fernet's base64 made it three times slower on a million rows (bench/gather.py). Each
# configured Fernet key yields a GCM key through HKDF, named by an 8-byte fingerprint at the start
# of the file, so rotation works as for Fernet: the newest key encrypts, every key decrypts. Each
# frame's number and a last-frame flag are authenticated too, so frames cannot be reordered,
# dropped or cut off without decryption failing.
#
# Each file is bound to what it is: a random file id and its context (the row it belongs to and
# its kind, e.g. ``export:DSR-2026-000001:json:17``) are in the header and in every frame's
# associated data. A frame moved from another file fails authentication, and a whole file copied
# over another (another person's export under this person's link) is refused by its context.
#
#   file  = MAGIC, key fingerprint (8), file id (16), context length (2), context, frame*
#   frame = length (4, big-endian), nonce (12), ciphertext + tag over up to FRAME_BYTES of data
#   frame associated data = file id, SHA-256(context), frame number (8), last-frame flag (1)


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


MAGIC = b"DSARGCM2"
MAGIC_UNBOUND = b"DSARGCM1"  # files written before they were bound to their context
FRAME_BYTES = 1 << 20


@lru_cache(maxsize=8)
def _gcm_keys(keys: tuple[str, ...]) -> tuple[tuple[bytes, AESGCM], ...]:
    derived = []
    for key in keys:
        secret = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"dsar file frames v1"
        ).derive(base64.urlsafe_b64decode(key.encode()))
        derived.append((hashlib.sha256(secret).digest()[:8], AESGCM(secret)))
    return tuple(derived)


def _frame_aad(index: int, last: bool) -> bytes:
    return index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _binding(file_id: bytes, context: bytes) -> bytes:
    return file_id + hashlib.sha256(context).digest()


class EncryptedWriter:
    """Buffers plaintext and writes it as encrypted frames to a binary file object, bound to
    ``context`` (what the file is; the reader must name the same). ``close()`` writes the last
    frame (possibly empty); a file without it fails to decrypt."""

    def __init__(self, target: Writable, *, context: str) -> None:
        fingerprint, self._cipher = _gcm_keys(tuple(settings.DSAR_ENCRYPTION_KEYS))[0]
        file_id, raw_context = secrets.token_bytes(16), context.encode()
        self._bound = _binding(file_id, raw_context)
        self._target = target
        self._buffer = bytearray()
        self._index = 0
        self._target.write(
            MAGIC + fingerprint + file_id + len(raw_context).to_bytes(2, "big") + raw_context
        )

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > FRAME_BYTES:
            self._flush(bytes(self._buffer[:FRAME_BYTES]), last=False)
            del self._buffer[:FRAME_BYTES]

    def close(self) -> None:
        self._flush(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _flush(self, chunk: bytes, *, last: bool) -> None:
        nonce = secrets.token_bytes(12)
        aad = self._bound + _frame_aad(self._index, last)
        sealed = nonce + self._cipher.encrypt(nonce, chunk, aad)
        self._target.write(len(sealed).to_bytes(4, "big") + sealed)
        self._index += 1


def iter_decrypted(source: Readable, *, context: str, unbound: bool = False) -> Iterator[bytes]:
    """Yield the plaintext frames of a file written by ``EncryptedWriter`` for ``context``.
    ``unbound``: also read a file of the format before files were bound to their context (only
    where the caller checks the plaintext's recorded SHA-256 itself)."""
    magic, fingerprint = source.read(len(MAGIC)), source.read(8)
    if magic == MAGIC:
        file_id = source.read(16)
        written_for = source.read(int.from_bytes(source.read(2), "big"))
        if written_for != context.encode():
            raise InvalidToken(f"this file belongs to another ({written_for!r}, not {context!r})")
        bound = _binding(file_id, written_for)
    elif magic == MAGIC_UNBOUND and unbound:
        bound = b""
    elif magic == MAGIC_UNBOUND:
        raise InvalidToken("written by an older version, without its identity: build it again")
    else:
        raise InvalidToken("not an encrypted DSAR file")
    ciphers = dict(_gcm_keys(tuple(settings.DSAR_ENCRYPTION_KEYS)))
    cipher = ciphers.get(fingerprint)
    if cipher is None:
        raise InvalidToken("encrypted with a key that is no longer configured")
    index, pending = 0, source.read(4)
    while pending:
        size = int.from_bytes(pending, "big")
        sealed = source.read(size)
        if len(pending) != 4 or len(sealed) != size:
            raise InvalidToken("truncated frame")
        pending = source.read(4)
        try:
            yield cipher.decrypt(
                sealed[:12], sealed[12:], bound + _frame_aad(index, last=not pending)
            )
        except InvalidTag as exc:
            raise InvalidToken(
                f"frame {index} failed authentication (altered or truncated file)"
            ) from exc
        index += 1
    if index == 0:
        raise InvalidToken("truncated file: no frames")


def iter_decrypted_lines(source: Readable, *, context: str) -> Iterator[bytes]:
    """Yield complete lines (without the newline) across frame boundaries."""
    pending = b""
    for chunk in iter_decrypted(source, context=context):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending
