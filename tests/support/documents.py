"""Small real files of each type a person or staff may upload, made here (no fixtures on disk)."""

from __future__ import annotations

import io

from PIL import Image

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
EML = (
    b"From: Bob Baker <bob@example.com>\r\nTo: privacy@smarct.example\r\n"
    b"Date: Tue, 24 Nov 2026 09:12:00 +0000\r\nSubject: My data\r\n\r\n"
    b"Please send me a copy of everything you hold about me.\r\n"
)


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


PNG = image("PNG")
JPEG = image("JPEG")
