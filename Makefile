# Two entry points for a fresh machine (see README):
#   make demo   set up and run the planner on the embedded demo city
#   make test   set up and run the checks and the test suite
# Both are idempotent: the virtual environment is (re)built only when pyproject.toml or
# constraints.txt changes. constraints.txt pins the exact versions CI and the demo use
# (pyproject.toml keeps the compatible ranges); refresh it with `make lock`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow setup lint docs lock clean assets
ASSETS_STAMP := .assets/manifest.json

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# map assets (Leaflet, jQuery, d3) from the npm registry, pinned by version and sha512
$(ASSETS_STAMP): scripts/assets.lock.json scripts/fetch_assets.py
	@command -v npm >/dev/null 2>&1 || { echo "make assets needs npm (apt-get install -y npm)"; exit 1; }
	$(PYTHON) scripts/fetch_assets.py
	touch $(ASSETS_STAMP)

assets: $(ASSETS_STAMP)

demo: $(STAMP) $(ASSETS_STAMP)
	$(BIN)/planner validate data/demo/scenario.toml
	$(BIN)/planner run data/demo/scenario.toml --out runs/demo --overwrite
	mkdir -p maps
	cp runs/demo/map.html maps/demo_gap_map.html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: $(STAMP)
	$(BIN)/python -m planner.docs

test: $(STAMP) $(ASSETS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m planner.docs --check
	$(BIN)/python -m pytest -q -m "not slow"

# the long tests (the full malformed-input corpus, tests/test_corpus.py): minutes
test-slow: $(STAMP) $(ASSETS_STAMP)
	$(BIN)/python -m pytest -q -m slow

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^planner' > constraints.txt

clean:
	rm -rf $(VENV) runs .assets .pytest_cache .ruff_cache
