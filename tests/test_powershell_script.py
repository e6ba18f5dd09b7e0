"""The shipped PowerShell collector: parsed by a real PowerShell grammar (tree-sitter-powershell
from PyPI; PowerShell itself cannot be installed here), and checked against the bundle layout.
It has not been run on Windows by these tests."""

from __future__ import annotations

import re

import tree_sitter
import tree_sitter_powershell

from certgate.cli.collect import powershell_script
from certgate.inputs.bundle import MANIFEST_FILE, NETSH_FILE, SCHANNEL_FILE, classify

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def _errors(source: str) -> list[tuple[int, str]]:
    tree = PARSER.parse(source.encode("utf-8"))
    found: list[tuple[int, str]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.append((node.start_point[0] + 1, node.type))
        stack.extend(node.children)
    return sorted(found)


def test_script_parses_without_syntax_errors() -> None:
    assert _errors(powershell_script()) == []


def test_negative_control_broken_script_is_caught() -> None:
    broken = powershell_script().replace("function Export-Netsh {", "function Export-Netsh {{", 1)
    assert _errors(broken) != []
    assert _errors("if ($x -eq 1 { Write-Host 'x' }") != []


def test_script_writes_the_documented_layout() -> None:
    script = powershell_script()
    for name in (SCHANNEL_FILE, NETSH_FILE, MANIFEST_FILE, "applicationHost.config", "stores"):
        assert name in script
    for written in (
        "stores/Root.sst",
        "registry/http-sslbindinginfo.reg",
        "iis/sites/S/web.config",
        "logs/iis/W3SVC1/u_ex.log",
        "logs/events/capi2-operational.evtx",
    ):
        assert classify(written)[0] != "ignored", written
    assert "registry\\http-{0}.reg" in script and "logs\\events" in script


def test_script_never_touches_private_keys() -> None:
    script = powershell_script()
    assert not re.search(r"Export-PfxCertificate|\.PrivateKey|X509ContentType\]::Pfx|'Pfx'", script)
    assert "RawData" in script  # certificates are re-created from their public bytes only
    assert "redacted by certgate" in script
