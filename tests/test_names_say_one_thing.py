"""A public name means one thing (issue 14, build 7): no class, function or module-level
constant is defined under the same name in two production modules, and no module-level
function body is written out twice, except the cases listed below with their reason.

Read from the source with ``ast`` (nothing is imported). "Production" is ``src/certgate``
without ``certgate.testing`` and ``certgate.demo``, which are outside the product's import
graph (tests/test_import_graph.py). A name that is only imported (``from a import X``) is the
same object, not a second definition, and is not counted.

A new collision fails here: rename one side (docs/decisions.md, "Names that say one thing"),
import the one definition, or, when the same name is a deliberate protocol every module of a
kind follows, add it to ``PROTOCOL_NAMES`` with the modules it may appear in and why.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
OUTSIDE_PRODUCT = ("certgate.testing", "certgate.demo")

# name -> (modules allowed to define it (a regular expression, whole module name), why)
PROTOCOL_NAMES: dict[str, tuple[str, str]] = {
    "SCHEMA": (
        r"certgate\.(report\.\w+|fleet\._\w+|formats\.physical)",
        "each JSON document's `certgate.<kind>/<n>` id, beside the builder of that document",
    ),
    "command": (
        r"certgate\.cli\.\w+",
        "each cli/<name>.py's click command, which cli/__init__.py adds to the group",
    ),
    "NAME": (
        r"certgate\.core\.engines\.\w+",
        "an engine module's name (core/engines/_registry.py)",
    ),
    "ENGINE": (r"certgate\.core\.engines\.\w+", "an engine module's registration"),
    "EMITTED": (r"certgate\.core\.engines\.\w+", "the codes an engine module can emit"),
    "judge": (r"certgate\.core\.engines\.\w+", "an engine module's full judgement"),
    "accepts": (
        r"certgate\.core\.engines(\.\w+)?",
        "an engine module's fast yes/no; core.engines.accepts dispatches to the named engine's",
    ),
    "FORMAT": (r"certgate\.logs\.\w+", "each log parser's format id (logs/_registry.py)"),
    "rule": (
        r"certgate\.core\.(doctor\.rules_\w+|rules\.audit)",
        "module-local shorthand for its registry's decorator (DIAGNOSIS_RULES.rule, "
        "AUDIT_RULES.rule)",
    ),
    "main": (
        r"certgate\.(cli|core\.kb\._compiled)",
        "a `python -m`/console-script entry point",
    ),
    # A doctor cause and an audit finding about the same condition: registered by decorator,
    # run only through their registries (ids `cause::...` and `root::...`), never imported.
    "root_not_self_signed": (
        r"certgate\.core\.(doctor\.rules_trust|rules\.audit)",
        "rule functions (doctor cause, audit finding) named after their rule ids",
    ),
    "root_self_signature_invalid": (
        r"certgate\.core\.(doctor\.rules_trust|rules\.audit)",
        "rule functions (doctor cause, audit finding) named after their rule ids",
    ),
    "issuer_list_too_large": (
        r"certgate\.core\.(doctor\.rules_trust|rules\.audit)",
        "rule functions (doctor cause, audit finding) named after their rule ids",
    ),
}

# Module-level functions whose bodies are the same on purpose: (qualified names), why.
SAME_BODY: dict[frozenset[str], str] = {
    frozenset({"certgate.fleet._executor.default_workers", "certgate.gate.workers.usable_cpus"}): (
        "the CPUs this process may use, four lines in two adapters (fleet, gate) that do not "
        "import each other"
    ),
}
_TYPE_VARIABLES = {"TypeVar", "ParamSpec", "TypeVarTuple"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((SRC / "certgate").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not module.startswith(OUTSIDE_PRODUCT):
            found[module] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _defined(tree: ast.Module) -> list[str]:
    """The public names a module defines at its top level (not those it imports)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id in _TYPE_VARIABLES
            ):
                continue  # a type variable is local to its module's generics
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [name for name in names if not name.startswith("_")]


def collisions() -> dict[str, list[str]]:
    where: defaultdict[str, list[str]] = defaultdict(list)
    for module, tree in _modules().items():
        for name in dict.fromkeys(_defined(tree)):
            where[name].append(module)
    return {name: modules for name, modules in where.items() if len(modules) > 1}


def _body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return ast.dump(function.args) + "".join(ast.dump(statement) for statement in body)


def same_bodies(smallest: int = 12) -> list[frozenset[str]]:
    """Groups of module-level functions (public or private) in different modules with the
    same arguments and body, ignoring docstrings; bodies under ``smallest`` AST nodes (a
    one-line ``return``) are too small to count."""
    by_body: defaultdict[str, set[str]] = defaultdict(set)
    for module, tree in _modules().items():
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if sum(1 for statement in node.body for _ in ast.walk(statement)) >= smallest:
                by_body[_body(node)].add(f"{module}.{node.name}")
    return [
        frozenset(names)
        for names in by_body.values()
        if len({name.rpartition(".")[0] for name in names}) > 1
    ]


def test_a_public_name_is_defined_in_one_module() -> None:
    unexplained = {
        name: modules
        for name, modules in collisions().items()
        if name not in PROTOCOL_NAMES
        or not all(re.fullmatch(PROTOCOL_NAMES[name][0], m) for m in modules)
    }
    assert unexplained == {}, (
        "the same public name is defined in several modules: rename one (docs/decisions.md) "
        "or import the one definition; see this file's docstring"
    )


def test_every_protocol_name_is_still_shared() -> None:
    stale = sorted(set(PROTOCOL_NAMES) - set(collisions()))
    assert stale == [], "no longer defined twice: remove from PROTOCOL_NAMES"


def test_no_function_body_is_written_twice() -> None:
    unexplained = [sorted(group) for group in same_bodies() if group not in SAME_BODY]
    assert unexplained == [], "the same function in two modules: keep one and import it"
    stale = [sorted(group) for group in SAME_BODY if group not in same_bodies()]
    assert stale == [], "no longer duplicated: remove from SAME_BODY"


def test_the_checks_see_a_collision() -> None:
    first = ast.parse("def escape(text): return text\nLIMIT = 3\nT = TypeVar('T')")
    second = ast.parse("class escape: ...\nLIMIT: int = 4\n_private = 1\nT = TypeVar('T')")
    assert _defined(first) == ["escape", "LIMIT"] and _defined(second) == ["escape", "LIMIT"]
    body = "    b = a * 2 + 1\n    return [b, b + 1, b + 2]\n"
    one, two = ast.parse("def f(a):\n" + body), ast.parse('def g(a):\n    """g."""\n' + body)
    assert isinstance(one.body[0], ast.FunctionDef) and isinstance(two.body[0], ast.FunctionDef)
    assert _body(one.body[0]) == _body(two.body[0])
