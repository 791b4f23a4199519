# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.modelqa-installed

.PHONY: setup demo test lint browser-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/modelqa demo --out runs/demo

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: lint browser-deps
	$(BIN)/python -m pytest -q

# tests/test_report_browser.py needs Chromium (and a Korean font for the page's text).
# Install what is missing where we can (root with apt-get: ~30 s on a clean Debian machine);
# never fail over it: without Chromium that test is skipped and says why.
browser-deps:
	@pkgs=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || command -v google-chrome >/dev/null 2>&1 || pkgs=" chromium"; \
	if command -v fc-list >/dev/null 2>&1 && [ -n "$$(fc-list :lang=ko family 2>/dev/null)" ]; then :; \
	else pkgs="$$pkgs fonts-noto-cjk"; fi; \
	if [ -z "$$pkgs" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing for the browser test:$$pkgs"; \
	  (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null \
	    && apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null) \
	    || echo "could not install$$pkgs: the browser test is skipped where chromium is missing"; \
	else echo "missing:$$pkgs (needs root and apt-get): the browser test is skipped where chromium is missing"; fi

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info
