"""The record viewer: each gathered record as the person will read it, for staff to withhold from.

A record becomes a tree of nodes the template draws: text (split into what is withheld, what is
suggested, and the rest), a thread of messages, a group of named values, a list, or a plain
value. A text node's pieces concatenate to exactly the gathered string, so a passage a member of
staff selects in the browser is counted in the same characters the files are cut in
(``exports_app.passages``). Values that are not words to select (times, dates, money, yes/no,
by the map's ``format:`` of the field) read as the PDF reads them (``renderers.reading``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exports_app import passages
from exports_app.models import Redaction
from exports_app.renderers.reading import readable_value
from exports_app.suggestions import Suggestion
from requests_app.datamap.spec import FieldSpec

# Text longer than this is folded (shown whole once opened).
FOLD_AT = 2000


@dataclass
class Piece:
    text: str
    withheld: Redaction | None = None
    suggested: Suggestion | None = None


@dataclass
class Node:
    kind: str  # text, thread, group, list, value, withheld
    field: str = ""
    path: str = ""
    pieces: list[Piece] = dataclasses.field(default_factory=list)
    children: list[tuple[str, Node]] = dataclasses.field(default_factory=list)  # (label, node)
    text: str = ""
    redaction: Redaction | None = None

    @property
    def folded(self) -> bool:
        return self.kind == "text" and len(self.text) > FOLD_AT

    @property
    def opening(self) -> str:
        return self.text[:200]


@dataclass
class RecordView:
    key: str
    number: int
    whole: Redaction | None
    fields: list[tuple[str, Node]]
    suggestions: list[Suggestion]
    leaves: list[passages.Leaf]
    # what withholds a field or words of this record, with the words (its undo is beside it)
    undoable: list[tuple[Redaction, str]] = dataclasses.field(default_factory=list)


def record_view(
    number: int,
    key: str,
    record: dict[str, Any],
    withheld: list[Redaction],
    suggested: list[Suggestion],
    spec_of: Callable[[str], FieldSpec] | None = None,
) -> RecordView:
    """The record as nodes; ``spec_of`` gives a field's spec in the data map (its format)."""
    whole = next((r for r in withheld if not r.field), None)
    by_field = {r.field: r for r in withheld if r.field and not r.is_passage}
    spans: dict[tuple[str, str], list[Redaction]] = {}
    for r in withheld:
        if r.is_passage:
            spans.setdefault((r.field, r.path), []).append(r)
    hints: dict[tuple[str, str], list[Suggestion]] = {}
    for s in suggested:
        hints.setdefault((s.field, s.path), []).append(s)

    def reading(name: str, path: str, value: Any) -> str | None:
        # the field's format reads its own value; anything nested only as plainly itself
        spec = spec_of(name) if spec_of is not None else None
        if spec is None or path:
            spec = FieldSpec(name, "", None, None, None, True, False, None)
        return readable_value(value, spec)

    def node(name: str, path: str, value: Any) -> Node:
        words = None if isinstance(value, list | dict) else reading(name, path, value)
        selectable = (name, path) in spans or (name, path) in hints
        if isinstance(value, str) and words is not None and not selectable:
            return Node("value", name, path, text=words)  # a time, an amount: no words to select
        if isinstance(value, str):
            return Node(
                "text",
                name,
                path,
                pieces=_pieces(value, spans.get((name, path), []), hints.get((name, path), [])),
                text=value,
            )
        if isinstance(value, list):
            children = [(str(i + 1), node(name, f"{path}/{i}", v)) for i, v in enumerate(value)]
            thread = bool(value) and all(
                isinstance(v, dict) and {"from", "body"} <= set(v) for v in value
            )
            return Node("thread" if thread else "list", name, path, children=children)
        if isinstance(value, dict):
            return Node(
                "group",
                name,
                path,
                children=[
                    (str(k), node(name, f"{path}/{passages.escape(str(k))}", v))
                    for k, v in value.items()
                ],
            )
        if words is not None:
            return Node("value", name, path, text=words)
        return Node("value", name, path, text="" if value is None else str(value))

    fields = []
    for name, value in record.items():
        if name in by_field:
            fields.append((name, Node("withheld", name, redaction=by_field[name])))
        else:
            fields.append((name, node(name, "", value)))
    return RecordView(
        key=key,
        number=number,
        whole=whole,
        fields=fields,
        suggestions=[] if whole else [s for s in suggested if s.field not in by_field],
        leaves=[] if whole else [x for x in passages.leaves(record) if x.field not in by_field],
    )


def _pieces(text: str, withheld: list[Redaction], suggested: list[Suggestion]) -> list[Piece]:
    """The text cut at each withheld passage and each suggestion (a suggestion overlapping a
    withheld passage is not one: ``suggestions.for_record`` drops it)."""
    marks: list[tuple[int, int, Redaction | None, Suggestion | None]] = []
    fitting = [r for r in withheld if passages.fits(text, (r.span_start, r.span_end))]
    for start, end in passages.merged((r.span_start, r.span_end) for r in fitting):
        # overlapping passages are shown as the files cut them: their union, once (titled by
        # the first of them)
        first = min((r for r in fitting if start <= r.span_start < end), key=lambda r: r.span_start)
        marks.append((start, end, first, None))
    for s in suggested:
        if not any(a < s.end and s.start < b for a, b, _, _ in marks):
            marks.append((s.start, s.end, None, s))
    marks.sort(key=lambda m: m[0])
    out, at = [], 0
    for start, end, redaction, suggestion in marks:
        if start > at:
            out.append(Piece(text[at:start]))
        out.append(Piece(text[start:end], redaction, suggestion))
        at = end
    if at < len(text) or not out:
        out.append(Piece(text[at:]))
    return out
