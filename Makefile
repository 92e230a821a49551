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

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The map assets (Leaflet, jQuery) are vendored in planner/maps/_assets and ship with the
# package; nothing here needs npm. `make assets` is for maintainers: it refreshes them from
# the npm registry, pinned by version and sha512 in scripts/assets.lock.json.
assets:
	@command -v npm >/dev/null 2>&1 || { echo "make assets needs npm (apt-get install -y npm)"; exit 1; }
	$(PYTHON) scripts/fetch_assets.py

# the map and its figure go to maps/ (see maps/README.md); the PNG needs a Chromium
demo: $(STAMP)
	$(BIN)/planner validate data/demo/scenario.toml
	$(BIN)/planner run data/demo/scenario.toml --out runs/demo --overwrite
	mkdir -p maps
	cp runs/demo/map.html maps/demo_gap_map.html
	@if [ -x /usr/bin/chromium ]; then \
	  $(BIN)/planner map runs/demo --png maps/demo_gap_map.png; \
	else echo "no /usr/bin/chromium: maps/demo_gap_map.png not exported"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: $(STAMP)
	$(BIN)/python -m planner.docs

# the modules with docstring examples (run as doctests by `make test`)
DOCTESTS := planner/api.py planner/settings.py planner/demand/__init__.py \
  planner/equity/__init__.py planner/norms/__init__.py planner/forecast/baselines.py \
  planner/geo/crs.py planner/maps/__init__.py planner/maps/text.py planner/outputs/safe.py \
  planner/reports/plan_tables.py planner/siting/problem.py

# lint, import layers (pyproject [tool.importlinter]), types of the pure modules
# ([tool.mypy]), docs up to date, doctests, then the fast tests
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m planner.docs --check
	$(BIN)/python -m pytest -q -p no:cacheprovider --doctest-modules $(DOCTESTS)
	$(BIN)/python -m pytest -q -m "not slow"

# the long tests (the full malformed-input corpus, benchmark-like forecasts and siting,
# the siting notebook as stored, the wheel in a fresh venv): minutes; CI runs them after
# `make test`
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(planner|school-seat-planner)[= ]' > constraints.txt

clean:
	rm -rf $(VENV) runs .assets .pytest_cache .ruff_cache
