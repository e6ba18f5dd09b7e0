"""docs/windows-fidelity.md stays true: every test it names exists, and every engine test it
names says in its docstring which public source documents the outcome."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "windows-fidelity.md"
# What counts as naming a source in a docstring: a KB, an RFC, a Microsoft page or header,
# or the section of docs/windows-model.md that cites one.
SOURCE = re.compile(
    r"KB \d{6,7}|RFC \d{3,5}|learn\.microsoft|windows-model\.md|Schannel overview|SSIS|"
    r"winerror|netsh http|HTTP_SERVICE_CONFIG_SSL_PARAM|IIS <access|Alert codes|alerts",
)


def _rows() -> list[tuple[str, list[tuple[str, str]]]]:
    rows: list[tuple[str, list[tuple[str, str]]]] = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            tests = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", cells[4])
            rows.append((cells[0], [(str(f), str(n)) for f, n in tests]))
    return rows


def _docstrings(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name: ast.get_docstring(node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def test_every_row_names_existing_tests_that_cite_a_source() -> None:
    rows = _rows()
    assert len(rows) >= 19
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))
    problems = []
    for number, tests in rows:
        if not tests:
            problems.append(f"row {number}: no test")
        for file, name in tests:
            functions = _docstrings(ROOT / file)
            if name not in functions:
                problems.append(f"row {number}: {file}::{name} does not exist")
            elif _engine_test(file) and not SOURCE.search(functions[name]):
                problems.append(f"row {number}: {file}::{name} names no source")
    assert problems == []


def _engine_test(file: str) -> bool:
    return any(part in file for part in ("engine", "fidelity", "winver", "kb_windows"))
