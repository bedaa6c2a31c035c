"""Issue 13, finding 13: a storage that cannot be written is a transient fault, retried with
backoff and named as the storage, not "internal error" on every store at once."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from django.core.files.storage import default_storage

from requests_app.models import StepStatus
from smarct_dsar.storage import StorageUnavailable, scratch_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_only_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage refuses writes (a read-only volume, an S3 bucket without the permission):
    the one edge patched here."""

    def refuse(name: str, content: Any) -> str:
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr(default_storage, "_save", refuse)


def test_a_storage_that_refuses_writes_is_retried_and_named(
    demo_map: Any, verified: Any, read_only_storage: None
) -> None:
    dsr = verified(email="bob@example.com")
    steps = list(dsr.gather_steps.all())
    assert steps
    for step in steps:
        assert step.status == StepStatus.FAILED, step.store
        assert "internal error" not in step.error
        assert "the file storage could not be written" in step.error
        assert "gave up after retries" in step.error  # retried with backoff first
        assert step.attempts > 1


def test_a_full_scratch_disk_while_building_is_a_storage_fault() -> None:
    full = pytest.raises(StorageUnavailable, match="file storage could not be written")
    with full, scratch_file():
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(ConnectionRefusedError), scratch_file():  # the network's, not storage's
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")
