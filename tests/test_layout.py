"""The house rules, read from the source with `ast`: imports point down only, and never in a circle.

`connect/` (the web app) may import `integrations/` (the clients) and `sync/` (the core and the
engine); `integrations/` may import `sync/` only; `sync/` imports neither, and no module under
`integrations/` or `sync/` imports Flask. Imports made only for type checking count for the
layers (a type is a dependency too) but not for cycles (they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connect", "integrations", "sync")
FORBIDDEN = {
    "integrations": ("connect", "flask"),
    "sync": ("connect", "integrations", "flask"),
}


@dataclass(frozen=True)
class Import:
    module: str
    target: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "alembic" in path.parts:  # migrations run inside Alembic, not imported by us
                continue
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every import in the module, resolved to a project module where it names one."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.body:
                    yield from visit_one(inner, True)
                for inner in child.orelse:
                    yield from visit_one(inner, type_only)
            else:
                yield from visit_one(child, type_only)

    def visit_one(node: ast.AST, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, type_only)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(
                    module, candidate if candidate in known else base, node.lineno, type_only
                )
        else:
            yield from visit(node, type_only)

    yield from visit(tree, False)


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    modules = project_modules()
    known = set(modules)
    return [found for name, path in modules.items() for found in imports_of(name, path, known)]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_lower_layers_never_import_upper_ones_or_flask(imports: list[Import]) -> None:
    wrong = [
        f"{found.module}:{found.line} imports {found.target}"
        for found in imports
        if _top(found.target) in FORBIDDEN.get(_top(found.module), ())
    ]
    assert wrong == []


def test_no_module_imports_itself_back_through_others(imports: list[Import]) -> None:
    known = set(project_modules())
    graph: dict[str, set[str]] = {name: set() for name in known}
    for found in imports:
        if not found.type_only and found.target in known and found.target != found.module:
            graph[found.module].add(found.target)
    cycles = _cycles(graph)
    assert cycles == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


PLUMBING = ("sync.db", "sync.engine")
"""The database and the engine: they run every feature's jobs and know none of them."""
NOT_FEATURES = ("sync.core", "sync.db", "sync.engine", "sync.errors", "sync.fields", "sync.ports")
"""What a feature module is not: the pure core, the plumbing, and the shared vocabulary."""
OUTBOUND_CALLS = frozenset({"set_issue_property", "publish", "set_goal", "post", "publish_retro"})
"""The ports' methods that write to an outside system (`sync/ports.py`)."""


def _is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _is_feature(module: str) -> bool:
    return module.startswith("sync.") and not _is_under(module, NOT_FEATURES)


def test_the_database_and_the_engine_import_no_feature(imports: list[Import]) -> None:
    """`sync/db` and `sync/engine` run features through registration (`Jobs.handle`, `write`,
    `snapshots.measure_with`), never by importing them; features depend on the plumbing."""
    wrong = [
        f"{found.module}:{found.line} imports {found.target}"
        for found in imports
        if _is_under(found.module, PLUMBING) and _is_feature(found.target)
    ]
    assert wrong == []


def _calls(path: Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node.func.attr, node.lineno


def test_only_the_writers_write_outbound() -> None:
    """Outbound writes (the ports' writing methods) happen in `sync/write/` only: `apply/`
    and every other feature plan a write-back as an outbound row, the writer performs it."""
    wrong = [
        f"{name}:{line} calls {call}"
        for name, path in project_modules().items()
        if name.startswith("sync.") and not _is_under(name, ("sync.write", "sync.ports"))
        for call, line in _calls(path)
        if call in OUTBOUND_CALLS
    ]
    assert wrong == []


def _imported_names(path: Path) -> Iterator[tuple[str, int]]:
    """`module.name` for every `from module import name`, and `module` for `import module`."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def test_the_writers_never_read_events() -> None:
    """`sync/write/` performs write-backs from outbound rows and the current state; the inbox
    (its events, their model) and the inbound jobs are `apply/`'s."""
    wrong = [
        f"{name}:{line} imports {target}"
        for name, path in project_modules().items()
        if _is_under(name, ("sync.write",))
        for target, line in _imported_names(path)
        if _is_under(target, ("sync.engine.inbox", "sync.apply", "sync.db.model.InboxEvent"))
    ]
    assert wrong == []


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    """The walk itself sees an upward import and a cycle (else the tests above prove nothing)."""
    upward = tmp_path / "upward.py"
    upward.write_text("from connect.services import services\n")
    seen = list(imports_of("sync.upward", upward, {"connect.services"}))
    assert [(i.target, i.type_only) for i in seen] == [("connect.services", False)]
    typed = tmp_path / "typed.py"
    typed.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import flask\n")
    assert [(i.target, i.type_only) for i in imports_of("sync.typed", typed, set())] == [
        ("typing", False),
        ("flask", True),
    ]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _is_feature("sync.kpis") and _is_feature("sync.apply.jira")
    assert not _is_feature("sync.engine.jobs") and not _is_feature("sync.ports")
    writer = tmp_path / "writer.py"
    writer.write_text("def f(ports):\n    ports.tracker.set_issue_property(1, 'K', {})\n")
    assert list(_calls(writer)) == [("set_issue_property", 2)]
    reader = tmp_path / "reader.py"
    reader.write_text("from sync.db.model import InboxEvent, Outbound\n")
    assert [t for t, _ in _imported_names(reader)] == [
        "sync.db.model.InboxEvent",
        "sync.db.model.Outbound",
    ]


def test_the_whole_service_type_checks_strictly() -> None:
    """`mypy --strict` (pyproject's [tool.mypy]) is clean on sync/, integrations/ and connect/."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "sync", "integrations", "connect"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
