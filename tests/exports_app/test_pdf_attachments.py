"""The PDF attaches the JSON and CSV files built for its release, byte for byte (streamed from
storage, never rendered again); it is built only once both are ready, built again when either
is, and never released with a file that is not the one released beside it."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from functools import partial
from typing import Any

import pypdf
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from exports_app import services
from exports_app.models import Export, ExportStatus
from requests_app.core.errors import IllegalTransition
from requests_app.core.queue import Task
from requests_app.review import decisions
from tests.exports_app.conftest import export_bytes

pytestmark = pytest.mark.django_db


def _attached(pdf: Export) -> dict[str, bytes]:
    reader = pypdf.PdfReader(io.BytesIO(export_bytes(pdf)))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(dsr: Any) -> dict[str, Export]:
    return {e.format: e for e in Export.objects.filter(request=dsr)}


def _builds(callbacks: list[Any]) -> list[int]:
    """The exports queued for building by these on-commit callbacks."""
    return [
        c.args[1] for c in callbacks if isinstance(c, partial) and c.args[0] == Task.BUILD_EXPORT
    ]


def test_the_pdf_attaches_the_json_and_csv_files_byte_for_byte(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    files = _files(dsr)
    attached = _attached(files["pdf"])
    # named as the person's downloads of them are, so that they are recognisably the same files
    assert set(attached) == {files["json"].filename, files["csv"].filename}
    assert _sha(attached[f"{dsr.reference}-your-data.json"]) == files["json"].sha256
    assert _sha(attached[f"{dsr.reference}-your-data.zip"]) == files["csv"].sha256
    assert attached[f"{dsr.reference}-your-data.json"] == export_bytes(files["json"])
    assert files["pdf"].attached == {"json": files["json"].sha256, "csv": files["csv"].sha256}


def test_the_pdf_stays_pdf_a_3_with_its_attachments_described(
    demo_map: Any, verified: Any, approve: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    files = _files(dsr)
    reader = pypdf.PdfReader(io.BytesIO(export_bytes(files["pdf"])))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp)
    assert "/ID" in reader.trailer
    associated = reader.trailer["/Root"]["/AF"]
    assert len(associated) == 2
    for spec in (ref.get_object() for ref in associated):
        assert spec["/AFRelationship"] == "/Unspecified"
        embedded = spec["/EF"]["/F"].get_object()
        data = embedded.get_data()
        params = embedded["/Params"]
        assert params["/Size"] == len(data)
        checksum = params["/CheckSum"].original_bytes
        assert checksum == hashlib.md5(data, usedforsecurity=False).digest()
        kind = {"json": "/application/json", "zip": "/application/zip"}
        assert embedded["/Subtype"] == kind[spec["/UF"].rsplit(".", 1)[1]]
        assert "/Desc" in spec


def test_the_pdf_is_built_only_once_both_files_are_ready(
    demo_map: Any, verified: Any, ready: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = ready(verified(email="alice@example.com"))
    with django_capture_on_commit_callbacks(execute=False):
        decisions.request_approve(dsr=dsr, actor=approver)
    dsr.refresh_from_db()
    # when its files are planned, only the JSON and CSV are queued
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.exports_plan(dsr)
    files = _files(dsr)
    assert sorted(_builds(queued)) == sorted([files["json"].pk, files["csv"].pk])
    # a PDF build that runs first (a message from the sweeper) waits, with nothing built
    assert not services.export_build(export_id=files["pdf"].pk, task_id="early")
    assert Export.objects.get(pk=files["pdf"].pk).status == ExportStatus.PENDING
    # the JSON alone does not queue it; the CSV, the last of the two, does
    with django_capture_on_commit_callbacks(execute=False) as after_json:
        services.export_build(export_id=files["json"].pk, task_id="json")
    assert _builds(after_json) == []
    with django_capture_on_commit_callbacks(execute=True) as after_csv:
        services.export_build(export_id=files["csv"].pk, task_id="csv")
    assert _builds(after_csv) == [files["pdf"].pk]
    files = _files(dsr)
    assert files["pdf"].status == ExportStatus.READY
    assert files["pdf"].attached == {"json": files["json"].sha256, "csv": files["csv"].sha256}


def test_a_json_built_again_after_the_pdf_builds_the_pdf_again(
    demo_map: Any, verified: Any, approve: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    before = _files(dsr)
    # when the JSON is built again alone (a sweeper's re-queue, a script)
    Export.objects.filter(pk=before["json"].pk).update(status=ExportStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        services.export_build(export_id=before["json"].pk, task_id="again")
    after = _files(dsr)
    assert after["json"].sha256 != before["json"].sha256
    # then the PDF was built again, attaching the new file
    assert after["pdf"].status == ExportStatus.READY
    assert after["pdf"].sha256 != before["pdf"].sha256
    assert _sha(_attached(after["pdf"])[f"{dsr.reference}-your-data.json"]) == after["json"].sha256


def test_a_json_built_while_the_pdf_attaches_it_discards_that_pdf(
    demo_map: Any,
    verified: Any,
    approve: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    files = _files(dsr)
    Export.objects.filter(request=dsr).update(status=ExportStatus.PENDING)
    Export.objects.filter(pk=files["json"].pk).update(status=ExportStatus.READY)
    Export.objects.filter(pk=files["csv"].pk).update(status=ExportStatus.READY)
    # the JSON is rebuilt (by another worker) just as the PDF opens it to attach it
    real_open, raced = default_storage.open, []

    def open_then_rebuild(name: str, mode: str = "rb") -> Any:
        handle = real_open(name, mode)
        if name == files["json"].file_name and not raced:
            raced.append(name)
            Export.objects.filter(pk=files["json"].pk).update(status=ExportStatus.PENDING)
            services.export_build(export_id=files["json"].pk, task_id="other-worker")
        return handle

    monkeypatch.setattr(default_storage, "open", open_then_rebuild)
    with django_capture_on_commit_callbacks(execute=False) as requeued:
        built = services.export_build(export_id=files["pdf"].pk, task_id="pdf")
    # then that PDF is not the file of record: it is queued again, and release refuses meanwhile
    assert raced
    assert not built
    pdf = Export.objects.get(pk=files["pdf"].pk)
    assert pdf.status == ExportStatus.PENDING
    assert _builds(requeued) == [pdf.pk]
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        for callback in requeued:
            callback()
    after = _files(dsr)
    assert after["pdf"].status == ExportStatus.READY
    assert _sha(_attached(after["pdf"])[f"{dsr.reference}-your-data.json"]) == after["json"].sha256


def test_a_pdf_holding_other_files_than_those_beside_it_is_never_released(
    demo_map: Any, verified: Any, approve: Any, approver: Any
) -> None:
    dsr = approve(verified(email="alice@example.com"))
    files = _files(dsr)
    # a JSON changed without the PDF following it (a race, a script)
    Export.objects.filter(pk=files["json"].pk).update(sha256="0" * 64)
    with pytest.raises(IllegalTransition, match="PDF"):
        decisions.request_release(dsr=dsr, actor=approver)
    assert not Export.objects.filter(request=dsr, released_at__isnull=False).exists()


def test_the_sweeper_leaves_a_pdf_waiting_for_its_files_until_they_are_built(
    demo_map: Any, verified: Any, ready: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr = ready(verified(email="alice@example.com"))
    with django_capture_on_commit_callbacks(execute=False):
        decisions.request_approve(dsr=dsr, actor=approver)
    dsr.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        services.exports_plan(dsr)
    files = _files(dsr)
    # given three builds whose messages were lost long ago
    Export.objects.filter(request=dsr).update(created_at=timezone.now() - timedelta(days=1))
    # then the JSON and CSV are queued again, and the PDF not (it would only wait)
    assert sorted(services.exports_to_requeue()) == sorted([files["json"].pk, files["csv"].pk])
    # once both are built, the PDF whose message was lost is queued again
    Export.objects.filter(pk__in=[files["json"].pk, files["csv"].pk]).update(
        status=ExportStatus.READY
    )
    assert services.exports_to_requeue() == [files["pdf"].pk]
