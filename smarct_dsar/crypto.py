"""Secrets and encryption at rest, in one place.

* Tokens in links carry 256 random bits; only their SHA-256 is stored, so a database leak
  yields no working link.
* Encryption uses Fernet (AES-128-CBC + HMAC-SHA256) through MultiFernet: the first key in
  ``DSAR_ENCRYPTION_KEYS`` encrypts, every key decrypts, which is how keys are rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from functools import lru_cache
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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
    key = hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()
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
# Fernet encrypts whole messages, so a large file is written as frames: a 4-byte big-endian
# length, then one Fernet token over up to FRAME_BYTES of plaintext. Memory stays bounded by the
# frame size, each frame is authenticated, and a truncated file fails to decrypt.

MAGIC = b"DSARENC1\n"
FRAME_BYTES = 1 << 20


class EncryptedWriter:
    """Buffers plaintext and writes it as encrypted frames to a binary file object."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._buffer = bytearray()
        self._target.write(MAGIC)

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= FRAME_BYTES:
            self._flush(bytes(self._buffer[:FRAME_BYTES]))
            del self._buffer[:FRAME_BYTES]

    def close(self) -> None:
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer.clear()

    def _flush(self, chunk: bytes) -> None:
        token = encrypt(chunk)
        self._target.write(len(token).to_bytes(4, "big"))
        self._target.write(token)


def iter_decrypted(source: BinaryIO) -> Iterator[bytes]:
    """Yield the plaintext chunks of a file written by ``EncryptedWriter``."""
    if source.read(len(MAGIC)) != MAGIC:
        raise InvalidToken("not an encrypted DSAR file")
    while header := source.read(4):
        if len(header) != 4:
            raise InvalidToken("truncated frame header")
        size = int.from_bytes(header, "big")
        token = source.read(size)
        if len(token) != size:
            raise InvalidToken("truncated frame")
        yield decrypt(token)


def iter_decrypted_lines(source: BinaryIO) -> Iterator[bytes]:
    """Yield complete lines (without the newline) across frame boundaries."""
    pending = b""
    for chunk in iter_decrypted(source):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending
