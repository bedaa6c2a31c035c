"""The download pages (the person's data; a certificate of erasure) and the public certificate
check, in a real browser at 390 and 1280 px: nothing overlaps, nothing is wider than the window,
the SHA-256 lines wrap, and axe-core finds nothing serious or critical."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from requests_app.review import decisions
from smarct_dsar import signing
from tests.browser.conftest import WIDTHS, accessible
from tests.support.workflow import submit_and_approve

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

# Pairs of visible elements in <main>, neither inside the other, whose boxes intersect (by more
# than a pixel each way): a button's padding over the line below, a hash over its neighbour.
OVERLAPS = """() => {
  const els = [...document.querySelectorAll('main *')].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  });
  const name = (e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' "' + (e.textContent || '').trim().slice(0, 30) + '"';
  const found = [];
  for (let i = 0; i < els.length; i++) {
    for (let j = i + 1; j < els.length; j++) {
      const [a, b] = [els[i], els[j]];
      if (a.contains(b) || b.contains(a)) continue;
      const [p, q] = [a.getBoundingClientRect(), b.getBoundingClientRect()];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 1 && h > 1) found.push(name(a) + ' x ' + name(b));
    }
  }
  return found.slice(0, 10);
}"""


def _link(kind: str) -> str:
    """The path of the last /``kind``/ link emailed."""
    for message in reversed(mail.outbox):
        match = re.search(rf"https?://[^/\s]+(/{kind}/[^/\s]+/)", message.body)
        if match:
            return match.group(1)
    raise AssertionError(f"no /{kind}/ link in {[m.subject for m in mail.outbox]}")


def laid_out_well(page: Any, name: str) -> None:
    """At each width: no two elements overlap, every SHA-256 is shown whole inside the window;
    then axe-core and the page's width (``accessible``)."""
    for width, height in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate(OVERLAPS) == [], f"{name} at {width} px"
        for code in page.locator(".hash code").all():
            box = code.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width, f"{name}: a hash overflows at {width} px"
            assert re.fullmatch(r"[0-9a-f]{64}", code.inner_text().replace("\n", ""))
    accessible(page, name)


def test_the_download_page_lists_the_pdf_first_and_fits_both_widths(
    page: Any, live_server: Any, demo_map: Any, verified: Any, ready: Any, approver: Any
) -> None:
    dsr = verified(name="Alice Archer", email="alice@example.com")
    ready(dsr)
    decisions.request_approve(dsr=dsr, actor=approver)
    mail.outbox.clear()
    decisions.request_release(dsr=dsr, actor=approver)
    page.goto(live_server.url + _link("downloads"))
    buttons = page.locator("ul.downloads .button").all_inner_texts()
    assert buttons == ["Download PDF", "Download JSON", "Download CSV (zip)"]
    assert page.locator("ul.downloads").get_by_text("5 downloads left").count() == 3
    laid_out_well(page, "download-files")


def test_the_certificate_page_and_the_check_in_a_browser(
    page: Any, live_server: Any, own_estate: Any, verified: Any, approver: Any
) -> None:
    dsr = verified(request_type="erasure", name="Bob Baker", email="bob@example.com")
    mail.outbox.clear()
    submit_and_approve(dsr, approver, reason="checked")
    page.goto(live_server.url + _link("downloads"))
    assert page.get_by_role("heading", name="Your certificate of erasure").is_visible()
    laid_out_well(page, "download-certificate")

    with page.expect_download() as got:
        page.get_by_role("link", name="Download Deletion certificate (PDF)").click()
    pdf = open(got.value.path(), "rb").read()  # noqa: SIM115 (a test reads a temporary file)
    with page.expect_download() as got:
        page.get_by_role("link", name="Download Signature of the deletion certificate").click()
    sig = open(got.value.path(), "rb").read()  # noqa: SIM115

    page.get_by_role("link", name="our verification page").click()
    assert page.get_by_role("heading", name="Check a certificate of erasure").is_visible()
    accessible(page, "certificate-check")
    page.get_by_role("button", name="Check the certificate").click()  # nothing chosen
    assert page.get_by_role("heading", name="We could not check these files").is_visible()
    certificate = page.get_by_label("The certificate (PDF)")
    assert "id_certificate_error" in (certificate.get_attribute("aria-describedby") or "")
    accessible(page, "certificate-check-errors")

    certificate.set_input_files(
        files=[{"name": "c.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.get_by_label("Its signature (.sig file)").set_input_files(
        files=[{"name": "c.pdf.sig", "mimeType": "application/octet-stream", "buffer": sig}]
    )
    page.get_by_role("button", name="Check the certificate").click()
    assert page.get_by_role("heading", name="GENUINE", exact=True).is_visible()
    assert page.get_by_text(dsr.reference).first.is_visible()
    key = signing.published_keys()[0]
    assert page.get_by_text(key.fingerprint).is_visible()
    laid_out_well(page, "certificate-genuine")

    # and a certificate changed by one byte reads NOT GENUINE, looking unlike the genuine one
    # (not by colour alone: its heading says so, and its mark differs)
    genuine = _verdict_look(page)
    changed = pdf[:-20] + bytes([pdf[-20] ^ 1]) + pdf[-19:]
    page.get_by_label("The certificate (PDF)").set_input_files(
        files=[{"name": "c.pdf", "mimeType": "application/pdf", "buffer": changed}]
    )
    page.get_by_label("Its signature (.sig file)").set_input_files(
        files=[{"name": "c.pdf.sig", "mimeType": "application/octet-stream", "buffer": sig}]
    )
    page.get_by_role("button", name="Check the certificate").click()
    assert page.get_by_role("heading", name="NOT GENUINE", exact=True).is_visible()
    not_genuine = _verdict_look(page)
    assert "rgba(0, 0, 0, 0)" not in (genuine[0], not_genuine[0])  # each has a background
    assert genuine != not_genuine
    accessible(page, "certificate-not-genuine")


def _verdict_look(page: Any) -> list[str]:
    return list(
        page.locator("section.verdict").evaluate(
            "e => { const s = getComputedStyle(e); const m = getComputedStyle(e, '::before');"
            " return [s.backgroundColor, s.borderLeftColor, m.content]; }"
        )
    )
