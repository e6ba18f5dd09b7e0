"""Readers for the scripts certgate generates, to check them as the interpreters would.

- PowerShell: tree-sitter-powershell (a real grammar; PowerShell itself is not installable here).
- cmd.exe: a tokenizer of our own, stricter than cmd: it splits commands at line ends and at
  ``&``, ``&&``, ``||``, ``|`` outside double quotes (``^`` escapes one character), opens and
  closes ``( )`` blocks, takes the command after an ``if`` condition as a command of its own, and
  does NOT give ``rem`` its special treatment (so text cmd would ignore still counts).
- .reg: certgate's own regedit-syntax parser (``formats.reg.parse_reg``).
"""

from __future__ import annotations

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

# Every command the generated PowerShell may run; an injected one is anything else.
PS_COMMANDS = {
    "Backup-GPO",
    "Export-Certificate",
    "Get-ChildItem",
    "Get-Date",
    "Get-GPO",
    "Get-GPRegistryValue",
    "Import-Certificate",
    "Import-Module",
    "Join-Path",
    "Move-Item",
    "New-Object",
    "Out-Null",
    "Remove-GPRegistryValue",
    "Remove-Item",
    "Set-GPRegistryValue",
    "Test-Path",
    "Where-Object",
    "Write-Output",
    "Write-Warning",
}
CMD_COMMANDS = {"echo", "rem", "if", "netsh", "exit"}
_INERT = {"comment", "verbatim_string_characters"}


def ps_errors(source: str) -> list[tuple[int, str]]:
    stack = [PARSER.parse(source.encode()).root_node]
    found = []
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.append((node.start_point[0] + 1, node.type))
        stack.extend(node.children)
    return found


def ps_problems(source: str, markers: tuple[str, ...]) -> list[str]:
    """Syntax errors, commands outside ``PS_COMMANDS``, ``&``/``.`` invocations, and any
    marker (text only the hostile input holds) outside a comment or a verbatim string."""
    data = source.encode()
    tree = PARSER.parse(data)
    problems = [f"syntax error at line {line}: {kind}" for line, kind in ps_errors(source)]
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "command_name":
            name = data[node.start_byte : node.end_byte].decode()
            if name not in PS_COMMANDS:
                problems.append(f"command {name!r}")
        if node.type == "command_invokation_operator":
            problems.append("an & or . invocation")
        stack.extend(node.children)
    for marker in markers:
        start = data.find(marker.encode())
        while start >= 0:
            found = tree.root_node.descendant_for_byte_range(start, start + len(marker))
            while found is not None and found.type not in _INERT:
                found = found.parent
            if found is None:
                line = data[:start].count(b"\n") + 1
                problems.append(f"{marker!r} outside a comment or verbatim string, line {line}")
            start = data.find(marker.encode(), start + 1)
    return problems


def cmd_commands(text: str) -> list[list[str]]:
    """Each simple command of a batch file as its words (quotes kept, ``^`` resolved)."""
    commands: list[list[str]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        commands.extend(_line_commands(line))
    return [c for c in commands if c]


def _line_commands(line: str) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    word, quoted, i = "", False, 0

    def end_word() -> None:
        nonlocal word
        if word:
            commands[-1].append(word)
        word = ""

    while i < len(line):
        ch = line[i]
        if quoted:
            word += ch
            quoted = ch != '"'
        elif ch == '"':
            word, quoted = word + ch, True
        elif ch == "^" and i + 1 < len(line):
            word += line[i + 1]
            i += 1
        elif ch in "&|":
            end_word()
            commands.append([])
            if line[i + 1 : i + 2] == ch:
                i += 1
        elif ch in " \t":
            end_word()
        elif ch in "()" and not word and not commands[-1]:
            commands.append([])  # a block opens or closes: the next word starts a command
        elif ch == "(" and not word and commands[-1] and commands[-1][0].lower() == "if":
            commands.append([])  # `if cond (`: the block's commands are commands
        else:
            word += ch
        i += 1
    end_word()
    return [c for c in commands if c]


def cmd_problems(text: str, markers: tuple[str, ...]) -> list[str]:
    """Commands outside ``CMD_COMMANDS`` (an ``if``'s own command included) and markers in
    any command other than ``rem``/``echo``."""
    problems: list[str] = []
    for words in cmd_commands(text):
        for command in _with_if_bodies(words):
            name = command[0].lstrip("@").lower()
            if name not in CMD_COMMANDS:
                problems.append(f"command {command[0]!r}")
            elif name not in ("rem", "echo") and any(m in w for m in markers for w in command):
                problems.append(f"marker in {' '.join(command)!r}")
    return problems


def _with_if_bodies(words: list[str]) -> list[list[str]]:
    out = [words]
    if words[0].lower() != "if":
        return out
    rest = words[1:]
    while rest and rest[0].lower() in ("/i", "not"):
        rest = rest[1:]
    if rest and rest[0].lower() in ("exist", "defined", "errorlevel"):
        rest = rest[2:]
    elif len(rest) >= 3 and rest[1] == "==":
        rest = rest[3:]
    elif rest and "==" in rest[0]:
        rest = rest[1:]
    return [*out, rest] if rest else out
