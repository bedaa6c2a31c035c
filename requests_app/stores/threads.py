"""Rows of one table that point at each other (a thread of comments, replies to replies): which
of the person's can go, and in what order.

A row the map deletes may go only if no row that stays points at it. Within one table that is a
question about the whole thread: the person's own replies to their own comments go with them, but
a reply by someone else keeps the comment it answers, and so every comment above that one (each
is pointed at by a row that stays). The thread is small (one person's rows of one table), so it is
decided in Python from their keys, before anything changes; the rows then go leaves first, which
every database's foreign keys allow, even those checked row by row (MySQL's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Key = tuple[Any, ...]


@dataclass
class Thread:
    """The person's rows of a table that may be deleted (``keys``), and for each, the rows it
    points at through each self-link (``points``: key → addresses, one per link)."""

    addresses: dict[Key, list[Key]]  # key → its address under each self-link (what others cite)
    points: dict[Key, list[Key | None]]  # key → what it cites under each self-link
    blocked: set[Key] = field(default_factory=set)

    @property
    def keys(self) -> list[Key]:
        return [k for k in self.addresses if k not in self.blocked]

    def block(self, cited: Iterable[tuple[int, Key]]) -> None:
        """Rows that stay cite these addresses (link number, address): what they cite stays,
        and so does everything that cites onwards from it."""
        owner = {(i, a): k for k, addrs in self.addresses.items() for i, a in enumerate(addrs)}
        todo = [owner[c] for c in cited if c in owner]
        while todo:
            key = todo.pop()
            if key in self.blocked:
                continue
            self.blocked.add(key)
            for i, target in enumerate(self.points[key]):
                if target is not None and (i, target) in owner:
                    todo.append(owner[(i, target)])

    def leaves_first(self) -> list[list[Key]]:
        """The deletable rows in rounds, each cited by no row of a later round."""
        remaining = set(self.keys)
        rounds: list[list[Key]] = []
        while remaining:
            citing: dict[tuple[int, Key], set[Key]] = {}
            for key in remaining:
                for i, target in enumerate(self.points[key]):
                    if target is not None:
                        citing.setdefault((i, target), set()).add(key)
            leaves = [
                key
                for key in remaining
                if all(
                    citing.get((i, address), set()) <= {key}
                    for i, address in enumerate(self.addresses[key])
                )
            ]
            if not leaves:  # a cycle among the person's own rows: one statement takes them all
                return [*rounds, list(remaining)]
            rounds.append(leaves)
            remaining -= set(leaves)
        return rounds
