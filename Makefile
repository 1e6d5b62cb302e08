# fundguard — the two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := fundguard-data/demo
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-fast lint format bench readme clean browser

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/fundguard demo --out $(DEMO)

test: install browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15

# Headless Chromium for the console's browser test (Debian's package; needs root and apt-get).
# Never fails the build: without chromium the browser test skips and says why.
browser:
	-@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the browser test will skip"

test-fast: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow and not browser and not spark"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench

readme: install
	$(BIN)/python docs/build_readme.py

clean:
	rm -rf $(VENV) fundguard-data .pytest_cache .mypy_cache .ruff_cache
