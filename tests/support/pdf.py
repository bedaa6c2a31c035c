"""Reading a PDF as a person and a screen reader do: its text (pypdf) and its structure tags."""

from __future__ import annotations

import io
import shutil
import subprocess
from typing import Any

import pypdf


def pdf_text(raw: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(raw)).pages)


def flat(text: str) -> str:
    """The text with line breaks as spaces (a cell wraps inside a table)."""
    return " ".join(text.split())


def assert_tagged(raw: bytes, language: str, title: str) -> None:
    reader = pypdf.PdfReader(io.BytesIO(raw))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert root["/Lang"] == language
    assert reader.metadata is not None
    assert reader.metadata.title == title
    kinds: set[str] = set()

    def walk(node: Any, depth: int = 0) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for child in node:
                walk(child, depth)
        elif isinstance(node, dict) and depth < 60:
            if "/S" in node:
                kinds.add(str(node["/S"]))
            if "/K" in node:
                walk(node["/K"], depth + 1)

    walk(root["/StructTreeRoot"])
    assert {"/Table", "/TH", "/TD", "/TR"} <= kinds, kinds
    assert kinds & {"/H1", "/H2", "/H3"}, kinds
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo:  # poppler-utils (the Dockerfile and CI install it)
        info = subprocess.run([pdfinfo, "-"], input=raw, capture_output=True, check=True).stdout
        assert b"Tagged:          yes" in info
