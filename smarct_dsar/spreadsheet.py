"""Every CSV we write is opened in a spreadsheet: one rule for every text cell, the person's
export and staff's downloads alike.

A cell a spreadsheet would run as a formula (OWASP "CSV injection"): text beginning with one of
``FORMULA_START`` gets a ' in front, which spreadsheets show as text. Read with another separator
(a ; in many European locales), the text after a separator inside a value starts a cell of its
own: the same ' goes after the separator there.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = frozenset(",;|\t")
AFTER_SEPARATOR = re.compile(r"([,;|\t]\s*)(?=[=+\-@])")


def risky(value: str) -> bool:
    """True when a spreadsheet could read some part of ``value`` as a formula."""
    return value.startswith(FORMULA_START) or (
        not SEPARATORS.isdisjoint(value) and AFTER_SEPARATOR.search(value) is not None
    )


def formula_safe(value: str) -> str:
    """``value`` as text a spreadsheet will not run, whichever separator it splits on (most
    values pass as they are)."""
    if not risky(value):
        return value
    value = AFTER_SEPARATOR.sub(r"\1'", value)
    return "'" + value if value.startswith(FORMULA_START) else value
