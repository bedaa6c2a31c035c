"""``manage.py check`` (and runserver, migrate) validate the data map, each problem one error
naming the file, the line, the path inside the file and the fix; and the signing keys."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from requests_app import datamap
from smarct_dsar import signing


@register("dsar")
def check_data_map(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    datamap.current.cache_clear()
    try:
        datamap.current()
    except datamap.DataMapInvalid as exc:
        return [Error(str(problem), id="dsar.E001") for problem in exc.problems]
    return []


@register("dsar")
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The keys certificates are signed and checked with load (a retired key's file or date
    mistyped would otherwise fail only when someone checks a certificate)."""
    try:
        signing.published_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="dsar.E002")]
    return []
