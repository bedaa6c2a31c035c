"""The demo estate: Smarct's stores as its privacy policy describes them, filled with made-up
people. Built deterministically (same seed, same rows) by ``manage.py seed_demo`` and the tests.

SQL stores: crm, app (accounts, devices), billing (invoices kept 6 years for tax), analytics
(page views: one subject has 100,000). Files: consent records. HTTP: the marketing and support
partners, served by the sandbox in ``demo/partners.py`` from ``partners.json``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SEED = 20260925
START = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class DemoSubject:
    email: str
    name: str
    phone: str
    company: str
    page_views: int
    invoices: int
    tickets: int
    marketing: bool
    account: bool = True
    shows: str = ""
    consents: bool = True  # a consent record and cookie choices (someone who has visited)


SUBJECTS = [
    DemoSubject(
        "alice@example.com",
        "Alice Archer",
        "07700 900001",
        "Archer Design Ltd",
        240,
        3,
        1,
        True,
        shows="an ordinary customer: a little data in every store",
    ),
    DemoSubject(
        "harriet.heavy@example.com",
        "Harriet Heavy",
        "07700 900002",
        "",
        100_000,
        12,
        2,
        True,
        shows="the heavy subject: 100,000 page views, for streaming and export speed",
    ),
    DemoSubject(
        "bob@example.com",
        "Bob Baker",
        "07700 900003",
        "Baker & Sons",
        60,
        8,
        3,
        False,
        shows="invoices under 6-year tax retention, and support tickets that mention other people",
    ),
    DemoSubject(
        "carol@example.com",
        "Carol Chen",
        "",
        "",
        0,
        0,
        0,
        True,
        account=False,
        shows="a newsletter subscriber only: the marketing opt-out case",
    ),
    DemoSubject(
        "dan@example.com",
        "Dan Dawson",
        "07700 900005",
        "",
        30,
        1,
        0,
        False,
        shows="an out-of-date phone number held in CRM, app and billing: the rectification case",
    ),
    DemoSubject(
        "nobody@example.com",
        "Nora Body",
        "",
        "",
        0,
        0,
        0,
        False,
        account=False,
        consents=False,
        shows="no data anywhere: the response must say so",
    ),
]
OTHER_PEOPLE = 200
PAGES = [
    "/",
    "/pricing",
    "/features",
    "/blog",
    "/blog/privacy-by-design",
    "/docs",
    "/login",
    "/account",
    "/account/billing",
    "/support",
    "/contact",
    "/careers",
]
# People who appear in support tickets without being the requester: their data must be redactable.
COLLEAGUES = [
    ("Jane Doe", "jane.doe@example.org"),
    ("Raj Patel", "raj.patel@example.org"),
    ("Mia Wong", "mia.wong@example.org"),
]
BROWSERS = ["Firefox 132", "Chrome 131", "Safari 18", "Edge 131"]
SYSTEMS = ["Windows 11", "macOS 15", "Ubuntu 24.04", "iOS 18", "Android 15"]


def _crm() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "employees",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100)),
        sa.Column("email", sa.String(254)),
    )
    sa.Table(
        "customers",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), index=True),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("company", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("account_manager_id", sa.ForeignKey("employees.id")),
        # Set while processing is restricted (UK GDPR Article 18): the map's ``restrict:``.
        sa.Column("processing_restricted", sa.Boolean, default=False),
    )
    sa.Table(
        "customer_notes",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.ForeignKey("customers.id"), index=True),
        sa.Column("author_id", sa.ForeignKey("employees.id")),
        sa.Column("body", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True)),
    )
    return m


def _app() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "accounts",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), index=True),
        sa.Column("login", sa.String(100)),
        sa.Column("phone", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("processing_restricted", sa.Boolean, default=False),
    )
    sa.Table(
        "preferences",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.ForeignKey("accounts.id"), index=True),
        sa.Column("name", sa.String(100)),
        sa.Column("value", sa.String(200)),
    )
    sa.Table(
        "devices",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.ForeignKey("accounts.id"), index=True),
        sa.Column("device_id", sa.String(64)),
        sa.Column("platform", sa.String(50)),
        sa.Column("first_seen_at", sa.DateTime(timezone=True)),
    )
    return m


def _billing() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "billing_accounts",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), index=True),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(40)),
        sa.Column("billing_address", sa.String(300)),
    )
    sa.Table(
        "invoices",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("billing_account_id", sa.ForeignKey("billing_accounts.id"), index=True),
        sa.Column("number", sa.String(20)),
        sa.Column("issued_on", sa.Date),
        sa.Column("total", sa.Numeric(10, 2)),
        sa.Column("currency", sa.String(3)),
    )
    sa.Table(
        "invoice_lines",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.ForeignKey("invoices.id"), index=True),
        sa.Column("description", sa.String(200)),
        sa.Column("quantity", sa.Integer),
        sa.Column("amount", sa.Numeric(10, 2)),
    )
    sa.Table(
        "payment_methods",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("billing_account_id", sa.ForeignKey("billing_accounts.id"), index=True),
        sa.Column("brand", sa.String(20)),
        sa.Column("last4", sa.String(4)),
        sa.Column("expires", sa.String(7)),
    )
    return m


def analytics_metadata() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "visitors",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), index=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True)),
    )
    # No foreign key on purpose: analytics stores rarely have them; the data map declares the link.
    sa.Table(
        "page_views",
        m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("visitor_id", sa.Integer, index=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True)),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("browser", sa.String(50)),
        sa.Column("os", sa.String(50)),
        sa.Column("page", sa.String(200)),
        sa.Column("time_on_page_s", sa.Integer),
        sa.Column("clicks", sa.Integer),
    )
    return m


def people(rng: random.Random) -> list[DemoSubject]:
    others = [
        DemoSubject(
            f"person{i:03d}@example.net",
            f"Person {i:03d}",
            f"07700 9{i:05d}",
            "",
            rng.randint(5, 80),
            rng.randint(0, 4),
            rng.randint(0, 2),
            rng.random() < 0.5,
        )
        for i in range(1, OTHER_PEOPLE + 1)
    ]
    return SUBJECTS + others


def _reset(engine: sa.Engine, m: sa.MetaData) -> None:
    m.drop_all(engine)
    m.create_all(engine)


def _insert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Iterator[dict[str, Any]] | list[dict[str, Any]],
    batch: int = 5000,
) -> None:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            conn.execute(table.insert(), chunk)
            chunk = []
    if chunk:
        conn.execute(table.insert(), chunk)


def build_crm(url: str, everyone: list[DemoSubject], rng: random.Random) -> None:
    m, engine = _crm(), sa.create_engine(url)
    _reset(engine, m)
    t = m.tables
    with engine.begin() as conn:
        _insert(
            conn,
            t["employees"],
            [
                {"id": 1, "name": "Priya Patel", "email": "priya@smarct.example"},
                {"id": 2, "name": "Tom Okafor", "email": "tom@smarct.example"},
            ],
        )
        _insert(
            conn,
            t["customers"],
            [
                {
                    "id": i,
                    "email": p.email,
                    "name": p.name,
                    "phone": p.phone,
                    "company": p.company,
                    "created_at": START + dt.timedelta(days=i),
                    "account_manager_id": 1 + i % 2,
                }
                for i, p in enumerate(everyone, start=1)
                if p.account
            ],
        )
        _insert(
            conn,
            t["customer_notes"],
            [
                {
                    "customer_id": i,
                    "author_id": 1 + i % 2,
                    "body": f"Call with {p.name}: renewal discussed.",
                    "created_at": START + dt.timedelta(days=i + 30),
                }
                for i, p in enumerate(everyone, start=1)
                if p.account
            ],
        )
    engine.dispose()


def build_app(url: str, everyone: list[DemoSubject], rng: random.Random) -> None:
    m, engine = _app(), sa.create_engine(url)
    _reset(engine, m)
    t = m.tables
    with engine.begin() as conn:
        accounts = [(i, p) for i, p in enumerate(everyone, start=1) if p.account]
        _insert(
            conn,
            t["accounts"],
            [
                {
                    "id": i,
                    "email": p.email,
                    "login": p.email.split("@")[0],
                    "phone": p.phone,
                    "created_at": START + dt.timedelta(days=i),
                    "last_login_at": START + dt.timedelta(days=300 + i),
                }
                for i, p in accounts
            ],
        )
        _insert(
            conn,
            t["preferences"],
            [
                {"account_id": i, "name": name, "value": value}
                for i, _ in accounts
                for name, value in (("language", "en-GB"), ("theme", rng.choice(["light", "dark"])))
            ],
        )
        _insert(
            conn,
            t["devices"],
            [
                {
                    "account_id": i,
                    "device_id": f"{rng.getrandbits(64):016x}",
                    "platform": rng.choice(SYSTEMS),
                    "first_seen_at": START + dt.timedelta(days=i),
                }
                for i, _ in accounts
            ],
        )
    engine.dispose()


def build_billing(url: str, everyone: list[DemoSubject], rng: random.Random) -> None:
    m, engine = _billing(), sa.create_engine(url)
    _reset(engine, m)
    t = m.tables
    invoice_id = 0
    with engine.begin() as conn:
        payers = [(i, p) for i, p in enumerate(everyone, start=1) if p.invoices]
        _insert(
            conn,
            t["billing_accounts"],
            [
                {
                    "id": i,
                    "email": p.email,
                    "name": p.name,
                    "phone": p.phone,
                    "billing_address": f"{i} High Street, Crawley RH10 {i % 9}AB",
                }
                for i, p in payers
            ],
        )
        _insert(
            conn,
            t["payment_methods"],
            [
                {
                    "billing_account_id": i,
                    "brand": rng.choice(["Visa", "Mastercard", "Amex"]),
                    "last4": f"{rng.randint(0, 9999):04d}",
                    "expires": f"20{rng.randint(27, 31)}-{rng.randint(1, 12):02d}",
                }
                for i, _ in payers
            ],
        )
        invoices, lines = [], []
        for i, p in payers:
            for n in range(p.invoices):
                invoice_id += 1
                issued = (START + dt.timedelta(days=30 * n + i % 28)).date()
                invoices.append(
                    {
                        "id": invoice_id,
                        "billing_account_id": i,
                        "number": f"INV-{invoice_id:06d}",
                        "issued_on": issued,
                        "total": "49.00",
                        "currency": "GBP",
                    }
                )
                lines.append(
                    {
                        "invoice_id": invoice_id,
                        "description": "Smarct Pro, monthly",
                        "quantity": 1,
                        "amount": "49.00",
                    }
                )
        _insert(conn, t["invoices"], invoices)
        _insert(conn, t["invoice_lines"], lines)
    engine.dispose()


def build_analytics(url: str, everyone: list[DemoSubject], rng: random.Random) -> None:
    m, engine = analytics_metadata(), sa.create_engine(url)
    _reset(engine, m)
    t = m.tables

    def views() -> Iterator[dict[str, Any]]:
        for i, p in enumerate(everyone, start=1):
            ip = f"203.0.{i % 250}.{rng.randint(1, 254)}"
            for n in range(p.page_views):
                yield {
                    "visitor_id": i,
                    "viewed_at": START + dt.timedelta(minutes=7 * n + i),
                    "ip_address": ip,
                    "browser": BROWSERS[(i + n) % 4],
                    "os": SYSTEMS[i % 5],
                    "page": PAGES[(n * 7 + i) % len(PAGES)],
                    "time_on_page_s": 5 + (n * 13) % 300,
                    "clicks": (n * 3) % 7,
                }

    with engine.begin() as conn:
        _insert(
            conn,
            t["visitors"],
            [
                {"id": i, "email": p.email, "first_seen_at": START + dt.timedelta(days=i)}
                for i, p in enumerate(everyone, start=1)
                if p.page_views
            ],
        )
        _insert(conn, t["page_views"], views(), batch=20_000)
    engine.dispose()


def build_consent(directory: Path, everyone: list[DemoSubject], rng: random.Random) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "consents.jsonl").open("w", encoding="utf-8") as out:
        for i, p in enumerate(everyone, start=1):
            if not p.consents:
                continue
            record = {
                "consent_id": f"c-{i:05d}",
                "email": p.email,
                "given_at": (START + dt.timedelta(days=i)).isoformat(),
                "analytics": True,
                "marketing": p.marketing,
                "personalisation": i % 3 == 0,
                "policy_version": "2024-09-20",
            }
            out.write(json.dumps(record) + "\n")
    with (directory / "cookie_preferences.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=["email", "cookie", "category", "allowed", "updated_at"]
        )
        writer.writeheader()
        for i, p in enumerate(everyone, start=1):
            if not p.consents:
                continue
            for cookie, category in (("_ga", "analytics"), ("smarct_theme", "preferences")):
                writer.writerow(
                    {
                        "email": p.email,
                        "cookie": cookie,
                        "category": category,
                        "allowed": str(category != "analytics" or i % 4 != 0).lower(),
                        "updated_at": (START + dt.timedelta(days=i)).isoformat(),
                    }
                )


def build_partners(path: Path, everyone: list[DemoSubject], rng: random.Random) -> None:
    contacts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    tickets: list[dict[str, Any]] = []
    for i, p in enumerate(everyone, start=1):
        if p.marketing:
            contacts.append(
                {
                    "id": f"mc_{i:05d}",
                    "email": p.email,
                    "name": p.name,
                    "status": "subscribed",
                    "lists": ["Newsletter", "Product updates"][: 1 + i % 2],
                    "consent_given_at": (START + dt.timedelta(days=i)).isoformat(),
                    "source": "signup form",
                }
            )
            events += [
                {
                    "id": f"ev_{i:05d}_{n}",
                    "email": p.email,
                    "campaign": f"Newsletter {n + 1}",
                    "type": "open" if n % 3 else "click",
                    "at": (START + dt.timedelta(days=14 * n + i)).isoformat(),
                }
                for n in range(6)
            ]
        for n in range(p.tickets):
            tickets.append(
                {
                    "id": 1000 + len(tickets),
                    "email": p.email,
                    "subject": f"Help with invoice {n + 1}",
                    "status": "closed",
                    "created_at": (START + dt.timedelta(days=40 * n + i)).isoformat(),
                    "messages": [
                        {
                            "from": p.name,
                            "body": f"My colleague {COLLEAGUES[n % 3][0]} ({COLLEAGUES[n % 3][1]}) "
                            f"cannot log in either; please also check account {i + 1}.",
                        },
                        {
                            "from": "Sam (Helpdesk)",
                            "body": "Thanks, we have reset the password for both of you.",
                        },
                    ],
                }
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "marketing": {"contacts": contacts, "events": events},
                "support": {"tickets": tickets},
            },
            indent=1,
        ),
        encoding="utf-8",
    )


def build(var_dir: Path, *, analytics_url: str | None = None) -> dict[str, str]:
    """Build every demo store under ``var_dir/demo``; returns what was built where."""
    rng = random.Random(SEED)
    everyone = people(rng)
    base = (var_dir / "demo").resolve()
    base.mkdir(parents=True, exist_ok=True)
    urls = {
        name: f"sqlite:///{base / f'{name}.sqlite3'}"
        for name in ("crm", "app", "billing", "analytics")
    }
    if analytics_url:
        urls["analytics"] = analytics_url
    build_crm(urls["crm"], everyone, rng)
    build_app(urls["app"], everyone, rng)
    build_billing(urls["billing"], everyone, rng)
    build_analytics(urls["analytics"], everyone, rng)
    build_consent(base / "consent", everyone, rng)
    build_partners(base / "partners.json", everyone, rng)
    return {**urls, "consent": str(base / "consent"), "partners": str(base / "partners.json")}
