"""The ``<ref:…>`` URL converter for request references (``DSR-2026-000042``), registered once."""

from __future__ import annotations

from django.urls import register_converter


class ReferenceConverter:
    regex = r"DSR-[0-9]{4}-[0-9]{6,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "ref")
