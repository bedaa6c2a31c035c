"""Passages of text inside a record: where they are, and cutting a withheld one out. (Spotting
the ones that look like someone else's data is ``lookalikes``'.)

A record as gathered is JSON-shaped: a field's value may be a string, or lists and groups of
values (a support ticket's messages). Every string in it is a *leaf*, named by its top-level
``field`` and a JSON Pointer (RFC 6901) ``path`` inside that field's value ("" for the value
itself): the ticket's first message body is ``("messages", "/0/body")``. A withheld passage is a
leaf and a ``[start, end)`` span of characters in it; the record's fingerprint
(``content.record_key``) pins the text the offsets count in. Characters are Unicode code points
(Python's ``str`` indices), never UTF-16 code units: the record viewer's script converts a
browser selection (``static/js/withhold.js``), and the API takes code points (docs/api.md).

Pure functions: no database, no Django.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

REDACTED = "[REDACTED]"

Span = tuple[int, int]


def record_key(record: dict[str, Any]) -> str:
    """A fingerprint of a record's content: how a redaction names the record it applies to."""
    return hashlib.sha256(
        orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    ).hexdigest()


@dataclass(frozen=True)
class Leaf:
    field: str
    path: str
    text: str


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def leaves(record: dict[str, Any]) -> Iterator[Leaf]:
    """Every string in the record, in reading order."""

    def walk(field: str, path: str, value: Any) -> Iterator[Leaf]:
        if isinstance(value, str):
            yield Leaf(field, path, value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(field, f"{path}/{i}", item)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(field, f"{path}/{escape(str(key))}", item)

    for field, value in record.items():
        yield from walk(str(field), "", value)


def _parts(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise KeyError(path)
    return [_unescape(p) for p in path[1:].split("/")]


# A list index as JSON Pointer writes it, and only so: "0" or digits without a leading zero, in
# ASCII ("00", "+0", an Arabic-Indic or superscript digit would name the same item another way: a span
# grouped under one spelling would be cut from text already cut under the other).
INDEX = re.compile(r"0|[1-9][0-9]*", re.ASCII)


def leaf_text(record: dict[str, Any], field: str, path: str) -> str | None:
    """The string at ``field``/``path``, or None when the record has no string there."""
    if field not in record:
        return None
    value: Any = record[field]
    try:
        for part in _parts(path):
            if isinstance(value, list):
                if not INDEX.fullmatch(part):
                    return None
                value = value[int(part)]
            elif isinstance(value, dict):
                value = value[part]
            else:
                return None
    except (KeyError, IndexError):
        return None
    return value if isinstance(value, str) else None


def merged(spans: Iterable[Span]) -> list[Span]:
    """The spans sorted, overlapping and touching ones joined."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def cut(text: str, spans: Iterable[Span]) -> str:
    """The text with each span replaced by the marker (overlapping spans once)."""
    pieces, at = [], 0
    for start, end in merged(spans):
        pieces += [text[at:start], REDACTED]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def fits(text: str | None, span: Span) -> bool:
    start, end = span
    return text is not None and 0 <= start < end <= len(text)


def apply_spans(record: dict[str, Any], spans: dict[tuple[str, str], list[Span]]) -> dict[str, Any]:
    """A copy of the record with the spans cut, by (field, path). Spans must ``fit`` their leaf
    (the caller checks, to name what does not)."""
    out = dict(record)
    for field in {f for f, _ in spans}:
        out[field] = copy.deepcopy(record[field])
    for (field, path), where in spans.items():
        parts = _parts(path)
        if not parts:
            out[field] = cut(out[field], where)
            continue
        parent: Any = out[field]
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        parent[last] = cut(parent[last], where)
    return out
