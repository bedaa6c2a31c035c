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
                                         (its ``carry_out`` task)
erasure              gather every store  unless held or the plan         —
                                         changed: erase every store,
                                         re-scan, certificate
marketing opt-out    suppress, then      — (never reviewed)              —
                     change the stores
                     (``carry_out``)
restriction          gather every store  make the map's ``restrict:``    —
                                         changes, email what
                                         (``carry_out``); an approver
                                         may lift it later
objection            gather every store  complete, emailing the          —
                                         approver's reason
objection to direct  as a marketing opt-out (``route_of``: the same route)
marketing
===================  ==================  ==============================  =====================

Staff work between "verified" and "approved" (review, submit, approve: ``review/``); delivery
ends an access request (release: ``review.decisions.request_release``); the fulfilment of the
other types completes the request itself (the last erasure step queues the certificate, which
completes it; ``carry_out`` completes a correction, an opt-out or a restriction; an upheld
objection completes as it starts fulfilling). The sweeper
(``tasks.sweep_lost_work``) reads the same table: a request left verified or approved is
advanced again, and one left fulfilling has its ``carry_out`` task queued again; the per-store
steps and the files have rows of their own, which it re-queues too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exports_app.services import exports_plan
from requests_app.core.lifecycle import transition
from requests_app.core.locking import request_locked
from requests_app.core.queue import Task, later
from requests_app.fulfilment.erasure import erasure_ready, erasure_start, erasures_release_waiting
from requests_app.fulfilment.objection import objection_uphold
from requests_app.fulfilment.optout import opt_out_start
from requests_app.gathering.gather import gathering_start
from requests_app.models import DataSubjectRequest, RequestType, Status

Step = Callable[[DataSubjectRequest], Any]


def _nothing(dsr: DataSubjectRequest) -> None:
    return None


def _ready(dsr: DataSubjectRequest) -> bool:
    return True


@dataclass(frozen=True)
class Route:
    """What the system does for one request type, each step called with the row locked."""

    verified: Step  # once identity is proven
    fulfil: Step = _nothing  # once approved, as it starts fulfilling
    # Before fulfilment: False keeps it approved (waiting) or, having said why, sends it back to
    # review; the hold's release, the access request's completion or the sweeper try again.
    ready: Callable[[DataSubjectRequest], bool] = _ready
    carry_out: Task | None = None  # the task that carries out a fulfilling request
    completed: Step = _nothing  # once completed


_ACCESS = Route(verified=gathering_start, fulfil=exports_plan, completed=erasures_release_waiting)

ROUTES: dict[str, Route] = {
    RequestType.ACCESS: _ACCESS,
    RequestType.PORTABILITY: _ACCESS,
    RequestType.RECTIFICATION: Route(verified=gathering_start, carry_out=Task.APPLY_RECTIFICATION),
    RequestType.ERASURE: Route(verified=gathering_start, fulfil=erasure_start, ready=erasure_ready),
    RequestType.MARKETING_OPT_OUT: Route(verified=opt_out_start, carry_out=Task.FULFIL_OPT_OUT),
    RequestType.RESTRICTION: Route(verified=gathering_start, carry_out=Task.APPLY_RESTRICTION),
    RequestType.OBJECTION: Route(verified=gathering_start, fulfil=objection_uphold),
}
assert set(ROUTES) == set(RequestType.values), "every request type needs a route"


def route_of(dsr: DataSubjectRequest) -> Route:
    """The request's route: its type's, except that an objection to direct marketing is a
    marketing opt-out in all but name (Article 21(2), (3)) and takes the opt-out's."""
    if dsr.stops_marketing:
        return ROUTES[RequestType.MARKETING_OPT_OUT]
    return ROUTES[dsr.request_type]


@request_locked
def request_advance(*, dsr: DataSubjectRequest) -> DataSubjectRequest:
    """Do what follows the request's status for its type, with the row locked; nothing when
    that is done already (a message delivered twice, or a request that moved on)."""
    route = route_of(dsr)
    if dsr.status == Status.VERIFIED:
        route.verified(dsr)
    elif dsr.status == Status.APPROVED and route.ready(dsr):
        route.fulfil(transition(dsr, "start_fulfilment", actor="system"))
    elif dsr.status == Status.COMPLETED:
        route.completed(dsr)
    dsr.refresh_from_db()
    if dsr.status == Status.FULFILLING and route.carry_out:
        later(route.carry_out, dsr.pk)
    return dsr
