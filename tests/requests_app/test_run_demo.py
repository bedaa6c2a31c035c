"""``manage.py run_demo --addr``: the links in the demo's emails point where the demo runs (the
new user's finding: with --addr 127.0.0.1:8100 every confirm link said port 8000)."""

from __future__ import annotations

from typing import Any

from requests_app.management.commands.run_demo import child_env


def test_the_address_given_is_the_site_in_every_email(monkeypatch: Any) -> None:
    monkeypatch.delenv("SITE_URL", raising=False)
    assert child_env("127.0.0.1:8100")["SITE_URL"] == "http://127.0.0.1:8100"
    assert child_env("0.0.0.0:8000")["SITE_URL"] == "http://127.0.0.1:8000"  # reachable


def test_a_site_url_set_on_purpose_is_kept(monkeypatch: Any) -> None:
    monkeypatch.setenv("SITE_URL", "https://dsar.example.org")
    assert child_env("127.0.0.1:8100")["SITE_URL"] == "https://dsar.example.org"
