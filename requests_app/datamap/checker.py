"""Checking the data map's values: each problem is recorded with the file, the line, the path
inside the file, what is wrong and how to fix it, and checking goes on (``build.py`` asks)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from requests_app.datamap import spec


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


class Checker:
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

    def setting(self, value: Any, path: Path_) -> spec.Setting | None:
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
            spec.Setting(env=env, default=self.text(data.get("default"), (*path, "default")))
            if env
            else None
        )
