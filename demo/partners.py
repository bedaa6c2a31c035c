"""SANDBOX — a stand-in for Smarct's third-party partners, for the demo and the tests only.

Real deployments point the ``marketing`` and ``support`` stores at the partners' real APIs. This
small WSGI app imitates them closely enough to exercise the HTTP connector: bearer and basic
auth, cursor, next-link and offset pagination, and JSON shapes of their own. It serves
``var/demo/partners.json`` (written by ``demo/estate.py``) and says what it is on every answer.

    python -m demo.partners --port 8001
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

MARKETING_TOKEN = "demo-marketing-token"  # noqa: S105 (a sandbox credential, not a secret)
SUPPORT_USER, SUPPORT_PASSWORD = "dsar", "demo-support-password"
LABEL = "SANDBOX: a stand-in for a third-party partner API (Smarct DSAR demo)"

Start = Callable[[str, list[tuple[str, str]]], Any]
Handler = Callable[[dict[str, str]], tuple[int, Any]]


class PartnerSandbox:
    def __init__(self, data_path: Path) -> None:
        self.data_path = data_path
        self._data: dict[str, Any] | None = None
        # Every call that changed something, as (method, path, query, body): what tests check.
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self._lock = threading.Lock()

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self.data_path.read_text(encoding="utf-8"))
        return self._data

    def __call__(self, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        routes: dict[str, Handler] = {
            "/": self.index,
            "/marketing/v1/contacts": self.marketing_contacts,
            "/marketing/v1/events": self.marketing_events,
            "/support/api/tickets": self.support_tickets,
        }
        method = environ.get("REQUEST_METHOD", "GET")
        handler = routes.get(path.rstrip("/") or "/") if method == "GET" else None
        if method != "GET":
            body = self._json_body(environ)
            handler = self._changes(method, path.rstrip("/"), body)
        if handler is None:
            return self._reply(start, 404, {"error": "not found"})
        if (
            path.startswith("/marketing")
            and environ.get("HTTP_AUTHORIZATION") != f"Bearer {MARKETING_TOKEN}"
        ):
            return self._reply(start, 401, {"error": "invalid token"})
        if path.startswith("/support") and not self._basic_ok(
            environ.get("HTTP_AUTHORIZATION", "")
        ):
            return self._reply(start, 401, {"error": "authentication required"})
        status, body = handler(query)
        return self._reply(start, status, body)

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        return json.loads(raw) if raw else None

    def _changes(self, method: str, path: str, body: Any) -> Handler | None:
        """The write side: delete or update one record by id; delete events by email."""
        collections = {
            "/marketing/v1/contacts/": ("marketing", "contacts"),
            "/support/api/tickets/": ("support", "tickets"),
        }
        for prefix, (partner, name) in collections.items():
            if path.startswith(prefix) and method in {"DELETE", "PATCH"}:
                return partial(
                    self._change_record, method, path, partner, name, path[len(prefix) :], body
                )
        if path == "/marketing/v1/events" and method == "DELETE":
            return lambda query: self._delete_events(path, query)
        return None

    def _change_record(
        self,
        method: str,
        path: str,
        partner: str,
        name: str,
        record_id: str,
        body: Any,
        query: dict[str, str],
    ) -> tuple[int, Any]:
        with self._lock:
            items = self.data[partner][name]
            found = next((i for i in items if str(i["id"]) == record_id), None)
            if found is None:
                return 404, {"error": "no such record"}
            self.calls.append((method, path, query, body))
            if method == "DELETE":
                items.remove(found)
            else:
                found.update(body or {})
            self._save()
        return (200, found) if method == "PATCH" else (200, {"deleted": record_id})

    def _delete_events(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        email = query.get("email", "").lower()
        with self._lock:
            events = self.data["marketing"]["events"]
            kept = [e for e in events if e["email"].lower() != email]
            self.calls.append(("DELETE", path, query, None))
            self.data["marketing"]["events"] = kept
            self._save()
        return 200, {"deleted": len(events) - len(kept)}

    def _save(self) -> None:
        """Write the partners' data back, so the demo keeps what was erased across restarts."""
        temporary = self.data_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        temporary.replace(self.data_path)

    @staticmethod
    def _basic_ok(header: str) -> bool:
        expected = base64.b64encode(f"{SUPPORT_USER}:{SUPPORT_PASSWORD}".encode()).decode()
        return header == f"Basic {expected}"

    @staticmethod
    def _reply(start: Start, status: int, body: Any) -> list[bytes]:
        payload = json.dumps(body).encode()
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
        start(
            f"{status} {reason}",
            [
                ("Content-Type", "application/json"),
                ("X-Sandbox", LABEL),
                ("Content-Length", str(len(payload))),
            ],
        )
        return [payload]

    def index(self, query: dict[str, str]) -> tuple[int, Any]:
        return 200, {
            "sandbox": LABEL,
            "apis": ["/marketing/v1/contacts", "/marketing/v1/events", "/support/api/tickets"],
        }

    def _mine(self, items: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
        return [item for item in items if item["email"].lower() == email.lower()]

    def marketing_contacts(self, query: dict[str, str]) -> tuple[int, Any]:
        """Cursor pagination: {"data": [...], "meta": {"next_cursor": "…"|null}}, 1 per page."""
        return self._cursor_page(
            self._mine(self.data["marketing"]["contacts"], query.get("email", "")), query, 1
        )

    def marketing_events(self, query: dict[str, str]) -> tuple[int, Any]:
        return self._cursor_page(
            self._mine(self.data["marketing"]["events"], query.get("email", "")), query, 4
        )

    @staticmethod
    def _cursor_page(
        items: list[dict[str, Any]], query: dict[str, str], size: int
    ) -> tuple[int, Any]:
        start = int(query.get("cursor") or 0)
        page = items[start : start + size]
        following = start + size if start + size < len(items) else None
        return 200, {"data": page, "meta": {"next_cursor": str(following) if following else None}}

    def support_tickets(self, query: dict[str, str]) -> tuple[int, Any]:
        """Next-link pagination: {"results": [...], "next": "/support/api/tickets?…"|null}, 2 per page."""
        mine = self._mine(self.data["support"]["tickets"], query.get("email", ""))
        page = int(query.get("page") or 1)
        chunk = mine[(page - 1) * 2 : page * 2]
        more = page * 2 < len(mine)
        following = (
            f"/support/api/tickets?{urlencode({'email': query.get('email', ''), 'page': page + 1})}"
        )
        return 200, {"results": chunk, "next": following if more else None, "count": len(mine)}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(data_path: Path, host: str = "127.0.0.1", port: int = 8001) -> WSGIServer:
    """Start the sandbox in a background thread; returns the server (``server_port``, ``shutdown()``)."""
    server = make_server(
        host,
        port,
        PartnerSandbox(data_path),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", default="var/demo/partners.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    server = make_server(
        args.host,
        args.port,
        PartnerSandbox(Path(args.data)),
        server_class=_ThreadingServer,
        handler_class=_QuietHandler,
    )
    print(f"{LABEL}\nlistening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
