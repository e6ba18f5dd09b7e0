"""``certgate explain`` without rich (report.explain_plain) prints exactly what rich prints on an
unstyled console: every knowledge-base entry's card, multi-reading inputs with their table of
less likely readings, pasted log lines, at several widths. Where it cannot reproduce rich's
layout it declines (None) and the command renders with rich: both cases are checked."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from certgate.core.kb import Match, knowledge_base
from certgate.report.console import SafeConsole
from certgate.report.explain import print_matches, print_unknown
from certgate.report.explain_plain import plain_matches, plain_unknown

KB = knowledge_base()
WIDTHS = (60, 73, 80, 100, 120, 200)
AMBIGUOUS = (
    "0x109",
    "403",
    "20",
    "48",
    "2",
    "alert 48",
    "0x80092013 and 403.7",
    "error 20 at 0 depth lookup: unable to get local issuer certificate",
    "[Wed Mar 05 10:00:00.123 2024] [ssl:error] [pid 1234] [client 10.0.0.1:5555] AH02039: "
    "Certificate Verification: Error (20): unable to get local issuer certificate",
    "2024-03-05 10:00:00 W3SVC1 GET / - 443 - 10.0.0.1 Mozilla - 403 16 2148204809 15",
    "The remote certificate is invalid according to the validation procedure PartialChain",
    "[bold red]nothing[/] 403.16",
    "a\\[b] 0x109 \\",
    "  0x109 with a leading space " + "x" * 150,
    "- 0x109 " + "y" * 130,
    "0x109 " + "z" * 250,
    "café 403.16",
    "AH02039 403.16 at 10:00:00",  # a time: no emoji code
)


def _rich(query: str, matches: list[Match], width: int) -> str:
    out = io.StringIO()
    print_matches(
        SafeConsole(file=out, highlight=False, width=width, soft_wrap=False), query, matches
    )
    return out.getvalue()


def _same_or_declined(query: str, width: int) -> bool:
    matches = KB.lookup(query)
    assert matches, query
    plain = plain_matches(query, matches, width)
    if plain is not None:
        assert plain == _rich(query, matches, width), (query, width)
    return plain is not None


def test_every_entry_card_is_what_rich_prints() -> None:
    shown = [
        _same_or_declined(entry.id, WIDTHS[number % len(WIDTHS)]) for number, entry in enumerate(KB)
    ]
    assert sum(shown) >= 0.95 * len(shown)  # declined only where report._fit lists rows


@pytest.mark.parametrize("width", WIDTHS)
def test_ambiguous_inputs_and_log_lines_are_what_rich_prints(width: int) -> None:
    shown = [_same_or_declined(query, width) for query in AMBIGUOUS]
    assert sum(shown) >= (len(AMBIGUOUS) - 2 if width >= 80 else 1)


UNKNOWN = (
    "403.99",
    "0x800B01FF",
    "-2146762999",
    "CERT_E_UNTRSTEDROOT",
    "PartialChian",
    "nothingatall",
    "untrusted root certificat in chain",
    "[bold red]nothing[/]",
    "a\\[b] \\",
    "w" * 300,
    "a pasted line that says nothing known " * 6,
)


@pytest.mark.parametrize("width", WIDTHS)
def test_unknown_inputs_and_their_suggestions_are_what_rich_prints(width: int) -> None:
    shown = 0
    for query in UNKNOWN:
        assert not KB.lookup(query), query
        suggestions = KB.suggest(query)
        plain = plain_unknown(query, suggestions, width)
        if plain is not None:
            out = io.StringIO()
            console = SafeConsole(file=out, highlight=False, width=width, soft_wrap=False)
            print_unknown(console, query, suggestions)
            assert plain == out.getvalue(), (query, width)
            shown += 1
    assert shown >= len(UNKNOWN) - 2


def test_declines_what_it_cannot_reproduce() -> None:
    emoji = "AH02039 403.16 :100:"  # rich prints an emoji for :100:
    assert plain_matches(emoji, KB.lookup(emoji), 120) is None
    wide = "AH02039 403.16 \u4e2d"  # a wide character
    assert plain_matches(wide, KB.lookup(wide), 120) is None
    assert plain_matches("0x109", KB.lookup("0x109"), 60) is None  # report._fit lists the rows


def test_the_command_prints_plain_text_without_rich_and_rich_when_forced() -> None:
    code = (
        "import sys\n"
        "from certgate.cli import main\n"
        "code = main(['explain', '0x109'])\n"
        "sys.stdout.flush()\n"
        "print('rich' in sys.modules, file=sys.stderr)\n"
    )

    def run(**environment: str) -> tuple[str, str]:
        env = {"COLUMNS": "100", "PATH": "/usr/bin:/bin", **environment}
        done = subprocess.run(
            [sys.executable, "-c", code],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        return done.stdout, done.stderr.strip()

    plain, plain_rich = run()
    forced, forced_rich = run(TTY_COMPATIBLE="0")  # rich must decide: it renders
    assert (plain_rich, forced_rich) == ("False", "True")
    assert plain == forced == _rich("0x109", KB.lookup("0x109"), 100)
