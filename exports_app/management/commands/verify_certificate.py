from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smarct_dsar.signing import verify


class Command(BaseCommand):
    help = (
        "Check that a deletion certificate is genuine and unaltered: FILE is the PDF; its signature "
        "is FILE.sig beside it unless --signature says otherwise. Exits 1 if it is not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--signature", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        document: Path = options["file"]
        signature: Path = options["signature"] or document.with_name(document.name + ".sig")
        for path in (document, signature):
            if not path.is_file():
                raise CommandError(f"{path} does not exist")
        verdict = verify(document.read_bytes(), signature.read_bytes())
        if not verdict.genuine:
            raise CommandError(f"NOT GENUINE: {document.name}: {verdict.reason}")
        retired = ""
        if not verdict.key_current:
            retired = f" (a retired key{', retired on ' if verdict.key_retired_on else ''}"
            retired += f"{verdict.key_retired_on or ''})"
        self.stdout.write(
            self.style.SUCCESS(
                f"GENUINE: {document.name} is the deletion certificate for {verdict.reference}, "
                f"signed {verdict.signed_at} by key {verdict.key_id}{retired}, unaltered."
            )
        )
