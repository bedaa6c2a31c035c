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
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "keyed_hash", "new_token", "token_hash"]


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
