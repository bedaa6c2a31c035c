"""gunicorn's own logs (the access log above all) through the same redaction as every other log.

gunicorn does not log through Django's ``LOGGING``: its access log line holds the path, the query
string and the referer, so a download or status link, or an email in a query string, would be
written as is. This logger class adds ``RedactPersonalData`` to both of gunicorn's loggers. The
Dockerfile runs gunicorn with ``--logger-class smarct_dsar.gunicorn_logging.RedactingLogger``.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from smarct_dsar.logfilter import RedactPersonalData


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactPersonalData) for f in log.filters):
                log.addFilter(RedactPersonalData())
