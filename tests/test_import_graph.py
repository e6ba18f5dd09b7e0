"""The product's import graph: fixtures and the demo stay out of it, and nothing imports in a
circle (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import certgate

SRC = Path(certgate.__file__).parent
# Test fixtures, the demo, and the deprecated aliases of the fixtures' old module names.
FIXTURES = ("certgate.testing", "certgate.demo")


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in SRC.rglob("*.py")}


def _is_fixture(name: str) -> bool:
    return name.startswith("certgate.testing") or any(
        name == f or name.startswith(f + ".") for f in FIXTURES
    )


# ``certgate.__main__`` runs the command line when imported.
PRODUCTION = sorted(n for n in MODULES if not _is_fixture(n) and n != "certgate.__main__")


def _imports(name: str, source: str) -> set[str]:
    """Every certgate module ``source`` imports, at any depth (a function's lazy import too),
    except under ``if TYPE_CHECKING``."""
    package = name.split(".") if MODULES.get(name, Path()).name == "__init__.py" else None
    package = package or name.split(".")[:-1]
    found: set[str] = set()
    for node in _walk(ast.parse(source).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package[: len(package) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


def _walk(nodes: list[ast.stmt]) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
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
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycle() -> None:
    graph = {
        name: _imports(name, path.read_text(encoding="utf-8")) for name, path in MODULES.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _imports("certgate.demo.live", "from certgate.demo import build_demo_machine\n") == {
        "certgate.demo"
    }


def test_production_modules_do_not_load_fixtures_or_the_demo() -> None:
    """Import every production module in one fresh interpreter: what any of them loads at
    import time is in ``sys.modules`` afterwards, so none may be a fixture or the demo."""
    code = (
        "import importlib, sys\n"
        f"for name in {PRODUCTION!r}:\n"
        "    importlib.import_module(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(out.stdout.split())
    assert set(PRODUCTION) <= loaded
    assert sorted(name for name in loaded if _is_fixture(name)) == []


def test_only_the_demo_paths_import_fixtures_lazily() -> None:
    """The commands' ``--demo`` paths may import the demo or fixtures when they run; no other
    production module names them at all."""
    naming = {
        name
        for name in PRODUCTION
        if any(_is_fixture(m) for m in _imports(name, MODULES[name].read_text(encoding="utf-8")))
    }
    assert naming == {"certgate.cli.doctor", "certgate.cli.fleet"}
