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

from requests_app.datamap.spec import HttpCall, StoreSpec, TableSpec
from requests_app.stores.anonymise import anonymise
from requests_app.stores.base import (
    Batch,
    Connector,
    Outcome,
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


class _Quoted(dict[str, Any]):
    """Template values for a URL path: each one percent-encoded; a missing one fails clearly."""

    def __missing__(self, key: str) -> str:
        raise PermanentStoreError(f"the call's path needs {{{key}}}, which the record lacks")

    def __getitem__(self, key: str) -> str:
        return quote(str(super().__getitem__(key)), safe="@")


def _fill(template: Any, values: dict[str, Any]) -> Any:
    """A body template with ``"{name}"`` strings replaced by the value itself (its JSON type kept)."""
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return values.get(template[1:-1], template)
    return template


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

    def find(self, subject: Subject, only: frozenset[str] | None = None) -> Iterator[Batch]:
        with self.client() as client:
            for name, table in self.store.tables.items():
                if only is not None and name not in only:
                    continue
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

    def _mine(
        self, client: httpx.Client, table: TableSpec, subject: Subject
    ) -> list[dict[str, Any]]:
        """All the person's records of one resource, fetched before anything changes them (a
        deletion in the middle of a paginated listing would make it skip records)."""
        return [
            r
            for page in self._pages(client, table, subject)
            for r in page
            if isinstance(r, dict) and self._is_theirs(table, r, subject)
        ]

    def erase(self, subject: Subject) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        with self.client() as client:
            for name, table in self.store.tables.items():
                records = self._mine(client, table, subject)
                action = table.erase.action
                if action == "delete":
                    assert table.delete_call is not None  # the loader insists
                    self._call_each(client, table.delete_call, records, subject, None)
                    outcomes[name] = Outcome(deleted=len(records))
                    continue
                changed = 0
                for record in records:
                    columns = self.anonymised_columns(name, record)
                    if columns and table.update_call is not None:
                        values = {c: anonymise(spec, record[c]) for c, spec in columns.items()}
                        self._call_each(client, table.update_call, [record], subject, values)
                        changed += 1
                outcomes[name] = (
                    Outcome(anonymised=changed)
                    if action == "anonymise"
                    else Outcome(retained=len(records), anonymised=changed)
                )
        return outcomes

    def update(self, subject: Subject, table: str, values: dict[str, Any]) -> int:
        spec = self.store.tables[table]
        if spec.update_call is None:
            raise PermanentStoreError(
                f"store '{self.store.name}': '{table}' has no 'update' call in the data map"
            )
        with self.client() as client:
            records = self._mine(client, spec, subject)
            self._call_each(client, spec.update_call, records, subject, values)
        return len(records)

    def _call_each(
        self,
        client: httpx.Client,
        call: HttpCall,
        records: list[dict[str, Any]],
        subject: Subject,
        values: dict[str, Any] | None,
    ) -> None:
        """Make ``call`` once per record (or once for the person, if found anywhere). A 404 on a
        delete means it is already gone: a re-run after a crash is harmless."""
        keys = {k: subject.key(k) or "" for k in ("email", "phone", "reference")}
        targets = records if call.per == "record" else ([{}] if records else [])
        for record in targets:
            fields = {**keys, **{k: v for k, v in record.items() if not isinstance(v, dict | list)}}
            path = call.path.format_map(_Quoted(fields))
            body: Any = (
                _fill(call.body, {**fields, **(values or {})}) if call.body is not None else values
            )
            self._request(
                client, call.method, path, {}, body, allow_not_found=call.method == "DELETE"
            )

    def _get(
        self, client: httpx.Client, url: str, params: dict[str, str], *, allow_not_found: bool
    ) -> Any:
        return self._request(client, "GET", url, params, None, allow_not_found=allow_not_found)

    def _request(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        params: dict[str, str],
        body: Any,
        *,
        allow_not_found: bool,
    ) -> Any:
        for attempt in range(self.store.max_retries + 1):
            last = attempt == self.store.max_retries
            try:
                # None, not {}: httpx replaces a URL's own query string with an empty params dict,
                # which would drop the page number from a next link.
                response = client.request(method, url, params=params or None, json=body)
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
        if response.status_code == 204 or not response.content:
            return {}
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

    def _is_theirs(self, table: TableSpec, record: dict[str, Any], subject: Subject) -> bool:
        """A record is the person's only when an identity field is present and names them: a
        partner that ignores our filter, or answers with records lacking the field, must not hand
        us (or have us delete) other people's data. Fail closed, visibly."""
        checked = False
        for field, key in table.identity.items():
            expected = subject.key(key)
            if expected is None:
                continue
            if field not in record:
                continue
            checked = True
            value = str(record[field] or "")
            if (value.lower() == expected.lower()) if key == "email" else (value == expected):
                return True
        if not checked:
            raise PermanentStoreError(
                f"store '{self.store.name}': {table.name}: a record came back without its identity "
                f"field ({', '.join(table.identity)}), so it cannot be told to be the person's; "
                "nothing from this store is used. Fix: have the partner include the field, or "
                "correct 'identity' in the data map"
            )
        return False
