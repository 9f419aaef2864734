# The two commands a newcomer needs: `make demo` and `make test`. Everything else is set up by them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Test processes: one per core (the suite's servers, databases and ports are per test).
TEST_WORKERS ?= 2

.PHONY: demo test lint chat clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	@touch $(STAMP)

## Start the server with the sample catalog, SQLite, the local WhatsApp emulator and a kitchen printer.
demo: $(STAMP)
	$(BIN)/orderbot demo

## Chat with the running demo as a customer (in a second terminal).
chat: $(STAMP)
	$(BIN)/orderbot chat

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## The whole test suite: lint, type check, then every test. CI runs exactly this.
test: lint
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken"; exit 1; fi; \
	exit $$rc

clean:
	rm -rf $(VENV) orderbot.db .pytest_cache .mypy_cache .ruff_cache
