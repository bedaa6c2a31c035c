"""Writing a result file: encrypted as it is written, then put into storage. Gathering steps and
export builds both make their files this way; the row that records the file is then switched to
it by ``claims.finish_with_file`` (only if the same task still holds the row).

Nothing decrypted is written to disk: the plaintext goes straight through AES-256-GCM frames
(``crypto.EncryptedWriter``, bound to the row's context) into a scratch file under ``VAR_DIR``,
which is then saved through Django's storage API. The plaintext's SHA-256 and size (what the
person will receive; checked again on download) and the stored file's SHA-256 are measured on
the way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.files import File

from smarct_dsar.crypto import EncryptedWriter, Writable
from smarct_dsar.storage import scratch_file, storage_save

T = TypeVar("T")


@dataclass(frozen=True)
class StoredFile:
    name: str  # the storage name it was saved under
    sha256: str  # of the plaintext
    size: int  # plaintext bytes
    stored_sha256: str  # of the encrypted file as stored


class _Measured:
    """Encrypts what is written while hashing and counting the plaintext."""

    def __init__(self, target: Writable, *, context: str) -> None:
        self.writer = EncryptedWriter(target, context=context)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.writer.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def store_encrypted(
    path: str, *, context: str, write: Callable[[Writable], T]
) -> tuple[T, StoredFile]:
    """Run ``write(out)``, which writes the plaintext to ``out``, and save the encrypted result
    under ``path``. If ``write`` raises, nothing is stored. ``StorageUnavailable`` when the
    scratch space or the storage refuses it."""
    with scratch_file() as handle:
        out = _Measured(handle, context=context)
        result = write(out)
        out.writer.close()
        stored = hashlib.sha256()
        handle.seek(0)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            stored.update(chunk)
        handle.seek(0)
        name = storage_save(path, File(handle))
    return result, StoredFile(name, out.digest.hexdigest(), out.size, stored.hexdigest())
