"""The staff desk's words for the system's codes: statuses, timeline actions, anonymisation."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.contrib.auth.models import User
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from exports_app.passages import INDEX
from requests_app import datamap
from requests_app.core.permissions import staff_name
from requests_app.datamap.spec import readable
from requests_app.models import EventAction, Status

register = template.Library()

# How a field is anonymised on erasure (``datamap.spec.ANONYMISE_STRATEGIES``), as staff read it.
STRATEGY_WORDS = {
    "null": "emptied",
    "fixed": "replaced by a fixed value",
    "keyed_hash": "replaced by a keyed hash (it still matches itself, it names no one)",
    "generalise_ip": "the IP address cut to its network",
    "generalise_date": "the date cut to its year",
}


@register.filter
def status_label(value: str) -> str:
    """``in_review`` → "In review"; an unknown code as it is."""
    return str(Status(value).label) if value in Status.values else value


@register.filter
def action_label(value: str) -> str:
    """``store_gathered`` → "Store gathered"."""
    return str(EventAction(value).label) if value in EventAction.values else value


@register.filter
def strategy_label(value: str) -> str:
    return STRATEGY_WORDS.get(value or "null", value)


@register.filter
def leaf_place(path: str) -> str:
    """Where in a field's value a passage is: ``/0/body`` → "1 > body", with a right-pointing angle quote (items counted from 1)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/") if p]
    return " \u203a ".join(str(int(p) + 1) if INDEX.fullmatch(p) else p for p in parts)


def leaf_words(title: str, path: str) -> str:
    """Where a text is, in words: ``Messages`` at ``/0/body`` → "Message 1, body" (a list's
    item named by its field's name, counted from 1); otherwise "Address (lines, 1)"."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/") if p]
    if not parts:
        return title
    words = [str(int(p) + 1) if INDEX.fullmatch(p) else p for p in parts]
    if INDEX.fullmatch(parts[0]) and len(title) > 1 and title.endswith("s"):
        return ", ".join([f"{title[:-1]} {words[0]}", *words[1:]])
    return f"{title} ({', '.join(words)})"


@register.simple_tag
def leaf_title(store: str, table: str, field: str, path: str) -> str:
    """A text's place in a record for staff: its field's title and where in it, as words."""
    return leaf_words(field_title(store, table, field), path)


@register.simple_tag
def table_title(store: str, table: str) -> str:
    """A table's name as the data map labels it, else readable: ``page_views`` → "Page views"."""
    spec = datamap.current().stores.get(store)
    found = spec.tables.get(table) if spec is not None else None
    return found.title if found is not None else readable(table)


@register.simple_tag
def field_title(store: str, table: str, field: str) -> str:
    """A field's name as the data map labels it, else readable: ``created_at`` → "Created at"."""
    spec = datamap.current().stores.get(store)
    found = spec.tables.get(table) if spec is not None else None
    return found.field_spec(field).title if found is not None else readable(field)


@register.filter
def leaf_choice(leaf: Any) -> str:
    """The record form's value for "words in this text": the field and path as a JSON pair (a
    field's name may hold any character). ``withhold.js`` builds the same with JSON.stringify."""
    return "words:" + json.dumps([leaf.field, leaf.path], separators=(",", ":"), ensure_ascii=False)


@register.filter
def pick_value(suggestion: Any) -> str:
    """A suggestion as a tick box's value: JSON [field, path, start, end, words]
    (``dashboard.forms.PicksField``)."""
    s = suggestion
    return json.dumps([s.field, s.path, s.start, s.end, s.text], ensure_ascii=False)


@register.filter
def who(actor: str) -> str:
    """A timeline's actor as staff know them: ``staff:rita`` → "Rita Reviewer (rita)"; the
    requester, the system and anyone no longer on staff as recorded."""
    if not actor.startswith("staff:"):
        return actor
    user = User.objects.filter(username=actor[6:]).first()
    return staff_name(user) if user is not None else actor[6:]


@register.filter(name="staff_name")
def staff_name_of(user: Any) -> str:
    """A user (an assignee, say) as staff know them; a dash for nobody."""
    return staff_name(user) if user is not None else "—"


@register.filter
def as_gathered(text: str) -> SafeString:
    """A piece of gathered text escaped for the page, each carriage return written as a
    reference: an HTML parser reads CR LF (and a lone CR) as one line feed, so a selection in
    the record viewer would count fewer characters than the text has (``static/js/withhold.js``
    counts the page's characters; the server counts the text's)."""
    return mark_safe(escape(text).replace("\r", "&#13;"))  # noqa: S308 (escaped just before)
