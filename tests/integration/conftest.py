"""A real Celery worker, in its own process, on the same broker and test database as the tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_binary_file, policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from smarct_dsar.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """A URL for the test database the tests are using, for the worker to use too."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_broker() -> None:
    if settings.CELERY_BROKER_URL == "filesystem://":
        queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        shutil.rmtree(queue, ignore_errors=True)
        queue.mkdir(parents=True)
    else:
        celery_app.control.purge()


class Worker:
    def __init__(self, **env: str) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "VAR_DIR": str(settings.VAR_DIR),
            "DSAR_DATA_MAP": str(settings.DSAR_DATA_MAP),
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smarct_dsar",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so kill() reaches the pool children
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("worker did not start:\n" + "".join(self.lines[-40:]))

    def _read(self) -> None:
        assert self.process
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as an OOM killer or a crash would."""
        assert self.process
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def start_worker(transactional_db: Any) -> Iterator[Callable[..., Worker]]:
    """Start real workers (with extra environment); all are stopped at the end."""
    celery_app.conf.task_always_eager = False
    _purge_broker()
    workers: list[Worker] = []

    def _start(**env: str) -> Worker:
        worker = Worker(**env)
        workers.append(worker)
        worker.start()
        return worker

    yield _start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker: Callable[..., Worker]) -> Worker:
    return start_worker()


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    def _wait(check: Callable[[], Any], timeout: float = 45, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    return _wait


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dockerfile_gunicorn_flags() -> list[str]:
    """The flags the Dockerfile's CMD gives gunicorn, less ``--bind`` and ``--workers``."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (line,) = [row for row in text.splitlines() if row.startswith("CMD ")]
    command = json.loads(line.removeprefix("CMD "))
    assert command[:2] == ["gunicorn", "smarct_dsar.wsgi:application"], command
    flags, tokens = [], iter(command[2:])
    for token in tokens:
        if token in {"--bind", "--workers"}:
            next(tokens)  # and its value
        else:
            flags.append(token)
    return flags


@pytest.fixture
def web_server(transactional_db: Any) -> Iterator[Callable[..., str]]:
    """Start the real WSGI app under gunicorn on 127.0.0.1, on the test database; returns its URL."""
    processes: list[subprocess.Popen[str]] = []

    def _start(workers: int = 4, shipped: bool = False, log: Path | None = None, **env: str) -> str:
        """``shipped``: with the Dockerfile's own gunicorn flags (only the address and the
        number of workers changed). ``log``: where its output goes (else nowhere)."""
        import httpx

        port = free_port()
        flags = dockerfile_gunicorn_flags() if shipped else []
        flags += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "smarct_dsar.wsgi:application",
                *flags,
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "VAR_DIR": str(settings.VAR_DIR),
                "DSAR_DATA_MAP": str(settings.DSAR_DATA_MAP),
                **env,
            },
            stdout=log.open("w") if log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code in {200, 503}:
                    return url
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(
            "gunicorn did not start: " + (process.stderr.read() if process.stderr else "")
        )

    yield _start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def delivered(reference: str) -> Counter[str]:
    """Emails the outbox backend actually delivered for a request, by subject."""
    found: Counter[str] = Counter()
    for path in Path(settings.VAR_DIR, "mail").glob("*.eml"):
        with path.open("rb") as handle:
            subject = str(message_from_binary_file(handle, policy=policy.default)["Subject"])
        if reference in subject:
            found[subject] += 1
    return found


@pytest.fixture
def outbox(settings: Any) -> Path:
    settings.EMAIL_BACKEND = "smarct_dsar.mail.OutboxBackend"
    folder = Path(settings.VAR_DIR, "mail")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
