"""Record viewer benchmark: a page of a store's gathered data as staff review it, with the
suggestions of other people's data, beside reading the same page alone.

One request whose support store gave 10,000 tickets (each a two-message thread that names a
colleague and their address); the page is 50 tickets. For the first and the last page:

* ours     — the whole page through Django's test client: decrypting and reading the page from
             the gathered file, what is withheld, the suggestions for every text in it, the
             record viewer's tree and the template;
* baseline — only reading that page from the gathered file (``selectors.gathered_page``), the
             floor any viewer of this data pays.

And the submit page, which scans every one of the 10,000 tickets for suggestions nobody has
decided yet (``review/undecided.py``), beside reading the whole store from its gathered file.

    make bench          # or: .venv/bin/python bench/record_viewer.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench-viewer"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "smarct_dsar.settings",
        "VAR_DIR": str(VAR),
        "DATABASE_URL": f"sqlite:///{VAR / 'db.sqlite3'}",
        "DSAR_DATA_MAP": str(ROOT / "demo" / "data-map.yaml"),
    }
)
TICKETS = 10_000
PER_PAGE = 50
RUNS = 9
COLLEAGUES = [("Jane Doe", "jane.doe@example.org"), ("Raj Patel", "raj.patel@example.org")]


def tickets() -> Any:
    from requests_app.stores import Batch

    rows = [
        {
            "id": 1000 + i,
            "email": "bench@example.com",
            "subject": f"Help with invoice {i}",
            "status": "closed",
            "messages": [
                {
                    "from": "Ben Bench",
                    "body": f"My colleague {COLLEAGUES[i % 2][0]} ({COLLEAGUES[i % 2][1]}) cannot "
                    f"log in either; please call me on 07700 900{i % 1000:03d}.",
                },
                {"from": "Sam (Helpdesk)", "body": "Thanks, we have reset both passwords."},
            ],
        }
        for i in range(TICKETS)
    ]
    for start in range(0, TICKETS, 500):
        yield Batch("tickets", None, rows[start : start + 500])


def setup() -> tuple[Any, Any]:
    from django.utils import timezone

    from requests_app.gathering.gather import write_records
    from requests_app.models import (
        DataSubjectRequest,
        GatherStep,
        RequestType,
        Status,
        StepStatus,
    )
    from smarct_dsar.encrypted_files import store_encrypted

    DataSubjectRequest.objects.all().delete()
    dsr = DataSubjectRequest.objects.create(
        reference="DSR-2099-000001",
        request_type=RequestType.ACCESS,
        status=Status.IN_REVIEW,
        requester_name="Ben Bench",
        requester_email="bench@example.com",
        received_at=timezone.now(),
        due_on=timezone.localdate(),
    )
    step = GatherStep.objects.create(request=dsr, store="support", status=StepStatus.DONE)
    tally, stored = store_encrypted(
        f"gathered/{dsr.reference}/support-bench.jsonl.enc",
        context=step.file_context,
        write=lambda out: write_records(tickets(), {"tickets": "support"}, out),
    )
    step.file_name = stored.name
    step.record_count = tally.records
    step.table_counts = dict(tally.tables)
    step.save()
    return dsr, step


def median_ms(run: Any) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from requests_app import selectors

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    dsr, step = setup()
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.set([Group.objects.get_or_create(name="reviewer")[0]])
    client = Client()
    client.force_login(user)
    last = TICKETS // PER_PAGE
    print(
        f"Record viewer: median of {RUNS} renders of {PER_PAGE} tickets out of {TICKETS:,} "
        "(test client, SQLite); baseline = reading the same page from the gathered file"
    )
    print(f"{'page':<12}{'ours ms':>10}{'baseline ms':>13}{'suggestions':>13}")
    results = []
    for number in (1, last):
        url = f"/staff/requests/{dsr.reference}/data/support/?table=tickets&page={number}"

        def page(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        def read(number: int = number) -> None:
            selectors.gathered_page(step=step, table="tickets", number=number)

        html = client.get(url).content.decode()
        suggested = html.count('class="suggested"')
        ours, baseline = median_ms(page), median_ms(read)
        print(f"{number:<12}{ours:>10.1f}{baseline:>13.1f}{suggested:>13}")
        results.append(
            {
                "page": number,
                "records": TICKETS,
                "ms": ours,
                "baseline_ms": baseline,
                "suggestions": suggested,
            }
        )
    from requests_app.gathering.gather import gathered_records

    def submit_page() -> None:
        response = client.get(f"/staff/requests/{dsr.reference}/submit/")
        assert response.status_code == 200, response.status_code

    def read_all() -> None:
        for _ in gathered_records(step):
            pass

    html = client.get(f"/staff/requests/{dsr.reference}/submit/").content.decode()
    undecided = html.split("suggestion", 1)[0].rsplit(">", 1)[-1].strip()
    ours, baseline = median_ms(submit_page), median_ms(read_all)
    print(f"{'submit':<12}{ours:>10.1f}{baseline:>13.1f}{undecided:>13}   (every ticket scanned)")
    results.append(
        {
            "page": "submit",
            "records": TICKETS,
            "ms": ours,
            "baseline_ms": baseline,
            "suggestions": int(undecided) if undecided.isdigit() else None,
        }
    )
    out = ROOT / "bench" / "results" / "record_viewer.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
