"""The Welsh catalogue: every message translated and checked off (none fuzzy), and the compiled
catalogue the app loads (committed: a fresh machine need not have GNU gettext) the same as the
one people edit."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_the_languages_are_english_and_welsh() -> None:
    assert [code for code, _ in settings.LANGUAGES] == ["en-gb", "cy"]
    assert settings.LOCALE_PATHS == [LOCALE]


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    catalogue = polib.pofile(str(LOCALE / "cy" / "LC_MESSAGES" / "django.po"))
    assert len(catalogue) > 100
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
    for entry in catalogue.translated_entries():
        if entry.msgid_plural:
            assert all(entry.msgstr_plural.values()), entry.msgid


def test_the_header_says_who_checked_the_welsh() -> None:
    catalogue = polib.pofile(str(LOCALE / "cy" / "LC_MESSAGES" / "django.po"))
    assert catalogue.metadata["Language"] == "cy"
    assert "not yet checked by a fluent Welsh speaker" in catalogue.header
    assert "nplurals=" in catalogue.metadata["Plural-Forms"]


def test_the_compiled_catalogue_matches_the_source() -> None:
    """Run ``make messages`` (compilemessages) after editing the .po file."""
    source = polib.pofile(str(LOCALE / "cy" / "LC_MESSAGES" / "django.po"))
    compiled = polib.mofile(str(LOCALE / "cy" / "LC_MESSAGES" / "django.mo"))

    def entries(catalogue: polib._BaseFile) -> dict[tuple[str, str], object]:
        return {
            (e.msgctxt or "", e.msgid): e.msgstr_plural or e.msgstr
            for e in catalogue
            if not e.obsolete and "fuzzy" not in e.flags and (e.msgstr or e.msgstr_plural)
        }

    po, mo = entries(source), entries(compiled)
    assert po.keys() == mo.keys()
    assert {key: str(value) for key, value in po.items()} == {
        key: str(value) for key, value in mo.items()
    }
