from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app.core.audit import ChainReport, chain_verify, statuses_verify
from requests_app.core.checkpoints import CheckpointReport, checkpoint_write, checkpoints_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail: every event's keyed hash and link, every purged payload, the "
        "authenticated head, every request's status against its last recorded move, and every "
        "signed checkpoint in storage. Reports what it checked; "
        "exits 1 on any break. An intact chain is then anchored by a new checkpoint."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        chain, anchors = ChainReport(), CheckpointReport()
        breaks = [*chain_verify(chain), *statuses_verify(), *checkpoints_verify(anchors)]
        for problem in breaks:
            where = f"event #{problem.seq}" if problem.seq else "checkpoints"
            self.stderr.write(f"{where}: {problem.problem}")
        self.stdout.write(
            f"checked {chain.events} events (#1 to #{chain.last_seq}), "
            f"{chain.purged} purged payloads, the head "
            f"({'authenticated' if chain.head_authenticated else 'NOT authenticated'}), "
            "every request's status against its last recorded move, "
            f"and {anchors.checked} signed checkpoint(s)"
        )
        newest = anchors.newest
        self.stdout.write(
            f"newest checkpoint matched: #{newest.seq} of {newest.at}"
            if newest
            else "no checkpoint matched yet (none stored)"
        )
        if breaks:
            raise CommandError(f"audit chain BROKEN at {len(breaks)} place(s)")
        written = checkpoint_write()
        if written is not None:
            self.stdout.write(f"anchored the chain at #{written.seq} in {written.name}")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {chain.events} events"))
