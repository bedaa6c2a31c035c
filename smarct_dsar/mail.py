"""The demo outbox: an email backend that writes each message as one ``.eml`` file.

Django's file backend appends several messages to one log file per connection, which is awkward
to list; one file per message lets the demo outbox page show and open each email.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone


def outbox_dir() -> Path:
    path = Path(settings.DSAR_OUTBOX_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        directory = outbox_dir()
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            target = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            partial = target.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes(linesep="\n"))
            partial.rename(target)  # atomic: the outbox page never sees half a message
        return len(email_messages)
