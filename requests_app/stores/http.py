"""Third-party HTTP APIs through httpx.

Each resource says where to look (``find.path`` and ``params``, templated with the subject's
keys: ``{email}``), where the records are in the response (a dotted path), and how pages go on
(``offset``, ``cursor`` or ``next_link``). Retries are bounded, with exponential backoff, and
honour ``Retry-After`` on 429 and 503. Records whose identity field names someone else are dropped:
a partner's fuzzy search must not put another person's data in this person's response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from requests_app.datamap.spec import StoreSpec, TableSpec
from requests_app.stores.base import (
    Batch,
    Connector,
    PermanentStoreError,
    Subject,
    TransientStoreError,
    register,
)

MAX_PAGES = 10_000
MAX_RETRY_AFTER_SECONDS = 30.0
RETRYABLE = {429, 500, 502, 503, 504}


def dotted(body: Any, path: str) -> Any:
    """``meta.next`` → body["meta"]["next"]; "" → the body itself; missing → None."""
    value = body
    for part in filter(None, path.split(".")):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@register("http")
class HttpConnector(Connector):
    def __init__(self, store: StoreSpec) -> None:
        super().__init__(store)
        self.sleep = time.sleep  # the clock is the edge tests may replace

    def client(self) -> httpx.Client:
        base = self.setting(self.store.connection, "the API base URL")
        return httpx.Client(
            base_url=base.rstrip("/"),
            timeout=self.store.timeout_seconds,
            auth=self._basic_auth(),
            headers=self._headers(),
            follow_redirects=False,
        )

    def _headers(self) -> dict[str, str]:
        auth = self.store.auth
        headers = {"Accept": "application/json", "User-Agent": "smarct-dsar"}
        if auth.type == "bearer":
            headers["Authorization"] = f"Bearer {self.setting(auth.token, 'the API token')}"
        elif auth.type == "header" and auth.header:
            headers[auth.header] = self.setting(auth.token, "the API key")
        return headers

    def _basic_auth(self) -> httpx.BasicAuth | None:
        auth = self.store.auth
        if auth.type != "basic":
            return None
        return httpx.BasicAuth(
            self.setting(auth.username, "the API user"),
            self.setting(auth.password, "the API password"),
        )

    def ping(self) -> None:
        with self.client() as client:
            self._get(client, "/", {}, allow_not_found=True)

    def find(self, subject: Subject) -> Iterator[Batch]:
        with self.client() as client:
            for name, table in self.store.tables.items():
                for page in self._pages(client, table, subject):
                    mine = [
                        r
                        for r in page
                        if isinstance(r, dict) and self._is_theirs(table, r, subject)
                    ]
                    if mine:
                        yield Batch(name, None, mine)

    def _pages(
        self, client: httpx.Client, table: TableSpec, subject: Subject
    ) -> Iterator[list[Any]]:
        find = table.find
        assert find is not None
        page = find.pagination
        values = {
            k: quote(str(subject.key(k) or ""), safe="@") for k in ("email", "phone", "reference")
        }
        url: str | None = find.path.format(**values)
        params = {
            key: template.format(**{k: subject.key(k) or "" for k in values})
            for key, template in find.params.items()
        }
        offset, seen = 0, set()
        for number in range(MAX_PAGES):
            if page.type == "offset":
                params[page.param or "offset"] = str(offset)
                params[page.limit_param or "limit"] = str(page.page_size)
            # 404 on the first page means "no such person here"; later, it means a broken
            # pagination, which must fail loudly rather than silently truncate the data.
            body = self._get(client, url or "", params, allow_not_found=number == 0)
            if body is None:
                return
            records = dotted(body, find.records)
            if not isinstance(records, list):
                raise PermanentStoreError(
                    f"'{find.records}' in the response of {find.path} is not a list"
                )
            yield records
            next_value = dotted(body, page.next or "") if page.next else None
            if page.type == "offset":
                if len(records) < page.page_size:
                    return
                offset += len(records)
            elif page.type in {"cursor", "next_link"}:
                if not next_value or next_value in seen:
                    return
                seen.add(next_value)
                if page.type == "cursor":
                    params[page.param or "cursor"] = str(next_value)
                else:
                    url, params = self._same_origin(client, str(next_value)), {}
            else:
                return
        raise PermanentStoreError(
            f"{find.path}: more than {MAX_PAGES} pages; is pagination configured right?"
        )

    def _get(
        self, client: httpx.Client, url: str, params: dict[str, str], *, allow_not_found: bool
    ) -> Any:
        for attempt in range(self.store.max_retries + 1):
            last = attempt == self.store.max_retries
            try:
                # None, not {}: httpx replaces a URL's own query string with an empty params dict,
                # which would drop the page number from a next link.
                response = client.get(url, params=params or None)
            except httpx.TimeoutException as exc:
                if last:
                    raise TransientStoreError(f"store '{self.store.name}' timed out") from exc
                self.sleep(self._backoff(attempt))
                continue
            except httpx.TransportError as exc:
                if last:
                    raise TransientStoreError(
                        f"store '{self.store.name}' is unreachable ({type(exc).__name__})"
                    ) from exc
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code in RETRYABLE:
                wait = self._retry_after(response) or self._backoff(attempt)
                if last or wait > MAX_RETRY_AFTER_SECONDS:
                    raise TransientStoreError(
                        f"store '{self.store.name}' answered {response.status_code}"
                    )
                self.sleep(wait)
                continue
            return self._body(response, allow_not_found)
        raise TransientStoreError(f"store '{self.store.name}' did not answer")  # pragma: no cover

    def _body(self, response: httpx.Response, allow_not_found: bool) -> Any:
        if response.status_code == 404 and allow_not_found:
            return None
        if response.status_code in {401, 403}:
            raise PermanentStoreError(
                f"store '{self.store.name}' refused our credentials ({response.status_code})"
            )
        if response.status_code >= 400:
            raise PermanentStoreError(
                f"store '{self.store.name}' answered {response.status_code} for {response.url.path}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentStoreError(
                f"store '{self.store.name}' answered with something that is not JSON"
            ) from exc

    def _same_origin(self, client: httpx.Client, link: str) -> str:
        """Resolve a next link (absolute, root-relative or relative, RFC 3986) against the base URL,
        refusing one that leaves the partner's host: our credentials go with every request."""
        base = str(client.base_url).rstrip("/") + "/"
        absolute = urljoin(base, link)
        if urlsplit(absolute)[:2] != urlsplit(base)[:2]:
            raise PermanentStoreError(
                f"store '{self.store.name}': a next link points to another host"
            )
        return absolute

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        header = response.headers.get("Retry-After")
        if header is None:
            return None
        try:
            return max(0.0, float(header))
        except ValueError:
            return None  # an HTTP date: fall back to our own backoff

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(8.0, 0.5 * 2**attempt))

    @staticmethod
    def _is_theirs(table: TableSpec, record: dict[str, Any], subject: Subject) -> bool:
        for field, key in table.identity.items():
            expected = subject.key(key)
            if expected is not None and field in record:
                value = str(record[field] or "")
                return value.lower() == expected.lower() if key == "email" else value == expected
        return True
