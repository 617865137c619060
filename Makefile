PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test unit lint typecheck pytest fuzz demo datecheck install clean generate screenshots bench \
	webapp

# Lint what exists: bench/ and examples/ are planned but may not be there yet.
LINT_PATHS := $(wildcard picker_discovery tests tools bench examples)

# A virtual environment of our own, reinstalled when the project's metadata changes.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# The fast tests: in-process only (tests/unit). tests/functional talk to the fake and the loopback
# emulator, tests/e2e run subprocesses, a browser, a kernel and a wheel; `make test` runs all.
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# The property-based tests (marked `fuzz`) with many more examples than `make test` runs;
# Hypothesis prints the number of examples each property ran.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -m fuzz --hypothesis-show-statistics --timeout=3600

# Regenerate picker_discovery/models.py and the plain service's types
# (picker_discovery/_service_types.py) from the bundled discovery document.
generate: $(STAMP)
	$(BIN)/python tools/generate_models.py
	$(BIN)/python tools/generate_service_stubs.py

# Every benchmark in bench/, each printing both sides and their ratio (bench/README.md has a
# run's results). Not part of `make test`: timings belong in measurements, not assertions.
BENCH_SCRIPTS := $(filter-out bench/_%,$(sort $(wildcard bench/*.py)))

bench: $(STAMP)
	@for script in $(BENCH_SCRIPTS); do \
		echo "== $$script"; \
		$(BIN)/python $$script || exit 1; \
	done

# The README's pictures: notebook displays and the picking page, in headless Chromium.
screenshots: $(STAMP)
	$(BIN)/python tools/screenshots.py

demo: $(STAMP)
	$(BIN)/picker-discovery demo

# The example web app (examples/webapp) with the emulator beside it, in strict auth mode, on
# http://127.0.0.1:$${PORT:-8000}/ (it prints the URL to open; Ctrl-C stops it). With
# PICKER_WEBAPP_CLIENT_SECRETS=client_secret.json it signs in with Google instead (README).
webapp: $(STAMP)
	$(BIN)/python -m examples.webapp

# The demo, the README's emulator example and the tests of clocks, canned answers and emulator
# flows, with the system date ten years ahead (Debian's faketime), so that code depending on the
# date it was written fails the build. Monotonic time stays real: Python's timed waits hang when
# libfaketime fakes it (and its time.sleep fails with EINVAL then, so these runs wait on events).
DATESHIFT ?= +3650d
FAKETIME := FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f $(DATESHIFT)
DATECHECK_TESTS := tests/functional/test_dates.py tests/unit/test_quickstart.py \
	tests/unit/test_canned.py tests/functional/test_flow_fake.py tests/functional/test_backend.py \
	tests/unit/test_models.py

datecheck: $(STAMP)
	@command -v faketime >/dev/null || { echo "datecheck needs faketime: apt-get install faketime"; exit 1; }
	@shifted=$$($(FAKETIME) $(BIN)/python -c 'import datetime; print(datetime.date.today())'); \
	echo "date under faketime: $$shifted"; \
	test "$${shifted%%-*}" -gt "$$(date -u +%Y)" || { echo "faketime did not move the date"; exit 1; }
	$(FAKETIME) $(BIN)/picker-discovery demo
	$(FAKETIME) $(BIN)/python examples/emulator_quickstart.py
	$(FAKETIME) $(BIN)/pytest -q $(DATECHECK_TESTS)

clean:
	rm -rf $(VENV) build dist *.egg-info
