"""Writing a file through Django's storage API, with a storage fault said as one.

A storage that refuses a write (a read-only volume, a full disk, an S3 bucket without the
permission or out of reach) is not a bug in the work being done: it is transient, the work is
retried with backoff, and the message names the storage. ``StorageUnavailable`` is that fault.
"""

from __future__ import annotations

import errno
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage

# What a full, read-only or failing disk raises while a file is written.
DISK_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES})


class StorageUnavailable(Exception):
    """The file storage (or the local scratch space) could not be written; try again later."""


def _faults() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError]
    try:  # S3-compatible storage reports through botocore, when it is installed
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )

        found += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - the S3 extra is a dependency
        pass
    return tuple(found)


def storage_save(name: str, content: Any) -> str:
    """``default_storage.save``, a refusal raised as ``StorageUnavailable``."""
    try:
        return str(default_storage.save(name, content))
    except _faults() as exc:
        raise StorageUnavailable(
            f"the file storage could not be written ({type(exc).__name__}: {exc}); "
            "it is tried again"
        ) from exc


@contextmanager
def scratch_file() -> Iterator[IO[bytes]]:
    """A temporary local file (under ``VAR_DIR``) to build a file in before it is stored."""
    try:
        handle = tempfile.TemporaryFile(dir=settings.VAR_DIR)  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise StorageUnavailable(
            f"the file storage could not be written (no scratch space under VAR_DIR: {exc}); "
            "it is tried again"
        ) from exc
    with handle:
        try:
            yield handle
        except OSError as exc:
            if exc.errno not in DISK_FAULTS:
                raise  # a network fault or a bug: not the storage's
            raise StorageUnavailable(
                f"the file storage could not be written (the scratch space under VAR_DIR: "
                f"{exc}); it is tried again"
            ) from exc
