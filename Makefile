# The two commands of the README: `make run` and `make test`. Both build the venv if missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test test-web lint screenshots bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,web,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/monitor-tui

demo: $(STAMP)
	$(BIN)/monitor-tui --demo 50

# Two passes: independent tests on two workers, then the `serial` ones (soak, chaos, latency
# figures) with the machine to themselves. Exit code 5 (nothing selected) is not a failure.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 -m "not serial and not browser"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "serial and not browser" || test $$? -eq 5

# The --web console in a real headless Chromium (Debian's; installed if missing, needs root
# or sudo). Not part of `make test`: the browser is large. See docs/security.md.
test-web: $(STAMP)
	command -v chromium >/dev/null || { SUDO=$$(command -v sudo || true); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium chromium-driver; }
	$(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests/web

lint: $(STAMP)
	$(BIN)/ruff check core agents broker ctl tui tests bench
	$(BIN)/mypy

screenshots: $(STAMP)
	$(BIN)/python -m tests.snapshots.make_screenshots screenshots

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info
