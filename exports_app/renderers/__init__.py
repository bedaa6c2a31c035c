"""Export renderers by format. See ``base.py`` for the contract."""

from __future__ import annotations

from exports_app.renderers import csv, json, pdf
from exports_app.renderers.base import RENDERERS, Renderer, renderer_for

__all__ = ["RENDERERS", "Renderer", "csv", "json", "pdf", "renderer_for"]
