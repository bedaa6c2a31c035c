"""Issue 12, finding 8, with the shipped configuration: Caddy with deploy/Caddyfile in front of
gunicorn with the Dockerfile's flags. A client forging X-Forwarded-For through the proxy is still
counted as itself, and a client reaching gunicorn directly is refused."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ROOT, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("caddy") is None, reason="Caddy is not installed (.ci/run installs it)"
    ),
]


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start Caddy with the shipped Caddyfile in front of ``upstream``; returns its URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def _start(upstream: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [
                "caddy",
                "run",
                "--config",
                str(ROOT / "deploy" / "Caddyfile"),
                "--adapter",
                "caddyfile",
            ],
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path),
                "XDG_DATA_HOME": str(tmp_path / "data"),
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "DSAR_SITE_ADDRESS": url,
                "DSAR_UPSTREAM": upstream.removeprefix("http://"),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code in {200, 503}:
                    return url
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("Caddy did not start")

    yield _start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_forged_forwarded_for_cannot_escape_a_limit_behind_the_shipped_proxy(
    web_server: Any, caddy: Callable[[str], str]
) -> None:
    app = web_server(
        workers=1,
        shipped=True,
        DSAR_TRUSTED_PROXY_COUNT="1",
        DSAR_TRUSTED_PROXIES="127.0.0.1",
        DSAR_RATE_LIMIT_VERIFY_PER_IP="3",
    )
    front = caddy(app)
    # through the proxy, a new forged address on every try: still one client, still limited
    codes = [
        httpx.post(
            f"{front}/api/v1/requests/verify/",
            json={"token": "x" * 40},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
    # straight to gunicorn (as if it were published), from another address: refused
    direct = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    response = direct.post(
        f"{app}/api/v1/requests/verify/",
        json={"token": "x" * 40},
        headers={"X-Forwarded-For": "198.51.100.77"},
    )
    assert response.status_code == 400
    assert "did not come from the reverse proxy" in response.text
