"""The data map: which stores hold personal data, how to find the person in each, and what may be
done with each field. ``current()`` is the map named by ``DSAR_DATA_MAP``, loaded once and checked."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from requests_app.datamap.loader import DataMapInvalid, Problem, load
from requests_app.datamap.spec import DataMap

__all__ = ["DataMap", "DataMapInvalid", "Problem", "current", "load"]


@lru_cache(maxsize=1)
def current() -> DataMap:
    return load(settings.DSAR_DATA_MAP)
