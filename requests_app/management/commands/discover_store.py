"""Reflect a SQL store and print a proposed data-map section to review and paste in.

The proposal follows the rules the connector enforces (``stores/ownership.py``): tables with a
person's email are roots, except other people's tables (staff, employees), which are named but not
proposed; a table with more than one path to a root gets an ``owner:`` choosing the most direct
one, with the paths listed; a table the person's rows point at is offered as a shared table owned
backwards; partitions and inherited tables are folded into their parent.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import sqlalchemy as sa
from django.core.management.base import BaseCommand, CommandError
from sqlalchemy import exc as sa_exc

from requests_app import datamap
from requests_app.datamap.spec import EraseSpec, StoreSpec, TableSpec
from requests_app.stores import connector_for
from requests_app.stores.base import StoreError
from requests_app.stores.ownership import Link
from requests_app.stores.sqlschema import folded_tables, mapped_links

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
# Tables of people other than the customers a DSAR is usually about.
OTHER_PEOPLE = re.compile(r"staff|employee|agent|admin|author|rep$|reps$|manager", re.I)


def guess(column: str) -> str | None:
    name = column.lower()
    return next((category for pattern, category in GUESSES if re.search(pattern, name)), None)


class Command(BaseCommand):
    help = "Reflect a SQL store (by its name in the data map, or --url) and propose its data-map section."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "name", nargs="?", help="the store's name (in the data map, or the name to propose)"
        )
        parser.add_argument("--url", help="a database URL, for a store not yet in the data map")

    def handle(self, *args: Any, **options: Any) -> None:
        url, name = options.get("url"), options.get("name")
        if not url and not name:
            raise CommandError("give a store's name from the data map, or --url")
        engine = self._engine(name, url)
        name = name or (engine.url.database or "store").rsplit("/", 1)[-1].split(".")[0]
        metadata = sa.MetaData()
        try:
            with warnings.catch_warnings():  # unknown column types (tsvector, …) are no concern
                warnings.simplefilter("ignore", sa_exc.SAWarning)
                metadata.reflect(bind=engine)
                folded = folded_tables(engine)
        except sa_exc.SQLAlchemyError as exc:
            raise CommandError(f"cannot reflect the store: {type(exc).__name__}") from exc
        self.stdout.write(render(name, metadata, folded))

    def _engine(self, name: str | None, url: str | None) -> sa.Engine:
        if url:
            try:
                return sa.create_engine(url)
            except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
                raise CommandError(f"the URL is not usable ({type(exc).__name__})") from exc
        store = datamap.current().stores.get(name or "")
        if store is None or store.kind != "sql":
            raise CommandError(
                f"'{name}' is not a sql store in the data map; give --url to reflect any database"
            )
        try:
            return connector_for(store).engine  # type: ignore[attr-defined]
        except StoreError as exc:
            raise CommandError(str(exc)) from exc


def render(name: str, metadata: sa.MetaData, folded: dict[str, str] | None = None) -> str:
    folded = folded or {}
    tables = {t.name: t for t in metadata.sorted_tables if t.name not in folded}
    roots = {n for n, t in tables.items() if _email(t) and not OTHER_PEOPLE.search(n)}
    links = mapped_links(_provisional(tables, roots), tables)
    reach = _reaching(tables, roots, links)
    lines = [
        f"  {name}:",
        "    kind: sql",
        "    organisation: TODO",
        f"    connection: {{env: DSAR_STORE_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_URL}}",
        "    tables:",
    ]
    for table_name, table in tables.items():
        lines += _table(table_name, table, roots, links, reach, folded)
    return "\n".join(lines)


def _email(table: sa.Table) -> str | None:
    return next((c.name for c in table.columns if re.search(r"e_?mail", c.name.lower())), None)


def _provisional(tables: dict[str, sa.Table], roots: set[str]) -> StoreSpec:
    specs = {
        n: TableSpec(
            name=n,
            category="contact",
            identity={_email(t) or "": "email"} if n in roots else {},
            links=(),
            fields={},
            erase=EraseSpec(action="delete"),
            portable=True,
        )
        for n, t in tables.items()
    }
    return StoreSpec("proposal", "sql", "", "", "controller", None, datamap.spec.Setting(""), specs)


def _reaching(tables: dict[str, sa.Table], roots: set[str], links: list[Link]) -> dict[str, int]:
    """Each table that reaches a root, with the length of its shortest path there."""
    reach = {root: 0 for root in roots}
    changed = True
    while changed:
        changed = False
        for link in links:
            if link.parent in reach and link.child not in roots and link.child != link.parent:
                length = reach[link.parent] + 1
                if length < reach.get(link.child, 1 << 30):
                    reach[link.child] = length
                    changed = True
    return reach


def _table(
    name: str,
    table: sa.Table,
    roots: set[str],
    links: list[Link],
    reach: dict[str, int],
    folded: dict[str, str],
) -> list[str]:
    personal = {c.name: guess(c.name) for c in table.columns if guess(c.name)}
    if set(personal) <= {"Name", "name"}:  # a bare name alone (a genre, a playlist) is not a person
        personal = {}
    categories = sorted({g for g in personal.values() if g})
    out = [f"      {name}:"]
    children = sorted(c for c, p in folded.items() if p == name)
    if children:
        out.append(f"        # includes {', '.join(children)} (partitions or inherited tables)")
    out.append(
        f"        category: {categories[0] if categories else 'TODO'}"
        + (f"   # also seen: {', '.join(categories[1:])}" if len(categories) > 1 else "")
    )
    if name in roots:
        out.append(f"        identity: {{{_email(table)}: email}}")
    elif _email(table):
        out.append(
            "        # another person's table (staff, employees): leave it out of a customers' map,"
            " or give it identity: {" + str(_email(table)) + ": email} for their own requests"
        )
    out += _ownership(name, roots, links, reach)
    if personal:
        out.append("        fields:")
        out += [
            f"          {column}: {{category: {category}}}" for column, category in personal.items()
        ]
    elif name not in reach and name not in roots:
        out.append(
            "        # no column looks personal and no path to a person: consider leaving it out"
        )
    return out


def _ownership(name: str, roots: set[str], links: list[Link], reach: dict[str, int]) -> list[str]:
    if name in roots:
        return []
    candidates = sorted(
        (
            (reach[lk.parent], lk)
            for lk in links
            if lk.child == name and lk.parent in reach and lk.parent != name
        ),
        key=lambda pair: (pair[0], str(pair[1])),  # two links to one table: by name, not by Link
    )
    out = [f"        # link discovered from a foreign key: {lk}" for _, lk in candidates]
    if len(candidates) > 1:
        best = candidates[0][1]
        out.append(
            f"        # {len(candidates)} paths lead to a person; a row is owned through one. Check "
            "that this is the column naming the row's owner:"
        )
        out.append(f"        owner: {{via: {best.columns[0]}}}")
    pointing = [lk for lk in links if lk.parent == name and lk.child in roots]
    if not candidates and pointing and not OTHER_PEOPLE.search(name):
        link = pointing[0]
        out.append(
            f"        # the person's {link.child} row points here ({link}); other rows may point at "
            "the same row (a shared address). To include the person's own row, and erase it only "
            "when nobody else's record uses it:"
        )
        out.append(f"        # owner: {{referenced_by: {link.child}.{link.columns[0]}}}")
    return out
