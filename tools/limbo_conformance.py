"""Regenerate the x509-limbo agreement tables in ``docs/conformance.md``.

Runs every pinned limbo case (``tests/data/limbo/cases.json.gz``) through the rfc5280, windows
and openssl engines and through cryptography's verifier (``tests/limbo_suite.py``), then
rewrites the part of docs/conformance.md between its ``limbo:begin`` and ``limbo:end``
markers. ``tests/test_limbo.py`` fails when that part is stale. From the repository root:

    .venv/bin/python tools/limbo_conformance.py           # rewrite the doc
    .venv/bin/python tools/limbo_conformance.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "conformance.md"
BEGIN, END = "<!-- limbo:begin (tools/limbo_conformance.py) -->", "<!-- limbo:end -->"


def generated() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    import limbo_suite

    return limbo_suite.render(limbo_suite.run_all())


def rewrite(text: str, block: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest or END not in rest:
        raise SystemExit(f"{DOC}: the {BEGIN} / {END} markers are missing")
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    updated = rewrite(text, generated())
    if args.check:
        print("current" if updated == text else f"{DOC} is stale: run {Path(__file__).name}")
        return 0 if updated == text else 1
    DOC.write_text(updated, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
