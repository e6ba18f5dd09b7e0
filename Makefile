# Every target sets up the local virtualenv it needs; see README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo install test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		(echo "certgate needs Python 3.11 or newer" >&2; exit 1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The demo's files (bundle, certificates, logs) land in demo/: the README's examples use them.
demo: $(STAMP)
	$(BIN)/certgate doctor --demo --demo-dir demo || test $$? -eq 1  # 1 = the cause was found
	@echo
	@echo "The README's examples run on the files in demo/. Put certgate on your PATH with:"
	@echo "    make install"

# A link to $(BIN)/certgate in ~/.local/bin, ~/bin or /usr/local/bin (the first on PATH).
install: $(STAMP)
	$(BIN)/python tools/install_link.py $(BIN)/certgate

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
