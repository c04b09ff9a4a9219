# The two commands a new user needs:  make run  (serve on the embedded SQLite file, with the
#                                                demo history and a dashboard sign-in token)
#                                     make test (set up and run every test)
# The interpreter of the virtualenv: the system's /usr/bin/python3 where it is 3.11 or newer
# and can make a virtualenv (a distribution's optimized build: Debian's took about 5 % less
# CPU than a default pyenv build for a rebuild's fold, docs/performance.md), else python3.
PY ?= $(shell /usr/bin/python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' \
        2>/dev/null && echo /usr/bin/python3 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean browser-deps

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/registry init
	$(BIN)/registry demo --print-token --url http://$(HOST):$(PORT)/ui/
	$(BIN)/registry serve --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/lint-imports

test: browser-deps lint
	$(BIN)/pytest

# Debian's Chromium and its driver for the dashboard's browser tests (idempotent; needs root;
# never a downloaded browser). Without them the browser tests are skipped, or fail under CI.
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver present"; \
	elif [ "$$(id -u)" != "0" ]; then \
	  echo "not root: install Debian's chromium and chromium-driver to run the browser tests"; \
	else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    chromium chromium-driver fonts-wqy-zenhei; \
	fi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
