"""Encryption at rest: rotation, and tampering or truncation detected."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet

from smarct_dsar import crypto


def _encrypt(data: bytes) -> bytes:
    out = io.BytesIO()
    writer = crypto.EncryptedWriter(out)
    writer.write(data)
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes) -> bytes:
    return b"".join(crypto.iter_decrypted(io.BytesIO(blob)))


@pytest.fixture
def keys(settings: Any) -> tuple[str, str]:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DSAR_ENCRYPTION_KEYS = [old]
    return old, new


def test_round_trip_across_many_frames(keys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(crypto, "FRAME_BYTES", 1000)
    data = bytes(range(256)) * 40  # 10 frames and a bit
    blob = _encrypt(data)
    assert data[:200] not in blob
    assert _decrypt(blob) == data


def test_rotation_old_files_still_decrypt_new_files_use_the_new_key(
    keys: Any, settings: Any
) -> None:
    old, new = keys
    before = _encrypt(b"written under the old key")
    settings.DSAR_ENCRYPTION_KEYS = [new, old]
    after = _encrypt(b"written under the new key")
    assert _decrypt(before) == b"written under the old key"
    assert _decrypt(after) == b"written under the new key"
    assert before[8:16] != after[8:16]  # the key fingerprints differ
    settings.DSAR_ENCRYPTION_KEYS = [new]
    with pytest.raises(crypto.InvalidToken, match="no longer configured"):
        _decrypt(before)


def test_one_changed_byte_is_detected(keys: Any) -> None:
    blob = bytearray(_encrypt(b"x" * 5000))
    blob[len(blob) // 2] ^= 1
    with pytest.raises(crypto.InvalidToken, match="failed authentication"):
        _decrypt(bytes(blob))


def test_a_truncated_file_is_detected(keys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(crypto, "FRAME_BYTES", 100)
    blob = _encrypt(b"y" * 1000)  # ten frames of 100 bytes, each 4 + 12 + 100 + 16 bytes on disk
    frame = 4 + 12 + 100 + 16
    assert len(blob) == 16 + 10 * frame
    with pytest.raises(crypto.InvalidToken, match="failed authentication"):
        _decrypt(blob[:-frame])  # drop the last frame: the one before it was not sealed as last
    with pytest.raises(crypto.InvalidToken):
        _decrypt(blob[:-5])  # cut inside a frame


def test_reordered_frames_are_detected(keys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(crypto, "FRAME_BYTES", 100)
    blob = _encrypt(b"a" * 100 + b"b" * 100 + b"c" * 50)
    header, rest = blob[:16], blob[16:]
    size = 4 + 12 + 100 + 16
    swapped = header + rest[size : 2 * size] + rest[:size] + rest[2 * size :]
    with pytest.raises(crypto.InvalidToken):
        _decrypt(swapped)
