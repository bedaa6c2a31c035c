"""Intake benchmark: ``POST /api/v1/requests/`` under gunicorn on 127.0.0.1, beside the same
server answering a trivial view (the framework's ceiling on this machine).

2,000 requests from 16 concurrent clients (keep-alive), each a new person, after a warm-up; the
server runs with DEBUG off, 4 sync workers, on SQLite (and on PostgreSQL + Redis when
``PostgreSQL and Redis answer on 127.0.0.1, as on these machines; ``BENCH_POSTGRES_URL`` and
``BENCH_REDIS_URL`` point elsewhere). Prints requests
per second and p50 / p99 latency, and writes ``bench/results/intake.json``.

    make bench          # or: .venv/bin/python bench/intake.py
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from smarct_dsar import processes

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-intake"
REQUESTS, CLIENTS, WARMUP = 2000, 16, 100


POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/dsar_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def postgres_and_redis() -> bool:
    """Whether PostgreSQL and Redis answer on 127.0.0.1; creates the benchmark database."""
    if not (reachable(5432) and reachable(6379)):
        return False
    admin, name = POSTGRES.rsplit("/", 1)[0] + "/postgres", POSTGRES.rsplit("/", 1)[1]
    query = f"SELECT 1 FROM pg_database WHERE datname='{name}'"  # noqa: S608 (our own setting)
    found = subprocess.run(["psql", admin, "-tAc", query], capture_output=True, text=True)
    if not found.stdout.strip():
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(database: str, broker: str, cache: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    env = {
        **os.environ,
        "DEBUG": "false",
        "DSAR_DEMO": "true",  # mounts /demo/ping, the trivial view
        "VAR_DIR": str(VAR),
        "SECRET_KEY": "bench-" + "x" * 50,
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": broker,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "DSAR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DSAR_SIGNING_KEY": key.decode(),
        "EMAIL_HOST": "127.0.0.1",
        "DSAR_DATA_MAP": str(ROOT / "tests" / "data" / "no-stores.yaml"),
        "DSAR_RATE_LIMIT_PER_IP": "1000000",  # one load generator is not abuse
        "DSAR_RATE_LIMIT_PER_EMAIL": "1000000",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    if cache:
        env["CACHE_URL"] = cache
    return env


def prepare(env: dict[str, str]) -> None:
    if env["DATABASE_URL"].startswith("sqlite"):
        Path(env["DATABASE_URL"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        reset = (
            "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
        )
        subprocess.run(["psql", env["DATABASE_URL"], "-qc", reset], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    url = f"http://127.0.0.1:{free_port()}"
    process = processes.start(processes.gunicorn(url.removeprefix("http://"), workers=4), env=env)
    processes.wait_until_serving(f"{url}/demo/ping", timeout=30, process=process)
    return process, url


def load(url: str, path: str, body: Any, count: int) -> dict[str, float]:
    """``count`` calls from CLIENTS threads, each with its own keep-alive connection."""
    latencies: list[float] = []
    lock, counter = threading.Lock(), iter(range(count))
    local = threading.local()

    def one(_: int) -> None:
        client = getattr(local, "client", None) or httpx.Client(base_url=url, timeout=60)
        local.client = client
        with lock:
            n = next(counter)
        payload = body(n) if callable(body) else None
        started = time.perf_counter()
        response = client.post(path, json=payload) if payload else client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code >= 400:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        with lock:
            latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": count,
        "rps": count / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def person(prefix: str) -> Any:
    return lambda n: {
        "request_type": "access",
        "name": "Bench Person",
        "email": f"{prefix}{n}@example.net",
    }


def run(label: str, database: str, broker: str, cache: str) -> dict[str, Any]:
    env = environment(database, broker, cache)
    prepare(env)
    process, url = serve(env)
    try:
        load(url, "/demo/ping", None, WARMUP)
        load(url, "/api/v1/requests/", person("warm"), WARMUP)
        ceiling = load(url, "/demo/ping", None, REQUESTS)
        intake = load(url, "/api/v1/requests/", person("p"), REQUESTS)
    finally:
        processes.stop([process], timeout=30)
    return {"setup": label, "intake": intake, "baseline": ceiling}


def main() -> None:
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    setups = [("SQLite, file broker", f"sqlite:///{VAR / 'db.sqlite3'}", "filesystem://", "")]
    if postgres_and_redis():
        setups.append(("PostgreSQL + Redis", POSTGRES, f"{REDIS}/2", f"{REDIS}/3"))
    print(
        f"Intake benchmark: {REQUESTS:,} requests from {CLIENTS} clients, gunicorn with 4 workers"
    )
    print(
        "  intake   = POST /api/v1/requests/ (validate, rate-limit, store, audit, queue an email)"
    )
    print("  baseline = GET /demo/ping on the same server: the framework's ceiling here")
    print(f"{'setup':<22}{'':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    results = []
    for label, database, broker, cache in setups:
        result = run(label, database, broker, cache)
        results.append(result)
        for name in ("intake", "baseline"):
            r = result[name]
            print(f"{label:<22}{name:>10}{r['rps']:>9,.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}")
    out = ROOT / "bench" / "results" / "intake.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
