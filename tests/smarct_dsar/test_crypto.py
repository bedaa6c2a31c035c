"""Encryption at rest: rotation, and tampering or truncation detected."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet

from smarct_dsar import crypto

CONTEXT = "export:DSR-2026-000001:json:1"


def _encrypt(data: bytes, context: str = CONTEXT) -> bytes:
    out = io.BytesIO()
    writer = crypto.EncryptedWriter(out, context=context)
    writer.write(data)
    writer.close()
    return out.getvalue()


def _decrypt(blob: bytes, context: str = CONTEXT) -> bytes:
    return b"".join(crypto.iter_decrypted(io.BytesIO(blob), context=context))


HEADER = 8 + 8 + 16 + 2 + len(CONTEXT.encode())


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
    assert len(blob) == HEADER + 10 * frame
    with pytest.raises(crypto.InvalidToken, match="failed authentication"):
        _decrypt(blob[:-frame])  # drop the last frame: the one before it was not sealed as last
    with pytest.raises(crypto.InvalidToken):
        _decrypt(blob[:-5])  # cut inside a frame


def test_reordered_frames_are_detected(keys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(crypto, "FRAME_BYTES", 100)
    blob = _encrypt(b"a" * 100 + b"b" * 100 + b"c" * 50)
    header, rest = blob[:HEADER], blob[HEADER:]
    size = 4 + 12 + 100 + 16
    swapped = header + rest[size : 2 * size] + rest[:size] + rest[2 * size :]
    with pytest.raises(crypto.InvalidToken):
        _decrypt(swapped)


# --- Issue 13, finding 4: a file, and each of its frames, belongs to one place -------------------


def test_a_frame_from_another_file_is_refused_even_under_the_same_key(
    keys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(crypto, "FRAME_BYTES", 100)
    mine = _encrypt(b"m" * 250)
    theirs = _encrypt(b"t" * 250)  # the same context and key: only the file differs
    frame = 4 + 12 + 100 + 16
    spliced = mine[: HEADER + frame] + theirs[HEADER + frame : HEADER + 2 * frame]
    spliced += mine[HEADER + 2 * frame :]
    with pytest.raises(crypto.InvalidToken, match="failed authentication"):
        _decrypt(spliced)


def test_a_whole_file_copied_over_another_is_refused(keys: Any) -> None:
    his = _encrypt(b"his data", context="export:DSR-2026-000002:json:2")
    with pytest.raises(crypto.InvalidToken, match="belongs to another"):
        _decrypt(his, context="export:DSR-2026-000001:json:1")


def test_a_changed_identity_in_the_header_is_refused(keys: Any) -> None:
    blob = bytearray(_encrypt(b"data"))
    blob[20] ^= 1  # inside the file id
    with pytest.raises(crypto.InvalidToken, match="failed authentication"):
        _decrypt(bytes(blob))


def test_a_file_of_the_unbound_format_is_read_only_where_allowed(keys: Any) -> None:
    legacy = crypto.MAGIC_UNBOUND + _encrypt(b"old")[8:16]  # a header of the format before
    with pytest.raises(crypto.InvalidToken, match="older version"):
        _decrypt(legacy)
