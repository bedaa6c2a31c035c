"""JSON request bodies, parsed with a limit on nesting.

Python's JSON parser recurses once per level: a body of 100,000 ``[`` exhausts the stack and the
request ends in a 500 (``RecursionError``), in production too. No request of ours nests deeper
than a few levels, so a body nested deeper than ``MAX_DEPTH`` is refused with a 400 before it is
parsed, by a scan that does not recurse.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def nesting_depth(text: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _charset(media_type: str | None) -> str:
    for part in (media_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset":
            return value.strip().strip('"')
    return ""


class DepthLimitedJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        charset = (parser_context or {}).get("encoding") or _charset(media_type)
        if charset and charset.lower().replace("_", "-") not in {"utf-8", "utf8"}:
            # RFC 8259: JSON exchanged between systems is UTF-8; and a scan of bytes in another
            # encoding could not tell a bracket from a byte of a character
            raise ParseError("JSON must be sent as UTF-8.")
        body = stream.read()
        few = body.count(b"[") + body.count(b"{") <= MAX_DEPTH  # (every real request: no scan)
        if not few and nesting_depth(body) > MAX_DEPTH:
            raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
