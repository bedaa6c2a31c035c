"""What staff download as CSV is opened in a spreadsheet: one rule for every cell."""

from __future__ import annotations


def formula_safe(value: str) -> str:
    """A value a spreadsheet will not run as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
