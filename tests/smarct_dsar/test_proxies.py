"""Issue 12, finding 8: behind its reverse proxy the app counts the client the proxy saw, and a
request that did not come through the proxy is refused, so a forged X-Forwarded-For cannot pick
the address that every per-IP limit counts. The same through real Caddy and gunicorn, with the
shipped configuration: tests/integration/test_proxy.py."""

from __future__ import annotations

from typing import Any

import pytest

from requests_app.models import DataSubjectRequest

pytestmark = pytest.mark.django_db

FORM = {"request_type": "access", "name": "A", "email": "a@example.com"}


@pytest.fixture
def behind_a_proxy(settings: Any) -> None:
    settings.DSAR_TRUSTED_PROXY_COUNT = 1
    settings.DSAR_TRUSTED_PROXIES = ["172.28.0.10"]


def test_a_request_from_anywhere_but_the_proxy_is_refused(api: Any, behind_a_proxy: None) -> None:
    # gunicorn reached directly (published by mistake), the client forging the header
    response = api.post(
        "/api/v1/requests/",
        FORM,
        format="json",
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 400
    assert "did not come from the reverse proxy" in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_a_request_with_fewer_hops_than_proxies_is_refused(
    api: Any, behind_a_proxy: None, settings: Any
) -> None:
    settings.DSAR_TRUSTED_PROXY_COUNT = 2  # the deployment says two; the request passed one
    response = api.post(
        "/api/v1/requests/",
        FORM,
        format="json",
        REMOTE_ADDR="172.28.0.10",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert response.status_code == 400
    assert "fewer proxies than the 2 configured" in response.content.decode()


def test_the_health_check_may_come_straight_to_the_app(client: Any, behind_a_proxy: None) -> None:
    assert client.get("/healthz", REMOTE_ADDR="127.0.0.1").status_code in {200, 503}


def test_the_limit_counts_the_address_the_proxy_saw(
    api: Any, behind_a_proxy: None, settings: Any
) -> None:
    settings.DSAR_RATE_LIMIT_VERIFY_PER_IP = 2
    codes = [
        api.post(
            "/api/v1/requests/verify/",
            {"token": "x" * 40},
            format="json",
            REMOTE_ADDR="172.28.0.10",
            HTTP_X_FORWARDED_FOR=f"10.1.1.{i}, 203.0.113.5",  # forged hops, then the proxy's
        ).status_code
        for i in range(3)
    ]
    assert codes == [400, 400, 429]


def test_the_compose_file_publishes_only_the_proxy_and_trusts_only_its_address() -> None:
    import yaml

    from smarct_dsar.processes import ROOT, dockerfile_gunicorn_flags

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {name for name, spec in services.items() if spec.get("ports")}
    assert published == {"proxy"}
    proxy_address = services["proxy"]["networks"]["dsar"]["ipv4_address"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["DSAR_TRUSTED_PROXY_COUNT"] == "1", name
        assert env["DSAR_TRUSTED_PROXIES"] == proxy_address, name
        assert env["FORWARDED_ALLOW_IPS"] == proxy_address, name
    # gunicorn trusts forwarded headers from FORWARDED_ALLOW_IPS only, never from everyone
    assert "--forwarded-allow-ips" not in dockerfile_gunicorn_flags()
