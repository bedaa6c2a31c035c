"""Reflect a SQL store and print a proposed data-map section to review and paste in."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from django.core.management.base import BaseCommand, CommandError

from requests_app import datamap
from requests_app.stores import connector_for
from requests_app.stores.base import StoreError

# Column names that look personal, with the category to propose. First match wins.
GUESSES = [
    (r"e_?mail", "contact"),
    (r"phone|mobile|fax|tel", "contact"),
    (r"(first|last|sur|full|given|family)_?name|^name$", "contact"),
    (r"address|street|city|post_?code|postal|zip|county|state|country", "contact"),
    (r"birth|dob", "contact"),
    (r"card|pan$|last_?4|iban|sort_?code|account_?number|billing", "financial"),
    (r"(^|_)ip(_|$)|ip_?address", "device"),
    (r"user_?agent|browser|(^|_)os(_|$)|device", "device"),
    (r"page|url|click|session|viewed|visit", "usage"),
    (r"company|organi[sz]ation|employer", "contact"),
]


def guess(column: str) -> str | None:
    name = column.lower()
    return next((category for pattern, category in GUESSES if re.search(pattern, name)), None)


class Command(BaseCommand):
    help = "Reflect a SQL store (by its name in the data map, or --url) and propose its data-map section."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "name", help="the store's name (in the data map, or the name to propose)"
        )
        parser.add_argument("--url", help="a database URL, for a store not yet in the data map")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = self._engine(options["name"], options.get("url"))
        metadata = sa.MetaData()
        try:
            metadata.reflect(bind=engine)
        except sa.exc.SQLAlchemyError as exc:
            raise CommandError(f"cannot reflect the store: {exc}") from exc
        self.stdout.write(self.render(options["name"], metadata))

    def _engine(self, name: str, url: str | None) -> sa.Engine:
        if url:
            return sa.create_engine(url)
        store = datamap.current().stores.get(name)
        if store is None or store.kind != "sql":
            raise CommandError(
                f"'{name}' is not a sql store in the data map; give --url to reflect any database"
            )
        try:
            return connector_for(store).engine  # type: ignore[attr-defined]
        except StoreError as exc:
            raise CommandError(str(exc)) from exc

    def render(self, name: str, metadata: sa.MetaData) -> str:
        lines = [
            f"  {name}:",
            "    kind: sql",
            "    organisation: TODO",
            f"    connection: {{env: DSAR_STORE_{name.upper()}_URL}}",
            "    tables:",
        ]
        for table in metadata.sorted_tables:
            columns = {c.name: guess(c.name) for c in table.columns}
            personal = {c: g for c, g in columns.items() if g}
            if set(personal) <= {
                "Name",
                "name",
            }:  # a bare name alone (a genre, a playlist) is not a person
                personal = {}
            identity = [c for c in columns if re.search(r"e_?mail", c.lower())]
            links = [
                f"{fk.parent.name} → {fk.column.table.name}.{fk.column.name}"
                for fk in table.foreign_keys
            ]
            lines.append(f"      {table.name}:")
            categories = sorted(set(personal.values()))
            lines.append(
                f"        category: {categories[0] if categories else 'TODO'}"
                f"{'   # also seen: ' + ', '.join(categories[1:]) if len(categories) > 1 else ''}"
            )
            if identity:
                lines.append(f"        identity: {{{identity[0]}: email}}")
            for link in links:
                lines.append(f"        # link discovered from a foreign key: {link}")
            if personal:
                lines.append("        fields:")
                lines += [
                    f"          {column}: {{category: {category}}}"
                    for column, category in personal.items()
                ]
            if not personal and not links:
                lines.append("        # no column looks personal: consider leaving this table out")
        return "\n".join(lines)
