"""The demo outbox: lists the ``.eml`` files the outbox backend wrote under ``var/mail/``."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from smarct_dsar.mail import outbox_dir

_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")
_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Message:
    name: str
    to: str
    subject: str
    date: str
    text: str
    html: str


def _read(path: Path) -> Message:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return Message(
        name=path.name,
        to=str(parsed["To"]),
        subject=str(parsed["Subject"]),
        date=str(parsed["Date"]),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
    )


def _path(name: str) -> Path:
    if not _NAME.match(name):
        raise Http404
    path = outbox_dir() / name
    if not path.is_file():
        raise Http404
    return path


def linkify(text: str) -> SafeString:
    """Escape the text, then make its URLs clickable (the text is ours, but escape anyway)."""
    escaped = str(escape(text))
    return mark_safe(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))  # noqa: S308


def outbox(request: HttpRequest) -> HttpResponse:
    paths = sorted(outbox_dir().glob("*.eml"), reverse=True)[:200]
    return render(
        request,
        "demo/outbox.html",
        {"messages_list": [_read(p) for p in paths], "folder": outbox_dir()},
    )


def outbox_message(request: HttpRequest, name: str) -> HttpResponse:
    message = _read(_path(name))
    return render(request, "demo/message.html", {"message": message, "body": linkify(message.text)})


def outbox_message_html(request: HttpRequest, name: str) -> HttpResponse:
    """The HTML part, shown in a sandboxed frame: no scripts, no forms, no same-origin access."""
    response = HttpResponse(_read(_path(name)).html)
    response["Content-Security-Policy"] = (
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:"
    )
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def ping(request: HttpRequest) -> JsonResponse:
    """The cheapest answer the stack can give: the baseline of bench/intake.py."""
    return JsonResponse({"pong": True})
