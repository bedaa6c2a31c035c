"""Fixed-window rate limits on public endpoints, with an atomic counter (cache ``incr``).

DRF's throttles read-then-write the cache and can be raced (DRF #5181); ``add`` + ``incr`` are
atomic on Redis and on the in-process cache. Identifiers are keyed hashes, so no email address
or IP is written to the cache in clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from smarct_dsar.crypto import keyed_hash


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds

    @property
    def retry_minutes(self) -> int:
        """The wait in whole minutes, rounded up: what a person is told."""
        return max(1, -(-self.retry_after // 60))


def too_many_words(verdict: Verdict, *, about: str = "connection") -> str:
    """What the person is told, in minutes: ``about`` says what was counted (``"connection"``:
    the client's address; ``"address"``: the email address)."""
    minutes = verdict.retry_minutes
    if about == "address":
        return ngettext(
            "We have received many requests for this email address in a short time. Please try "
            "again in %(minutes)s minute.",
            "We have received many requests for this email address in a short time. Please try "
            "again in %(minutes)s minutes.",
            minutes,
        ) % {"minutes": minutes}
    return ngettext(
        "We have received many requests from this connection in a short time. Please try again "
        "in %(minutes)s minute.",
        "We have received many requests from this connection in a short time. Please try again "
        "in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def _key(scope: str, identity: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    bucket = now // window
    return f"rl:{scope}:{keyed_hash(identity.lower(), purpose='ratelimit')}:{bucket}", (
        bucket + 1
    ) * window - now


def rate_limit_peek(*, scope: str, identity: str, limit: int, window: int | None = None) -> Verdict:
    """Whether ``identity`` is still under ``limit`` in this window, without counting a hit."""
    key, retry_after = _key(scope, identity, window or settings.DSAR_RATE_LIMIT_WINDOW_SECONDS)
    return Verdict(allowed=int(cache.get(key, 0)) < limit, retry_after=retry_after)


def rate_limit_hit(*, scope: str, identity: str, limit: int, window: int | None = None) -> Verdict:
    window = window or settings.DSAR_RATE_LIMIT_WINDOW_SECONDS
    key, retry_after = _key(scope, identity, window)
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: start again
        cache.add(key, 1, timeout=window + 5)
        count = 1
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def rate_limit_undo(*, scope: str, identity: str, window: int | None = None) -> None:
    """Give back one hit (an attempt counted first that turned out to succeed)."""
    key, _ = _key(scope, identity, window or settings.DSAR_RATE_LIMIT_WINDOW_SECONDS)
    try:
        if int(cache.get(key, 0)) > 0:
            cache.decr(key)
    except ValueError:  # expired meanwhile: nothing to give back
        pass


def too_many_page(request: HttpRequest, verdict: Verdict) -> HttpResponse:
    """The friendly 429 page for a public page, with Retry-After."""
    response = render(
        request,
        "requests_app/rate_limited.html",
        {"retry_minutes": verdict.retry_minutes},
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response
