"""Issue 13, finding 7: gunicorn's access log, as the Dockerfile runs it, holds no live link and
no email address: the access log goes through the same redaction as every other log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_shipped_access_log_holds_no_token_and_no_email(
    web_server: Any, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    url = web_server(workers=1, shipped=True, log=log, PYTHONUNBUFFERED="1")
    token = "Zq9" + "x" * 40
    paths = [
        f"/downloads/{token}/",
        f"/downloads/{token}/pdf/",
        f"/status/{token}/",
        f"/verify/{token}/",
        f"/recipients/confirm/{token}/",
        "/api/v1/requests/?search=carol.chen%40example.com",
        "/staff/?q=carol.chen@example.com",
    ]
    for path in paths:
        httpx.get(f"{url}{path}", headers={"Referer": f"{url}/status/{token}/"})
    time.sleep(0.5)
    written = log.read_text()
    assert written.count('"GET ') >= len(paths)  # the requests were logged
    assert token not in written
    assert "carol.chen" not in written
    assert "/downloads/[token]/" in written
