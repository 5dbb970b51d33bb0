# thesislib: everything a fresh machine needs, from `make run` or `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARAMS ?= params/default.yaml
OUT    ?=
# headless browser for tests/browser (Debian's package; never `playwright install`)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test smoke lab bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and exactly pinned: the CPU wheel on disk, never a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/thesislib run --params $(PARAMS) $(if $(OUT),--out $(OUT),)

smoke: $(STAMP)
	$(BIN)/thesislib run --params params/smoke.yaml

# installed once (as root, e.g. CI); elsewhere the browser tests say they were skipped and why
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests (about a minute)"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  echo "WARNING: installing chromium failed (package registry unreachable?): tests/browser will be SKIPPED"; \
	else echo "note: $(CHROMIUM) missing and not root with apt-get: tests/browser will be skipped"; fi

# pytest exits 5 when nothing was collected; that is not a failure of the project.
# Tests run on TEST_WORKERS processes (pytest-xdist); the smoke-suite readers share one of them.
TEST_WORKERS ?= 2
test: $(STAMP) $(CHROMIUM)
	@$(BIN)/python -m pytest tests -n $(TEST_WORKERS) --dist loadgroup; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
