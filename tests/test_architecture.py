"""The house has one way through it: imports point down (``[tool.importlinter]`` in
pyproject.toml, run by ``make lint``), no module imports another in a circle, a project import
inside a function says why Django needs it there, and every task has its name in ``Task``."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from requests_app.core.queue import Task
from smarct_dsar.celery import app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("smarct_dsar", "requests_app", "exports_app")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _target(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> Iterator[str]:
    """The project modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".")[: None if is_package else -1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def _imports() -> Iterator[tuple[str, ast.stmt, bool, list[str]]]:
    """(module, import statement, inside a function?, source lines) for every project import."""
    for module, path in MODULES.items():
        source = path.read_text()
        tree = ast.parse(source)
        local = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield module, node, id(node) in local, source.splitlines()


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, node, _local, _lines in _imports():
        assert isinstance(node, ast.Import | ast.ImportFrom)
        edges[module].update(_target(module, MODULES[module].name == "__init__.py", node))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_project_module_imports_another_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_an_import_inside_a_function_says_why() -> None:
    """Only where Django requires it (the app registry not ready yet), with a comment saying so
    on the line above."""
    unexplained = [
        f"{module}:{node.lineno}"
        for module, node, local, lines in _imports()
        if local
        and any(_target(module, False, node))  # type: ignore[arg-type]
        and not _explained(lines, node.lineno)
    ]
    assert unexplained == []


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment above the import, or above the run of imports it belongs to."""
    above = lineno - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def test_every_task_is_named_in_the_one_list() -> None:
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if name.startswith(PACKAGES)}
    assert registered == set(Task)


def test_the_layer_check_passes_and_fails_on_an_upward_import(tmp_path: Path) -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    assert subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True).returncode == 0
    # a copy of the project where the state machine reaches up into a concern
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    core = tmp_path / "requests_app" / "core" / "lifecycle.py"
    core.write_text(core.read_text() + "\nfrom requests_app.fulfilment import erasure  # noqa\n")
    broken = subprocess.run(
        [lint, "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert broken.returncode != 0
    assert "requests_app.core.lifecycle -> requests_app.fulfilment.erasure" in broken.stdout


@pytest.mark.parametrize("module", ["requests_app.core.lifecycle", "requests_app.core.queue"])
def test_the_core_imports_no_concern(module: str) -> None:
    edges = _graph()
    assert {
        m
        for m in edges[module]
        if not m.startswith(
            ("requests_app.core", "requests_app.models", "exports_app.models", "smarct_dsar.")
        )
    } == set()


def _runtime_imports(path: Path) -> set[str]:
    """The top-level packages a module imports when it runs (not those under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _distribution_packages(requirements: list[str]) -> set[str]:
    """The importable top-level names of the distributions (and what they depend on)."""
    from importlib.metadata import PackageNotFoundError, distribution, packages_distributions

    by_distribution: dict[str, set[str]] = {}
    for name, distributions in packages_distributions().items():
        for dist in distributions:
            by_distribution.setdefault(dist.lower().replace("_", "-"), set()).add(name)
    seen: set[str] = set()
    names: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        project = requirement.split(";")[0]
        for stop in "[<>=!~ ":
            project = project.split(stop)[0]
        project = project.strip().lower().replace("_", "-")
        if not project or project in seen:
            continue
        seen.add(project)
        names |= by_distribution.get(project, set())
        try:
            requires = distribution(project).requires or []
        except PackageNotFoundError:  # an optional dependency not installed here
            requires = []
        todo += [r for r in requires if "extra ==" not in r]
    return names


def test_the_app_imports_no_package_that_only_development_installs() -> None:
    """The production image installs the project without its dev extras: a module that imports
    a package only the dev extras bring (django-stubs-ext, pytest, polib…) fails there at once."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _distribution_packages(project["dependencies"]) | set(sys.stdlib_module_names)
    runtime |= set(PACKAGES) | {"demo", "__future__"}
    dev_only = _distribution_packages(project["optional-dependencies"]["dev"]) - runtime
    offenders = {
        name: sorted(_runtime_imports(path) & dev_only)
        for name, path in MODULES.items()
        if _runtime_imports(path) & dev_only
    }
    assert offenders == {}
    assert "django_stubs_ext" in dev_only  # the check knows a dev-only package when it sees one
