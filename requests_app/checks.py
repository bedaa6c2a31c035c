"""``manage.py check`` (and runserver, migrate) validate the data map; each problem is one error
naming the file, the line, the path inside the file and the fix."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from requests_app import datamap


@register("dsar")
def check_data_map(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    datamap.current.cache_clear()
    try:
        datamap.current()
    except datamap.DataMapInvalid as exc:
        return [Error(str(problem), id="dsar.E001") for problem in exc.problems]
    return []
