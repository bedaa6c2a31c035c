"""The record page in a real browser: nothing is withheld that staff did not choose, by mouse or
by keyboard (outsider findings 1 and 2)."""

from __future__ import annotations

from typing import Any

import pytest

from exports_app.models import Redaction
from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_nothing_ticked_withholds_nothing_and_the_message_is_in_view(
    page: Any, live_server: Any, demo_map: Any, verified: Any
) -> None:
    UserFactory(username="rita", first_name="Rita", roles=["reviewer"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    log_in(page, live_server.url, "rita")
    page.goto(f"{live_server.url}/staff/requests/{bob.reference}/data/support/?table=tickets")
    form = page.locator("article.record form.suggestions").first
    form.get_by_label("Why (the person reads it)").select_option("third_party")
    form.get_by_role("button", name="Withhold the ticked").click()
    message = page.get_by_text("Tick at least one suggestion")
    message.wait_for()
    assert message.is_visible()
    assert page.evaluate("window.scrollY") == 0  # the page opens at its message
    assert not Redaction.objects.exists()
    screenshot(page, "withhold-nothing-ticked")


def test_a_keyboard_user_withholds_the_words_they_typed_never_the_record(
    page: Any, live_server: Any, demo_map: Any, verified: Any
) -> None:
    UserFactory(username="rita", first_name="Rita", roles=["reviewer"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    log_in(page, live_server.url, "rita")
    url = f"{live_server.url}/staff/requests/{bob.reference}/data/support/?table=tickets"
    page.goto(url)
    record = page.locator("article.record", has_text="Jane Doe").first
    summary = record.locator("details.withhold summary")
    summary.focus()
    page.keyboard.press("Enter")  # opens "Withhold from record N…"
    form = record.locator("form[data-withhold]")
    what = form.get_by_label("What")
    assert what.input_value() == ""  # no default: "Choose what to withhold"
    assert what.locator("option").first.inner_text() == "Choose what to withhold"
    # the words typed, a reason chosen, Withhold pressed: the browser asks what first
    form.get_by_label("The words").focus()
    page.keyboard.type("Jane Doe")
    form.get_by_label("Why (the person reads it)").select_option("third_party")
    form.get_by_role("button", name="Withhold").focus()
    page.keyboard.press("Enter")
    assert what.evaluate("el => el.validity.valueMissing")
    assert not Redaction.objects.exists()
    # "The whole record" with words typed: refused, never widened
    what.select_option("record")
    form.get_by_role("button", name="Withhold").focus()
    page.keyboard.press("Enter")
    page.get_by_text("You typed words to withhold but chose a whole record").wait_for()
    assert not Redaction.objects.exists()
    # the words in the message they are in: only those words go
    record = page.locator("article.record", has_text="Jane Doe").first
    record.locator("details.withhold summary").focus()
    page.keyboard.press("Enter")
    form = record.locator("form[data-withhold]")
    form.get_by_label("What").select_option(label="Words in Message 1, body")
    form.get_by_label("The words").focus()
    page.keyboard.type("Jane Doe")
    form.get_by_label("Why (the person reads it)").select_option("third_party")
    form.get_by_role("button", name="Withhold").focus()
    page.keyboard.press("Enter")
    page.get_by_text("will be withheld from every file").wait_for()
    (made,) = Redaction.objects.all()
    assert (made.field, made.path, made.span_end - made.span_start) == ("messages", "/0/body", 8)
    screenshot(page, "withhold-keyboard-words")
