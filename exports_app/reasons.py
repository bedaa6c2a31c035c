"""A reason the person reads must not give away what it withholds.

A reason of staff's own is released word for word beside [REDACTED]: a reason that repeats the
withheld words (the passage, or the value of the field or record withheld) or carries someone's
email address, phone or card number undoes the redaction it explains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from exports_app import lookalikes
from exports_app.models import GROUNDS_TOLD, Grounds

# Shorter values ("No", "12") are everywhere in ordinary words; they say nothing on their own.
SHORTEST = 3
KINDS = {"email": "an email address", "phone": "a phone number", "card": "a card number"}


def leak(reason: str, withheld: Iterable[str], grounds: str = "") -> str | None:
    """Why ``reason`` may not be released beside the ``withheld`` words, or None when it may.
    The ``grounds``' own words are fixed, never taken from the data: they always may."""
    if grounds in Grounds.values and reason == GROUNDS_TOLD[Grounds(grounds)]:
        return None
    for found in lookalikes.detect(reason, lookalikes.Own()):
        if found.kind in KINDS:
            return f"The reason contains {KINDS[found.kind]}; the person reads it, so leave it out."
    folded = _folded(reason)
    for words in withheld:
        wanted = _folded(words)
        if len(wanted) < SHORTEST:
            continue
        edge_before = r"(?<!\w)" if re.match(r"\w", wanted) else ""
        edge_after = r"(?!\w)" if re.search(r"\w$", wanted) else ""
        if re.search(edge_before + re.escape(wanted) + edge_after, folded):
            return (
                "The reason repeats what it withholds; the person reads it, so say why "
                "without the words themselves."
            )
    return None


def values_of(value: Any) -> list[str]:
    """Each value inside a field's (or record's) value, as words (text, numbers, dates)."""
    if isinstance(value, dict):
        return [w for v in value.values() for w in values_of(v)]
    if isinstance(value, list):
        return [w for v in value for w in values_of(v)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()
