"""Public pages: the request form, verification and the status page.

Thin: form, service, template.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from requests_app.core.documents import Upload
from requests_app.core.errors import DomainError, IllegalTransition, TokenInvalid
from requests_app.fulfilment import recipients
from requests_app.intake import receive, verification
from requests_app.models import TokenPurpose
from requests_app.public import forms, status
from requests_app.review import portal
from smarct_dsar.proxies import client_ip
from smarct_dsar.ratelimit import rate_limit_hit, too_many_page, too_many_words
from smarct_dsar.uploads import body_too_large, too_large_words


@require_http_methods(["GET", "POST"])
def intake_form(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, forms.IntakeForm(), forms.CorrectionFormSet(prefix="c"))
    if "add_correction" in request.POST:
        # Without JavaScript, "Add another correction" asks for the form again with one more
        # row: everything typed comes back, and nothing is checked or filed yet.
        form, corrections = forms.with_another_correction(request.POST)
        return _render_form(request, form, corrections)
    form = forms.IntakeForm(request.POST)
    corrections = forms.CorrectionFormSet(request.POST, prefix="c")
    if not (form.is_valid() and corrections.is_valid()):
        return _render_form(request, form, corrections, status=400)
    if form.cleaned_data["website"]:
        # A bot filled the hidden field: answer as if all went well, and keep nothing.
        request.session["submitted"] = "on_the_clock"
        return redirect("submitted")
    submission = forms.to_submission(form, corrections)
    if not forms.apply_submission_errors(form, submission):
        return _render_form(request, form, corrections, status=400)
    # Only a request that would be filed counts against the limits: correcting a mistake costs
    # nothing. Refused, the form comes back as it was typed, saying how long to wait.
    for scope, identity, limit, about in (
        ("intake-ip", client_ip(request), settings.DSAR_RATE_LIMIT_PER_IP, "connection"),
        (
            "intake-email",
            receive.email_key(submission.email),
            settings.DSAR_RATE_LIMIT_PER_EMAIL,
            "address",
        ),
    ):
        verdict = rate_limit_hit(scope=scope, identity=identity, limit=limit)
        if not verdict.allowed:
            form.add_error(None, too_many_words(verdict, about=about))
            response = _render_form(request, form, corrections, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
    result = receive.request_receive(data=submission)
    # The same page whether it was new or a duplicate: only the mailbox learns which.
    request.session["submitted"] = (
        "at_once" if result.dsr.at_once else "agent" if result.dsr.has_agent else "on_the_clock"
    )
    return redirect("submitted")


def _render_form(
    request: HttpRequest, form: forms.IntakeForm, corrections: object, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "corrections": corrections,
        "rights": forms.RIGHTS_EXPLAINED,
        "ttl_days": settings.DSAR_VERIFICATION_TTL_DAYS,
        "max_corrections": settings.DSAR_MAX_CORRECTIONS,
        "error_summary": True,
    }
    return render(request, "requests_app/intake.html", context, status=status)


@never_cache
def submitted(request: HttpRequest) -> HttpResponse:
    if not request.session.get("submitted"):
        return redirect("intake")
    return render(
        request,
        "requests_app/submitted.html",
        {
            "ttl_days": settings.DSAR_VERIFICATION_TTL_DAYS,
            "at_once": request.session["submitted"] == "at_once",
            "for_someone": request.session["submitted"] == "agent",
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST spends the link, so mail scanners that follow links
    cannot use it up before the person does."""
    verdict = rate_limit_hit(
        scope="verify-ip", identity=client_ip(request), limit=settings.DSAR_RATE_LIMIT_VERIFY_PER_IP
    )
    if not verdict.allowed:
        return too_many_page(request, verdict)
    try:
        if request.method == "GET":
            found = verification.token_resolve(raw=token, purpose=TokenPurpose.VERIFY)
            return render(request, "requests_app/verify.html", {"dsr": found.request})
        dsr = verification.request_verify_email(raw_token=token)
    except TokenInvalid as exc:
        return render(
            request,
            "requests_app/link_problem.html",
            {"problem": exc.reason, "message": exc.message},
            status=400,
        )
    return render(request, "requests_app/verified.html", {"dsr": dsr})


def _status_link_problem(request: HttpRequest, exc: TokenInvalid) -> HttpResponse:
    return render(
        request,
        "requests_app/link_problem.html",
        {"problem": exc.reason, "message": exc.message, "status_link": True},
        status=404,
    )


def _portal(
    request: HttpRequest, token: str, dsr: Any, *, problem: str = "", status_code: int = 200
) -> HttpResponse:
    context = {
        **status.summary(dsr),
        "token": token,
        "problem": problem,
        "typed": request.POST.get("body", "") if problem else "",
    }
    return render(request, "requests_app/status.html", context, status=status_code)


@never_cache
@require_http_methods(["GET", "POST"])
def status_page(request: HttpRequest, token: str, act: str = "") -> HttpResponse:
    """The person's portal. GET shows it; POST (``act``) answers the question, uploads proof,
    asks for a new link or withdraws (``review/portal.py``). A refusal comes back on the page,
    in words, with a 400 or 409, and what was typed kept."""
    try:
        found = verification.token_resolve(raw=token, purpose=TokenPurpose.STATUS)
    except TokenInvalid as exc:
        return _status_link_problem(request, exc)
    dsr = found.request
    if request.method == "GET":
        if act == "withdraw":
            if dsr.status not in portal.WITHDRAWABLE:  # an old page, or the back button
                return redirect("status", token=token)
            return render(request, "requests_app/withdraw.html", {"dsr": dsr, "token": token})
        return _portal(request, token, dsr)
    verdict = rate_limit_hit(
        scope="portal-ip", identity=client_ip(request), limit=settings.DSAR_RATE_LIMIT_VERIFY_PER_IP
    )
    if not verdict.allowed:
        return too_many_page(request, verdict)
    if body_too_large(request):
        return _portal(request, token, dsr, problem=too_large_words(), status_code=400)
    uploads = [Upload(name=f.name or "", content=f.read()) for f in request.FILES.getlist("files")]
    try:
        if act == "reply":
            portal.request_reply(dsr=dsr, body=request.POST.get("body", ""), uploads=uploads)
            messages.success(
                request, gettext("Thank you: we have your answer, and work has resumed.")
            )
        elif act == "proof":
            portal.request_upload_authority(
                dsr=dsr, uploads=uploads, note=request.POST.get("body", "")
            )
            messages.success(request, gettext("Thank you: we will check your proof and email you."))
        elif act == "new-link":
            portal.request_new_link(dsr=dsr)
            messages.success(
                request, gettext("We have asked our privacy team to send you a new link.")
            )
        elif act == "withdraw":
            portal.request_withdraw_by_person(dsr=dsr)
            messages.success(
                request, gettext("Your request is withdrawn. We have emailed you to confirm.")
            )
        else:
            raise Http404
    except DomainError as exc:
        dsr.refresh_from_db()
        code = 409 if isinstance(exc, IllegalTransition) else 400
        return _portal(request, token, dsr, problem=exc.message, status_code=code)
    return redirect("status", token=token)


@never_cache
@require_http_methods(["GET", "POST"])
def notice_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """A recipient confirms it acted on an Article 19 notice: GET shows what it confirms, POST
    records it (a mail scanner following the link confirms nothing)."""
    verdict = rate_limit_hit(
        scope="verify-ip", identity=client_ip(request), limit=settings.DSAR_RATE_LIMIT_VERIFY_PER_IP
    )
    if not verdict.allowed:
        return too_many_page(request, verdict)
    try:
        notice = recipients.notice_resolve(raw_token=token)
    except TokenInvalid as exc:
        return render(
            request,
            "requests_app/notice_confirm.html",
            {"problem": exc.message},
            status=404,
        )
    if request.method == "POST":
        notice = recipients.notice_confirm(
            notice=notice,
            actor=f"recipient:{notice.organisation}",
            note=request.POST.get("note", "")[:2000],
        )
    return render(request, "requests_app/notice_confirm.html", {"notice": notice})
