from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

PROCESSES = {
    "web": [sys.executable, "manage.py", "runserver", "--noreload"],
    "worker": [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "smarct_dsar",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "--pool=prefork",
    ],
    "beat": [sys.executable, "-m", "celery", "-A", "smarct_dsar", "beat", "--loglevel=INFO"],
    # The stand-in for the marketing and support partners' APIs (demo/partners.py).
    "partners": [sys.executable, "-m", "demo.partners", "--port", "8001"],
}


class Command(BaseCommand):
    help = "Start the web server, a Celery worker, Celery beat and the partner sandbox; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        addr = options["addr"]
        data = str(Path(settings.VAR_DIR) / "demo" / "partners.json")
        children = {
            name: subprocess.Popen(  # noqa: S603 (our own fixed commands)
                [*cmd, addr]
                if name == "web"
                else [*cmd, "--data", data]
                if name == "partners"
                else cmd,
                cwd=settings.BASE_DIR,
            )
            for name, cmd in PROCESSES.items()
        }
        site = f"http://{addr}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nSmarct DSAR is starting:\n  request form   {site}/\n"
                f"  demo outbox    {site}/demo/outbox/\n"
                f"  staff          {site}/staff/   (log in with a demo account printed above)\n"
                f"  staff API      {site}/api/v1/requests/\n"
                f"  API docs       {site}/api/docs/\n  health         {site}/healthz\n"
                "  partner APIs   http://127.0.0.1:8001/   (SANDBOX stand-ins for the third parties)\n"
                "Press Ctrl-C to stop the web server, the worker, beat and the sandbox.\n"
            )
        )
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        finally:
            self._stop_all(children)

    def _stop_all(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
                self.stderr.write(f"{name} did not stop in time; killed")
        self.stdout.write("Stopped web, worker, beat and the partner sandbox.")
