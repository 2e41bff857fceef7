# PromptStamp: the commands the README gives. Each target sets up what it needs on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY_HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-12)
# `make run` installs only what the service needs; `make test` adds the test and lint tools (the dev extra).
RUN_STAMP := $(VENV)/.installed-run-$(PY_HASH)
STAMP     := $(VENV)/.installed-dev-$(PY_HASH)

.PHONY: run test lint unit bench clean extension extension-dist extension-test chromium firefox e2e verifier-web verifier-web-test pdf-tools cjk-font

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP) extension-dist verifier-web cjk-font
	@echo "Browser extension built: load $(CURDIR)/$(EXT)/dist/chrome (Chromium: chrome://extensions, Load unpacked) or $(CURDIR)/$(EXT)/dist/firefox (Firefox: about:debugging)"
	$(BIN)/promptstamp serve

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

test: $(STAMP) lint extension-test verifier-web-test chromium firefox pdf-tools
	$(BIN)/pytest

bench: $(STAMP) verifier-web chromium
	$(BIN)/python bench/run.py

# Browser extension (extension/): exact-pinned npm dependencies from the lock file. Building needs
# only the "dependencies" (esbuild, tsx); tests and linters are "devDependencies".
EXT           := extension
NPM_HASH      := $(shell cat $(EXT)/package-lock.json | sha256sum | cut -c1-12)
NPM_RUN_STAMP := $(EXT)/node_modules/.installed-run-$(NPM_HASH)
NPM_STAMP     := $(EXT)/node_modules/.installed-dev-$(NPM_HASH)

$(NPM_RUN_STAMP): $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --omit=dev --no-audit --no-fund
	touch $@

$(NPM_STAMP): $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund
	touch $@ $(NPM_RUN_STAMP)

# What users load: dist/chrome and dist/firefox.
extension-dist: $(NPM_RUN_STAMP)
	cd $(EXT) && npm run build

# The same, plus the end-to-end tests' build (test-build/chrome-e2e, never in dist/).
extension: $(NPM_STAMP)
	cd $(EXT) && npm run build -- --e2e

extension-test: extension
	cd $(EXT) && npm run typecheck && npm run lint && npm run lint:firefox && npm test

# The browser verifier (verifier-web/): the /verify page's script and the standalone verify.html.
# Building needs only its "dependencies" (esbuild, PKI.js, asn1js, fflate).
VW             := verifier-web
VW_HASH        := $(shell cat $(VW)/package-lock.json | sha256sum | cut -c1-12)
VW_RUN_STAMP   := $(VW)/node_modules/.installed-run-$(VW_HASH)
VW_STAMP       := $(VW)/node_modules/.installed-dev-$(VW_HASH)

$(VW_RUN_STAMP): $(VW)/package.json $(VW)/package-lock.json
	cd $(VW) && npm ci --omit=dev --no-audit --no-fund
	touch $@

$(VW_STAMP): $(VW)/package.json $(VW)/package-lock.json
	cd $(VW) && npm ci --no-audit --no-fund
	touch $@ $(VW_RUN_STAMP)

verifier-web: $(VW_RUN_STAMP)
	cd $(VW) && npm run build

verifier-web-test: $(VW_STAMP)
	cd $(VW) && npm run build && npm run typecheck && npm run lint && npm test

# The end-to-end tests drive the distribution's Chromium; never a downloaded browser.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# Firefox ESR from the distribution, driven over its own Marionette protocol (tests/e2e/marionette.py).
firefox:
	@test -x /usr/bin/firefox-esr || (apt-get update && apt-get install -y firefox-esr)

# report.pdf embeds Noto Sans CJK (SIL OFL 1.1: embedding allowed); the tests read the PDFs back with
# poppler's pdfsig, pdffonts and pdftotext, tools we did not write.
pdf-tools:
	@test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc && command -v pdfsig >/dev/null \
		|| (apt-get update && apt-get install -y fonts-noto-cjk poppler-utils)

# For `make run`: the font report.pdf needs, installed when we can (as root); without it the service
# runs and bundles carry the HTML reports only, which it says.
cjk-font:
	@test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
		|| ([ "$$(id -u)" = 0 ] && apt-get update && apt-get install -y fonts-noto-cjk) \
		|| echo "note: no CJK font (Debian: fonts-noto-cjk); evidence bundles will carry no report.pdf until it is installed"

e2e: $(STAMP) extension verifier-web chromium firefox pdf-tools
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache $(EXT)/dist $(EXT)/test-build $(VW)/dist
