"""The renderer contract and registry.

``render(context, out)`` writes one export file to ``out`` (any object with ``write(bytes)``),
streaming from ``context.tables()``: it must not hold the whole data in memory (the PDF, which
shows only what is readable on paper, is the bounded exception). It returns the number of
records written. The PDF also attaches files built already, given as ``context.files`` (the
JSON and CSV, streamed from storage). Errors are bugs or storage failures: the build task marks
the export failed and staff can rebuild it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from exports_app.content import ExportContext
from exports_app.models import FILE_TYPES
from smarct_dsar.crypto import Writable


class Renderer:
    format: ClassVar[str]
    content_type: ClassVar[str]

    def render(self, context: ExportContext, out: Writable) -> int:
        raise NotImplementedError


RENDERERS: dict[str, type[Renderer]] = {}


def register(format_: str) -> Callable[[type[Renderer]], type[Renderer]]:
    def add(cls: type[Renderer]) -> type[Renderer]:
        cls.format, cls.content_type = format_, FILE_TYPES[format_].content_type
        RENDERERS[format_] = cls
        return cls

    return add


def renderer_for(format_: str) -> Renderer:
    return RENDERERS[format_]()
