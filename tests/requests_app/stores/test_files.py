"""The files connector: CSV and JSON Lines in a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from requests_app.stores import PermanentStoreError, Subject, connector_for
from tests.requests_app.stores.conftest import gather, map_from


def test_csv_and_jsonl_are_matched_on_identity(demo_map: Any) -> None:
    found = gather(connector_for(demo_map.stores["consent"]), Subject(email="ALICE@example.com"))
    assert sorted(t for t, _ in found) == [
        "consents.jsonl",
        "cookie_preferences.csv",
        "cookie_preferences.csv",
    ]
    assert {r["email"] for _, r in found} == {"alice@example.com"}


def _store(tmp_path: Path, content: str) -> Any:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.jsonl").write_text(content)
    return connector_for(
        map_from(
            tmp_path,
            f"""version: 1
register:
  contact: {{purposes: [x], legal_basis: x, retention: x, source: x, recipients: [], transfers: x, automated_decisions: x}}
stores:
  files:
    kind: files
    organisation: Us
    connection: {{env: UNUSED_DIR, default: "{tmp_path / "data"}"}}
    files:
      people.jsonl: {{category: contact, identity: {{email: email}}}}
""",
        ).stores["files"]
    )


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    connector = _store(tmp_path, '{"email": "a@example.com"}\n{not json}\n')
    with pytest.raises(PermanentStoreError, match=r"people.jsonl:2 is not valid JSON"):
        gather(connector, Subject(email="a@example.com"))


def test_a_missing_directory_is_permanent(tmp_path: Path) -> None:
    connector = _store(tmp_path, "")
    (tmp_path / "data" / "people.jsonl").unlink()
    (tmp_path / "data").rmdir()
    with pytest.raises(PermanentStoreError, match="does not exist"):
        connector.ping()
