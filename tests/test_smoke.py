from __future__ import annotations

import importlib
import subprocess
import sys

import certgate
from certgate.cli import COMMANDS, main


def test_public_api_is_exact() -> None:
    assert certgate.__all__ == sorted(certgate.__all__)
    for name in certgate.__all__:
        assert hasattr(certgate, name)


def test_version(capsys: object) -> None:
    assert main(["--version"]) == 0


def test_command_summaries_match_each_commands_help() -> None:
    """`certgate --help` lists COMMANDS' summaries without importing the commands: they must
    say what each command's own help says."""
    for name, (module, summary) in COMMANDS.items():
        command = importlib.import_module(module).command
        assert command.get_short_help_str(limit=10_000) == summary, name


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import sys, io, contextlib\n"
        "from certgate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({argv!r})\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


def test_help_and_explain_import_only_what_they_need() -> None:
    """Start-up (issue 17): --help imports no command, explain neither cryptography, OpenSSL
    nor Twisted."""
    heavy = {"cryptography.x509", "OpenSSL", "twisted", "lxml", "asn1crypto"}
    helped = _modules_after(["--help"])
    assert not {m for m in helped if m.startswith("certgate.cli.")} - {"certgate.cli._common"}
    assert not heavy & helped
    explained = _modules_after(["explain", "0x109"])
    assert "certgate.cli.explain" in explained
    assert not heavy & explained
    # neither rich (~30 ms: report.explain_plain prints a card to a pipe) nor tomllib (the
    # knowledge base's compiled copy is read)
    assert not {"rich", "tomllib"} & (helped | explained)
    assert not {"rich", "tomllib"} & _modules_after(["explain", "0x109", "--json"])
