from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import estate
from requests_app.core.permissions import APPROVER, REVIEWER

DEMO_STAFF = [
    ("reviewer", "Rita Reviewer", [REVIEWER]),
    ("reviewer2", "Rob Reviewer", [REVIEWER]),
    ("approver", "Ada Approver", [REVIEWER, APPROVER]),
    # The two-person rule needs a second approver: one who did not prepare what is approved.
    ("approver2", "Bea Approver", [REVIEWER, APPROVER]),
]


class Command(BaseCommand):
    help = (
        "Demo mode only: build the demo estate (stores under var/demo/), create the staff roles "
        "and one demo account per role, and print them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="build the demo stores afresh (after trying erasures, corrections, opt-outs)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo runs only in demo mode (DSAR_DEMO=true).")
        self._estate(rebuild=options["rebuild"])
        for role in (REVIEWER, APPROVER):
            Group.objects.get_or_create(name=role)
        credentials = settings.VAR_DIR / "secrets" / "demo-staff.txt"
        known = (
            dict(line.split(" ", 1) for line in credentials.read_text().splitlines() if " " in line)
            if credentials.exists()
            else {}
        )
        users = get_user_model().objects
        for username, full_name, roles in DEMO_STAFF:
            password = known.get(username) or secrets.token_urlsafe(9)
            user, _ = users.get_or_create(
                username=username,
                defaults={"first_name": full_name.split()[0], "last_name": full_name.split()[1]},
            )
            user.set_password(password)
            user.email = f"{username}@smarct.example"  # told of two-factor changes (demo outbox)
            user.is_staff = False  # privacy roles only: the Django admin is for operators
            user.save()
            user.groups.set(Group.objects.filter(name__in=roles))
            known[username] = password
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text("".join(f"{u} {p}\n" for u, p in known.items()))
        credentials.chmod(0o600)
        self.stdout.write(f"Demo staff accounts (kept in {credentials}):")
        for username, _name, roles in DEMO_STAFF:
            self.stdout.write(
                f"  {username:<10} password {known[username]:<14} roles: {', '.join(roles)}"
            )

    def _estate(self, *, rebuild: bool) -> None:
        marker = Path(settings.VAR_DIR) / "demo" / f".built-{estate.SEED}"
        if rebuild or not marker.exists():
            estate.build(Path(settings.VAR_DIR))
            marker.touch()
        self.stdout.write("Demo subjects (file a request with one of these addresses):")
        for subject in estate.SUBJECTS:
            self.stdout.write(f"  {subject.email:<28} {subject.shows}")
