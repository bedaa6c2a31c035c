from __future__ import annotations

import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from requests_app.core.probes import probe_worker


class Command(BaseCommand):
    help = (
        "Health check for a Celery worker: send a probe task to the worker's own queue and wait "
        "for it to complete. Exits 1 if it does not (the process may be alive but not consuming)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hostname",
            default=f"celery@{socket.gethostname()}",
            help="the worker's node name (default: celery@<this host>, as a worker started here)",
        )
        parser.add_argument("--timeout", type=float, default=20.0)

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = probe_worker(hostname=options["hostname"], timeout=options["timeout"])
        if seconds is None:
            raise CommandError(
                f"{options['hostname']} did not answer a probe within {options['timeout']:.0f} s"
            )
        self.stdout.write(f"{options['hostname']} answered a probe in {seconds:.2f} s")
