from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from requests_app.core.errors import DomainError
from requests_app.staff.accounts import ROLE_GROUPS, staff_deactivate, staff_save


class Command(BaseCommand):
    help = (
        "Create a member of the privacy team with a role, or change an existing one's role: "
        "manage.py create_staff NAME --role approver [--email E] [--name 'Full Name'] [--token]. "
        "A new account gets a random password, shown once (or give one on stdin with "
        "--password-stdin); --token issues an API token, shown once. --deactivate switches an "
        "account off. Every change goes on the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLE_GROUPS))
        parser.add_argument("--email", default="", help="where two-factor changes are told")
        parser.add_argument("--name", default="", help="the person's full name")
        parser.add_argument("--token", action="store_true", help="issue (or replace) a token")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
        parser.add_argument("--deactivate", action="store_true", help="switch the account off")

    def handle(self, *args: Any, **options: Any) -> None:
        operator = getpass.getuser()
        try:
            if options["deactivate"]:
                staff_deactivate(username=options["username"], operator=operator)
                self.stdout.write(f"{options['username']} is switched off; its token is deleted.")
                return
            if not options["role"]:
                raise CommandError("Give --role reviewer or --role approver.")
            password = sys.stdin.readline().rstrip("\n") if options["password_stdin"] else None
            issued = staff_save(
                username=options["username"],
                role=options["role"],
                email=options["email"],
                name=options["name"],
                password=password or None,
                token=options["token"],
                operator=operator,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        roles = ", ".join(ROLE_GROUPS[options["role"]])
        self.stdout.write(f"{issued.user.username}: roles {roles}")
        if issued.password:
            self.stdout.write(
                f"password (shown once; two-factor is set up at first log-in): {issued.password}"
            )
        if issued.token:
            self.stdout.write(f"API token (shown once): {issued.token}")
