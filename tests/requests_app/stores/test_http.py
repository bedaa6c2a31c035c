"""The HTTP connector against real HTTP servers on 127.0.0.1: the partner sandbox, and
pytest-httpserver for faults. Only the clock (the connector's sleep between retries) is replaced."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from requests_app.stores import PermanentStoreError, Subject, TransientStoreError, connector_for
from tests.requests_app.stores.conftest import closed_port, gather, map_from

ALICE = Subject(email="alice@example.com")


def test_cursor_pagination_and_bearer_auth_against_the_sandbox(demo_map: Any) -> None:
    found = gather(connector_for(demo_map.stores["marketing"]), ALICE)
    assert [t for t, _ in found].count("contacts") == 1
    assert [t for t, _ in found].count("events") == 6  # 4 + 2 over two pages
    assert {r["email"] for _, r in found} == {"alice@example.com"}


def test_next_link_pagination_and_basic_auth_against_the_sandbox(demo_map: Any) -> None:
    found = gather(connector_for(demo_map.stores["support"]), Subject(email="bob@example.com"))
    assert len(found) == 3  # two on the first page, one on the second (a root-relative link)
    assert all(
        "My colleague" in r["messages"][0]["body"] for _, r in found
    )  # other people: redactable


def test_wrong_credentials_are_permanent(demo_map: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DSAR_STORE_MARKETING_TOKEN", "stolen-token")
    with pytest.raises(PermanentStoreError, match="refused our credentials"):
        gather(connector_for(demo_map.stores["marketing"]), ALICE)


def store_for(
    tmp_path: Path,
    server: HTTPServer,
    pagination: str = "{type: none}",
    retries: int = 3,
    timeout: float = 5,
) -> Any:
    text = f"""version: 1
register:
  marketing: {{purposes: [x], legal_basis: consent, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
stores:
  partner:
    kind: http
    organisation: Partner Ltd
    connection: {{env: UNUSED_PARTNER_URL, default: "{server.url_for("/api")}"}}
    auth: {{type: header, header: X-Api-Key, token: {{env: UNUSED_PARTNER_KEY, default: k-123}}}}
    timeout_seconds: {timeout}
    max_retries: {retries}
    resources:
      contacts:
        category: marketing
        identity: {{email: email}}
        find: {{path: /contacts, params: {{q: "{{email}}"}}, records: items, pagination: {pagination}}}
        delete: {{method: DELETE, path: "/contacts/{{id}}"}}
        update: {{method: PATCH, path: "/contacts/{{id}}"}}
        fields:
          name: {{rectifiable: true}}
"""
    connector = connector_for(map_from(tmp_path, text).stores["partner"])
    connector.sleeps = []  # type: ignore[attr-defined]
    connector.sleep = connector.sleeps.append  # type: ignore[attr-defined]
    return connector


def ok(items: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"items": items, **extra})


def test_a_500_is_retried_then_succeeds(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/api/contacts").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(
        "/api/contacts", headers={"X-Api-Key": "k-123"}, query_string={"q": "alice@example.com"}
    ).respond_with_data(
        ok([{"email": "alice@example.com", "id": 1}]), content_type="application/json"
    )
    connector = store_for(tmp_path, httpserver)
    assert len(gather(connector, ALICE)) == 1
    assert connector.sleeps == [0.5]


def test_429_retry_after_is_honoured(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/api/contacts").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request("/api/contacts").respond_with_data(
        ok([]), content_type="application/json"
    )
    connector = store_for(tmp_path, httpserver)
    assert gather(connector, ALICE) == []
    assert connector.sleeps == [2.0]


def test_a_long_retry_after_is_left_to_the_task_backoff(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )
    connector = store_for(tmp_path, httpserver)
    with pytest.raises(TransientStoreError, match="429"):
        gather(connector, ALICE)
    assert connector.sleeps == []


def test_a_store_that_keeps_failing_gives_up_after_the_bounded_retries(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data("down", status=503)
    connector = store_for(tmp_path, httpserver, retries=2)
    with pytest.raises(TransientStoreError, match="503"):
        gather(connector, ALICE)
    assert len(httpserver.log) == 3
    assert connector.sleeps == [0.5, 1.0]


def test_a_timeout_is_transient(tmp_path: Path, httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(ok([]), content_type="application/json")

    httpserver.expect_request("/api/contacts").respond_with_handler(slow)
    with pytest.raises(TransientStoreError, match="timed out"):
        gather(store_for(tmp_path, httpserver, retries=0, timeout=0.2), ALICE)


def test_an_unreachable_partner_is_transient(tmp_path: Path, httpserver: HTTPServer) -> None:
    connector = store_for(tmp_path, httpserver, retries=1)
    connector.store = type(connector.store)(
        **{
            **connector.store.__dict__,
            "connection": type(connector.store.connection)(
                env="UNUSED_PARTNER_URL", default=f"http://127.0.0.1:{closed_port()}/api"
            ),
        }
    )
    with pytest.raises(TransientStoreError, match="unreachable"):
        gather(connector, ALICE)


def test_offset_pagination(tmp_path: Path, httpserver: HTTPServer) -> None:
    records = [{"email": "alice@example.com", "id": i} for i in range(5)]
    for offset in (0, 2, 4):
        httpserver.expect_request(
            "/api/contacts",
            query_string={"q": "alice@example.com", "offset": str(offset), "limit": "2"},
        ).respond_with_data(ok(records[offset : offset + 2]), content_type="application/json")
    found = gather(
        store_for(
            tmp_path, httpserver, "{type: offset, param: offset, limit_param: limit, page_size: 2}"
        ),
        ALICE,
    )
    assert [r["id"] for _, r in found] == [0, 1, 2, 3, 4]


def test_a_next_link_to_another_host_is_refused(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok([{"email": "alice@example.com"}], next="http://evil.example/steal"),
        content_type="application/json",
    )
    with pytest.raises(PermanentStoreError, match="another host"):
        gather(store_for(tmp_path, httpserver, "{type: next_link, next: next}"), ALICE)


def test_a_404_in_the_middle_of_pagination_fails_loudly(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/api/contacts", query_string={"q": "alice@example.com"}
    ).respond_with_data(
        ok([{"email": "alice@example.com"}], next="/api/contacts?page=2"),
        content_type="application/json",
    )
    httpserver.expect_request("/api/contacts", query_string={"page": "2"}).respond_with_data(
        "gone", status=404
    )
    with pytest.raises(PermanentStoreError, match="404"):
        gather(store_for(tmp_path, httpserver, "{type: next_link, next: next}"), ALICE)


def test_a_404_on_the_first_page_means_no_records(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data("no such contact", status=404)
    assert gather(store_for(tmp_path, httpserver), ALICE) == []


def test_another_persons_record_from_a_fuzzy_search_is_dropped(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok(
            [{"email": "Alice@Example.com", "id": 1}, {"email": "alice.smith@example.com", "id": 2}]
        ),
        content_type="application/json",
    )
    assert [r["id"] for _, r in gather(store_for(tmp_path, httpserver), ALICE)] == [1]


def test_an_answer_that_is_not_json_is_permanent(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        "<html>login</html>", content_type="text/html"
    )
    with pytest.raises(PermanentStoreError, match="not JSON"):
        gather(store_for(tmp_path, httpserver), ALICE)


def test_a_cursor_that_repeats_does_not_loop_forever(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok([{"email": "alice@example.com"}], meta={"next": "same"}), content_type="application/json"
    )
    found = gather(
        store_for(tmp_path, httpserver, "{type: cursor, param: cursor, next: meta.next}"), ALICE
    )
    assert len(found) == 2  # the first page, then the page at "same"; its repeat ends it
    assert len(httpserver.log) == 2  # asked twice, then the repeated cursor ended the loop


def test_erasure_deletes_each_record_and_a_404_means_already_gone(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    records = [{"email": "alice@example.com", "id": 1}, {"email": "alice@example.com", "id": 2}]
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok(records), content_type="application/json"
    )
    httpserver.expect_oneshot_request("/api/contacts/1", method="DELETE").respond_with_data(
        "", status=204
    )
    httpserver.expect_oneshot_request("/api/contacts/2", method="DELETE").respond_with_data(
        "gone", status=404
    )
    outcome = store_for(tmp_path, httpserver).erase(ALICE)
    assert outcome["contacts"].deleted == 2
    httpserver.check_assertions()


def test_a_delete_answered_500_is_retried(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok([{"email": "alice@example.com", "id": 7}]), content_type="application/json"
    )
    httpserver.expect_oneshot_request("/api/contacts/7", method="DELETE").respond_with_data(
        "oops", status=500
    )
    httpserver.expect_oneshot_request("/api/contacts/7", method="DELETE").respond_with_data(
        "{}", status=200, content_type="application/json"
    )
    connector = store_for(tmp_path, httpserver)
    assert connector.erase(ALICE)["contacts"].deleted == 1
    assert connector.sleeps == [0.5]


def test_a_correction_is_sent_to_each_record(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/contacts").respond_with_data(
        ok([{"email": "alice@example.com", "id": "c-1"}]), content_type="application/json"
    )
    httpserver.expect_request(
        "/api/contacts/c-1", method="PATCH", json={"name": "Alice Archer-Smith"}
    ).respond_with_data("{}", content_type="application/json")
    changed = store_for(tmp_path, httpserver).update(
        ALICE, "contacts", {"name": "Alice Archer-Smith"}
    )
    assert changed == 1
    httpserver.check_assertions()


def test_records_without_the_identity_field_fail_closed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    # A partner that ignores our filter and answers with records lacking the identity field:
    # keeping them would gather (and on erasure delete) other people's data.
    people = [{"id": i, "name": f"Person {i}"} for i in range(5)]
    httpserver.expect_request("/api/contacts").respond_with_data(ok(people))
    connector = store_for(tmp_path, httpserver)
    with pytest.raises(PermanentStoreError, match="without its identity field"):
        gather(connector, ALICE)
    with pytest.raises(PermanentStoreError, match="without its identity field"):
        connector.erase(ALICE)
    deletes = [r for r, _ in httpserver.log if r.method == "DELETE"]
    assert deletes == []


def test_records_naming_someone_else_are_dropped(tmp_path: Path, httpserver: HTTPServer) -> None:
    records = [
        {"id": 1, "email": "ALICE@example.com"},
        {"id": 2, "email": "mallory@example.com"},
        {"id": 3, "email": None},
    ]
    httpserver.expect_request("/api/contacts").respond_with_data(ok(records))
    found = gather(store_for(tmp_path, httpserver), ALICE)
    assert [r["id"] for _, r in found] == [1]
