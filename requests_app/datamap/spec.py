"""The data map, as typed, immutable objects. ``loader.py`` builds them from YAML and checks them;
the format is documented in ``docs/data-map.md``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

CATEGORIES = (
    "contact",
    "account",
    "financial",
    "usage",
    "device",
    "cookies",
    "marketing",
    "support",
)
ERASE_ACTIONS = ("delete", "anonymise", "retain")
ANONYMISE_STRATEGIES = ("null", "fixed", "keyed_hash", "generalise_ip", "generalise_date")
STORE_KINDS = ("sql", "http", "files", "notify")
HTTP_METHODS = ("DELETE", "POST", "PATCH", "PUT")
ROLES = ("controller", "processor")
# How the person reads a field's values on paper (``format:``); money also names its currency.
FORMATS = ("date", "datetime", "boolean", "money")


@dataclass(frozen=True)
class Setting:
    """A value taken from the environment (connection strings, tokens), with an optional default
    for the demo. ``{var}`` in the default stands for ``VAR_DIR``."""

    env: str
    default: str | None = None

    def resolve(self, var_dir: str) -> str | None:
        value = os.environ.get(self.env)
        if value:
            return value
        return self.default.replace("{var}", var_dir) if self.default is not None else None


@dataclass(frozen=True)
class EraseSpec:
    """What erasure does to a table or a field. For ``retain``, the period runs ``years`` after
    a start: the row's ``from_field`` (a date), rounded up to the end of the financial year when
    ``year_end`` ("03-31") is given; or the end of the relationship (``from_relationship_end``:
    the day the erasure request was received); or the owner row's own period (``with_owner``).
    A retained row whose period has ended is deleted like any other (``retention.py``)."""

    action: str  # one of ERASE_ACTIONS (checked by the loader)
    strategy: str | None = None  # for anonymise
    value: str | None = None  # for anonymise/fixed
    legal_basis: str | None = None  # for retain
    period: str | None = (
        None  # for retain, in words ("6 years after the end of the financial year")
    )
    years: int | None = None  # for retain: how many years after the start
    from_field: str | None = None
    year_end: tuple[int, int] | None = None  # (month, day) the financial year ends on
    from_relationship_end: bool = False
    with_owner: bool = False

    @property
    def expires(self) -> bool:
        """Whether retained rows can come to the end of their period (and then be erased)."""
        return self.action == "retain" and (
            (self.years is not None and (self.from_field is not None or self.from_relationship_end))
            or self.with_owner
        )


def readable(name: str) -> str:
    """A code name as words: ``customer_notes`` → "Customer notes", ``consents.jsonl`` →
    "Consents" (a file's extension dropped)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else name


@dataclass(frozen=True)
class FieldSpec:
    name: str
    category: str
    purpose: str | None
    legal_basis: str | None
    retention: str | None
    portable: bool
    rectifiable: bool
    erase: EraseSpec | None
    label: str | None = None  # how staff and the person read the field's name
    format: str | None = None  # one of FORMATS: how the person reads its values
    currency: str | None = None  # for money: its ISO 4217 code ("GBP")

    @property
    def title(self) -> str:
        return self.label or readable(self.name)


@dataclass(frozen=True)
class LinkSpec:
    """``column`` of this table holds values of ``to_table.to_column`` (a parent row)."""

    column: str
    to_table: str
    to_column: str


@dataclass(frozen=True)
class Pagination:
    type: Literal["none", "offset", "cursor", "next_link"] = "none"
    param: str | None = None  # offset / cursor query parameter
    limit_param: str | None = None
    page_size: int = 100
    next: str | None = None  # dotted path to the next cursor or URL in the response


@dataclass(frozen=True)
class HttpFind:
    path: str
    params: dict[str, str] = field(default_factory=dict)
    records: str = ""  # dotted path to the list of records ("" = the body is the list)
    pagination: Pagination = field(default_factory=Pagination)


@dataclass(frozen=True)
class HttpCall:
    """A call that changes a partner's data: ``delete`` (erasure) or ``update`` (anonymising,
    rectification, opt-out). ``path`` and ``body`` are templates: ``{email}`` (and the other
    subject keys) and, for ``per: record``, the fields of each record found (``{id}``)."""

    method: str
    path: str
    per: Literal["record", "subject"] = "record"
    body: dict[str, Any] | None = None  # None: no body for delete, the changed values for update


@dataclass(frozen=True)
class OwnerSpec:
    """How a table's rows belong to the person, when the schema offers more than one way (or the
    way runs backwards). ``via``: this table's column that links to its owner row (a foreign key
    or a declared link). ``referenced_by``: (table, column) of the person's rows that point at
    this table's rows (a shared ``address`` table, owned through ``customer.address_id``)."""

    via: str | None = None
    referenced_by: tuple[str, str] | None = None


@dataclass(frozen=True)
class TableSpec:
    """A SQL table, an HTTP resource or a file: one kind of record."""

    name: str
    category: str
    identity: dict[str, str]  # column → subject key (e.g. {"email": "email"})
    links: tuple[LinkSpec, ...]
    fields: dict[str, FieldSpec]
    erase: EraseSpec
    portable: bool
    find: HttpFind | None = None  # http only
    primary_key: str | None = None
    delete_call: HttpCall | None = None  # http only
    update_call: HttpCall | None = None  # http only
    owner: OwnerSpec | None = None  # sql only
    ignore: tuple[str, ...] = ()  # sql only: link columns never followed (they lead to others)
    label: str | None = None  # how staff and the person read the table's name
    # the order the person reads its rows in: a column, "-column" for descending (None: the
    # first date column, newest first; else as gathered)
    order_by: str | None = None

    @property
    def title(self) -> str:
        return self.label or readable(self.name)

    def erase_spec(self, column: str) -> EraseSpec:
        """What erasure does to ``column`` when the table is anonymised or retained."""
        known = self.fields.get(column)
        return known.erase if known is not None and known.erase is not None else self.erase

    def field_spec(self, column: str) -> FieldSpec:
        """The spec of a column; columns the map does not list inherit the table's defaults."""
        known = self.fields.get(column)
        if known is not None:
            return known
        return FieldSpec(column, self.category, None, None, None, self.portable, False, self.erase)


@dataclass(frozen=True)
class Auth:
    type: Literal["none", "bearer", "basic", "header"] = "none"
    token: Setting | None = None
    username: Setting | None = None
    password: Setting | None = None
    header: str | None = None


@dataclass(frozen=True)
class StoreSpec:
    name: str
    kind: str
    description: str
    organisation: str
    role: str
    notify_email: str | None
    connection: Setting
    tables: dict[str, TableSpec]
    auth: Auth = field(default_factory=Auth)
    timeout_seconds: float = 15.0
    max_retries: int = 3
    public_description: str | None = None  # what the person reads ("description" is for staff)
    # A ``notify`` recipient: the (store, table) pairs whose data it receives from Smarct. It is
    # told of a person's request only when their data was found in one of them.
    receives_from: tuple[tuple[str, str], ...] = ()

    @property
    def public_title(self) -> str:
        """The store as the person reads it: never the staff's ``description``."""
        return self.public_description or readable(self.name)

    @property
    def public_where(self) -> str:
        """The store named in a sentence to the person: its public description (which says whose
        it is), else its name in words and the organisation that holds it."""
        if self.public_description:
            return self.public_description
        return (
            f"{readable(self.name)} ({self.organisation})"
            if self.organisation
            else self.public_title
        )

    @property
    def searchable(self) -> bool:
        """Smarct can search and change this store itself. A ``notify`` recipient has no API: it
        is told by email (Article 19) at erasure and correction, and holds nothing we gather."""
        return self.kind != "notify"


@dataclass(frozen=True)
class RegisterEntry:
    """Article 15 supplementary information for one category of data."""

    category: str
    purposes: tuple[str, ...]
    legal_basis: str
    recipients: tuple[str, ...]
    retention: str
    source: str
    transfers: str
    automated_decisions: str


@dataclass(frozen=True)
class StoreChange:
    """One change a right makes in the stores: ``set`` these fields on the person's records of
    ``store.table``. ``marketing_opt_out`` lists them (a consent flag, a partner's subscription
    status); so does ``restrict``, each with ``lift``: the values that undo it (the same fields)."""

    store: str
    table: str
    set: dict[str, Any]
    lift: dict[str, Any] | None = None


@dataclass(frozen=True)
class DataMap:
    path: str
    stores: dict[str, StoreSpec]
    register: dict[str, RegisterEntry]
    opt_out: tuple[StoreChange, ...] = ()
    restrict: tuple[StoreChange, ...] = ()  # a restriction of processing (Article 18)
    lines: dict[str, int] = field(default_factory=dict)  # dotted path in the file → its line

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of the nearest enclosing key the file has."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            line = self.lines.get(".".join(parts[:end]))
            if line is not None:
                return line
        return None
