"""The page's language as HTML names it, and the languages the switcher offers."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils import translation

register = template.Library()


def bcp47(code: str) -> str:
    """Django's language code as a ``lang`` attribute writes it: ``en-gb`` → ``en-GB``."""
    language, _, region = code.partition("-")
    return f"{language}-{region.upper()}" if region else language


@register.simple_tag
def html_lang() -> str:
    return bcp47(translation.get_language() or settings.LANGUAGE_CODE)


@register.simple_tag
def language_choices() -> list[dict[str, Any]]:
    """Each language in its own name, and whether it is the page's."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    return [
        {"code": code, "name": name, "lang": bcp47(code), "current": code == current}
        for code, name in settings.LANGUAGES
    ]
