# The two commands a new user needs:  make run  (serve on the embedded SQLite file)
#                                     make test (set up and run every test)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/registry init
	$(BIN)/registry serve --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
