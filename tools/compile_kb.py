"""Regenerate ``src/certgate/core/kb/data/compiled.json`` after editing the knowledge base's
TOML files (or the binders in ``core/kb/_load.py``); ``tests/test_kb.py`` says when it is due.

    .venv/bin/python tools/compile_kb.py
"""

from certgate.core.kb._compiled import main

if __name__ == "__main__":
    main()
