"""Security as a feature, checked: who may reach every URL, CSRF on every form, links that cannot
be guessed or carried to another request, and no personal data in the logs of a whole request."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from exports_app.models import DownloadLink
from requests_app.core.actions import ACTIONS
from requests_app.core.permissions import APPROVER as APPROVER_ROLE
from requests_app.intake import verification
from requests_app.models import DataSubjectRequest, RequestToken
from smarct_dsar.logfilter import RedactPersonalData, redact
from tests.factories import UserFactory
from tests.support.workflow import submit_and_approve

pytestmark = pytest.mark.django_db

ANON, REQUESTER, REVIEWER, APPROVER = "anonymous", "requester", "reviewer", "approver"
ROLES = (ANON, REQUESTER, REVIEWER, APPROVER)
PUBLIC, STAFF, APPROVER_ONLY = "public", "staff", "approver-only"


def may(action: str) -> str:
    """Who may take a staff action: from the one table the API, the dashboard and the services
    read (``requests_app.core.actions.ACTIONS``)."""
    return APPROVER_ONLY if ACTIONS[action].role == APPROVER_ROLE else STAFF


# Every named URL: (method, path with {ref} for a request reference, who may use it).
# "public": anyone (token pages decide by their token); "staff": reviewer and approver;
# "approver-only": approver. The dashboard's own finer matrix is in tests/requests_app/dashboard.
MATRIX: dict[str, tuple[str, str, str]] = {
    "intake": ("get", "/", PUBLIC),
    "submitted": ("get", "/submitted/", PUBLIC),
    "verify": ("get", "/verify/{verify}/", PUBLIC),
    "status": ("get", "/status/{status}/", PUBLIC),
    "status-act": ("get", "/status/{status}/withdraw/", PUBLIC),
    "set_language": ("post", "/i18n/setlang/", PUBLIC),
    "portal-file": ("get", "/status/{status}/files/json/", PUBLIC),
    "notice-confirm": ("get", "/recipients/confirm/not-a-real-token-0000000000/", PUBLIC),
    "download": ("get", "/downloads/{download}/", PUBLIC),
    "download-file": ("get", "/downloads/{download}/json/", PUBLIC),
    "certificate-verify": ("post", "/certificates/verify/", PUBLIC),
    "signing-keys": ("get", "/.well-known/smarct-dsar-keys.json", PUBLIC),
    "api-requests": ("get", "/api/v1/requests/", STAFF),
    "api-verify": ("post", "/api/v1/requests/verify/", PUBLIC),
    "api-request-detail": ("get", "/api/v1/requests/{ref}/", STAFF),
    "api-request-assign": ("post", "/api/v1/requests/{ref}/assign/", may("assign")),
    "api-request-store-retry": (
        "post",
        "/api/v1/requests/{ref}/stores/crm/retry/",
        may("retry_store"),
    ),
    "api-request-documents": ("post", "/api/v1/requests/{ref}/documents/", may("log_request")),
    "api-request-confirm_identity": (
        "post",
        "/api/v1/requests/{ref}/confirm-identity/",
        may("confirm_identity"),
    ),
    "api-request-confirm_authority": (
        "post",
        "/api/v1/requests/{ref}/confirm-authority/",
        may("confirm_authority"),
    ),
    "api-request-erasure-plan": ("get", "/api/v1/requests/{ref}/erasure-plan/", STAFF),
    "api-request-legal-hold": ("post", "/api/v1/requests/{ref}/legal-hold/", may("legal_hold")),
    "api-request-legal-hold-release": (
        "post",
        "/api/v1/requests/{ref}/legal-hold/release/",
        may("release_hold"),
    ),
    "api-request-erasure-retry": (
        "post",
        "/api/v1/requests/{ref}/erasure/crm/retry/",
        may("retry_erasure"),
    ),
    "api-request-notice-confirm": (
        "post",
        "/api/v1/requests/{ref}/notices/payments/confirm/",
        may("confirm_notice"),
    ),
    "api-request-correction-decide": (
        "post",
        "/api/v1/requests/{ref}/corrections/1/decide/",
        may("decide_correction"),
    ),
    "api-request-rectification-retry": (
        "post",
        "/api/v1/requests/{ref}/rectification/retry/",
        may("retry_rectification"),
    ),
    "api-suppression-check": ("post", "/api/v1/suppression/check/", STAFF),
    "api-requests-search": ("post", "/api/v1/requests/search/", STAFF),
    "api-request-submit": ("post", "/api/v1/requests/{ref}/submit/", may("submit")),
    "api-request-send_back": ("post", "/api/v1/requests/{ref}/send-back/", may("send_back")),
    "api-request-approve": ("post", "/api/v1/requests/{ref}/approve/", may("approve")),
    "api-request-reject": ("post", "/api/v1/requests/{ref}/reject/", may("reject")),
    "api-request-extend": ("post", "/api/v1/requests/{ref}/extend/", may("extend")),
    "api-request-hold": ("post", "/api/v1/requests/{ref}/hold/", may("hold")),
    "api-request-resume": ("post", "/api/v1/requests/{ref}/resume/", may("resume")),
    "api-request-withdraw": ("post", "/api/v1/requests/{ref}/withdraw/", may("withdraw")),
    "api-request-lift_restriction": (
        "post",
        "/api/v1/requests/{ref}/lift-restriction/",
        may("lift_restriction"),
    ),
    "api-exports-rebuild": ("post", "/api/v1/requests/{ref}/exports/rebuild/", may("rebuild")),
    "api-export-preview": ("get", "/api/v1/requests/{ref}/exports/json/", STAFF),
    "api-request-release": ("post", "/api/v1/requests/{ref}/release/", may("release")),
    "api-request-redact": ("post", "/api/v1/requests/{ref}/redactions/", may("redact")),
    "api-redaction-undo": ("post", "/api/v1/requests/{ref}/redactions/1/undo/", may("unredact")),
    "api-links-reissue": ("post", "/api/v1/requests/{ref}/links/reissue/", may("reissue_link")),
    "api-link-revoke": ("post", "/api/v1/requests/{ref}/links/1/revoke/", may("revoke_link")),
    "schema": ("get", "/api/schema/", PUBLIC),
    "api-docs": ("get", "/api/docs/", PUBLIC),
    "login": ("get", "/staff/login/", PUBLIC),
    "logout": ("post", "/staff/logout/", PUBLIC),
    "dashboard-otp-verify": ("get", "/staff/login/verify/", PUBLIC),
    "healthz": ("get", "/healthz", PUBLIC),
    # demo mode only (DSAR_DEMO): the outbox of a machine where no email leaves
    "demo-ping": ("get", "/demo/ping", PUBLIC),
    "demo-outbox": ("get", "/demo/outbox/", PUBLIC),
    "demo-outbox-message": ("get", "/demo/outbox/none.eml/", PUBLIC),
    "demo-outbox-html": ("get", "/demo/outbox/none.eml/html/", PUBLIC),
}
DASHBOARD = {  # covered by tests/requests_app/dashboard/test_dashboard.py's matrix
    "dashboard-otp-setup",
    "dashboard-otp-remove",
    "dashboard-otp-backup-codes",
    "dashboard-queue",
    "dashboard-overview",
    "dashboard-report-csv",
    "dashboard-report-pdf",
    "dashboard-request",
    "dashboard-retry-store",
    "dashboard-retry-erasure",
    "dashboard-confirm-notice",
    "dashboard-decide-correction",
    "dashboard-store-data",
    "dashboard-redact",
    "dashboard-redaction-undo",
    "dashboard-suggestion-dismiss",
    "dashboard-action",
    "dashboard-document",
    "dashboard-log-request",
    "dashboard-queue-csv",
    "dashboard-bulk",
    "dashboard-saved-view-save",
    "dashboard-saved-view-delete",
    "dashboard-notifications",
}


def _names(patterns: list[Any]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":  # Django's admin checks is_staff itself
                names |= _names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def test_every_url_is_in_an_authorisation_matrix() -> None:
    assert _names(get_resolver().url_patterns) == set(MATRIX) | DASHBOARD


@pytest.fixture
def world(verified: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A request with live verify, status and download links (the requester's), and staff."""
    dsr = verified(name="Mira Matrix", email="mira@example.com")
    pending = DataSubjectRequest.objects.create(
        reference="DSR-2026-900001",
        request_type="access",
        requester_name="Pat Pending",
        requester_email="pat@example.com",
        received_at=timezone.now(),
    )
    from exports_app.services import link_issue

    download = link_issue(dsr=dsr, actor="test").rstrip("/").split("/")[-1]
    return {
        "ref": dsr.reference,
        "verify": verification.verification_link(pending).rstrip("/").split("/")[-1],
        "status": verification.status_link(dsr).rstrip("/").split("/")[-1],
        "download": download,
        "reviewer": UserFactory(username="vera", roles=["reviewer"]),
        "approver": UserFactory(username="arlo", roles=["reviewer", "approver"]),
    }


def _client(role: str, world: dict[str, Any]) -> Client:
    client = APIClient()
    if role in {REVIEWER, APPROVER}:
        client.force_login(world[role])
    return client


def test_authorisation_matrix(world: dict[str, Any]) -> None:
    problems = []
    for name, (method, template, who) in MATRIX.items():
        path = template.format(**world)
        for role in ROLES:
            client = _client(role, world)
            # The requester is anonymous but holds their links: in the paths of public pages.
            status = getattr(client, method)(path, {}, format="json").status_code
            allowed = who == PUBLIC or (who == STAFF and role in {REVIEWER, APPROVER})
            allowed = allowed or (who == APPROVER_ONLY and role == APPROVER)
            if status >= 500:
                problems.append(f"{name} as {role}: {status}")
            elif allowed and status in {401, 403}:
                problems.append(f"{name} as {role}: refused ({status})")
            elif not allowed and status not in {401, 403}:
                problems.append(f"{name} as {role}: let in ({status})")
    assert problems == []


def test_a_role_less_staff_account_gets_nothing_from_the_api(world: dict[str, Any]) -> None:
    client = APIClient()
    client.force_login(UserFactory(username="nora", roles=[]))
    for name, (method, template, who) in MATRIX.items():
        if who != PUBLIC:
            response = getattr(client, method)(template.format(**world), {}, format="json")
            assert response.status_code == 403, name


FORMS: list[tuple[str, Callable[[dict[str, Any]], str], str | None]] = [
    ("intake form", lambda w: "/", None),
    ("verification", lambda w: f"/verify/{w['verify']}/", None),
    ("recipient confirmation", lambda w: "/recipients/confirm/xxxxxxxxxxxxxxxxxxxxxxxx/", None),
    ("certificate check", lambda w: "/certificates/verify/", None),
    ("staff log-in", lambda w: "/staff/login/", None),
    ("log-out", lambda w: "/staff/logout/", REVIEWER),
    ("a dashboard action", lambda w: f"/staff/requests/{w['ref']}/note/", REVIEWER),
    (
        "a correction decision",
        lambda w: f"/staff/requests/{w['ref']}/corrections/1/decide/",
        REVIEWER,
    ),
    ("the API, with a session", lambda w: f"/api/v1/requests/{w['ref']}/hold/", REVIEWER),
    ("the admin", lambda w: "/admin/login/", None),
]


@pytest.mark.parametrize(("what", "path", "role"), FORMS, ids=[f[0] for f in FORMS])
def test_csrf_is_enforced_on_every_form(
    world: dict[str, Any], what: str, path: Callable[[dict[str, Any]], str], role: str | None
) -> None:
    client = Client(enforce_csrf_checks=True)
    if role:
        client.force_login(world[role])
    response = client.post(path(world), {"reason": "x", "note": "x"})
    assert response.status_code == 403, what
    assert DataSubjectRequest.objects.filter(status="awaiting_verification").count() == 1


def test_security_headers_on_pages(client: Client) -> None:
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"]


def test_links_are_long_random_and_only_their_hash_is_stored(world: dict[str, Any]) -> None:
    tokens = [world["verify"], world["status"], world["download"]]
    assert all(len(t) >= 43 and re.fullmatch(r"[A-Za-z0-9_\-]+", t) for t in tokens)  # 256 bits
    assert len(set(tokens)) == 3
    stored = list(RequestToken.objects.values_list("token_hash", flat=True)) + list(
        DownloadLink.objects.values_list("token_hash", flat=True)
    )
    assert not set(tokens) & set(stored)
    assert all(len(h) == 64 for h in stored)


def test_a_link_works_once_for_its_own_purpose_and_request_only(
    world: dict[str, Any], client: Client
) -> None:
    assert client.post(f"/verify/{world['status']}/").status_code == 400  # a status link
    assert client.post(f"/verify/{world['verify']}/").status_code == 200
    assert client.post(f"/verify/{world['verify']}/").status_code == 400  # spent
    assert client.get(f"/status/{world['verify']}/").status_code == 404  # not a status link
    page = client.get(f"/status/{world['status']}/").content.decode()
    assert world["ref"] in page
    assert "DSR-2026-900001" not in page
    assert client.get(f"/downloads/{world['status']}/").status_code != 200
    expired = DownloadLink.objects.get()
    DownloadLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    assert client.get(f"/downloads/{world['download']}/").status_code != 200


def test_no_personal_data_reaches_the_logs_of_a_whole_request(
    demo_map: Any,
    verified: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    client: Client,
) -> None:
    # given the console handler Django configured, with its filter, writing to a buffer
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactPersonalData) for f in h.filters)
    )
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)  # type: ignore[attr-defined]
    previous_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        # when Alice's access request goes all the way: gathered (partners called with her
        # email), approved, built, released and downloaded, with a bad link tried on the way
        dsr = verified(name="Alice Archer", email="alice@example.com", phone="07700 900001")
        with django_capture_on_commit_callbacks(execute=True):
            submit_and_approve(dsr, approver)
        from requests_app.review.decisions import request_release

        dsr.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            request_release(dsr=dsr, actor=approver)
        token = verification.status_link(dsr).rstrip("/").split("/")[-1]
        client.get(f"/status/{token}/")
        client.get(f"/downloads/{token}/")  # a 404 logs its path: the token must not appear
    finally:
        handler.setStream(previous_stream)  # type: ignore[attr-defined]
        logging.getLogger().setLevel(previous_level)
    logged = buffer.getvalue()
    # then the log says what happened, and names no one
    assert "HTTP Request" in logged  # the partner calls were logged...
    assert "[email]" in logged  # ...with the address taken out
    for secret in (
        "alice@example.com",
        "alice%40example.com",
        "Alice Archer",
        "07700 900001",
        token,
    ):
        assert secret not in logged, secret
    # and the audit trail of the whole request verifies, as manage.py verify_audit reports it
    from django.core.management import call_command

    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "audit chain intact" in out.getvalue()


@pytest.mark.parametrize(
    "line",
    [
        "GET /contacts?email=zoe2%40ex%C3%A4mple.com",
        "mail for zoe@exämple.com",
        "GET /x?email=bob@[192.168.0.1]",
        "to Ünïcode.Nämé@example.org",
    ],
)
def test_addresses_with_international_or_literal_domains_are_redacted_in_logs(line: str) -> None:
    cleaned = redact(line)
    assert "[email]" in cleaned
    for part in ("zoe", "bob@", "Nämé", "192.168"):
        assert part not in cleaned
