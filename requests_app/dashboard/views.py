"""Dashboard pages. Thin: read with selectors, act through the same services as the API."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from exports_app import services as exports
from exports_app.gone import files_gone
from exports_app.models import DownloadLink, Export, ExportFormat
from requests_app import datamap, selectors, workflow
from requests_app.core import actions, documents
from requests_app.core.audit import event_append
from requests_app.core.errors import DomainError
from requests_app.core.permissions import ROLES, actor_label, staff_name
from requests_app.dashboard.access import request_or_404, staff_required
from requests_app.dashboard.forms import (
    ACTION_TEXT,
    ActionForm,
    BulkForm,
    DecisionForm,
    LogRequestForm,
    NoteForm,
    QueueFilterForm,
    action_text,
)
from requests_app.dashboard.saved_views import queue_filters
from requests_app.dashboard.withholding import left_in_with_words, withheld_with_words
from requests_app.fulfilment import erasure, erasure_plans, recipients, rectification
from requests_app.gathering import gather
from requests_app.gathering.gather import gathering_start
from requests_app.intake import staff as staff_intake
from requests_app.intake.forms import CorrectionFormSet
from requests_app.models import (
    DataSubjectRequest,
    RequestType,
    Restriction,
    SavedView,
    Status,
)
from requests_app.review import case, decisions, portal
from requests_app.review.undecided import undecided_suggestions
from smarct_dsar.spreadsheet import formula_safe
from smarct_dsar.uploads import body_too_large, too_large_words


@dataclass(frozen=True)
class QueueRow:
    dsr: DataSubjectRequest
    days_left: int | None

    @property
    def urgency(self) -> str:
        if self.days_left is None:
            return ""
        return "overdue" if self.days_left < 0 else "due-soon" if self.days_left <= 7 else ""


# The queue's search may be a name or an email: it travels by POST and stays in the session,
# never in a URL (URLs reach access logs, browser history and referers).
SEARCH_KEY = "dashboard_queue_search"


@staff_required
@require_http_methods(["GET", "POST"])
def queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session[SEARCH_KEY] = str(request.POST.get("q", "")).strip()[:254]
        kept = {k: str(v) for k, v in request.POST.items() if k in QueueFilterForm.IN_URL and v}
        return redirect(f"{reverse('dashboard-queue')}?{urlencode(kept)}".rstrip("?"))
    form, filters = _queue_filters(request)
    paginator = Paginator(selectors.request_list(filters=filters), per_page=form.page_size())
    page = paginator.get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [QueueRow(dsr, selectors.days_left(dsr, today)) for dsr in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("q", None)
    return render(
        request,
        "dashboard/queue.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "overdue_notices": recipients.overdue_notices(),
            "may_withdraw": actions.has_role(request.user, "withdraw"),
            "saved_views": SavedView.objects.filter(user=request.user.pk),
            "filters_query": urlencode(queue_filters(request.GET)),
            "searching": bool(request.session.get(SEARCH_KEY)),
            "team": User.objects.filter(groups__name__in=ROLES, is_active=True)
            .distinct()
            .order_by("username"),
        },
    )


def _queue_filters(request: HttpRequest) -> tuple[QueueFilterForm, selectors.RequestFilters]:
    """The queue's filters: those in the URL, and the search kept in the session."""
    data = request.GET.copy()
    data.pop("q", None)  # never from a URL
    if request.session.get(SEARCH_KEY):
        data["q"] = request.session[SEARCH_KEY]
    form = QueueFilterForm(data or None)
    filters = form.filters() if form.is_valid() else selectors.RequestFilters(open_only=True)
    return form, filters


QUEUE_COLUMNS = (
    "Reference",
    "Type",
    "Requester",
    "Email",
    "Status",
    "Assignee",
    "Due",
    "Days left",
)


@staff_required
@require_http_methods(["GET"])
def queue_csv(request: HttpRequest) -> HttpResponse:
    """The queue as the view shows it (its filters and search, every page), as CSV: the columns
    on screen and nothing more. Each export is on the audit trail (who, when, how many rows;
    not the search, which may be a name)."""
    form, filters = _queue_filters(request)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest("The queue's filters are not valid: choose them again.")
    today = timezone.localdate()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(QUEUE_COLUMNS)
    rows = 0
    for dsr in selectors.request_list(filters=filters).iterator(chunk_size=500):
        left = selectors.days_left(dsr, today)
        writer.writerow(
            [
                dsr.reference,
                dsr.get_request_type_display(),
                formula_safe(dsr.requester_name),
                formula_safe(dsr.requester_email),
                dsr.get_status_display(),
                formula_safe(staff_name(dsr.assignee)) if dsr.assignee else "",
                dsr.due_on.isoformat() if dsr.due_on else "",
                "" if left is None else left,
            ]
        )
        rows += 1
    event_append(
        dsr=None,
        actor=actor_label(request.user),
        action="queue_exported",
        # the filters applied, as the form read them: never the search, nor anything else a
        # URL carries (this trail is hash-chained and kept)
        payload={
            "rows": rows,
            "filters": {
                name: value
                for name, value in (form.cleaned_data if form.is_bound else {}).items()
                if name in QueueFilterForm.IN_URL and value
            },
        },
    )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="queue-{today.isoformat()}.csv"'
    return response


# Bulk actions from the queue: each request is changed by the same service as one at a time, in
# its own transaction, checked on its own (a request that may not be changed is named, the
# others go on).
BULK = {"assign": "assign", "withdraw_spam": "withdraw"}
BULK_MAX = 100


@staff_required
@require_http_methods(["POST"])
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST, max_refs=BULK_MAX)
    kind = request.POST.get("action", "")
    if kind in BULK and not actions.has_role(request.user, BULK[kind]):
        raise PermissionDenied("Your role does not allow this action.")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("dashboard-queue")
    assert isinstance(request.user, User)
    kind, assignee, reason = (form.cleaned_data[k] for k in ("action", "assignee", "reason"))
    if kind == "assign" and assignee is not None and not actions.has_role(assignee, "assign"):
        messages.error(request, "Choose a member of the privacy team to assign them to.")
        return redirect("dashboard-queue")
    done, refused = 0, []
    for dsr in DataSubjectRequest.objects.filter(reference__in=form.cleaned_data["refs"]):
        try:
            if kind == "assign":
                case.request_assign(dsr=dsr, actor=request.user, assignee=assignee)
            else:
                case.request_withdraw(
                    dsr=dsr, actor=request.user, reason=f"Withdrawn as spam: {reason.strip()}"
                )
            done += 1
        except DomainError as exc:
            refused.append(f"{dsr.reference}: {exc.message}")
    verb = "Assigned" if kind == "assign" else "Withdrew"
    if done:
        messages.success(request, f"{verb} {done} request{'s' if done != 1 else ''}.")
    for line in refused:
        messages.error(request, line)
    return redirect("dashboard-queue")


@staff_required
@require_http_methods(["GET", "POST"])
def log_request(request: HttpRequest) -> HttpResponse:
    """Log a request received by phone, letter, email, in person or social media."""
    if not actions.has_role(request.user, "log_request"):
        raise PermissionDenied("Only the privacy team logs requests.")
    if request.method == "GET":
        now = timezone.localtime().replace(second=0, microsecond=0, tzinfo=None)
        form = LogRequestForm(initial={"received_at": now})
        return _log_page(request, form, CorrectionFormSet(prefix="c"))
    form = LogRequestForm(request.POST, request.FILES)
    corrections = CorrectionFormSet(request.POST, prefix="c")
    if body_too_large(request):
        form.is_valid()
        form.add_error("attachments", too_large_words())
        return _log_page(request, form, corrections, status=400)
    if not (form.is_valid() and corrections.is_valid()):
        return _log_page(request, form, corrections, status=400)
    logged = form.to_logged(corrections)
    errors = staff_intake.logged_errors(logged)
    for field, problems in errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    if errors:
        return _log_page(request, form, corrections, status=400)
    try:
        dsr = staff_intake.request_log(data=logged, staff=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _log_page(request, form, corrections, status=400)
    messages.success(request, f"Logged as {dsr.reference}.")
    return redirect("dashboard-request", reference=dsr.reference)


def _log_page(
    request: HttpRequest, form: LogRequestForm, corrections: Any, status: int = 200
) -> HttpResponse:
    if status == 400 and request.FILES and not form.has_error("attachments"):
        # A browser cannot fill a file box in again: say so, or the letter is silently lost.
        form.add_error(
            "attachments",
            f"Attach the file{'s' if len(request.FILES.getlist('attachments')) > 1 else ''} "
            "again: a browser does not keep them after an error.",
        )
    return render(
        request,
        "dashboard/log_request.html",
        {"form": form, "corrections": corrections, "error_summary": True},
        status=status,
    )


# A document is shown, never run: the content type is the one its content was checked to be,
# the browser may not guess another (nosniff), and the page may run nothing (a sandbox, no
# sources). An email is shown as text inside a page of ours.
DOCUMENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


@staff_required
def document_view(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    dsr = request_or_404(reference)
    document = dsr.documents.filter(pk=pk, deleted_at__isnull=True).first()
    if document is None:
        raise Http404("No such document, or it was deleted.")
    content = documents.document_bytes(document)
    if document.content_type == documents.EML:
        response = render(
            request,
            "dashboard/document_email.html",
            {"dsr": dsr, "document": document, "mail": documents.email_text(content)},
        )
    else:
        response = HttpResponse(content, content_type=document.content_type)
        response["Content-Disposition"] = "inline"
    for header, value in DOCUMENT_HEADERS.items():
        response[header] = value
    return response


# What each action's button looks like: moving the response on stands out; closing it warns.
BUTTON_STYLE = {
    "submit": "primary",
    "approve": "primary",
    "release": "primary",
    "reject": "danger",
    "withdraw": "danger",
}


@staff_required
def request_page(request: HttpRequest, reference: str) -> HttpResponse:
    dsr = request_or_404(reference)
    exports = list(Export.objects.filter(request=dsr))
    return render(
        request,
        "dashboard/request.html",
        {
            "dsr": dsr,
            "days_left": selectors.days_left(dsr),
            "running": selectors.work_running(dsr),
            "actions": [
                (a, action_text(a, dsr)[0], BUTTON_STYLE.get(a, ""), why)
                for a, why in actions.offered(dsr, request.user)
            ],
            "events": dsr.events.all(),
            "steps": dsr.gather_steps.all(),
            "pauses": dsr.pauses.all(),
            "extension": getattr(dsr, "extension", None),
            "corrections": dsr.corrections.all(),
            "documents": dsr.documents.all(),
            "awaits_authority": portal.awaits_authority(dsr),
            "link_asked": portal.link_requested_since_last(dsr),
            "files_gone": files_gone(dsr),
            "gathers": workflow.route_of(dsr).verified is gathering_start,
            "conversation": dsr.messages.prefetch_related("documents"),
            "exports": exports,
            "links": DownloadLink.objects.filter(request=dsr),
            "sent_back": _sent_back(dsr),
            # the per-store and per-correction buttons, from the one table of staff actions
            "may": {
                a: actions.refusal(a, request.user, dsr) is None
                for a in ("retry_store", "retry_erasure", "decide_correction")
            },
            **_fulfilment_context(dsr),
        },
    )


def _sent_back(dsr: DataSubjectRequest) -> Any:
    """The send-back event, while the request is back in review because of it."""
    if dsr.status != Status.IN_REVIEW:
        return None
    last = dsr.events.filter(action__in=["submit", "send_back"]).order_by("-seq").first()
    return last if last is not None and last.action == "send_back" else None


def _fulfilment_context(dsr: DataSubjectRequest) -> dict[str, Any]:
    """What the page shows about carrying the request out: the erasure plan and its progress,
    the recipients told, the corrections to decide."""
    context: dict[str, Any] = {}
    if dsr.request_type == RequestType.ERASURE:
        if dsr.status in {Status.IN_REVIEW, Status.APPROVED, Status.ON_HOLD}:
            context["plan"] = erasure_plans.erasure_plan(dsr=dsr)
            # the recipients that will not be told: none of the person's data reached them
            context["untold"] = [
                store.name
                for store in datamap.current().stores.values()
                if not store.searchable and not recipients.recipient_received(dsr=dsr, store=store)
            ]
        context["holds"] = erasure.erasure_holds(dsr) if dsr.is_open else []
        context["erasure_steps"] = dsr.erasure_steps.all()
    context["notices"] = [(n, recipients.is_overdue(n)) for n in dsr.notices.all()]
    if dsr.request_type == RequestType.RESTRICTION:
        context["restriction"] = Restriction.objects.filter(request=dsr).first()
    if dsr.request_type == RequestType.RECTIFICATION:
        fields = sorted(rectification.rectifiable_fields())
        context["decisions"] = [
            (c, DecisionForm(fields, prefix=f"c{c.position}", initial=_decided(c, fields)))
            for c in dsr.corrections.all()
        ]
        if dsr.status == Status.IN_REVIEW:  # what the decisions are made against
            context["held_now"] = rectification.held_now(dsr)
            context["held_on"] = max(
                (s.finished_at for s in dsr.gather_steps.all() if s.finished_at), default=None
            )
    return context


def _approving(dsr: DataSubjectRequest) -> dict[str, Any]:
    """What an approver approves: what each store gave, table by table; everything withheld,
    with its reason and author; the files that will be built, or the erasure plan (which cannot
    be undone) and what holds it; the corrections as decided."""
    summary: dict[str, Any] = {
        "stores": [
            (step.store, sorted(step.table_counts.items()), step.record_count)
            for step in dsr.gather_steps.all()
        ],
        "withheld": withheld_with_words(dsr),
        "left_in": left_in_with_words(dsr),
        "note": dsr.events.filter(action="submit").order_by("-seq").first(),
        "files": [ExportFormat(f).label for f in exports.FORMATS.get(dsr.request_type, ())],
        "corrections": list(dsr.corrections.all()),
    }
    if dsr.request_type == RequestType.ERASURE:
        summary["plan"] = erasure_plans.erasure_plan(dsr=dsr)
        summary["holds"] = erasure.erasure_holds(dsr)
    return summary


def _decided(correction: Any, fields: list[str]) -> dict[str, str]:
    """The form as decided so far; undecided, the field the person most likely means."""
    if correction.decision == "pending":
        return {"target_field": rectification.likely_field(correction.field, fields)}
    return {
        "decision": correction.decision,
        "target_field": correction.target_field,
        "value": correction.final_value if correction.decision == "edited" else "",
        "reason": correction.decision_reason,
    }


def _perform(action: str, dsr: DataSubjectRequest, user: User, data: dict[str, Any]) -> None:
    if action == "assign":
        case.request_assign(dsr=dsr, actor=user, assignee=data.get("assignee"))
    elif action == "release":
        decisions.request_release(dsr=dsr, actor=user)
    elif action == "rebuild":
        exports.exports_rebuild(dsr=dsr, actor=user)
    elif action == "reissue_link":
        exports.link_reissue(dsr=dsr, actor=user)
    elif action == "note":
        case.request_note(dsr=dsr, actor=user, text=data["reason"])
    elif action == "legal_hold":
        erasure.legal_hold_place(dsr=dsr, actor=user, reason=data["reason"])
    elif action == "release_hold":
        erasure.legal_hold_release(
            dsr=dsr, actor=user, reason=data["reason"], hold=int(data["hold"])
        )
    elif action == "hold":
        case.request_hold(
            dsr=dsr,
            actor=user,
            question=data["reason"],
            proof="identity" if data.get("proof") else "",
        )
    elif action == "retry_rectification":
        rectification.rectification_retry(dsr=dsr, actor=user)
    else:
        decisions.request_act(
            action=action,
            dsr=dsr,
            actor=user,
            reason=data.get("reason", ""),
            seen=data.get("seen"),
        )


@staff_required
@require_http_methods(["GET", "POST"])
def request_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """GET: say what the action will do and ask for what it needs. POST: do it."""
    if action not in ACTION_TEXT:
        raise Http404
    if not actions.has_role(request.user, action):
        raise PermissionDenied("Your role does not allow this action.")
    dsr = request_or_404(reference)
    form = ActionForm(action, request.POST if request.method == "POST" else None, dsr=dsr)
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        try:
            _perform(action, dsr, request.user, form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("dashboard-request", reference=reference)
        messages.success(request, action_text(action, dsr)[2])
        return redirect("dashboard-request", reference=reference)
    label, explanation, _ = action_text(action, dsr)
    # Say now, not after the form is filled in, when the rules refuse this person this action.
    refused = actions.refusal(action, request.user, dsr)
    return render(
        request,
        "dashboard/confirm.html",
        {
            "dsr": dsr,
            "form": form,
            "label": label,
            "explanation": explanation,
            "action": action,
            "refused": refused.message if refused else "",
            "approving": (
                _approving(dsr)
                if action in {"approve", "submit"}
                and dsr.status in (Status.IN_REVIEW, Status.READY_FOR_APPROVAL)
                else None
            ),
            "releasing": (
                {
                    "files": Export.objects.filter(request=dsr, released_at__isnull=True),
                    "withheld": withheld_with_words(dsr),
                    "left_in": left_in_with_words(dsr),
                }
                if action == "release" and dsr.status == Status.FULFILLING
                else None
            ),
            # the system's own warnings, never moved on unread
            "scan": (
                undecided_suggestions(dsr)
                if action in {"submit", "approve", "release"}
                and dsr.request_type in exports.FORMATS  # a response that sends data
                and dsr.status in (Status.IN_REVIEW, Status.READY_FOR_APPROVAL, Status.FULFILLING)
                and dsr.gather_steps.exists()
                else None
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


# A failed store's step, run again: gathering (while gathering) or erasure (while fulfilling).
RETRIES = {
    "gathering": (gather.gathering_retry_store, "Gathering from {store} has been queued again."),
    "erasure": (erasure.erasure_retry_store, "Erasure of {store} has been queued again."),
}


@staff_required
@require_http_methods(["POST"])
def retry_step(request: HttpRequest, reference: str, store: str, step: str) -> HttpResponse:
    dsr = request_or_404(reference)
    assert isinstance(request.user, User)
    retry, done = RETRIES[step]
    try:
        retry(dsr=dsr, store=store, actor=request.user)
        messages.success(request, done.format(store=store))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard-request", reference=reference)


@staff_required
@require_http_methods(["POST"])
def confirm_notice(request: HttpRequest, reference: str, store: str) -> HttpResponse:
    """Record a recipient's reply that came by email or post."""
    dsr = request_or_404(reference)
    assert isinstance(request.user, User)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Paste or summarise their reply.")
        return redirect("dashboard-request", reference=reference)
    try:
        recipients.notice_confirm_by_staff(
            dsr=dsr, store=store, actor=request.user, note=form.cleaned_data["reason"]
        )
        messages.success(request, "Their confirmation is recorded.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard-request", reference=reference)


@staff_required
@require_http_methods(["POST"])
def decide_correction(request: HttpRequest, reference: str, position: int) -> HttpResponse:
    dsr = request_or_404(reference)
    assert isinstance(request.user, User)
    form = DecisionForm(
        sorted(rectification.rectifiable_fields()), request.POST, prefix=f"c{position}"
    )
    if not form.is_valid():
        messages.error(request, f"Correction {position}: choose a decision and a known field.")
        return redirect("dashboard-request", reference=reference)
    try:
        rectification.correction_decide(
            dsr=dsr, position=position, actor=request.user, **form.cleaned_data
        )
        messages.success(request, f"Correction {position} decided.")
    except DomainError as exc:
        messages.error(request, f"Correction {position}: {exc.message}")
    return redirect("dashboard-request", reference=reference)
