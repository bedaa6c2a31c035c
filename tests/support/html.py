"""Reading a page the way assistive technology does: which ids exist, what each element points
to, which regions announce themselves. The standard library's parser: no browser needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page(HTMLParser):
    elements: list[Element] = field(default_factory=list)
    _open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in {"input", "br", "img", "meta", "link", "hr"}:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    @property
    def ids(self) -> dict[str, Element]:
        return {e.attrs["id"]: e for e in self.elements if "id" in e.attrs}

    def with_attr(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.attrs]


def parse(html: str | bytes) -> Page:
    page = Page()
    page.feed(html.decode() if isinstance(html, bytes) else html)
    return page


def dangling_references(html: str | bytes) -> list[str]:
    """Every aria-describedby / aria-labelledby / label-for that names an id the page lacks."""
    page = parse(html)
    ids = page.ids
    missing = []
    for attr in ("aria-describedby", "aria-labelledby", "aria-controls"):
        for element in page.with_attr(attr):
            missing += [f"{attr}={ref}" for ref in element.attrs[attr].split() if ref not in ids]
    missing += [f"for={e.attrs['for']}" for e in page.with_attr("for") if e.attrs["for"] not in ids]
    return missing
