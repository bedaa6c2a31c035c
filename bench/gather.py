"""Gather benchmark: one subject with 100,000 and 1,000,000 rows, from SQLite and PostgreSQL.

For each, in a fresh process so peak memory (max RSS) is that run's alone:

* ours     — one gathering step in a warm worker: the SQL connector streaming into an encrypted
             gather file, exactly as a step does (``connector.find`` → ``gather.write_records``),
             with connecting, reflection and planning timed; importing modules and loading the
             data map, which a worker does once at start-up, are not.
* baseline — the same rows fetched with the plain driver (sqlite3 / psycopg) into a Python list.

Targets (gathering's own): ours at least half the baseline's rows/s; peak memory flat in the row count,
under 200 MB at 1,000,000 rows.

    make bench                      # or: VAR_DIR=var/bench .venv/bin/python bench/gather.py
    DSAR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres  (default; skipped if down)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")
os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))

SIZES = (100_000, 1_000_000)
EMAIL = "bench@example.com"
PG_ADMIN = os.environ.get("DSAR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
QUERY = (
    "SELECT * FROM page_views WHERE visitor_id IN "
    "(SELECT id FROM visitors WHERE lower(email) = lower(%s))"
)


def sqlite_url(rows: int) -> str:
    return f"sqlite:///{Path(os.environ['VAR_DIR']).resolve() / f'bench-{rows}.sqlite3'}"


def pg_url(rows: int) -> str:
    return (
        PG_ADMIN.replace("postgres://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        + f"/dsar_bench_{rows}"
    )


def build(url: str, rows: int) -> None:
    """One subject with ``rows`` page views, plus 50 other people with 100 each (skipped if built)."""
    import datetime as dt

    import sqlalchemy as sa

    from demo.estate import analytics_metadata

    engine = sa.create_engine(url)
    meta = analytics_metadata()
    with engine.connect() as conn:
        if sa.inspect(conn).has_table("page_views"):
            done = conn.execute(
                sa.text("SELECT count(*) FROM page_views WHERE visitor_id = 1")
            ).scalar()
            if done == rows:
                _settle(engine)
                return
    meta.drop_all(engine)
    meta.create_all(engine)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            meta.tables["visitors"].insert(),
            [
                {
                    "id": i,
                    "email": EMAIL if i == 1 else f"other{i}@example.com",
                    "first_seen_at": start,
                }
                for i in range(1, 52)
            ],
        )
        owners = [(1, rows)] + [(i, 100) for i in range(2, 52)]
        batch: list[dict[str, object]] = []
        for visitor, count in owners:
            for n in range(count):
                batch.append(
                    {
                        "visitor_id": visitor,
                        "viewed_at": start + dt.timedelta(seconds=n),
                        "ip_address": f"203.0.113.{n % 250}",
                        "browser": "Firefox 132",
                        "os": "Ubuntu 24.04",
                        "page": f"/docs/page-{n % 97}",
                        "time_on_page_s": n % 300,
                        "clicks": n % 7,
                    }
                )
                if len(batch) == 50_000:
                    conn.execute(meta.tables["page_views"].insert(), batch)
                    batch = []
        if batch:
            conn.execute(meta.tables["page_views"].insert(), batch)
    _settle(engine)
    engine.dispose()


def _settle(engine: Any) -> None:
    """Settle the tables (hint bits, statistics) before timing: otherwise whichever side is
    measured first pays for PostgreSQL's first read of a million fresh rows."""
    import sqlalchemy as sa

    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE page_views"))
            conn.execute(sa.text("VACUUM ANALYZE visitors"))


def setup_ours(url: str) -> object:
    """What a worker has done before its first task: imported its modules, loaded the data map."""
    import django

    django.setup()
    from requests_app import stores  # noqa: F401  (a worker imports its tasks' modules)
    from requests_app.datamap import load

    text = (
        (ROOT / "demo" / "data-map.yaml")
        .read_text()
        .replace('default: "sqlite:///{var}/demo/analytics.sqlite3"', f'default: "{url}"')
    )
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    return load(handle.name).stores["analytics"]


def run_ours(store: Any) -> int:
    """One gathering step: connect, reflect, plan, stream, encode, encrypt, write."""
    from requests_app.gathering.gather import write_records
    from requests_app.stores import Subject, connector_for
    from smarct_dsar.crypto import EncryptedWriter

    categories = {name: table.category for name, table in store.tables.items()}
    with tempfile.TemporaryFile() as target:
        out = EncryptedWriter(target, context="bench")
        tally = write_records(connector_for(store).find(Subject(email=EMAIL)), categories, out)
        out.close()
    return tally.records


def run_baseline(url: str) -> int:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            rows = db.execute(QUERY.replace("%s", "?"), (EMAIL,)).fetchall()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
            rows = db.execute(QUERY, (EMAIL,)).fetchall()
    return len(rows) + 1  # + the visitor row ours also gathers


def child(kind: str, url: str) -> None:
    store = setup_ours(url) if kind == "ours" else None  # per worker process, not per task
    started = time.perf_counter()
    count = run_ours(store) if kind == "ours" else run_baseline(url)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": count, "seconds": seconds, "peak_mb": peak_mb}))


def measure(kind: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, url],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            PG_ADMIN.replace("postgres://", "postgresql://"), connect_timeout=3, autocommit=True
        ) as db:
            for rows in SIZES:
                if not db.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (f"dsar_bench_{rows}",)
                ).fetchone():
                    db.execute(f'CREATE DATABASE "dsar_bench_{rows}"')
        return True
    except Exception as exc:  # a benchmark reports what it could not run
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
        return False


def main() -> None:
    Path(os.environ["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    targets = [("SQLite", sqlite_url)] + ([("PostgreSQL", pg_url)] if postgres_available() else [])
    results = []
    header = f"{'database':<11}{'rows':>10}  {'ours rows/s':>12}{'peak MB':>9}  {'baseline rows/s':>16}{'peak MB':>9}  {'ours/base':>9}"
    print("Gather benchmark (each figure from a fresh process; peak = its max RSS)")
    print(
        "  ours     = one gathering step in a warm worker: connect, reflect, plan, stream, encode, encrypt, write"
    )
    print(
        "  baseline = the same rows with the plain driver (sqlite3 / psycopg) fetchall() into a list"
    )
    print(header)
    for label, make_url in targets:
        for rows in SIZES:
            url = make_url(rows)
            build(url, rows)
            ours, base = measure("ours", url), measure("baseline", url)
            ratio = (ours["rows"] / ours["seconds"]) / (base["rows"] / base["seconds"])
            print(
                f"{label:<11}{rows:>10,}  {ours['rows'] / ours['seconds']:>12,.0f}{ours['peak_mb']:>9.0f}  "
                f"{base['rows'] / base['seconds']:>16,.0f}{base['peak_mb']:>9.0f}  {ratio:>9.2f}"
            )
            results.append(
                {"database": label, "rows": rows, "ours": ours, "baseline": base, "ratio": ratio}
            )
    out = ROOT / "bench" / "results" / "gather.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
