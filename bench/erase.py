"""Erase benchmark: one subject with 100,000 page views, on SQLite and PostgreSQL.

* ours     — what an erasure step does to the store: the plan's dry-run count (``preview``), the
             erasure (counted again in its transaction, ownership paths, every row checked against
             the rows that point at it, children first) and the re-scan (``leftovers``).
* baseline — the two DELETE statements a hand-written script would run, in one transaction, with
             no count, no check and no re-scan.

The store is rebuilt before each side (gather.py's builder: the subject plus 50 other people).

    make bench                      # or: VAR_DIR=var/bench .venv/bin/python bench/erase.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarct_dsar.settings")
os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))

ROWS = 100_000
_spec = importlib.util.spec_from_file_location("bench_gather", ROOT / "bench" / "gather.py")
assert _spec is not None
assert _spec.loader is not None
gather: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gather)


def run_ours(url: str) -> dict[str, float]:
    from requests_app.stores import Subject, connector_for

    store = gather.setup_ours(url)
    connector = connector_for(store)
    subject = Subject(email=gather.EMAIL)
    started = time.perf_counter()
    planned = connector.preview(subject)
    done = connector.erase(subject)
    left = connector.leftovers(subject)
    seconds = time.perf_counter() - started
    assert planned == done, (planned, done)
    assert not any(r["left"] for r in left.values()), left
    return {"rows": sum(o.deleted for o in done.values()), "seconds": seconds}


def run_baseline(url: str) -> dict[str, float]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        views = conn.execute(
            sa.text(
                "DELETE FROM page_views WHERE visitor_id IN "
                "(SELECT id FROM visitors WHERE lower(email) = lower(:email))"
            ),
            {"email": gather.EMAIL},
        ).rowcount
        people = conn.execute(
            sa.text("DELETE FROM visitors WHERE lower(email) = lower(:email)"),
            {"email": gather.EMAIL},
        ).rowcount
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"rows": views + people, "seconds": seconds}


def main() -> None:
    import django

    django.setup()
    urls = [("SQLite", gather.sqlite_url(ROWS))]
    if gather.postgres_available():
        urls.append(("PostgreSQL", gather.pg_url(ROWS)))
    results = []
    for database, url in urls:
        gather.build(url, ROWS)
        ours = run_ours(url)
        gather.build(url, ROWS)
        baseline = run_baseline(url)
        gather.build(url, ROWS)  # leave it as gather.py expects it
        assert ours["rows"] == baseline["rows"] == ROWS + 1
        results.append(
            {
                "database": database,
                "rows": ROWS,
                "ours": ours,
                "baseline": baseline,
                "ratio": ours["seconds"] / baseline["seconds"],
            }
        )
        print(
            f"erase {ROWS:,} rows ({database}): ours {ours['seconds']:.2f} s (plan, erase, "
            f"re-scan); two plain DELETEs {baseline['seconds']:.2f} s; "
            f"{ours['seconds'] / baseline['seconds']:.1f}x"
        )
    out = ROOT / "bench" / "results" / "erase.json"
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
