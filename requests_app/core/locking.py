"""One way to change a request: lock its row first, decide inside the transaction.

Every service that changes a request runs through ``request_locked`` (the system's own moves) or
``staff_action`` (a person's, checked against the table in ``actions.py``). Both open a
transaction, lock the request's row with ``SELECT … FOR UPDATE`` before anything else, and hand
the service the row as it is now: a status, hold or decision read before the lock could be stale,
so nothing is decided on one. The audit head is locked after the request (``event_append``
locks the request again, a no-op when held), so the lock order is always request → audit head
and two services cannot deadlock each other.

A deadlock or serialization failure the database reports anyway (another table's lock order) is
retried once from the start; a second one answers 409 (``Busy``) rather than a 500. A service
called inside an outer transaction joins it and is not retried: the outer caller owns it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.db import OperationalError, connection, transaction

from requests_app.core.actions import ACTIONS, permit
from requests_app.core.errors import Busy
from requests_app.models import DataSubjectRequest

log = logging.getLogger(__name__)
R = TypeVar("R")

# PostgreSQL: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def lock(dsr: DataSubjectRequest) -> DataSubjectRequest:
    """The request's row, locked until the transaction ends, as it is now."""
    return DataSubjectRequest.objects.select_for_update().get(pk=dsr.pk)


def is_retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)  # SQLite: a writer held the file for too long


def request_locked(service: Callable[..., R]) -> Callable[..., R]:
    """Run ``service(dsr=<locked row>, **kwargs)`` in its own transaction, the row locked
    first; retry once on a deadlock or serialization failure."""

    @wraps(service)
    def run(*, dsr: DataSubjectRequest, **kwargs: Any) -> R:
        outermost = not connection.in_atomic_block
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    return service(dsr=lock(dsr), **kwargs)
            except OperationalError as exc:
                if not outermost or not is_retryable(exc):
                    raise
                log.warning("%s on %s: %s (attempt %d)", service.__name__, dsr.pk, exc, attempt)
        raise Busy(
            "Someone else was changing this request at the same moment. Reload it and try again."
        )

    return run


def staff_action(name: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """``request_locked``, and the actor must be permitted ``name`` on the locked row (role,
    status, type and the two-person rule, from ``actions.ACTIONS``)."""
    assert name in ACTIONS, name

    def decorate(service: Callable[..., R]) -> Callable[..., R]:
        @request_locked
        @wraps(service)
        def checked(*, dsr: DataSubjectRequest, actor: Any, **kwargs: Any) -> R:
            permit(name, actor, dsr)
            return service(dsr=dsr, actor=actor, **kwargs)

        return checked

    return decorate
