"""Issue 13, findings 8 to 10: intake that cannot be abused: no request squatting through the
agent fields, no telling whether an address has a request, sub-addresses counted as one, and no
invisible characters or unverified names carried into emails."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from requests_app.models import DataSubjectRequest

pytestmark = pytest.mark.django_db
URL = "/api/v1/requests/"
CAROL = "carol@example.com"


def post(api: Any, body: dict[str, Any]) -> Any:
    return api.post(URL, body, format="json")


def _sent_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


def test_an_agents_request_never_swallows_the_persons_own(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    squatter = {
        "request_type": "access",
        "name": "Carol Chen",
        "email": CAROL,
        "agent_name": "Mallory",
        "agent_email": "mallory@evil.example",
        "agent_relationship": "Solicitor",
    }
    with django_capture_on_commit_callbacks(execute=True):
        post(api, squatter)
    # the person is told that someone asked in her name
    (notice,) = _sent_to(CAROL)
    assert "on your behalf" in notice.body
    assert "mallory@evil.example" in notice.body
    assert "Mallory" not in notice.body  # typed by someone unverified: not echoed
    assert "/verify/" not in notice.body  # her notice, not the agent's link
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post(api, {"request_type": "access", "name": "Carol Chen", "email": CAROL})
    # her own request is hers: a separate request, and its link goes to her only
    assert DataSubjectRequest.objects.filter(requester_email=CAROL).count() == 2
    assert _sent_to("mallory@evil.example") == []
    (link,) = _sent_to(CAROL)
    assert "/verify/" in link.body
    # and the agent's second attempt is the agent's duplicate, told to the agent
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post(api, squatter)
    assert DataSubjectRequest.objects.filter(requester_email=CAROL).count() == 2
    assert _sent_to(CAROL) == []


def test_a_new_and_a_duplicate_submission_answer_the_same(api: Any) -> None:
    body = {"request_type": "access", "name": "Dora", "email": "dora@example.com"}
    first, second = post(api, body), post(api, body)
    assert (first.status_code, first.json()) == (second.status_code, second.json())
    assert first.status_code == 202
    assert "reference" not in first.json()
    assert DataSubjectRequest.objects.filter(requester_email="dora@example.com").count() == 1


def test_the_form_answers_a_duplicate_as_it_answers_a_new_request(client: Any) -> None:
    form = {"request_type": "erasure", "name": "Dora", "email": "dora@example.com"}
    pages = []
    for _ in range(2):
        response = client.post("/", form, follow=True)
        pages.append(re.sub(r'value="[A-Za-z0-9]{64}"', "", response.content.decode()))  # CSRF
    assert pages[0] == pages[1]
    assert "already have" not in pages[0]


@pytest.mark.parametrize("variant", ["bob+1@example.com", "Bob+Other@Example.com"])
def test_sub_addresses_are_one_address_for_limits_and_duplicates(
    api: Any, settings: Any, variant: str
) -> None:
    post(api, {"request_type": "access", "name": "Bob", "email": "bob@example.com"})
    post(api, {"request_type": "access", "name": "Bob", "email": variant})
    assert DataSubjectRequest.objects.count() == 1  # a duplicate of the first
    settings.DSAR_RATE_LIMIT_PER_EMAIL = 2
    codes = [
        post(api, {"request_type": t, "name": "Bob", "email": f"bob+{t}@example.com"}).status_code
        for t in ("erasure", "portability", "marketing_opt_out")
    ]
    assert codes[-1] == 429


@pytest.mark.parametrize(
    "name",
    [
        "Bob\u200bBaker",  # zero-width space
        "Bob\u200f Baker",  # right-to-left mark
        "\ufeffBob",  # byte-order mark
        "Bob\u2028Sign in at http://evil.example",  # line separator
        "Bob\u2029Baker",  # paragraph separator
        "Bob\u2066Baker",  # bidi isolate
    ],
)
def test_invisible_and_bidi_formatting_characters_are_refused(api: Any, name: str) -> None:
    response = post(api, {"request_type": "access", "name": name, "email": "f@example.com"})
    assert response.status_code == 400
    assert "name" in response.json()
    assert not DataSubjectRequest.objects.exists()


def test_no_email_before_verification_echoes_the_typed_name(
    api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    name = "Bob. Sign in at evil.example to keep your account"
    with django_capture_on_commit_callbacks(execute=True):
        post(api, {"request_type": "access", "name": name, "email": "victim@example.com"})
        post(api, {"request_type": "access", "name": name, "email": "victim@example.com"})
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "evil.example" not in message.body
        assert all("evil.example" not in str(part[0]) for part in message.alternatives)


@pytest.mark.parametrize(
    "name",
    ["Bob\u3164", "\u115fBob", "Bob\u2800", "Bo\u034fb", "Bob\ufe0f", "Bob\U000e0041"],
)
def test_default_ignorable_characters_are_refused_in_names(api: Any, name: str) -> None:
    body = {"request_type": "access", "name": name, "email": "x@example.com"}
    response = api.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
