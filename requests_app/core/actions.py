"""What staff may do: one table of every staff action, read by the API, the dashboard's buttons
and the services themselves.

Each action says which role may take it, in which statuses and for which request types, whether
it needs a reason, and whether it *prepares* the response. ``refusal`` answers "may this person
take this action on this request now, and if not, why"; ``permit`` raises that answer. The
services call ``permit`` on the locked row inside their transaction (``locking.py``), so a button
that was shown a moment ago and a script that never saw one meet the same rule.

The two-person rule: a response is prepared and *submitted for approval* by one member of staff
and approved by another; whoever prepared it (decided a correction, withheld data, rebuilt the
files, retried a store, submitted it, took the request by phone or letter, vouched for the
person's identity or an agent's authority) may not approve it or release its files. A response is
approved only after submission, and so by two people. ``DSAR_SINGLE_PERSON_MODE`` turns the rule
off for a team of one (an approver may then approve straight from review); every staff page then
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q

from exports_app.models import (
    PDF_ATTACHES,
    DismissedSuggestion,
    ExportFormat,
    ExportStatus,
    Redaction,
    redactions_digest,
)
from requests_app.core import deadlines
from requests_app.core.errors import IllegalTransition, NotPermitted, RuleViolation
from requests_app.core.permissions import (
    APPROVER,
    REVIEWER,
    actor_label,
    is_approver,
    is_privacy_staff,
)
from requests_app.models import (
    AT_ONCE_TYPES,
    OPEN_STATUSES,
    CorrectionDecision,
    DataSubjectRequest,
    Delivery,
    DocumentKind,
    EventAction,
    RequestType,
    Restriction,
    Status,
)

ALL_TYPES = frozenset(RequestType)
EXPORT_TYPES = frozenset({RequestType.ACCESS, RequestType.PORTABILITY})
# An opt-out is carried out unreviewed (and so is an objection to direct marketing: ``NOT_NOW``).
REVIEWED_TYPES = ALL_TYPES - AT_ONCE_TYPES
EARLY = frozenset({Status.VERIFIED, Status.GATHERING, Status.IN_REVIEW})


@dataclass(frozen=True)
class StaffAction:
    name: str
    role: str  # REVIEWER (any privacy staff) or APPROVER
    statuses: frozenset[str]
    types: frozenset[str] = ALL_TYPES
    reason: bool = False  # a reason is required (and kept on the timeline)
    reason_types: frozenset[str] = frozenset()  # … on these types only (the person is told it)
    prepares: bool = False  # whoever takes it prepared the response (the two-person rule)
    event: str = ""  # the audit-trail action it records, when it differs from ``name``
    wrong_type: str = ""  # why the other request types cannot have it, when the law says

    @property
    def recorded_as(self) -> str:
        return self.event or self.name

    def needs_reason(self, dsr: DataSubjectRequest) -> bool:
        return self.reason or dsr.request_type in self.reason_types


def _table(*actions: StaffAction) -> dict[str, StaffAction]:
    return {a.name: a for a in actions}


ACTIONS: dict[str, StaffAction] = _table(
    # Logging a request received by phone, letter, email, in person or social media (no request
    # exists yet, so no status: ``intake/staff.py`` checks the role).
    # Whoever took the request (and so chose how identity was checked and where the answer
    # goes) or vouched for the person's identity has prepared the response: another approves.
    StaffAction("log_request", REVIEWER, frozenset(), prepares=True, event="received"),
    # Working a request: any member of the privacy team.
    StaffAction("assign", REVIEWER, OPEN_STATUSES),
    StaffAction("note", REVIEWER, frozenset(Status), reason=True),
    StaffAction("confirm_authority", REVIEWER, frozenset({Status.AWAITING_VERIFICATION}),
                prepares=True, event="authority_confirmed"),
    StaffAction(
        "confirm_identity", REVIEWER, OPEN_STATUSES, prepares=True, event="identity_confirmed"
    ),
    StaffAction("extend", REVIEWER, EARLY, reason=True),
    StaffAction("hold", REVIEWER, EARLY, reason=True),
    StaffAction("resume", REVIEWER, frozenset({Status.ON_HOLD})),
    StaffAction("legal_hold", REVIEWER, OPEN_STATUSES - {Status.FULFILLING}, frozenset({RequestType.ERASURE}),
                reason=True, event="legal_hold_placed"),
    StaffAction("confirm_notice", REVIEWER, frozenset(Status), reason=True,
                event="recipient_confirmed"),
    StaffAction("reissue_link", REVIEWER, frozenset(Status), event="download_link_reissued"),
    StaffAction("revoke_link", REVIEWER, frozenset(Status), event="download_link_revoked"),
    StaffAction("retry_erasure", REVIEWER, frozenset({Status.FULFILLING}), frozenset({RequestType.ERASURE}),
                event="erasure_retry"),
    StaffAction("retry_rectification", REVIEWER, frozenset({Status.FULFILLING}),
                frozenset({RequestType.RECTIFICATION}), event="rectification_retry"),
    # Preparing the response.
    StaffAction("retry_store", REVIEWER, frozenset({Status.GATHERING}), prepares=True,
                event="store_retry"),
    StaffAction("decide_correction", REVIEWER, frozenset({Status.IN_REVIEW}),
                frozenset({RequestType.RECTIFICATION}), prepares=True, event="correction_decided"),
    StaffAction("redact", REVIEWER, frozenset({Status.IN_REVIEW, Status.FULFILLING}), EXPORT_TYPES,
                reason=True, prepares=True),
    # Putting withheld data back, and leaving a suggestion in, decide what is released too.
    StaffAction("unredact", REVIEWER, frozenset({Status.IN_REVIEW, Status.FULFILLING}),
                EXPORT_TYPES, prepares=True),
    StaffAction("dismiss_suggestion", REVIEWER, frozenset({Status.IN_REVIEW, Status.FULFILLING}),
                EXPORT_TYPES, prepares=True),
    StaffAction("rebuild", REVIEWER, frozenset({Status.FULFILLING}), EXPORT_TYPES, prepares=True,
                event="exports_rebuild"),
    StaffAction("submit", REVIEWER, frozenset({Status.IN_REVIEW}), REVIEWED_TYPES, prepares=True),
    StaffAction("send_back", REVIEWER, frozenset({Status.READY_FOR_APPROVAL}), REVIEWED_TYPES,
                reason=True),
    # Deciding: approvers only.
    # Upholding an objection: the email tells the person the reason.
    StaffAction("approve", APPROVER, frozenset({Status.IN_REVIEW, Status.READY_FOR_APPROVAL}),
                REVIEWED_TYPES, reason_types=frozenset({RequestType.OBJECTION})),
    StaffAction("release", APPROVER, frozenset({Status.FULFILLING}), EXPORT_TYPES,
                event="exports_released"),
    StaffAction("reject", APPROVER, EARLY | {Status.AWAITING_VERIFICATION, Status.READY_FOR_APPROVAL,
                Status.ON_HOLD}, REVIEWED_TYPES, reason=True,
                wrong_type="A marketing opt-out can never be refused (UK GDPR Article 21(3))."),
    StaffAction("withdraw", APPROVER, OPEN_STATUSES, reason=True),
    StaffAction("release_hold", APPROVER, OPEN_STATUSES, frozenset({RequestType.ERASURE}), reason=True,
                event="legal_hold_released"),
    # Processing may start again: a decision, as approving the restriction was.
    StaffAction("lift_restriction", APPROVER, frozenset({Status.COMPLETED}),
                frozenset({RequestType.RESTRICTION}), reason=True, event="restriction_lift_decided",
                wrong_type="Only a restriction of processing can be lifted."),
)  # fmt: skip

# The actions taken on a request that exists (all but logging a new one).
ON_A_REQUEST = {name: spec for name, spec in ACTIONS.items() if spec.statuses}
# The audit-trail actions that mark whoever took them as a preparer of the response.
PREPARATION_EVENTS = frozenset(a.recorded_as for a in ACTIONS.values() if a.prepares)
_unknown = {a.recorded_as for a in ACTIONS.values()} - set(EventAction.values)
assert not _unknown, f"staff actions record unknown audit actions: {_unknown}"
# Actions a second person must take: never by whoever prepared the response.
SECOND_PERSON = frozenset({"approve", "release"})


def single_person_mode() -> bool:
    return bool(settings.DSAR_SINGLE_PERSON_MODE)


def has_role(user: Any, action: str) -> bool:
    role = ACTIONS[action].role
    return is_approver(user) if role == APPROVER else is_privacy_staff(user)


def prepared_by(dsr: DataSubjectRequest, user: Any) -> bool:
    return dsr.events.filter(action__in=PREPARATION_EVENTS, actor=actor_label(user)).exists()


@dataclass(frozen=True)
class Refusal:
    message: str
    forbidden: bool  # True: this person may not (403); False: not now (409)
    rule: bool = False  # a rule of what the response holds (400), not of the request's state

    def error(self) -> Exception:
        if self.forbidden:
            return NotPermitted(self.message)
        return RuleViolation(self.message) if self.rule else IllegalTransition(self.message)


# --- What the table cannot say by status alone: is there something to act on? ------------------
# One predicate per rule, read by ``refusal``: the page hides the button, the API leaves the action
# out of ``allowed_actions``, and the service is refused with the same words.


def _not_now(message: str) -> Refusal:
    return Refusal(message, forbidden=False)


def corrections_undecided(dsr: DataSubjectRequest) -> Refusal | None:
    """A response is submitted and approved only with every correction decided."""
    if dsr.corrections.filter(decision=CorrectionDecision.PENDING).exists():
        return Refusal("Decide every correction (accept, edit or decline) first.", False, rule=True)
    return None


def identity_unconfirmed(dsr: DataSubjectRequest) -> Refusal | None:
    """Staff asked for proof of identity: the response waits until they have confirmed it."""
    asked = dsr.pauses.filter(proof=DocumentKind.IDENTITY).exists()
    if asked and not dsr.events.filter(action=EventAction.IDENTITY_CONFIRMED).exists():
        return Refusal(
            "Proof of identity was asked for: check what the person sent and confirm their "
            "identity first (or reject the request if it does not prove it).",
            False,
            rule=True,
        )
    return None


def ready_to_decide(dsr: DataSubjectRequest) -> Refusal | None:
    """A response is submitted and approved with every correction decided and, where proof of
    identity was asked for, the identity confirmed."""
    return corrections_undecided(dsr) or identity_unconfirmed(dsr)


def can_extend(dsr: DataSubjectRequest) -> Refusal | None:
    if dsr.due_on is None:
        return _not_now("This request has no deadline to extend yet.")
    try:
        deadlines.check_extension_allowed(
            already_extended=hasattr(dsr, "extension"),
            current_due=dsr.due_on,
            today=deadlines.today(),
        )
    except deadlines.DeadlineError as exc:
        return Refusal(str(exc), forbidden=False, rule=True)
    return None


def can_confirm_authority(dsr: DataSubjectRequest) -> Refusal | None:
    if not dsr.has_agent:
        return _not_now("Only a request filed by an agent and awaiting verification needs this.")
    if dsr.authority_confirmed_at is not None:
        return _not_now("The agent's authority is already confirmed.")
    return None


def can_confirm_identity(dsr: DataSubjectRequest) -> Refusal | None:
    if not dsr.documents.filter(
        kind=DocumentKind.IDENTITY, delete_after__isnull=True, deleted_at__isnull=True
    ).exists():
        return _not_now("There is no proof of identity waiting to be checked.")
    return None


def can_release_hold(dsr: DataSubjectRequest) -> Refusal | None:
    if dsr.legal_holds.filter(released_at__isnull=True).exists():
        return None
    return _not_now("This request has no active legal hold.")


def can_rebuild(dsr: DataSubjectRequest) -> Refusal | None:
    """Released files never change; before release, building again also makes any file missing."""
    if dsr.exports.filter(released_at__isnull=False).exists():
        return _not_now("Only unreleased exports of a request being fulfilled can be rebuilt.")
    return None


def can_release(dsr: DataSubjectRequest) -> Refusal | None:
    exports = list(dsr.exports.all())
    if not exports:
        return _not_now("Only a request being fulfilled, with its exports built, can be released.")
    if any(e.released_at for e in exports):
        return _not_now("These exports have already been released.")
    if any(e.status != ExportStatus.READY for e in exports):
        return _not_now("Every export must be built (and previewed) before release.")
    withheld = redactions_digest(dsr)
    if any(e.redactions_digest != withheld for e in exports):
        return _not_now(
            "These files were built before the latest change to what is withheld: build them "
            "again, check them, then release."
        )
    attached = {e.format: e.sha256 for e in exports if e.format in PDF_ATTACHES}
    if any(e.format == ExportFormat.PDF and e.attached != attached for e in exports):
        return _not_now(
            "The PDF attaches other JSON and CSV files than those released with it: build the "
            "files again, check them, then release."
        )
    if not withheld_as_approved(dsr):
        return _not_now(
            "What is withheld is not what was approved: send the response back to review, "
            "and have it approved again."
        )
    if not left_in_as_approved(dsr):
        return _not_now(
            "What was left in of the suggested third-party data is not what was approved: "
            "send the response back to review, and have it approved again."
        )
    return None


LEFT_IN_ORDER = ("store", "table", "record_key", "field", "path", "span_start", "span_end")


def left_in_rows(dsr: DataSubjectRequest) -> list[list[Any]]:
    """What was left in of the suggested third-party data, as an approval records it."""
    return [
        list(row)
        for row in DismissedSuggestion.objects.filter(request=dsr)
        .order_by(*LEFT_IN_ORDER)
        .values_list(*LEFT_IN_ORDER)
    ]


def left_in_as_approved(dsr: DataSubjectRequest) -> bool:
    """What was left in of the suggestions is what the latest approval approved (an approval
    from before it was recorded approved whatever was left in then)."""
    event = dsr.events.filter(action="approve").order_by("-seq").first()
    approved = event.payload.get("approved") if event is not None else None
    if not isinstance(approved, dict):
        return False
    return "left_in" not in approved or approved["left_in"] == left_in_rows(dsr)


def withheld_as_approved(dsr: DataSubjectRequest) -> bool:
    """What is withheld now is what the latest approval approved (``approval_snapshot``)."""
    event = dsr.events.filter(action="approve").order_by("-seq").first()
    approved = event.payload.get("approved") if event is not None else None
    if not isinstance(approved, dict):
        return False
    now = [[*r.target, r.reason] for r in Redaction.objects.in_force().filter(request=dsr)]
    then = approved.get("redactions", [])
    if any(len(row) == 5 for row in then):  # approved before passages existed
        now = [[store, table, key, field, reason] for store, table, key, field, *_, reason in now]
    return sorted(map(tuple, now)) == sorted(map(tuple, then))


def can_redact(dsr: DataSubjectRequest) -> Refusal | None:
    if dsr.exports.filter(released_at__isnull=False).exists():
        return _not_now("Released exports are immutable; redactions can no longer change them.")
    return None


def can_refuse(dsr: DataSubjectRequest) -> Refusal | None:
    """An objection to direct marketing is absolute, like an opt-out (the type check says it for
    an opt-out, the scope for an objection)."""
    if dsr.stops_marketing:
        return _not_now(
            "An objection to direct marketing can never be refused (UK GDPR Article 21(3))."
        )
    return None


def can_lift_restriction(dsr: DataSubjectRequest) -> Refusal | None:
    restriction = Restriction.objects.filter(request=dsr).first()
    if restriction is None:
        return _not_now("The restriction was never carried out: there is nothing to lift.")
    if restriction.lifted_at is not None:
        return _not_now("The restriction is already lifted.")
    if restriction.lift_decided_at is not None:
        return _not_now(
            "The restriction is already being lifted: it is lifted once the person's notice "
            "has been sent."
        )
    return None


def can_reissue_link(dsr: DataSubjectRequest) -> Refusal | None:
    if dsr.delivery == Delivery.POST:
        return _not_now("The response goes by post: print the PDF again instead of a link.")
    if any(e.released_at and not e.file_deleted_at for e in dsr.exports.all()):
        return None
    return _not_now("There are no released exports to send (they may have expired).")


NOT_NOW = {
    "submit": ready_to_decide,
    "approve": ready_to_decide,
    "extend": can_extend,
    "confirm_authority": can_confirm_authority,
    "confirm_identity": can_confirm_identity,
    "release_hold": can_release_hold,
    "rebuild": can_rebuild,
    "redact": can_redact,
    "unredact": can_redact,
    "dismiss_suggestion": can_redact,
    "release": can_release,
    "reissue_link": can_reissue_link,
    "reject": can_refuse,
    "lift_restriction": can_lift_restriction,
}


def refusal(action: str, user: Any, dsr: DataSubjectRequest) -> Refusal | None:
    """Why ``user`` may not take ``action`` on ``dsr`` now; None when they may. The role comes
    first, then the request's type and status, then the two-person rule, then whether there is
    something to act on (``NOT_NOW``)."""
    spec = ACTIONS[action]
    if not has_role(user, action):
        who = "an approver" if spec.role == APPROVER else "privacy staff"
        return Refusal(f"Only {who} may {_words(action)}.", forbidden=True)
    if dsr.request_type not in spec.types:
        return Refusal(
            spec.wrong_type
            or f"Cannot {_words(action)}: not on a request for "
            f"{RequestType(dsr.request_type).label[0].lower()}{RequestType(dsr.request_type).label[1:]}.",
            forbidden=False,
        )
    if dsr.status not in spec.statuses:
        return Refusal(
            f"Cannot {_words(action)}: the request is {Status(dsr.status).label.lower()}.",
            forbidden=False,
        )
    if not single_person_mode():
        found = _two_person_rule(action, user, dsr)
        if found is not None:
            return found
    check = NOT_NOW.get(action)
    return check(dsr) if check else None


def _two_person_rule(action: str, user: Any, dsr: DataSubjectRequest) -> Refusal | None:
    if action == "approve" and dsr.status != Status.READY_FOR_APPROVAL:
        return Refusal(
            "Cannot approve: the response must first be submitted for approval, and another "
            "member of staff approves it (the two-person rule).",
            forbidden=False,
        )
    if action in SECOND_PERSON and prepared_by(dsr, user):
        what = "approve it" if action == "approve" else "release its files"
        return Refusal(
            "Two-person rule: you prepared or submitted this response, so an approver who did "
            f"not must {what}.",
            forbidden=True,
        )
    return None


def permit(action: str, user: Any, dsr: DataSubjectRequest) -> None:
    """Raise the refusal, if any: ``NotPermitted`` (403) or ``IllegalTransition`` (409)."""
    found = refusal(action, user, dsr)
    if found is not None:
        raise found.error()


def _words(action: str) -> str:
    return {
        "release": "release the files",
        "legal_hold": "place a legal hold",
        "release_hold": "release a legal hold",
        "send_back": "send it back for changes",
        "submit": "submit it for approval",
        "decide_correction": "decide a correction",
        "redact": "withhold data",
        "unredact": "put withheld data back",
        "dismiss_suggestion": "leave a suggestion in",
        "rebuild": "rebuild the files",
        "lift_restriction": "lift the restriction",
    }.get(action, action.replace("_", " "))


# The actions the request page offers as buttons (the others have their own place: a store's
# retry, a correction's decision, a record's redaction, a recipient's confirmation).
PAGE_ACTIONS = (
    "submit",
    "approve",
    "send_back",
    "release",
    "rebuild",
    "reissue_link",
    "extend",
    "hold",
    "resume",
    "confirm_authority",
    "confirm_identity",
    "legal_hold",
    "release_hold",
    "retry_rectification",
    "lift_restriction",
    "reject",
    "withdraw",
    "assign",
    "note",
)


def available(dsr: DataSubjectRequest, user: Any) -> list[str]:
    """The page's actions this person may take on this request now."""
    return [a for a in PAGE_ACTIONS if refusal(a, user, dsr) is None]


# Decisions shown, disabled with the reason, when this person holds the role and the request is
# at the step for them but a rule stops this person now (say so before the form, not after).
SHOWN_REFUSED = ("submit", "approve", "release")


def offered(dsr: DataSubjectRequest, user: Any) -> list[tuple[str, str]]:
    """The page's actions for this person: (action, "") for each they may take now, and
    (action, why not) for a decision that is theirs to take but a rule stops (the two-person
    rule, a correction undecided, files not built), so that the page shows it disabled."""
    out = []
    for action in PAGE_ACTIONS:
        found = refusal(action, user, dsr)
        if found is None:
            out.append((action, ""))
            continue
        spec = ACTIONS[action]
        if (
            action in SHOWN_REFUSED
            and has_role(user, action)
            and dsr.request_type in spec.types
            and dsr.status in spec.statuses
            and (action != "approve" or dsr.status == Status.READY_FOR_APPROVAL)
        ):
            why = found.message
            if action in SECOND_PERSON and found.forbidden and not _another_approver(dsr, user):
                why += (
                    " No other approver is set up: an administrator can give someone else the "
                    "approver role."
                )
            out.append((action, why))
    return out


def _another_approver(dsr: DataSubjectRequest, user: Any) -> bool:
    """Someone else who may take a second-person decision on this response."""
    candidates = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=APPROVER)
    )
    prepared = set(dsr.events.filter(action__in=PREPARATION_EVENTS).values_list("actor", flat=True))
    return any(
        actor_label(u) not in prepared for u in candidates.exclude(pk=user.pk).distinct()[:50]
    )
