"""Ownership paths: how each table's rows belong to the person, exactly one way.

A table with an ``identity`` is a root: its rows are the person's when the identity column holds
their verified email. Every other table's rows belong to the person through **one** link to an
owner table, whose rows are the person's in turn, up to a root. A link that merely touches one of
the person's rows is not ownership: in a rental schema, ``payment.rental_id → rental`` leads to
the person's rentals, but another customer may have paid for one of them; the payment belongs to
whoever ``payment.customer_id`` names. So where a table has more than one link leading to a root,
the data map must choose (``owner: {via: customer_id}``), and nothing is gathered until it does.

A shared table (an ``address`` row that customers, staff and shops all point at) can be owned
backwards, through the person's own row that points at it
(``owner: {referenced_by: customer.address_id}``).

This module is pure: it takes the links (foreign keys reflected from the database, and links the
map declares) and returns each table's owner, or the problems that stop it from having one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from requests_app.datamap.spec import StoreSpec


@dataclass(frozen=True)
class Link:
    """``child.columns`` hold values of ``parent.parent_columns``: a foreign key or a declared
    link. ``nullable``, ``ondelete`` describe a foreign key (None when declared)."""

    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    declared: bool = False
    nullable: bool = True
    ondelete: str | None = None
    schema: str | None = None  # the child's schema (database, on MySQL) when not the store's own

    def __str__(self) -> str:
        return (
            f"{self.child}.{', '.join(self.columns)} → "
            f"{self.parent}.{', '.join(self.parent_columns)}"
        )


@dataclass(frozen=True)
class Owner:
    """How ``table``'s rows are the person's: by identity, ``via`` a link to the owner table, or
    ``referenced_by`` the owner table's link to this one."""

    table: str
    how: Literal["identity", "via", "referenced_by"]
    link: Link | None = None

    @property
    def owner_table(self) -> str | None:
        if self.link is None:
            return None
        return self.link.parent if self.how == "via" else self.link.child


@dataclass(frozen=True)
class OwnershipProblem:
    table: str
    problem: str
    fix: str


@dataclass
class Ownership:
    owners: dict[str, Owner] = field(default_factory=dict)
    problems: list[OwnershipProblem] = field(default_factory=list)

    def order(self) -> list[str]:
        """Tables, each after its owner (the order queries can be built in)."""
        done: list[str] = []

        def visit(table: str) -> None:
            if table in done:
                return
            parent = self.owners[table].owner_table
            if parent is not None:
                visit(parent)
            done.append(table)

        for table in self.owners:
            visit(table)
        return done

    def path(self, table: str) -> list[Owner]:
        """The owners from ``table`` up to its root."""
        steps = [self.owners[table]]
        while (parent := steps[-1].owner_table) is not None:
            steps.append(self.owners[parent])
        return steps

    def describe(self, table: str) -> str:
        return describe_path(self.path(table), self.owners)


def describe_path(steps: list[Owner], owners: dict[str, Owner]) -> str:
    parts = [str(s.link) if s.how == "via" else f"{s.link} (backwards)" for s in steps if s.link]
    root = steps[-1].table
    return ", ".join([*parts, f"{root} (identity)"]) if parts else f"{root} (identity)"


def resolve(store: StoreSpec, links: list[Link]) -> Ownership:
    """Each table's one owner, or why it has none (ambiguous, unreachable, a bad choice)."""
    return _Resolver(store, links).run()


class _Resolver:
    def __init__(self, store: StoreSpec, links: list[Link]) -> None:
        self.tables = store.tables
        self.links = [
            link
            for link in links
            if link.child != link.parent
            and link.child in self.tables
            and link.parent in self.tables
            and not set(link.columns) & set(self.tables[link.child].ignore)
        ]
        # A link a shared table is owned backwards through is that table's way to the person,
        # never a way to the person for the table it starts from.
        backwards = {
            (spec.owner.referenced_by, name)
            for name, spec in self.tables.items()
            if spec.owner is not None and spec.owner.referenced_by is not None
        }
        self.backward = [
            lk for lk in self.links if ((lk.child, lk.columns[0]), lk.parent) in backwards
        ]
        self.links = [lk for lk in self.links if lk not in self.backward]
        self.result = Ownership()
        self.failed: set[str] = set()

    def run(self) -> Ownership:
        for name, spec in self.tables.items():
            if spec.identity:
                self.result.owners[name] = Owner(name, "identity")
        for name in self.tables:
            self._owner(name, ())
        for name, spec in self.tables.items():
            if spec.identity:
                self._second_way(name)
        return self.result

    def _second_way(self, table: str) -> None:
        """A table with an identity that also links to a table of the person's: two ways in that
        may disagree (a profile whose contact email is Alice's, on Bob's account). The map says
        which one names the row's owner."""
        for link in self.links:
            if link.child != table:
                continue
            parent = self.result.owners.get(link.parent)
            if parent is not None and parent.how == "referenced_by":
                continue  # a shared row it points at (its address): not a second owner
            if self._reaches_root(link.parent, (table,)):
                column = link.columns[0]
                self.result.problems.append(
                    OwnershipProblem(
                        table,
                        f"{table} is found by its identity, and also links to {link.parent} "
                        f"({link}), which is found by its own: the two may name different "
                        "people",
                        f"if {column} leads to someone else (staff, another account), write "
                        f"ignore: [{column}] under {table}; if it names the row's owner, remove "
                        f"the identity and write owner: {{via: {column}}}",
                    )
                )

    def _fail(self, table: str, problem: str, fix: str) -> None:
        self.failed.add(table)
        self.result.problems.append(OwnershipProblem(table, problem, fix))

    def _owner(self, table: str, stack: tuple[str, ...]) -> Owner | None:
        if table in self.result.owners:
            return self.result.owners[table]
        if table in self.failed or table in stack:
            return None
        spec = self.tables[table]
        stack = (*stack, table)
        if spec.owner is not None and spec.owner.referenced_by is not None:
            owner = self._referenced_by(table, *spec.owner.referenced_by, stack)
        elif spec.owner is not None and spec.owner.via is not None:
            owner = self._via(table, spec.owner.via, stack)
        else:
            owner = self._only_path(table, stack)
        if owner is not None:
            self.result.owners[table] = owner
        return owner

    def _via(self, table: str, column: str, stack: tuple[str, ...]) -> Owner | None:
        choices = [link for link in self.links if link.child == table]
        link = next((lk for lk in choices if lk.columns == (column,)), None)
        if link is None:
            known = ", ".join(lk.columns[0] for lk in choices) or "none"
            self._fail(
                table,
                f"owner.via names '{column}', which is not a link of {table} to a mapped table "
                f"(its links: {known})",
                "name one of its link columns, or declare the link under 'links'",
            )
            return None
        if self._owner(link.parent, stack) is None:
            if link.parent not in self.failed:
                self._fail(
                    table,
                    f"owner.via {column} leads to {link.parent}, which has no way to the person",
                    f"give {link.parent} an identity or an owner",
                )
            return None
        return Owner(table, "via", link)

    def _referenced_by(
        self, table: str, child: str, column: str, stack: tuple[str, ...]
    ) -> Owner | None:
        link = next(
            (
                lk
                for lk in self.backward
                if lk.child == child and lk.parent == table and lk.columns == (column,)
            ),
            None,
        )
        if link is None:
            self._fail(
                table,
                f"owner.referenced_by names {child}.{column}, but no link goes from there to {table}",
                f"name a column of {child} that points at {table}, or declare it under "
                f"{child}'s 'links'",
            )
            return None
        if self._owner(child, stack) is None:
            if child not in self.failed:
                self._fail(
                    table,
                    f"owner.referenced_by leads to {child}, which has no way to the person",
                    f"give {child} an identity or an owner",
                )
            return None
        return Owner(table, "referenced_by", link)

    def _only_path(self, table: str, stack: tuple[str, ...]) -> Owner | None:
        candidates = [
            link
            for link in self.links
            if link.child == table and self._reaches_root(link.parent, stack)
        ]
        if not candidates:
            self._fail(
                table,
                f"{table} has no link that leads to a table with an identity, so none of its "
                "rows can be found",
                "give it an identity, a link (links: [{column: …, to: <table>.<column>}]), or "
                "owner: {referenced_by: <table>.<column>} if the person's rows point at it; "
                "or leave it out of the map",
            )
            return None
        if len(candidates) > 1:
            self._ambiguous(table, candidates, stack)
            return None
        (link,) = candidates
        if self._owner(link.parent, stack) is None:
            return None  # the parent's own problem is reported on the parent
        return Owner(table, "via", link)

    def _reaches_root(self, table: str, stack: tuple[str, ...]) -> bool:
        if table in self.result.owners:
            return True
        if table in stack:
            return False
        spec = self.tables[table]
        if spec.owner is not None:
            return self._owner(table, stack) is not None or table not in self.failed
        return any(
            self._reaches_root(link.parent, (*stack, table))
            for link in self.links
            if link.child == table
        )

    def _ambiguous(self, table: str, candidates: list[Link], stack: tuple[str, ...]) -> None:
        paths = []
        for link in candidates:
            parent = self._owner(link.parent, stack)
            steps = self._path_from(parent)
            rest = describe_path(steps, self.result.owners) if parent else "…"
            paths.append((len(steps) if parent else 1 << 20, link.columns[0], str(link), rest))
        paths.sort()
        listed = "; ".join(
            f"({i}) {link}, then {rest}" for i, (_, _, link, rest) in enumerate(paths, 1)
        )
        shortest = [column for length, column, _, _ in paths if length == paths[0][0]]
        choice = shortest[0] if len(shortest) == 1 else " or ".join(shortest)
        self._fail(
            table,
            f"{table} has {len(paths)} ownership paths to the person: {listed}. A row reached "
            "one way may belong to someone else the other way",
            f"choose the link that names the row's owner; under {table} write: "
            f"owner: {{via: {choice}}}  (and ignore: [<column>] for a link to another person, "
            "such as staff)",
        )

    def _path_from(self, owner: Owner | None) -> list[Owner]:
        steps: list[Owner] = []
        while owner is not None:
            steps.append(owner)
            parent = owner.owner_table
            owner = self.result.owners.get(parent) if parent else None
        return steps
