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

# the browser test reads the smoke book in Debian's Chromium (or CANCER_ALPHA_CHROMIUM)
BOOK_HTML := build/smoke/book/_build/html
CHROMIUM = $(or $(CANCER_ALPHA_CHROMIUM),$(shell command -v chromium 2>/dev/null),$(wildcard /usr/bin/chromium))

.PHONY: book reference test unit notebooks browser chromium lint benchmarks clean help

help:
	@echo "make book [PROFILE=paper|smoke|large] [FORCE=1]"
	@echo "                                        execute the chapters whose inputs changed"
	@echo "                                        (FORCE=1: all of them) and render the book"
	@echo "make reference [PROFILE=paper|smoke]    build the book, then publish its run records as"
	@echo "                                        reference/PROFILE/ (what cancer-alpha verify reads)"
	@echo "make test                               unit tests, nbval of the smoke notebooks, smoke book"
	@echo "                                        verified against reference/smoke/, and the smoke"
	@echo "                                        book read in a browser (Chromium)"
	@echo "make browser                            the browser test alone, on the smoke book built last"
	@echo "make lint                               ruff"
	@echo "make benchmarks                         performance tables (not tests)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[book,test]'
	@touch $@

book: $(STAMP)
	$(BIN)/cancer-alpha reproduce --profile $(PROFILE) --book $(if $(FORCE),--force)

# the published reference of a profile: its book (executed where out of date), then its run
# records, tuned settings, figure data and manifest frozen in reference/PROFILE/ to commit.
# The smoke book is executed with one thread, as `make test` executes it.
reference: $(STAMP)
	$(if $(filter smoke,$(PROFILE)),OMP_NUM_THREADS=1 )$(BIN)/cancer-alpha reproduce \
		--profile $(PROFILE) --book $(if $(FORCE),--force)
	$(BIN)/cancer-alpha publish --profile $(PROFILE)

# tests/book reads the rendered book: it runs after the book is built (make browser)
unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile --ignore=tests/book tests

# nbval re-executes the executed smoke notebooks two at a time, one thread each (2 cores); the
# book is executed with one thread too, so that re-execution computes the very same numbers.
# The records of the smoke book just executed are compared with the committed reference
# (reference/smoke/) before the book is rendered, so that its reproducibility page shows the
# verification; a smoke number that moved fails here and is named.
notebooks: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/cancer-alpha reproduce --profile smoke
	$(BIN)/cancer-alpha verify --profile smoke --use-build
	$(BIN)/cancer-alpha reproduce --profile smoke --book --no-execute
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 --dist loadfile --nbval \
		--nbval-sanitize-with tests/nbval_sanitize.cfg build/smoke/book/notebooks

# Debian's chromium, installed when missing and make runs as root (CI containers); otherwise
# the browser test fails and says how to install it
chromium:
	@if [ -z "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's chromium for the browser test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "chromium is not installed: the browser test will fail (sudo apt-get install chromium)"; \
		fi; \
	fi

browser: $(STAMP) chromium
	CANCER_ALPHA_BOOK=$(BOOK_HTML) $(BIN)/pytest -p no:xdist tests/book

# the browser test reads the book that `notebooks` has just built, so it runs after it
test: unit notebooks
	@$(MAKE) --no-print-directory browser

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks tools

benchmarks: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build results
