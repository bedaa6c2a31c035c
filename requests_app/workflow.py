"""What happens next, by request type: the one table.

The state machine (``core/lifecycle.py``) moves a request from status to status and knows no
concern. At the three points where the system moves a request on by itself (verified, approved,
completed) it queues ``advance`` after commit, and ``advance`` reads ``ROUTES``:

===================  ==================  ==============================  =====================
request type         once verified       once approved (fulfilment)      once completed
===================  ==================  ==============================  =====================
access               gather every store  build the JSON, CSV, PDF files  erasures it held go
portability          gather every store  build the JSON and CSV files    erasures it held go
rectification        gather every store  apply the approved corrections  —
erasure              gather every store  erase every store, re-scan,     —
                                         certificate (when not held)
marketing opt-out    carry it out        — (never reviewed)              —
===================  ==================  ==============================  =====================

Staff work between "verified" and "approved" (review, submit, approve: ``review/``); delivery
ends an access request (release: ``review.decisions.request_release``); the fulfilment of the
other types completes the request itself. The sweeper (``tasks.sweep_lost_work``) reads the same
table: a request left verified or approved is advanced again, and one left fulfilling has its
``carry_out`` task queued again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exports_app.services import exports_plan
from requests_app.core.lifecycle import transition
from requests_app.core.locking import request_locked
from requests_app.core.queue import Task
from requests_app.fulfilment.erasure import (
    erasure_may_start,
    erasure_start,
    erasures_release_waiting,
)
from requests_app.fulfilment.optout import opt_out_start
from requests_app.fulfilment.rectification import rectification_start
from requests_app.gathering.gather import gathering_start
from requests_app.models import DataSubjectRequest, RequestType, Status

Step = Callable[[DataSubjectRequest], Any]


def _always(dsr: DataSubjectRequest) -> bool:
    return True


@dataclass(frozen=True)
class Route:
    """What the system does for one request type, each step called with the row locked."""

    verified: Step  # once identity is proven
    fulfil: Step | None = None  # once approved and fulfilling (None: never reviewed)
    may_fulfil: Callable[[DataSubjectRequest], bool] = _always  # else it stays approved
    completed: Step | None = None  # once completed
    carry_out: Task | None = None  # the task that carries out a fulfilling request


_ACCESS = Route(verified=gathering_start, fulfil=exports_plan, completed=erasures_release_waiting)

ROUTES: dict[str, Route] = {
    RequestType.ACCESS: _ACCESS,
    RequestType.PORTABILITY: _ACCESS,
    RequestType.RECTIFICATION: Route(
        verified=gathering_start, fulfil=rectification_start, carry_out=Task.APPLY_RECTIFICATION
    ),
    RequestType.ERASURE: Route(
        verified=gathering_start, fulfil=erasure_start, may_fulfil=erasure_may_start
    ),
    RequestType.MARKETING_OPT_OUT: Route(verified=opt_out_start, carry_out=Task.FULFIL_OPT_OUT),
}
assert set(ROUTES) == set(RequestType.values), "every request type needs a route"


@request_locked
def request_advance(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """Do what follows the request's status for its type, with the row locked; nothing when
    that is done already (a message delivered twice, or a request that moved on)."""
    route = ROUTES[dsr.request_type]
    if dsr.status == Status.VERIFIED:
        route.verified(dsr)
    elif dsr.status == Status.APPROVED and route.fulfil and route.may_fulfil(dsr):
        dsr = transition(dsr, "start_fulfilment", actor="system")
        route.fulfil(dsr)
    elif dsr.status == Status.COMPLETED and route.completed:
        route.completed(dsr)
    return dsr
