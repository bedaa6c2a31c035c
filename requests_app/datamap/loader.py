"""Load and check the data map. Every problem is reported, each with the file, the line, the path
inside the file, what is wrong and how to fix it; the first problem does not hide the others."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from requests_app.datamap import spec
from requests_app.datamap.build import build
from requests_app.datamap.checker import Checker, DataMapInvalid, Path_, Problem

__all__ = ["DataMapInvalid", "Problem", "load"]


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    """Turn a composed YAML node into plain values, remembering each path's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _plain(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A scalar's value as ``yaml.safe_load`` reads it. Constructed from the node itself: writing
    it back out and reading that fails for an empty value (``recipients:`` with nothing after)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def load(path: str | Path) -> spec.DataMap:
    """Read and check a data map file; raise ``DataMapInvalid`` listing every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataMapInvalid(
            [
                Problem(
                    file,
                    None,
                    "",
                    f"cannot be read ({exc.strerror})",
                    "set DSAR_DATA_MAP to the path of your data map file",
                )
            ]
        ) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataMapInvalid(
            [
                Problem(
                    file,
                    mark.line + 1 if mark else None,
                    "",
                    f"is not valid YAML ({getattr(exc, 'problem', exc)})",
                    "check the indentation and quoting on that line",
                )
            ]
        ) from exc
    lines: dict[Path_, int] = {}
    raw = _plain(node, (), lines) if node is not None else {}
    checker = Checker(file, lines)
    data_map = build(raw, checker, file)
    if checker.problems:
        raise DataMapInvalid(checker.problems)
    dotted = {".".join(str(p) for p in path): line for path, line in lines.items()}
    return replace(data_map, lines=dotted)
