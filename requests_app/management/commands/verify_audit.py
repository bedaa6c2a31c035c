from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app.audit import chain_verify
from requests_app.models import RequestEvent


class Command(BaseCommand):
    help = "Check the audit trail's hash chain; report every broken link. Exits 1 if any."

    def handle(self, *args: Any, **options: Any) -> None:
        breaks = list(chain_verify())
        for problem in breaks:
            self.stderr.write(f"event #{problem.seq}: {problem.problem}")
        if breaks:
            raise CommandError(f"audit chain BROKEN at {len(breaks)} place(s)")
        self.stdout.write(
            self.style.SUCCESS(f"audit chain intact: {RequestEvent.objects.count()} events")
        )
