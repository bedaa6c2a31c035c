"""A form field's input, told which texts describe it, for screen readers."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def described_input(field: BoundField) -> SafeString:
    """The input with ``aria-describedby`` naming its help text and its error (the ids
    ``_field.html`` gives them) and ``aria-invalid`` when it has an error."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    attrs: dict[str, Any] = {"aria-describedby": " ".join(ids)} if ids else {}
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
