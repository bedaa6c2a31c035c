"""What the person reads on the public side is true for their request (issue 15's findings)."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pytest
from django.core import mail

from requests_app.models import DataSubjectRequest, GatherStep, Status

pytestmark = pytest.mark.django_db

FORM = {
    "c-TOTAL_FORMS": "1",
    "c-INITIAL_FORMS": "0",
    "c-MIN_NUM_FORMS": "0",
    "c-MAX_NUM_FORMS": "20",
    "jurisdiction": "uk_gdpr",
}


def link_in(message: Any, kind: str) -> str:
    match = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def file_and_confirm(
    client: Any, capture: Any, request_type: str, email: str
) -> tuple[DataSubjectRequest, list[str]]:
    """File through the form, confirm through the link; every page and email the person saw."""
    form = {**FORM, "request_type": request_type, "name": "Oli Out", "email": email}
    with capture(execute=True):
        seen = [client.post("/", form, follow=True).content.decode()]
    verify = link_in(mail.outbox[-1], "verify")
    seen.append(client.get(verify).content.decode())
    with capture(execute=True):
        seen.append(client.post(verify).content.decode())
    dsr = DataSubjectRequest.objects.get(requester_email=email)
    seen += [m.body for m in mail.outbox] + [m.subject for m in mail.outbox]
    status = next(m for m in reversed(mail.outbox) if "/status/" in m.body)
    seen.append(client.get(link_in(status, "status")).content.decode())
    return dsr, seen


def test_an_opt_out_never_promises_a_month(
    client: Any, demo_map: Any, own_estate: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr, seen = file_and_confirm(
        client, django_capture_on_commit_callbacks, "marketing_opt_out", "erin@example.com"
    )
    dsr.refresh_from_db()
    assert dsr.status == Status.COMPLETED
    for text in seen:
        assert "month" not in text.lower(), text
        assert "respond by" not in text.lower(), text
    assert any("stop" in text.lower() and "marketing" in text.lower() for text in seen[:3])


def test_an_access_request_still_gives_its_deadline(
    client: Any, demo_map: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dsr, seen = file_and_confirm(
        client, django_capture_on_commit_callbacks, "access", "nobody@example.com"
    )
    dsr.refresh_from_db()
    assert any(dsr.due_on.strftime("%-d %B %Y") in text for text in seen)


def test_the_status_history_says_each_thing_once(
    client: Any, demo_map: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _, seen = file_and_confirm(
        client, django_capture_on_commit_callbacks, "access", "nobody@example.com"
    )
    history = re.search(r'<ol class="history">(.*?)</ol>', seen[-1], re.S)
    assert history
    lines = [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r"<li>(.*?)</li>", history.group(1), re.S)
    ]
    words = [re.sub(r"^\d+ \w+ \d{4}, \d\d:\d\d\s*", "", line) for line in lines]
    assert len(words) == len(set(words)), words
    assert sum("confirm" in w.lower() for w in words) == 1, words


def test_nobody_at_example_com_really_has_nothing_anywhere(demo_map: Any, verified: Any) -> None:
    dsr = verified(name="Nora Body", email="nobody@example.com")
    steps = GatherStep.objects.filter(request=dsr)
    assert steps.count() == len(demo_map.stores) - sum(
        1 for s in demo_map.stores.values() if not s.searchable
    )
    assert {s.store: s.record_count for s in steps} == {s.store: 0 for s in steps}


def agent_request(submit: Any) -> DataSubjectRequest:
    return submit(
        name="Pat Person",
        email="pat@example.com",
        agent_name="Sol Icitor",
        agent_email="sol@lawfirm.example",
        agent_relationship="solicitor",
    )


def test_the_agent_is_spoken_to_as_the_agent(
    client: Any, submit: Any, approver: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from requests_app.intake import verification
    from requests_app.review import case

    dsr = agent_request(submit)
    verify = link_in(mail.outbox[0], "verify")
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(verify).content.decode()
    assert "someone is acting on your behalf" not in page
    assert "Because you act for Pat Person" in page
    status = link_in(next(m for m in mail.outbox if "/status/" in m.body), "status")
    portal = client.get(status).content.decode()
    assert "Hello Sol Icitor" in portal
    assert "the request you made for Pat Person" in portal
    proof = BytesIO(b"%PDF-1.4 letter of authority")
    proof.name = "authority.pdf"
    client.post(f"{status}proof/", {"files": [proof]})
    portal = client.get(status).content.decode()
    assert "We have your proof and are checking it" in portal
    assert "You sent" in portal
    assert "You answered" not in portal
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        verification.request_confirm_authority(dsr=dsr, actor=approver, reason="Letter seen")
    (started,) = [m for m in mail.outbox if m.to == ["sol@lawfirm.example"]]
    assert started.body.startswith("Hello Sol Icitor,")
    assert "Thank you for confirming" not in started.body
    assert "We have checked your authority to act for Pat Person" in started.body
    history = client.get(status).content.decode()
    assert "We confirmed your authority to act for them" in history
    with django_capture_on_commit_callbacks(execute=True):
        case.request_hold(dsr=dsr, actor=reviewer, question="Which account?")
    asked = mail.outbox[-1]
    assert asked.to == ["sol@lawfirm.example"]
    assert asked.body.startswith("Hello Sol Icitor,")


def test_the_agent_is_told_when_the_deadline_starts(client: Any) -> None:
    response = client.post(
        "/",
        {
            **FORM,
            "request_type": "access",
            "name": "Pat Person",
            "email": "pat@example.com",
            "acting_for_someone": "on",
            "agent_name": "Sol Icitor",
            "agent_email": "sol@lawfirm.example",
            "agent_relationship": "solicitor",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "once you confirm" not in html
    assert "checked your authority" in html


def test_a_phone_request_is_not_thanked_for_confirming_and_its_history_starts_on_the_call(
    client: Any, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    staff = Client()
    staff.force_login(reviewer)
    call = timezone.localtime() - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            "/staff/requests/new/",
            {
                **FORM,
                "channel": "phone",
                "received_at": call.strftime("%Y-%m-%dT%H:%M"),
                "request_type": "access",
                "name": "Phil Phone",
                "email": "phil@example.com",
                "identity_check": "known_details",
                "identity_note": "Postcode matched",
                "delivery": "email",
                "language": "en-gb",
            },
        )
    (started,) = [m for m in mail.outbox if m.to == ["phil@example.com"]]  # not staff's
    assert "Thank you for confirming" not in started.body
    assert "We have logged the request you made by phone on" in started.body
    page = client.get(link_in(started, "status")).content.decode()
    assert call.strftime("%-d %b %Y, %H:%M") + "</time> We received your request" in page


def test_the_withdraw_page_of_a_closed_request_goes_back_to_the_portal(
    client: Any, verified: Any, approver: Any
) -> None:
    from requests_app.intake import verification
    from requests_app.review import case

    dsr = verified(email="wyn@example.com")
    case.request_withdraw(dsr=dsr, actor=approver, reason="By phone")
    path = "/" + verification.status_link(dsr).split("://", 1)[1].split("/", 1)[1]
    response = client.get(f"{path}withdraw/")
    assert response.status_code == 302
    assert response["Location"] == path


def test_a_resume_after_no_days_paused_does_not_say_the_deadline_moved(
    client: Any, verified: Any, reviewer: Any
) -> None:
    from requests_app.intake import verification
    from requests_app.review import case

    dsr = verified(email="res@example.com")
    case.request_hold(dsr=dsr, actor=reviewer, question="Which account?")
    path = "/" + verification.status_link(dsr).split("://", 1)[1].split("/", 1)[1]
    client.post(f"{path}reply/", {"body": "This one"})
    page = client.get(path).content.decode()
    assert "moved on by the days" not in page
    assert "You answered our question, and work resumed." in page
