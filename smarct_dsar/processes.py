"""The project's processes, started one way: the web server (gunicorn, or Django's for the
demo), Celery workers and beat. ``manage.py run_demo``, the benchmarks and the integration tests
all start them from here, so what they run is what production runs (the Dockerfile's flags are
read from the Dockerfile itself: ``dockerfile_gunicorn_flags``).

Each process gets its own process group, so stopping (or, in the tests, SIGKILLing) one reaches
its pool children too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def gunicorn(
    bind: str, *, workers: int, flags: Iterable[str] = (), log_level: str = "warning"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "smarct_dsar.wsgi:application",
        *flags,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--log-level",
        log_level,
    ]


def celery_worker(
    *, concurrency: int = 1, name: str | None = None, log_level: str = "INFO"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "smarct_dsar",
        "worker",
        *(["-n", name] if name else []),
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        f"--loglevel={log_level}",
    ]


def celery_beat() -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "smarct_dsar", "beat", "--loglevel=INFO"]


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


def start(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
    text: bool = False,
) -> subprocess.Popen[Any]:
    """Start ``command`` in the project's folder, in a process group of its own."""
    return subprocess.Popen(  # noqa: S603 (the project's own commands)
        command,
        cwd=ROOT,
        env=dict(env) if env is not None else None,
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=True,
    )


def wait_until_serving(
    url: str, *, timeout: float = 60, process: subprocess.Popen[Any] | None = None
) -> None:
    """Until ``url`` answers at all (any status), or raise ``RuntimeError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url}")


def kill(process: subprocess.Popen[Any]) -> None:
    """SIGKILL the process and its children at once, as an OOM killer or a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def stop(
    processes: Iterable[subprocess.Popen[Any]], *, timeout: float = 20
) -> list[subprocess.Popen[Any]]:
    """SIGTERM each process (its own children are its to stop: a Celery worker finishes its
    tasks, gunicorn its requests), wait, then SIGKILL each whole group that is left; returns
    those killed."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    killed = []
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
            killed.append(process)
    return killed


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
