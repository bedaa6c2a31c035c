"""Issue 13, finding 11: deeply nested JSON on a public endpoint is a 400, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/requests/", "/api/v1/requests/verify/"])
@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_clear_400(api: Any, path: str, depth: int) -> None:
    body = '{"name": ' + "[" * depth + "]" * depth + "}"
    response = api.generic("POST", path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_ordinary_json_is_unaffected(api: Any) -> None:
    response = api.post(
        "/api/v1/requests/",
        {"request_type": "access", "name": "Ann", "email": "ann@example.com"},
        format="json",
    )
    assert response.status_code == 202


def test_json_in_another_charset_is_refused_not_a_500(api: Any) -> None:
    body = ('["\u2241",' + "[" * 100_000 + "]" * 100_000 + "]").encode("utf-16-le")
    response = api.generic(
        "POST", "/api/v1/requests/", body, content_type="application/json; charset=utf-16-le"
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
