# Two commands for readers: `make serve` (live site) and `make test` (build + checks).
# Everything runs in .venv, made from requirements.lock whenever it is missing or stale.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.package-lock.json

# Quieter MkDocs, and the same hashes and timestamps on every build.
export NO_MKDOCS_2_WARNING := 1
export PYTHONHASHSEED := 0
export SOURCE_DATE_EPOCH ?= 1767225600
# make build SOLUTIONS=off: the problems-only site (hooks/solutions.py); every check still runs.
export SOLUTIONS

.PHONY: all venv serve build test lint format lock clean browser bench bench-lighthouse bench-snippets bench-serve bench-tests pdf

all: test

venv: $(STAMP) $(NODE_STAMP)

# Rebuilt when the dependency files change (make compares their dates with the stamp).
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
	  || { echo "error: Python >= 3.11 is needed; run e.g. make PYTHON=python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.lock
	@touch $(STAMP)

# KaTeX (npm, pinned in package-lock.json) renders the math at build time: needs Node >= 18.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: Node.js and npm are needed (KaTeX renders the math): apt-get install nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(NODE_STAMP)

serve: $(STAMP) $(NODE_STAMP)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000 --livereload

build: $(STAMP) $(NODE_STAMP)
	$(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The strict build, then every test. The site tests read the site just built.
# Both cores (pytest-xdist); TEST_JOBS=0 runs in one process. The 15 slowest are listed.
TEST_JOBS ?= 2
test: build lint browser
	BUILT_SITE=site $(BIN)/python -m pytest -n $(TEST_JOBS) --durations=15

# Debian's Chromium for the browser tests: installed when missing and we are root.
# Otherwise the browser tests skip with a reason (and fail under CI=true).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The handouts, printed from the built site by Chromium (scripts/make_pdf.py):
# site/sheet.pdf (problems and hints) and site/solutions.pdf (everything).
pdf: $(STAMP) browser
	@test -f site/index.html || { echo "error: no built site in site/: run make build first"; exit 1; }
	$(BIN)/python scripts/make_pdf.py --site site

# Benchmark: build speed, memory, page weight and Lighthouse (mobile) on every page against a
# plain Material page; tables on stdout, the figures in bench.json (see scripts/bench.py).
# Lighthouse is a benchmark tool only (Node >= 18.20 + npm), pinned in scripts/lighthouse.
LH_STAMP := scripts/lighthouse/node_modules/.package-lock.json

$(LH_STAMP): scripts/lighthouse/package-lock.json
	npm ci --prefix scripts/lighthouse --no-audit --no-fund
	@touch $(LH_STAMP)

bench: $(STAMP) $(NODE_STAMP) $(LH_STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_serve.py | tee bench-serve.json
	$(BIN)/python scripts/bench_tests.py

# Live reload under a real `mkdocs serve` (first and later edits) against plain MkDocs.
bench-serve: $(STAMP) $(NODE_STAMP)
	@test -d .cache/pages || $(MAKE) build
	$(BIN)/python scripts/bench_serve.py | tee bench-serve.json

# The test suite's speed against one build (issue 11's goals): about half an hour.
bench-tests: $(STAMP) $(NODE_STAMP) browser
	$(BIN)/python scripts/bench_tests.py

# Only the Lighthouse part (PAGES=regex to measure fewer pages; BENCH_REPS=n runs each).
bench-lighthouse: $(STAMP) $(NODE_STAMP) $(LH_STAMP)
	$(BIN)/python scripts/bench.py --lighthouse-only $(if $(PAGES),--pages '$(PAGES)')

# Speed of the snippet functions beside a reference (F.conv2d, N / x.sum(), dense solve),
# in one run: a table on stdout, the figures in bench-snippets.json (scripts/bench_snippets.py).
bench-snippets: $(STAMP)
	$(BIN)/python scripts/bench_snippets.py

# Re-pin every package after editing pyproject.toml's dependencies.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > .lock-venv/wanted.txt
	.lock-venv/bin/python -m pip install --quiet -r .lock-venv/wanted.txt
	{ sed -n '1,2p' requirements.lock; .lock-venv/bin/pip freeze --all | grep -v -E '^pip==' \
	  | sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf site .pytest_cache .hypothesis .ruff_cache
