"""What the person reads on the public side is true for their request (issue 15's findings)."""

from __future__ import annotations

import re
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
