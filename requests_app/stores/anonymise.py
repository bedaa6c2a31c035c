"""Anonymising one value, by the strategy the data map names (``docs/data-map.md``).

Every strategy is deterministic, so anonymising twice gives the same result, and each has a
test (``looks_anonymised``) that the verification re-scan uses to tell an anonymised value from
one that was missed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

from requests_app.datamap.spec import EraseSpec
from smarct_dsar.crypto import keyed_hash

HASH_PREFIX = "anon:"
_HASH = re.compile(r"^anon:[0-9a-f]{24}$")


def _keyed(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if _HASH.match(text):
        return text  # already anonymised: the same value again
    return HASH_PREFIX + keyed_hash(text.strip().lower(), purpose="anonymise")[:24]


def _ip(value: Any) -> str | None:
    """Keep the network, drop the host: IPv4 to its /24, IPv6 to its /48."""
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None  # not an address: nothing safe to keep
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _date(value: Any) -> Any:
    """Keep the year only: 1 January of the same year, in the value's own type and format."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if isinstance(value, dt.date):
        return value.replace(month=1, day=1)
    match = re.match(r"^(\d{4})-\d{2}-\d{2}(.*?)([+-]\d{2}:?\d{2}|Z)?$", str(value))
    if not match:
        return None
    year, time, zone = match.groups()
    # A time part keeps its shape (SQLite keeps datetimes as text) but goes to midnight.
    return f"{year}-01-01{re.sub(r'[0-9]', '0', time)}{zone or ''}"


def anonymise(spec: EraseSpec, value: Any) -> Any:
    strategy = spec.strategy or "null"
    if strategy == "null":
        return None
    if strategy == "fixed":
        return spec.value
    if strategy == "keyed_hash":
        return _keyed(value)
    if strategy == "generalise_ip":
        return _ip(value)
    if strategy == "generalise_date":
        return _date(value)
    raise ValueError(f"unknown anonymisation strategy {strategy!r}")


def looks_anonymised(spec: EraseSpec, value: Any) -> bool:
    """Whether ``value`` is what ``spec`` leaves behind (anonymising it again changes nothing)."""
    if value is None:
        return True
    anonymised = anonymise(spec, value)
    if isinstance(value, dt.date | dt.datetime) or not isinstance(anonymised, str):
        return bool(anonymised == value)
    return str(anonymised) == str(value)
