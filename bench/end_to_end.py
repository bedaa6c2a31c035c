"""End-to-end benchmark: seconds from a person's verification to the email with their download
link, for each demo subject, with the whole system running: gunicorn, real Celery workers, the
demo estate and the partner sandbox.

Staff steps are taken by the benchmark the moment they are possible (approve as soon as the
request is in review, release as soon as the files are built), so the figure is the system's own
time. Setups: the embedded default (SQLite, file broker) with 1 worker, and PostgreSQL + Redis
with 1 and 2 workers (when reachable on 127.0.0.1). The baseline is nobody@example.com, who has
no data anywhere: the pipeline's fixed cost. Writes ``bench/results/end_to_end.json``.

    make bench          # or: .venv/bin/python bench/end_to_end.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.intake import POSTGRES, REDIS, environment, free_port, postgres_and_redis  # noqa: E402
from smarct_dsar import processes  # noqa: E402

VAR = ROOT / "var" / "bench-e2e"
SUBJECTS = [
    "nobody@example.com",
    "carol@example.com",
    "dan@example.com",
    "alice@example.com",
    "bob@example.com",
    "harriet.heavy@example.com",
]


def start(env: dict[str, str], workers: int) -> list[subprocess.Popen[bytes]]:
    port = int(env["BENCH_PORT"])
    started = [processes.start(processes.gunicorn(f"127.0.0.1:{port}", workers=2), env=env)]
    for n in range(workers):
        worker = processes.celery_worker(name=f"bench{n}@%h", log_level="WARNING")
        quiet = subprocess.DEVNULL
        started.append(processes.start(worker, env=env, stdout=quiet, stderr=quiet))
    processes.wait_until_serving(f"http://127.0.0.1:{port}/demo/ping", timeout=30)
    time.sleep(3)  # the workers connect
    return started


def wait(check: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out: {what}")


def one_subject(email: str, url: str, tokens: tuple[str, str], mail: Path) -> dict[str, float]:
    from exports_app.models import Export, ExportStatus
    from requests_app.intake import verification
    from requests_app.models import DataSubjectRequest, Status

    # two people: one submits for approval, the other approves and releases (two-person rule)
    reviewer, staff = ({"Authorization": f"Token {t}"} for t in tokens)
    created = httpx.post(
        f"{url}/api/v1/requests/", json={"request_type": "access", "name": "Bench", "email": email}
    )
    assert created.status_code == 202
    dsr = DataSubjectRequest.objects.filter(requester_email=email).latest("received_at")
    raw = verification.token_issue(
        dsr=dsr, purpose="verify", ttl=__import__("datetime").timedelta(hours=1)
    )
    started = time.perf_counter()
    assert httpx.post(f"{url}/api/v1/requests/verify/", json={"token": raw}).status_code == 200

    def status() -> str:
        failed = dsr.gather_steps.filter(status="failed").values_list("store", "error")
        if failed:
            raise RuntimeError(f"{email}: a store failed: {list(failed)}")
        return str(DataSubjectRequest.objects.filter(pk=dsr.pk).values_list("status", flat=True)[0])

    wait(lambda: status() == Status.IN_REVIEW, "gathering")
    gathered = time.perf_counter()
    assert (
        httpx.post(
            f"{url}/api/v1/requests/{dsr.reference}/submit/", json={}, headers=reviewer
        ).status_code
        == 200
    )
    assert (
        httpx.post(
            f"{url}/api/v1/requests/{dsr.reference}/approve/", json={}, headers=staff
        ).status_code
        == 200
    )
    wait(
        lambda: (
            Export.objects.filter(request=dsr).count() == 3
            and not Export.objects.filter(request=dsr).exclude(status=ExportStatus.READY).exists()
        ),
        "exports",
    )
    built = time.perf_counter()
    assert (
        httpx.post(
            f"{url}/api/v1/requests/{dsr.reference}/release/", json={}, headers=staff
        ).status_code
        == 200
    )
    wait(
        lambda: any(
            dsr.reference in p.read_text(errors="ignore")
            and "/downloads/" in p.read_text(errors="ignore")
            for p in mail.glob("*.eml")
        ),
        "the download email",
    )
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "gathering": gathered - started,
        "exports": built - gathered,
        "email": done - built,
    }


def run(label: str, database: str, broker: str, cache: str, workers: int) -> dict[str, Any]:
    env = environment(database, broker, cache)
    env.update(
        {
            "DSAR_DATA_MAP": str(ROOT / "demo" / "data-map.yaml"),
            "VAR_DIR": str(VAR),
            "EMAIL_HOST": "",  # demo mode: emails go to the outbox folder, where we watch for them
            "BENCH_PORT": str(free_port()),
        }
    )
    partners_port = free_port()
    env["DSAR_STORE_MARKETING_URL"] = f"http://127.0.0.1:{partners_port}/marketing"
    env["DSAR_STORE_SUPPORT_URL"] = f"http://127.0.0.1:{partners_port}/support"
    from bench.intake import prepare

    shutil.rmtree(VAR / "mail", ignore_errors=True)
    shutil.rmtree(VAR / "files", ignore_errors=True)
    prepare(env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "smarct_dsar.settings"
    import django

    django.setup()
    from django import db
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from demo.partners import serve

    db.connections.close_all()
    sandbox = serve(VAR / "demo" / "partners.json", port=partners_port)
    tokens = []
    for username, roles in (("bench-reviewer", ["reviewer"]), ("bench-approver", ["approver"])):
        user, _ = User.objects.get_or_create(username=username)
        user.groups.set([Group.objects.get_or_create(name=n)[0] for n in ("reviewer", *roles)])
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    token = (tokens[0], tokens[1])
    started = start(env, workers)
    try:
        url = f"http://127.0.0.1:{env['BENCH_PORT']}"
        one_subject("warm.up@example.net", url, token, VAR / "mail")  # workers warm, not timed
        rows = {email: one_subject(email, url, token, VAR / "mail") for email in SUBJECTS}
    finally:
        processes.stop(started)
        sandbox.shutdown()
        db.connections.close_all()
    return {"setup": label, "workers": workers, "subjects": rows}


def main() -> None:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    from demo import estate

    estate.build(VAR)
    setups = [("SQLite, file broker", f"sqlite:///{VAR / 'db.sqlite3'}", "filesystem://", "", 1)]
    if postgres_and_redis():
        for workers in (1, 2):
            setups.append(("PostgreSQL + Redis", POSTGRES, f"{REDIS}/2", f"{REDIS}/3", workers))
    results = []
    print("End-to-end benchmark: seconds from verification to the download email (access request)")
    print(
        "  staff steps taken the moment they are possible; baseline = nobody@example.com (no data)"
    )
    print(
        f"{'setup':<22}{'workers':>8}  {'subject':<28}{'total s':>8}{'gather':>8}{'exports':>8}{'email':>7}"
    )
    for label, database, broker, cache, workers in setups:
        # one process per setup: Django reads its settings (the database) once per process
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                json.dumps([label, database, broker, cache, workers]),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"{label} with {workers} worker(s) failed:\n{child.stderr[-3000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(result)
        for email, row in result["subjects"].items():
            print(
                f"{label:<22}{workers:>8}  {email:<28}{row['seconds']:>8.2f}{row['gathering']:>8.2f}"
                f"{row['exports']:>8.2f}{row['email']:>7.2f}"
            )
        # each setup resets the database and estate for the next
        estate.build(VAR)
    out = ROOT / "bench" / "results" / "end_to_end.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(run(*json.loads(sys.argv[2]))))
    else:
        main()
