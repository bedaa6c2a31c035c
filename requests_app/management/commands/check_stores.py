"""Hold the data map against every store as it really is (``docs/data-map.md`` → "Checking")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from requests_app import datamap
from requests_app.stores import StoreError, connector_for
from requests_app.stores.checks import check_map


class Command(BaseCommand):
    help = (
        "Connect to each store and check the data map against its real schema: tables, columns, "
        "ownership paths, anonymise strategies against column types, erasure choices against the "
        "foreign keys, HTTP find calls, files. Exits 1 listing every problem with its fix."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("stores", nargs="*", help="store names (default: every store)")
        parser.add_argument("--map", help="a data map file (default: DSAR_DATA_MAP)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data_map = datamap.load(options["map"]) if options["map"] else datamap.current()
        except datamap.DataMapInvalid as exc:
            raise CommandError(str(exc)) from exc
        unknown = [name for name in options["stores"] if name not in data_map.stores]
        if unknown:
            raise CommandError(
                f"no store called {', '.join(unknown)}; the map has: {', '.join(data_map.stores)}"
            )
        problems = check_map(data_map, options["stores"] or None)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s): the map does not fit the stores")
        for store in data_map.stores.values():
            if options["stores"] and store.name not in options["stores"]:
                continue
            self.stdout.write(f"{store.name} ({store.kind}): OK")
            if store.kind == "sql":
                self._paths(store)

    def _paths(self, store: Any) -> None:
        connector = connector_for(store)
        try:
            for table in connector.plan_order():
                self.stdout.write(f"  {table}: {connector.ownership_path(table)}")
        except StoreError as exc:  # checked a moment ago; a store going down now is reported
            raise CommandError(str(exc)) from exc
