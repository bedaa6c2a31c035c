"""WeasyPrint's font configuration is made once per process (and thread) and reused by every
document, as a warm worker's."""

from __future__ import annotations

import io
import threading

import pypdf

from exports_app.renderers.pdf import font_config, pdf_bytes


def _text(html: str) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf_bytes(html))).pages[0].extract_text()


def test_documents_share_the_process_fonts_and_each_reads_as_its_own() -> None:
    shared = font_config()
    first = _text('<html lang="en"><title>A</title><body><h1>First letter</h1></body></html>')
    second = _text('<html lang="cy"><title>B</title><body><p>Ail lythyr: ŵ ŷ</p></body></html>')
    assert font_config() is shared
    assert "First letter" in first
    assert "Ail lythyr: ŵ ŷ" in second


def test_another_thread_lays_out_with_its_own_configuration() -> None:
    found = []
    thread = threading.Thread(target=lambda: found.append(font_config()))
    thread.start()
    thread.join()
    assert found[0] is not font_config()
