# PromptStamp: the commands the README gives. Each target sets up what it needs on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test lint unit bench clean extension extension-test chromium e2e

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP) extension
	@echo "Browser extension built: load $(CURDIR)/$(EXT)/dist/chrome (Chromium: chrome://extensions, Load unpacked) or $(CURDIR)/$(EXT)/dist/firefox (Firefox: about:debugging)"
	$(BIN)/promptstamp serve

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

test: $(STAMP) lint extension-test chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Browser extension (extension/): exact-pinned npm dependencies from the lock file.
EXT       := extension
NPM_STAMP := $(EXT)/node_modules/.installed-$(shell cat $(EXT)/package-lock.json | sha256sum | cut -c1-12)

$(NPM_STAMP): $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund
	touch $@

extension: $(NPM_STAMP)
	cd $(EXT) && npm run build -- --e2e

extension-test: extension
	cd $(EXT) && npm run typecheck && npm run lint && npm run lint:firefox && npm test

# The end-to-end tests drive the distribution's Chromium; never a downloaded browser.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

e2e: $(STAMP) extension chromium
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
