"""The README is a test: every ``certgate ...`` command in its code blocks runs as written.

The commands run against the files ``make demo`` writes (``write_demo_folder`` into ``demo/``,
the current directory being the clone), in process through ``certgate.cli.main`` with a tiny
shell of our own: ``VAR=value`` prefixes, ``$(cat FILE)``, globs, ``> FILE`` and ``| jq``
(jq run for real when installed), and ``cat F | certgate ... -`` (what comes before the pipe
runs in bash, its output is certgate's standard input). Each must exit 0 or 1 (a finding is a
valid answer), never 2 (bad input) or 3 (a bug), unless its comment says it is refused
(``# 2``, ``# refused``).
Commands that need what a test here cannot have are skipped, each with its reason in
``SKIPPED``; every other command is run, so a new README example is tested
the day it is written. The README's Markdown is checked too: fences closed, Contents links
pointing at headings.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from certgate.cli import main
from certgate.demo import write_demo_folder

README = Path(__file__).resolve().parent.parent / "README.md"

# (pattern the command matches, why it is not run here). Each names where it is tested instead.
SKIPPED: tuple[tuple[str, str], ...] = (
    (r"^certgate probe ", "needs a live server (tests/test_probe_*.py run it on loopback)"),
    (r"^certgate serve ", "starts a server that runs until stopped (tests/test_gate_*.py)"),
    (r"^certgate authz ", "starts a server that runs until stopped (tests/test_authz*.py)"),
    (r"\(cd \S+ && certgate serve", "starts a server (tests/test_probe_gate.py)"),
    (
        r"^certgate fleet ",
        "needs a share of many servers' bundles or a Dask cluster "
        "(tests/test_fleet.py builds fleets)",
    ),
    (r"^certgate collect --out", "Windows only: reads this machine's stores and registry"),
    (r"--online", "fetches CRLs over the network (tests/test_revocation_matrix.py serves them)"),
)


@dataclass(frozen=True)
class Example:
    line: int
    section: str
    command: str
    sample: tuple[str, ...] = ()  # for ``$ certgate ...`` in a text block: the output shown

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.command}"


def _blocks(text: str) -> Iterator[tuple[int, str, list[tuple[int, str]]]]:
    """(first line, language, [(line number, line)]) for every fenced code block."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        start, body = index + 1, []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append((index + 1, lines[index]))
            index += 1
        yield start, opening[1], body
        index += 1


_COMMAND = re.compile(r"^(\$ )?([A-Z_]+=\S+ )*(\(cd \S+ && )?certgate |^(cat|grep) .*\| certgate ")


def examples(text: str) -> list[Example]:
    """Every ``certgate`` command line of the README's shell and text blocks."""
    found = []
    headings = {n + 1: line for n, line in enumerate(text.splitlines()) if line.startswith("## ")}
    for start, language, body in _blocks(text):
        if language not in ("sh", "bash", "", "text", "console"):
            continue
        section = [headings[n] for n in sorted(headings) if n < start][-1:] or [""]
        position = 0
        while position < len(body):
            number, line = body[position]
            if language in ("text", "console") and not line.startswith("$ "):
                position += 1
                continue
            if not _COMMAND.match(line):
                position += 1
                continue
            command = line.removeprefix("$ ").strip()
            while command.endswith("\\") and position + 1 < len(body):
                position += 1
                command = command[:-1].rstrip() + " " + body[position][1].strip()
            sample: list[str] = []
            if language in ("text", "console"):
                while position + 1 < len(body) and not body[position + 1][1].startswith("$ "):
                    position += 1
                    sample.append(body[position][1])
            found.append(Example(number, section[0], command, tuple(sample)))
            position += 1
    return found


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIPPED:
        if re.search(pattern, command):
            return reason
    return None


ALL = examples(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``make demo`` has run: its files in ``demo/``."""
    clone = tmp_path_factory.mktemp("clone")
    write_demo_folder(clone / "demo")
    return clone


def run_shell_line(command: str, cwd: Path, columns: int = 80) -> tuple[int, str, str]:
    """Run one README line the way bash would, certgate in process: (exit code, stdout, stderr)."""
    command = re.sub(r"\$\(cat ([^)]+)\)", lambda m: (cwd / m[1]).read_text().strip(), command)
    feed = b""
    if not command.startswith("certgate ") and "| certgate " in command:
        before, _, after = command.rpartition("| certgate ")
        source = subprocess.run(["bash", "-c", before], cwd=cwd, capture_output=True, check=True)
        feed, command = source.stdout, "certgate " + after
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|>;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    tokens = tokens[: tokens.index(";")] if ";" in tokens else tokens  # "; echo $?"
    pipe = tokens[tokens.index("|") + 1 :] if "|" in tokens else []
    tokens = tokens[: tokens.index("|")] if pipe else tokens
    target = None
    if ">" in tokens:
        at = tokens.index(">")
        tokens, target = tokens[:at], tokens[at + 1]
    env = {}
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        name, _, value = tokens.pop(0).partition("=")
        env[name] = value
    assert tokens[0] == "certgate", command
    argv = []
    for token in tokens[1:]:
        matches = sorted(str(p.relative_to(cwd)) for p in cwd.glob(token)) if "*" in token else []
        argv += matches or [token]
    out, err = io.StringIO(), io.StringIO()
    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.chdir(cwd)
        patch.setenv("COLUMNS", str(columns))
        patch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(feed)))
        for name, value in env.items():
            patch.setenv(name, value)
        sink: IO[str] = out
        if target:
            sink = stack.enter_context((cwd / target).open("w", encoding="utf-8"))
        with redirect_stdout(sink), redirect_stderr(err):
            code = main(argv)
    stdout = out.getvalue()
    if pipe and pipe[0] == "jq":
        if shutil.which("jq") is None:
            pytest.skip("jq is not installed")
        done = subprocess.run(pipe, input=stdout, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{command}: jq failed: {done.stderr}"
        stdout = done.stdout
    return code, stdout, err.getvalue()


def test_readme_has_examples_of_every_section_that_must_run() -> None:
    sections = {e.section for e in ALL if skip_reason(e.command) is None}
    for name in ("Diagnose", "Audit", "Verify", "Explain", "Read logs", "Machine bundles"):
        assert any(name in section for section in sections), name
    assert len(ALL) >= 40


def test_readme_code_fences_are_closed_and_contents_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    fences = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("```")]
    assert len(fences) % 2 == 0, f"unclosed code fence; fences at lines {fences}"
    for start, _, body in _blocks(text):
        inner = [n for n, line in body if line.startswith("## ")]
        assert not inner, f"code block from line {start} swallows the heading at line {inner}"
    headings = set()
    outside = text
    for _, _, body in _blocks(text):
        for _, line in body:
            outside = outside.replace(line + "\n", "", 1)
    for line in outside.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            headings.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in headings, f"dead link #{anchor}"


# Tokens a reader copies or greps: none may be cut by wrapping or truncated at 80 columns.
_TOKENS = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # dates
    r"|\b[0-9A-F]{40}\b"  # SHA-1 thumbprints (may be abbreviated to their first 8 digits)
    r"|\b0x[0-9A-Fa-f]{3,}\b"  # HRESULTs and codes
    r"|\b[a-z0-9-]+::?[A-Za-z0-9_.-]*[A-Za-z0-9]"  # knowledge-base and cause ids
    r"|[\w.-]+(?:/[\w.-]+)+(?::\d+|@\d+)?"  # paths, file:line, file@offset
    r"|\b[A-Z][A-Za-z]+(?:_[A-Z0-9]+)+\b"  # CERT_E_UNTRUSTEDROOT and the like
)
TEXT_OUTPUT = [
    e
    for e in ALL
    if skip_reason(e.command) is None
    and not re.search(r"--json|--events|--powershell|>|#\s*(2\b|refused)", e.command)
]


@pytest.mark.parametrize("example", ALL, ids=[f"line{e.line}" for e in ALL])
def test_readme_example_runs_as_written(example: Example, demo_clone: Path) -> None:
    reason = skip_reason(example.command)
    if reason:
        pytest.skip(reason)
    code, out, err = run_shell_line(example.command, demo_clone)
    expected = (2,) if re.search(r"#\s*(2\b|refused)", example.command) else (0, 1)
    assert code in expected, f"{example} exited {code}: {err.strip()}"
    assert "Traceback" not in out + err
    assert "internal error" not in err, err


def _one_long(line: str) -> bool:
    """A line holding one token longer than a line (a long URL), whole: the one exception."""
    words = [word for word in line.split() if word != "·"]
    return len(words) == 1 and len(words[0]) > 70


@pytest.mark.parametrize("example", TEXT_OUTPUT, ids=[f"line{e.line}" for e in TEXT_OUTPUT])
def test_readme_example_fits_80_columns(example: Example, demo_clone: Path) -> None:
    """At COLUMNS=80 no line of the text output is wider than 80 and no token a reader copies
    (date, thumbprint, code, id, path, file:line) is cut or truncated: every one the command
    prints at 400 columns appears whole at 80. Warnings and errors on stderr stay one line."""
    _, narrow, _ = run_shell_line(example.command, demo_clone, columns=80)
    _, wide, _ = run_shell_line(example.command, demo_clone, columns=400)
    too_wide = [line for line in narrow.splitlines() if len(line) > 80 and not _one_long(line)]
    assert not too_wide, f"{example}: {len(too_wide)} line(s) over 80 columns: {too_wide[0]!r}"
    if "--demo" in example.command:
        return  # each run builds a new demo: other thumbprints and times
    lines = narrow.splitlines()
    for token in dict.fromkeys(_TOKENS.findall(wide)):
        if re.fullmatch(r"[0-9A-F]{40}", token):
            found = any(token in line or token[:8] in line for line in lines)
        else:
            found = any(token in line for line in lines)
        assert found, f"{example}: {token!r} is cut or missing at 80 columns"
    assert narrow.count("…") <= wide.count("…"), f"{example}: truncated (…) at 80 columns"


_VARYING = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "DATE"),
    (re.compile(r"u_ex\d{6}"), "u_exDATE"),
    (re.compile(r"\b[0-9A-F]{8}(?:[0-9A-F]{32})?\b"), "HEX"),
)
SAMPLES = [e for e in ALL if e.sample and skip_reason(e.command) is None]


def _normal(line: str) -> str:
    for pattern, replacement in _VARYING:
        line = pattern.sub(replacement, line)
    return line.rstrip()


@pytest.mark.parametrize("example", SAMPLES, ids=[f"line{e.line}" for e in SAMPLES])
def test_readme_sample_output_is_what_the_command_prints(
    example: Example, demo_clone: Path
) -> None:
    """Every line of a README sample (but ``...`` elisions) is a line of the command's output
    at 80 columns, dates and thumbprints aside (the demo is built from today)."""
    _, out, _ = run_shell_line(example.command, demo_clone, columns=80)
    printed = {_normal(line) for line in out.splitlines()}
    for line in example.sample:
        if line.strip() in ("", "...", "…"):
            continue
        assert _normal(line) in printed, f"{example}: the README shows {line!r}"
