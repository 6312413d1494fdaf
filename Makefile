# The two commands of the README do all set-up themselves: each creates .venv when missing and
# installs the pinned environment (pyproject.toml, with every transitive version fixed by
# requirements.lock).
PROFILE ?= paper
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# real data: read offline from ../shared/data when it sits beside the checkout
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export CANCER_ALPHA_DATA ?= $(SHARED_DATA)
endif
# figures must be drawn inline in the notebooks, never by a non-interactive inherited backend
unexport MPLBACKEND

.PHONY: book test unit notebooks lint benchmarks clean help

help:
	@echo "make book [PROFILE=paper|smoke|large] [FORCE=1]"
	@echo "                                        execute the chapters whose inputs changed"
	@echo "                                        (FORCE=1: all of them) and render the book"
	@echo "make test                               unit tests, nbval of the smoke notebooks, smoke book"
	@echo "make lint                               ruff"
	@echo "make benchmarks                         performance tables (not tests)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[book,test]'
	@touch $@

book: $(STAMP)
	$(BIN)/cancer-alpha reproduce --profile $(PROFILE) --book $(if $(FORCE),--force)

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile tests

notebooks: $(STAMP)
	$(BIN)/cancer-alpha reproduce --profile smoke --book
	$(BIN)/pytest -p no:xdist --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		build/smoke/book/notebooks

test: unit notebooks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks

benchmarks: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build results
