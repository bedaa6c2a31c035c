"""The reverse proxy in front of the app, and the client's address behind it.

With ``DSAR_TRUSTED_PROXY_COUNT = N`` the deployment promises N proxies, the nearest connecting
from ``DSAR_TRUSTED_PROXIES``. ``ProxyCheckMiddleware`` holds it to that promise: a request from
any other address, or with fewer X-Forwarded-For hops than proxies, did not come through the
proxies (gunicorn published directly, a proxy missing or misconfigured) and is refused with a
400, so a forged header can never choose the address every per-IP limit counts. ``/healthz``
is exempt: the container's own health check calls it directly.

``client_ip`` then takes the address N hops from the right: the one the outermost proxy saw.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

log = logging.getLogger(__name__)
EXEMPT = frozenset({"/healthz"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _from_a_proxy(remote: str) -> bool:
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.DSAR_TRUSTED_PROXIES)))


def _hops(request: HttpRequest) -> list[str]:
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    return [hop.strip() for hop in forwarded.split(",") if hop.strip()]


def proxy_problem(request: HttpRequest) -> str | None:
    """Why this request cannot have come through the deployment's proxies; None when it did."""
    count = settings.DSAR_TRUSTED_PROXY_COUNT
    if count == 0:
        return None
    if not _from_a_proxy(str(request.META.get("REMOTE_ADDR", ""))):
        return "it did not come from the reverse proxy"
    if len(_hops(request)) < count:
        return f"it passed fewer proxies than the {count} configured"
    return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR`` with no proxy, else the address the outermost proxy
    saw (``ProxyCheckMiddleware`` has made sure it is there)."""
    count = settings.DSAR_TRUSTED_PROXY_COUNT
    hops = _hops(request)
    if count == 0 or len(hops) < count:
        return str(request.META.get("REMOTE_ADDR", ""))
    return hops[-count]


class ProxyCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = None if request.path in EXEMPT else proxy_problem(request)
        if problem is None:
            return self.get_response(request)
        log.warning(
            "refused a request: %s (DSAR_TRUSTED_PROXY_COUNT=%s); check the deployment",
            problem,
            settings.DSAR_TRUSTED_PROXY_COUNT,
        )
        return HttpResponseBadRequest(
            "This service is reached only through its reverse proxy, and this request did not "
            f"come through it: {problem}.",
            content_type="text/plain; charset=utf-8",
        )
