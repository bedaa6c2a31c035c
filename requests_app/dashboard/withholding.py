"""The record page and withholding: a store's gathered data as staff review it (the record
viewer, its suggestions of other people's data), withholding a record, a field or words with a
reason, putting it back, leaving suggestions in; and the words each withheld passage takes out,
for the pages that approve and release a response."""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from exports_app import passages, suggestions
from exports_app import services as exports
from exports_app.content import record_key
from exports_app.models import DismissedSuggestion, Export, Redaction
from requests_app import datamap, selectors
from requests_app.core import actions
from requests_app.core.errors import DomainError
from requests_app.dashboard import records
from requests_app.dashboard.access import request_or_404, staff_required
from requests_app.dashboard.forms import (
    PicksForm,
    RedactForm,
    WithholdPicksForm,
)
from requests_app.gathering import gather
from requests_app.models import (
    DataSubjectRequest,
    GatherStep,
    Status,
    StepStatus,
)
from requests_app.review import decisions
from smarct_dsar.crypto import InvalidToken


@staff_required
def store_data(request: HttpRequest, reference: str, store: str) -> HttpResponse:
    """A paginated preview of what one store gave, with the means to withhold a record or field."""
    dsr = request_or_404(reference)
    return _store_page(
        request, dsr, store, str(request.GET.get("table", "")), _int(request.GET.get("page"))
    )


def _store_page(
    request: HttpRequest,
    dsr: DataSubjectRequest,
    store: str,
    wanted: str,
    number: int,
    status: int = 200,
) -> HttpResponse:
    reference = dsr.reference
    step = GatherStep.objects.filter(request=dsr, store=store, status=StepStatus.DONE).first()
    if step is None:
        raise Http404
    if not step.file_name:
        messages.info(
            request,
            f"The data gathered from {store} has been deleted: the released files (or, after an "
            "erasure, the certificate) are the record now.",
        )
        return redirect("dashboard-request", reference=reference)
    tables = list(step.table_counts)
    table = wanted if wanted in tables else (tables[0] if tables else "")
    try:
        page = selectors.gathered_page(step=step, table=table, number=number)
    except (InvalidToken, OSError):
        messages.error(
            request,
            f"The data gathered from {store} cannot be read (the file is missing, "
            "or was encrypted with a key no longer configured). Gather it again.",
        )
        return redirect("dashboard-request", reference=reference)
    all_withheld = list(
        Redaction.objects.filter(request=dsr, store=store).order_by("created_at", "pk")
    )
    words = _passage_words(step, [r for r in all_withheld if r.is_passage])
    named = _record_names(step, {r.record_key for r in all_withheld})
    by_record: dict[str, list[Redaction]] = {}
    for r in all_withheld:
        if r.table == table and r.withdrawn_at is None:
            by_record.setdefault(r.record_key, []).append(r)
    can_redact = actions.refusal("redact", request.user, dsr) is None
    first = (page.number - 1) * page.per_page
    suggested = suggestions.for_records(dsr, store, table, page.records) if can_redact else {}
    store_spec = datamap.current().stores.get(store)
    table_spec = store_spec.tables.get(table) if store_spec is not None else None
    with translation.override(dsr.language):  # read as the person's PDF reads them
        views = [
            records.record_view(
                first + i + 1,
                key,
                record,
                by_record.get(key, []),
                suggested.get(key, []),
                table_spec.field_spec if table_spec is not None else None,
            )
            for i, (key, record) in enumerate(page.records)
        ]
    for view in views:  # each record carries the undo of what withholds it, with its words
        view.undoable = [
            (r, words.get(id(r), "")) for r in by_record.get(view.key, []) if r.field or r.path
        ]
    return render(
        request,
        "dashboard/store_data.html",
        {
            "dsr": dsr,
            "store": store,
            "tables": tables,
            "table": table,
            "page": page,
            "records": views,
            "withheld": [
                (r, words.get(id(r), ""), named.get(r.record_key, "")) for r in all_withheld
            ],
            "reasons": RedactForm().fields["reason"],
            "can_redact": can_redact,
        },
        status=status,
    )


def withheld_with_words(dsr: DataSubjectRequest) -> list[tuple[Redaction, str]]:
    """Everything withheld now, each with the words it takes out (for the approver)."""
    withheld = list(
        Redaction.objects.in_force().filter(request=dsr).order_by("store", "table", "pk")
    )
    return list(zip(withheld, _words(dsr, withheld), strict=True))


def left_in_with_words(dsr: DataSubjectRequest) -> list[tuple[DismissedSuggestion, str]]:
    """Every suggested passage staff chose to leave in, with its words (for the approver)."""
    left = decisions.left_in(dsr)
    return list(zip(left, _words(dsr, left), strict=True))


def _words(dsr: DataSubjectRequest, passages_of: list[Any]) -> list[str]:
    """The words each passage (a withheld one, or a suggestion left in) covers, read from the
    gathered data for the staff who decide on it (one pass a store; never stored anywhere
    else). A whole record or field, or a store no longer readable, has none."""
    words: dict[int, str] = {}
    for step in dsr.gather_steps.filter(status=StepStatus.DONE).exclude(file_name=""):
        mine = [p for p in passages_of if p.store == step.store and _is_passage(p)]
        if mine:
            with contextlib.suppress(InvalidToken, OSError):  # unreadable: still where and why
                words.update(_passage_words(step, mine))
    return [words.get(id(p), "") for p in passages_of]


def _is_passage(item: Any) -> bool:
    return isinstance(item, DismissedSuggestion) or bool(item.is_passage)


def _passage_words(step: GatherStep, items: list[Any]) -> dict[int, str]:
    wanted = {p.record_key for p in items}
    if not wanted:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for _, record in gather.gathered_records(step):
        key = record_key(record)
        if key in wanted:
            found[key] = record
            if len(found) == len(wanted):
                break
    words = {}
    for p in items:
        text = (
            passages.leaf_text(found[p.record_key], p.field, p.path)
            if p.record_key in found
            else None
        )
        if text is not None and passages.fits(text, (p.span_start, p.span_end)):
            words[id(p)] = text[p.span_start : p.span_end]
    return words


def _record_names(step: GatherStep, keys: set[str]) -> dict[str, str]:
    """Which record each key is, for staff: its number in its table (as the pages count) and
    its first value in the map's words ("record 3 (Ticket number 1003)"); one pass."""
    names: dict[str, str] = {}
    if not keys:
        return names
    spec = datamap.current().stores.get(step.store)
    counted: dict[str, int] = {}
    with contextlib.suppress(InvalidToken, OSError):  # unreadable: the list still says where
        for table, record in gather.gathered_records(step):
            counted[table] = counted.get(table, 0) + 1
            key = record_key(record)
            if key in keys and key not in names:
                table_spec = spec.tables.get(table) if spec is not None else None
                names[key] = f"record {counted[table]}" + _record_title(record, table_spec)
                if len(names) == len(keys):
                    break
    return names


def _record_title(record: dict[str, Any], table_spec: Any) -> str:
    """The record's first value, titled by the map: " (Ticket number 1003)"; "" when long."""
    for name, value in record.items():
        if isinstance(value, dict | list) or value in (None, ""):
            continue
        text = str(value)
        if len(text) > 40:
            return ""
        title = table_spec.field_spec(name).title if table_spec is not None else name
        return f" ({title} {text})"
    return ""


def _int(value: str | None) -> int:
    try:
        return int(value or 1)
    except ValueError:
        return 1


def _back_to_data(request: HttpRequest, reference: str, store: str) -> str:
    """The page the form was on, at the record it was about (or the withheld list)."""
    query = urlencode(
        {"table": request.POST.get("table", ""), "page": _int(request.POST.get("page"))}
    )
    key = str(request.POST.get("record_key", ""))
    anchor = f"#r-{key[:12]}" if re.fullmatch(r"[0-9a-f]{64}", key) else "#withheld-h"
    return f"{reverse('dashboard-store-data', args=[reference, store])}?{query}{anchor}"


def _files_words(dsr: DataSubjectRequest) -> str:
    """What happens to the files after a change to what is withheld, as it is for this request."""
    if dsr.status == Status.IN_REVIEW and dsr.events.filter(action="reopen").exists():
        return "it was approved before, so it goes back for approval; the files are built again."
    if Export.objects.filter(request=dsr).exists():
        return "the files already built are being built again."
    return "the files are built with it once the response is approved."


def _refused(
    request: HttpRequest, dsr: DataSubjectRequest, store: str, message: str
) -> HttpResponse:
    """A refused change to what is withheld: the page it came from again, as a 400, opening at
    the top where the message is (never at a record the message would be out of sight of)."""
    messages.error(request, message)
    return _store_page(
        request, dsr, store, str(request.POST.get("table", "")), _int(request.POST.get("page")), 400
    )


def _form_errors(form: Any) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)


@staff_required
@require_http_methods(["POST"])
def redact(request: HttpRequest, reference: str, store: str) -> HttpResponse:
    """Withhold what the record's form names, or the suggestions ticked, for one reason."""
    dsr = request_or_404(reference)
    back = _back_to_data(request, reference, store)
    # The record's own form names what ("what", or the API-style "field"); anything else is the
    # suggestions' form, which withholds only what is ticked (nothing ticked: nothing).
    ticked = not ({"what", "field"} & set(request.POST))
    form: RedactForm | WithholdPicksForm = (
        WithholdPicksForm(request.POST) if ticked else RedactForm(request.POST)
    )
    if not form.is_valid():
        return _refused(request, dsr, store, "Nothing was withheld: " + _form_errors(form))
    assert isinstance(request.user, User)
    data = dict(form.cleaned_data)
    try:
        if ticked:
            made = exports.passages_withhold(
                dsr=dsr,
                actor=request.user,
                store=store,
                table=data["table"],
                record_key=data["record_key"],
                picks=data["suggestion"],
                grounds=data["grounds"],
                reason=data["reason"],
            )
        else:
            made = exports.redaction_add(dsr=dsr, actor=request.user, store=store, **data)
    except DomainError as exc:
        return _refused(request, dsr, store, "Nothing was withheld: " + exc.message)
    if not made:
        messages.info(request, "That was withheld already.")
        return redirect(back)
    if ticked or data.get("path") or data.get("passage") or data.get("start") is not None:
        what = "The words" if len(made) == 1 else f"The words ({len(made)} passages)"
    elif data["field"]:
        what = f"The field {data['field']}"
    else:
        what = "The record"
    dsr.refresh_from_db()
    messages.success(
        request,
        f"{what} will be withheld from every file, marked [REDACTED] with your reason; "
        + _files_words(dsr),
    )
    return redirect(back)


@staff_required
@require_http_methods(["POST"])
def redaction_undo(request: HttpRequest, reference: str, store: str, pk: int) -> HttpResponse:
    dsr = request_or_404(reference)
    assert isinstance(request.user, User)
    try:
        exports.redaction_undo(dsr=dsr, actor=request.user, redaction_id=pk)
        dsr.refresh_from_db()
        messages.success(
            request,
            "Put back (the timeline keeps who withheld it and who put it back); "
            + _files_words(dsr),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(_back_to_data(request, reference, store))


@staff_required
@require_http_methods(["POST"])
def suggestion_dismiss(request: HttpRequest, reference: str, store: str) -> HttpResponse:
    """Leave the ticked suggestions in: they are not suggested again."""
    dsr = request_or_404(reference)
    form = PicksForm(request.POST)
    back = _back_to_data(request, reference, store)
    if not form.is_valid():
        return _refused(request, dsr, store, "Nothing was changed: " + _form_errors(form))
    assert isinstance(request.user, User)
    try:
        exports.suggestions_dismiss(
            dsr=dsr,
            actor=request.user,
            store=store,
            table=form.cleaned_data["table"],
            record_key=form.cleaned_data["record_key"],
            picks=form.cleaned_data["suggestion"],
        )
        messages.success(request, "Left in: they will not be suggested again.")
    except DomainError as exc:
        return _refused(request, dsr, store, "Nothing was changed: " + exc.message)
    return redirect(back)
