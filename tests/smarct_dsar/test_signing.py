"""The published signing keys: what DSAR_TRUSTED_SIGNING_KEYS may say, and start-up checks it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

from smarct_dsar import signing


def test_a_retired_key_is_published_with_the_day_it_was_retired(
    settings: Any, tmp_path: Path
) -> None:
    old = tmp_path / "old.pub.pem"
    old.write_text(signing.public_key_pem())  # as if this key had been retired
    settings.DSAR_TRUSTED_SIGNING_KEYS = [f"{old}@2026-10-01", str(old)]
    current, dated, undated = signing.published_keys()
    assert current.current
    assert (dated.current, dated.retired_on) == (False, dt.date(2026, 10, 1))
    assert undated.retired_on is None
    assert dated.fingerprint.startswith(dated.key_id)
    assert len(dated.fingerprint) == 64


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("{tmp}/missing.pem", "missing.pem"),
        ("{tmp}/old.pub.pem@2026-13-01", "PATH@YYYY-MM-DD"),
        ("{tmp}/not-a-key.pem", "not-a-key.pem"),
    ],
)
def test_a_wrong_trusted_key_entry_fails_the_start_up_check_with_its_fix(
    settings: Any, tmp_path: Path, entry: str, words: str
) -> None:
    (tmp_path / "old.pub.pem").write_text(signing.public_key_pem())
    (tmp_path / "not-a-key.pem").write_text("hello")
    settings.DSAR_TRUSTED_SIGNING_KEYS = [entry.format(tmp=tmp_path)]
    errors = [e for e in run_checks(tags=["dsar"]) if e.id == "dsar.E002"]
    assert len(errors) == 1
    assert words in errors[0].msg
    assert "DSAR_TRUSTED_SIGNING_KEYS" in errors[0].msg
    settings.DSAR_TRUSTED_SIGNING_KEYS = []
    assert [e for e in run_checks(tags=["dsar"]) if e.id == "dsar.E002"] == []
