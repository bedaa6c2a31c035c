"""Reading a built file back for delivery: decrypted from storage as it streams, and checked
against the SHA-256 and size recorded when it was built."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Generator

from django.core.files.storage import default_storage

from exports_app.models import Export
from smarct_dsar.crypto import InvalidToken, iter_decrypted

log = logging.getLogger(__name__)


class FileMismatch(Exception):
    """The file in storage is not the one recorded for this export (its SHA-256 or size)."""


def stream_export(
    export: Export, on_mismatch: Callable[[], None] | None = None
) -> Generator[bytes, None, None]:
    """The export's plaintext, decrypted chunk by chunk from storage (never whole, never to
    disk), checked against the SHA-256 and size recorded when it was built. Each chunk is sent
    only once the next has been read, so the last is held back until the whole file has
    matched: a file that does not match stops before its end, with ``on_mismatch`` called and
    the mismatch logged (``FileMismatch``)."""
    digest, size, held = hashlib.sha256(), 0, None
    try:
        with default_storage.open(export.file_name, "rb") as handle:
            # files of the format before binding are read too: the digest below checks them
            for chunk in iter_decrypted(handle, context=export.file_context, unbound=True):
                digest.update(chunk)
                size += len(chunk)
                if held is not None:
                    yield held
                held = chunk
        if digest.hexdigest() != export.sha256 or size != export.size_bytes:
            raise FileMismatch(f"export {export.pk} does not match its recorded SHA-256 and size")
    except (InvalidToken, FileMismatch) as exc:
        log.error(
            "export %s (%s of request %s) not delivered: %s",
            export.pk,
            export.format,
            export.request_id,
            exc,
        )
        if on_mismatch is not None:
            on_mismatch()
        raise
    if held is not None:
        yield held
