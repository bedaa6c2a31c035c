"""Queue benchmark: the dashboard's queue page with 10,000 requests, beside the same page with 50.

Prints the median render time of the first page, a filtered page and a search (through Django's
test client, no network), with the number of SQL queries each took, against SQLite. A queue
that paginates in the database and selects related rows stays flat as requests grow.

    make bench          # or: .venv/bin/python bench/dashboard.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-queue"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "smarct_dsar.settings",
        "VAR_DIR": str(VAR),
        "DATABASE_URL": f"sqlite:///{VAR / 'db.sqlite3'}",
    }
)
SIZES = (50, 10_000)
RUNS = 15


def setup(rows: int) -> None:
    from django.utils import timezone

    from requests_app.models import DataSubjectRequest, RequestType, Status

    DataSubjectRequest.objects.all().delete()
    now, today = timezone.now(), timezone.localdate()
    types, statuses = (
        list(RequestType),
        [Status.IN_REVIEW, Status.GATHERING, Status.ON_HOLD, Status.VERIFIED],
    )
    DataSubjectRequest.objects.bulk_create(
        DataSubjectRequest(
            reference=f"DSR-2099-{i:06d}",
            request_type=types[i % 5],
            status=statuses[i % 4],
            requester_name=f"Person {i}",
            requester_email=f"p{i}@example.com",
            received_at=now,
            due_on=today + dt.timedelta(days=(i % 60) - 10),
        )
        for i in range(rows)
    )


def measure(client: object, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)  # type: ignore[attr-defined]
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(timings), len(queries)


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.set([Group.objects.get_or_create(name="reviewer")[0]])
    client = Client()
    client.force_login(user)
    # (the page, and the search it carries: a search goes by POST into the session)
    pages = {
        "first page": ("/staff/", ""),
        "filtered (erasure, overdue)": ("/staff/?type=erasure&overdue=on", ""),
        "search by email": ("/staff/", "p4242@example.com"),
    }
    print(
        "Queue benchmark: median of",
        RUNS,
        "renders (test client, SQLite); baseline = the same page with 50 requests",
    )
    print(f"{'page':<30}{'requests':>10}{'ms':>10}{'queries':>9}")
    measured: dict[tuple[str, int], tuple[float, int]] = {}
    for rows in SIZES:
        setup(rows)
        for label, (url, search) in pages.items():
            client.post("/staff/", {"q": search})
            ms, queries = measure(client, url)
            measured[(label, rows)] = (ms, queries)
            print(f"{label:<30}{rows:>10,}{ms:>10.1f}{queries:>9}")
    results = [
        {
            "page": label,
            "requests": SIZES[-1],
            "ms": measured[(label, SIZES[-1])][0],
            "queries": measured[(label, SIZES[-1])][1],
            "baseline_ms": measured[(label, SIZES[0])][0],
            "baseline_queries": measured[(label, SIZES[0])][1],
        }
        for label in pages
    ]
    out = ROOT / "bench" / "results" / "dashboard.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
