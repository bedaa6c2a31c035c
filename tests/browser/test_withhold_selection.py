"""Words selected in the record viewer are withheld exactly, after any character the browser
counts as two (issue 16, the outside attacker's second round).

A browser counts a selection in UTF-16 code units; the server counts characters (code points).
An emoji before the words is one character but two units: the page must send characters."""

from __future__ import annotations

from typing import Any

import pytest

from exports_app.models import Redaction
from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

WORDS = "cannot log in"
BODIES = [
    "\U0001f44b\U0001f3fd Hi \U0001f600! My colleague Jane Doe cannot log in \U0001f64f",
    # a line break as Windows writes it: HTML reads CR LF as one character unless it is kept
    "\U0001f44b Hi!\r\nMy colleague Jane Doe\r\ncannot log in \U0001f64f",
]

# Where the words are on the screen: the box of a range over them in the leaf's text.
WORDS_BOX = """([leaf, words]) => {
  const walker = document.createTreeWalker(leaf, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(words);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + words.length);
    const box = range.getBoundingClientRect();
    return {left: box.left, right: box.right, middle: box.top + box.height / 2};
  }
  return null;
}"""


@pytest.mark.parametrize("body", BODIES, ids=["emoji", "emoji-and-crlf"])
def test_words_selected_after_an_emoji_are_withheld_exactly(
    page: Any, live_server: Any, own_estate: Any, verified: Any, body: str
) -> None:
    # given a support ticket of Bob's that opens with emoji
    ticket = next(
        t for t in own_estate.sandbox.data["support"]["tickets"] if t["email"] == "bob@example.com"
    )
    ticket["messages"][0]["body"] = body
    UserFactory(username="rita", first_name="Rita", roles=["reviewer"])
    bob = verified(name="Bob Baker", email="bob@example.com")
    base = live_server.url
    log_in(page, base, "rita")
    page.goto(f"{base}/staff/requests/{bob.reference}/data/support/?table=tickets")

    # when the reviewer drags the mouse across the words after them
    leaf = page.locator(".leaf", has_text="\U0001f44b")
    box = page.evaluate(WORDS_BOX, [leaf.element_handle(), WORDS])
    page.mouse.move(box["left"] + 1, box["middle"])
    page.mouse.down()
    page.mouse.move(box["right"] - 1, box["middle"], steps=5)
    page.mouse.up()

    # then the form holds those words, at their place counted in characters
    record = page.locator("article.record", has=leaf)
    form = record.locator("form[data-withhold]")
    assert form.locator("[data-passage]").input_value() == WORDS
    start = body.index(WORDS)
    assert form.locator("input[name=start]").input_value() == str(start)
    assert form.locator("input[name=end]").input_value() == str(start + len(WORDS))
    form.locator("select[name=reason]").select_option("third_party")
    if "\r" not in body:
        screenshot(page, "record-viewer-selection-after-emoji")
    form.get_by_role("button", name="Withhold").click()
    assert page.get_by_text("will be withheld from every file").is_visible()
    (made,) = Redaction.objects.filter(request=bob)
    assert (made.path, made.span_start, made.span_end) == ("/0/body", start, start + len(WORDS))
    assert body[made.span_start : made.span_end] == WORDS
