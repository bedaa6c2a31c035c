"""Load and check the data map. Every problem is reported, each with the file, the line, the path
inside the file, what is wrong and how to fix it; the first problem does not hide the others."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from requests_app.datamap import spec as S


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    problem: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.problem}. Fix: {self.fix}"


class DataMapInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("the data map is invalid:\n" + "\n".join(f"  {p}" for p in problems))


Path_ = tuple[str | int, ...]


def _plain(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    """Turn a composed YAML node into plain values, remembering each path's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _plain(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


class _Checker:
    def __init__(self, file: str, lines: dict[Path_, int]) -> None:
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    def fail(self, path: Path_, problem: str, fix: str) -> None:
        line = next(
            (self.lines[path[:i]] for i in range(len(path), -1, -1) if path[:i] in self.lines), None
        )
        dotted = ".".join(str(p) for p in path)
        self.problems.append(Problem(self.file, line, dotted, problem, fix))

    def mapping(
        self,
        value: Any,
        path: Path_,
        allowed: set[str],
        required: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(
                path,
                f"expected a mapping (key: value lines), found {type(value).__name__}",
                "indent the keys under it, as in docs/data-map.md",
            )
            return {}
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"allowed keys: {', '.join(sorted(allowed))}"
                )
                self.fail((*path, key), f"unknown key '{key}'", hint)
        for key in sorted(required - set(value)):
            self.fail(path, f"'{key}' is missing", f"add '{key}:' (see docs/data-map.md)")
        return value

    def text(self, value: Any, path: Path_, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.fail(path, "a value is required", "give it a value")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(
                path,
                f"expected text, found {type(value).__name__}",
                "write it as a single line of text",
            )
            return None
        return str(value)

    def choice(
        self, value: Any, path: Path_, options: tuple[str, ...], default: str | None = None
    ) -> str:
        if value is None and default is not None:
            return default
        if value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "use one of them"
            self.fail(path, f"'{value}' is not one of {', '.join(options)}", hint)
            return default or options[0]
        return str(value)

    def boolean(self, value: Any, path: Path_, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, found {value!r}", "write true or false")
            return default
        return value

    def number(self, value: Any, path: Path_, default: float, *, minimum: float = 0) -> float:
        if value is None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            self.fail(
                path, f"expected a number of at least {minimum}, found {value!r}", "write a number"
            )
            return default
        return float(value)

    def strings(self, value: Any, path: Path_) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, "expected a list of text", "write one '- item' line per entry")
            return ()
        return tuple(value)

    def setting(self, value: Any, path: Path_) -> S.Setting | None:
        if isinstance(value, str):
            self.fail(
                path,
                "connection details and secrets must come from the environment, not the file",
                f"write {{env: DSAR_STORE_..., default: ...}} and set the variable (found {value[:20]!r}…)",
            )
            return None
        data = self.mapping(value, path, {"env", "default"}, {"env"})
        env = self.text(data.get("env"), (*path, "env"))
        return (
            S.Setting(env=env, default=self.text(data.get("default"), (*path, "default")))
            if env
            else None
        )


def load(path: str | Path) -> S.DataMap:
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
    checker = _Checker(file, lines)
    from requests_app.datamap.build import build

    data_map = build(raw, checker, file)
    if checker.problems:
        raise DataMapInvalid(checker.problems)
    dotted = {".".join(str(p) for p in path): line for path, line in lines.items()}
    return replace(data_map, lines=dotted)
