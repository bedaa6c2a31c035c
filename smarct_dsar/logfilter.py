"""A logging filter that keeps personal data and secret links out of every log line.

Libraries log what they see: httpx logs each URL it calls (a partner search carries the person's
email in its query string), and Django logs the path of every 4xx answer (a verification or
download link carries its token). Logs are kept longer and read more widely than the data, so
the filter rewrites each record before any handler sees it: email addresses become ``[email]``
and the token in a link becomes ``[token]``.
"""

from __future__ import annotations

import logging
import re

# An address, however written: any letters (international ones too), percent-encoded parts (a
# query string), and a domain that is a name or an address literal (bob@[192.0.2.1]).
EMAIL = re.compile(
    r"[\w.%+\-]+(?:@|%40)(?:\[[0-9A-Fa-f:.]+\]|(?:[\w\-]|%[0-9A-Fa-f]{2})+"
    r"(?:\.(?:[\w\-]|%[0-9A-Fa-f]{2})+)+)"
)
TOKEN_PATH = re.compile(r"/(verify|status|downloads|recipients/confirm)/[A-Za-z0-9_\-]{16,}")


def redact(text: str) -> str:
    return TOKEN_PATH.sub(r"/\1/[token]", EMAIL.sub("[email]", text))


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
