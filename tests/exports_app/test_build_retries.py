"""Issue 13, finding 13, for the files: a build that the storage refused is retried."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage

pytestmark = pytest.mark.django_db


def test_a_file_built_when_the_storage_refuses_writes_is_retried(
    demo_map: Any, verified: Any, approve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exports_app import tasks

    refusals = {"left": 2}
    real_save = default_storage._save

    def flaky(name: str, content: Any) -> str:
        if name.startswith("exports/") and refusals["left"]:
            refusals["left"] -= 1
            raise PermissionError(13, "Permission denied", name)
        return str(real_save(name, content))

    monkeypatch.setattr(default_storage, "_save", flaky)
    monkeypatch.setattr(tasks.build_export, "default_retry_delay", 0)
    dsr = approve(verified(email="alice@example.com"))
    assert {e.status for e in dsr.exports.all()} == {"ready"}  # built once storage came back


def test_rebuilding_before_release_makes_a_missing_file_again(
    verified: Any, approve: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from exports_app import services
    from exports_app.models import Export
    from requests_app.core.actions import available

    # given an access request being fulfilled whose file rows were lost (a manual repair)
    dsr = approve(verified(email="missing@example.com"))
    Export.objects.filter(request=dsr).delete()
    # then staff are offered a rebuild, and it makes every file again
    assert "rebuild" in available(dsr, approver)
    with django_capture_on_commit_callbacks(execute=True):
        services.exports_rebuild(dsr=dsr, actor=approver)
    assert sorted(dsr.exports.values_list("format", "status")) == [
        ("csv", "ready"),
        ("json", "ready"),
        ("pdf", "ready"),
    ]


def test_a_file_is_built_only_with_its_event_on_the_timeline(
    verified: Any, approve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exports_app import services
    from exports_app.models import Export, ExportStatus

    dsr = approve(verified(email="event@example.com"))
    export = Export.objects.get(request=dsr, format="json")
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.PENDING, claimed_by="")

    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(services, "event_append", dies)
    with pytest.raises(RuntimeError):
        services.export_build(export_id=export.pk, task_id="t")
    export.refresh_from_db()
    assert export.status == ExportStatus.BUILDING  # not ready without its export_built event
    assert default_storage.exists(export.file_name)  # the file of record is still there
