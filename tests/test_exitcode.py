"""Exit codes are named once (certgate.exitcode.ExitCode): no command returns a bare number."""

from __future__ import annotations

import ast
from pathlib import Path

import certgate.cli
from certgate.cli import main
from certgate.exitcode import ExitCode

CLI = Path(certgate.cli.__file__).parent


def test_exit_codes_are_the_documented_ones() -> None:
    assert [(code.name, int(code)) for code in ExitCode] == [
        ("OK", 0),
        ("FINDINGS", 1),
        ("BAD_INPUT", 2),
        ("INTERNAL", 3),
        ("INTERRUPTED", 130),
    ]
    assert ExitCode.of([1]) is ExitCode.FINDINGS
    assert ExitCode.of(()) is ExitCode.OK


def _literal_returns(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        values = [node.value]
        if isinstance(node.value, ast.IfExp):
            values = [node.value.body, node.value.orelse]
        for value in values:
            if isinstance(value, ast.Constant) and type(value.value) is int:
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_command_returns_a_bare_number() -> None:
    offenders = [hit for path in sorted(CLI.glob("*.py")) for hit in _literal_returns(path)]
    assert offenders == []


def test_the_control_finds_a_bare_number(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(x):\n    return 1 if x else 0\n", encoding="utf-8")
    assert _literal_returns(sample) == ["sample.py:2", "sample.py:2"]


def test_usage_error_is_bad_input() -> None:
    assert main(["audit", "--no-such-option"]) == ExitCode.BAD_INPUT
