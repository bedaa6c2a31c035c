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

from smarct_dsar import processes


def _commands(addr: str) -> dict[str, list[str]]:
    data = str(Path(settings.VAR_DIR) / "demo" / "partners.json")
    return {
        "web": [sys.executable, "manage.py", "runserver", "--noreload", addr],
        "worker": processes.celery_worker(concurrency=2),
        "beat": processes.celery_beat(),
        # The stand-in for the marketing and support partners' APIs (demo/partners.py).
        "partners": [sys.executable, "-m", "demo.partners", "--port", "8001", "--data", data],
    }


def child_env(addr: str) -> dict[str, str]:
    """The environment of the web server and the worker: the site is where the demo runs, so
    the links in its emails work (unless ``SITE_URL`` was set on purpose)."""
    env = dict(os.environ)
    if not env.get("SITE_URL"):
        host, _, port = addr.rpartition(":")
        host = "127.0.0.1" if host in ("", "0.0.0.0", "[::]") else host  # noqa: S104 (a reply)
        env["SITE_URL"] = f"http://{host}:{port or '8000'}"
    return env


class Command(BaseCommand):
    help = "Start the web server, a Celery worker, Celery beat and the partner sandbox; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        addr = options["addr"]
        env = child_env(addr)
        children = {name: processes.start(cmd, env=env) for name, cmd in _commands(addr).items()}
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
        for child in processes.stop(children.values(), timeout=15):
            name = next(name for name, running in children.items() if running is child)
            self.stderr.write(f"{name} did not stop in time; killed")
        self.stdout.write("Stopped web, worker, beat and the partner sandbox.")
