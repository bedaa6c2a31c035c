"""A real Celery worker, in its own process, on the same broker and test database as the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
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

from smarct_dsar import processes
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
        self.process = processes.start(
            processes.celery_worker(),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
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
        processes.kill(self.process)

    def stop(self) -> None:
        if self.process:
            processes.stop([self.process])


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


# How long a claim may go untouched before the sweeper takes it back, in the crash tests.
FAST_SWEEP = {"DSAR_SWEEP_AFTER_SECONDS": "2"}


class CrashMidStep:
    """A worker is SIGKILLed while it runs one store's step; the step stays claimed by the dead
    worker, a second worker starts, and once the claim is stale (2 seconds here) the sweeper
    hands the step to it."""

    def __init__(self, start_worker: Callable[..., Worker], wait_for: Callable[..., Any]) -> None:
        self.start_worker, self.wait_for = start_worker, wait_for
        self.first: Worker | None = None

    def start(self) -> None:
        """Start the worker to be killed (after the test has set the data map it reads)."""
        self.first = self.start_worker(**FAST_SWEEP)

    def during(
        self,
        model: Any,
        dsr: Any,
        store: str,
        *,
        release: threading.Event,
        called: Callable[[], Any] = lambda: True,
    ) -> Any:
        """Kill the worker once ``store``'s step is running and ``called()`` (the store's call
        under way); ``release`` then lets that hung call go on, answering a worker that is gone.
        Returns the step as the worker left it."""
        from requests_app import tasks
        from requests_app.models import StepStatus

        assert self.first is not None, "start() the worker first"
        running = model.objects.filter(request=dsr, store=store, status=StepStatus.RUNNING)
        step = self.wait_for(running.first, what=f"the step of {store} to be running")
        self.wait_for(called, what=f"the call to {store}")
        self.first.kill()
        release.set()
        assert model.objects.get(pk=step.pk).status == StepStatus.RUNNING  # nobody finished it
        self.start_worker(**FAST_SWEEP)
        time.sleep(settings.DSAR_SWEEP_AFTER_SECONDS + 0.5)
        tasks.sweep_lost_work()
        return step


@pytest.fixture
def crash_mid_step(
    start_worker: Callable[..., Worker], wait_for: Callable[..., Any], settings: Any
) -> CrashMidStep:
    settings.DSAR_SWEEP_AFTER_SECONDS = int(FAST_SWEEP["DSAR_SWEEP_AFTER_SECONDS"])
    return CrashMidStep(start_worker, wait_for)


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


@pytest.fixture
def web_server(transactional_db: Any) -> Iterator[Callable[..., str]]:
    """Start the real WSGI app under gunicorn on 127.0.0.1, on the test database; returns its URL."""
    started: list[subprocess.Popen[str]] = []

    def _start(workers: int = 4, shipped: bool = False, log: Path | None = None, **env: str) -> str:
        """``shipped``: with the Dockerfile's own gunicorn flags (only the address and the
        number of workers changed). ``log``: where its output goes (else nowhere)."""
        port = free_port()
        flags = processes.dockerfile_gunicorn_flags() if shipped else []
        process = processes.start(
            processes.gunicorn(f"127.0.0.1:{port}", workers=workers, flags=flags),
            env=processes.environ(
                DATABASE_URL=database_url(),
                VAR_DIR=str(settings.VAR_DIR),
                DSAR_DATA_MAP=str(settings.DSAR_DATA_MAP),
                **env,
            ),
            stdout=log.open("w") if log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_serving(f"{url}/healthz", process=process)
        return url

    yield _start
    processes.stop(started)


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
