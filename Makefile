# The README's two commands are `make demo` and `make test`; both set up .venv first.
# Portable GNU make, recipes for /bin/sh.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skhpo-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
LINT_PATHS := skhpo tests examples docs/conf.py $(wildcard bench)

# Quiet TensorFlow's C++ start-up logging.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup chromium postgresql demo test test-oldest bench docs lint format clean

# Create the venv if missing and install skhpo with every extra, once: the stamp is
# remade only when the packaging files change.
setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# Headless Chromium for the dashboard's browser test (tests/test_dashboard.py), installed
# from Debian's package when missing and we are root (as in CI); otherwise that test skips.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ test "$$(id -u)" = 0 && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -q && apt-get install -y -q chromium; } || \
	echo "chromium is not installed (needs root and apt-get): the browser test will skip"

# Debian's PostgreSQL server for the storage tests on a real server (tests/postgres.py
# starts a throwaway one), installed when missing and we are root; otherwise they skip.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	{ test "$$(id -u)" = 0 && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -q && apt-get install -y -q postgresql; } || \
	echo "postgresql is not installed (needs root and apt-get): its storage tests will skip"

demo: setup
	$(PY) examples/hyperband_keras_digits.py

test: setup chromium postgresql
	$(PY) -m pytest $(PYTEST_ARGS)

# The test suite against the lower bounds of pyproject.toml (.ci/oldest-constraints.txt
# pins them) in a second venv, .venv-oldest; Python 3.11 at most (numpy 1.24's wheels).
OLDEST_VENV ?= .venv-oldest
OLDEST_PY := $(OLDEST_VENV)/bin/python
OLDEST_STAMP := $(OLDEST_VENV)/.skhpo-installed

$(OLDEST_STAMP): pyproject.toml setup.py .ci/oldest-constraints.txt
	test -x $(OLDEST_PY) || $(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_PY) -m pip install -q --upgrade pip
	$(OLDEST_PY) -m pip install -q -c .ci/oldest-constraints.txt -e ".[test]"
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP) chromium postgresql
	$(OLDEST_PY) -m pytest $(PYTEST_ARGS)

# The canonical benchmark, with the peers of the bench extra (keras-tuner, scikit-optimize)
# installed once; BENCH_ARGS="--repeats 1 --no-keras-tuner", say.
BENCH_STAMP := $(VENV)/.skhpo-bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

docs: setup
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

lint: setup
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

format: setup
	$(PY) -m ruff format $(LINT_PATHS)
	$(PY) -m ruff check --fix $(LINT_PATHS)

clean:
	rm -rf docs/_build docs/generated build dist skhpo.egg-info examples/output \
		.pytest_cache .ruff_cache .mypy_cache .coverage
	find $(wildcard skhpo tests examples docs bench) -name __pycache__ -type d -prune -exec rm -rf {} +
