# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skhpo-installed
PYTEST_ARGS ?=

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test bench docs lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(PY) examples/hyperband_keras_digits.py

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	cd bench && ../$(PY) overhead.py && ../$(PY) asha_utilisation.py

docs: setup
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

lint: setup
	$(PY) -m ruff check skhpo tests examples bench docs/conf.py
	$(PY) -m ruff format --check skhpo tests examples bench docs/conf.py

format: setup
	$(PY) -m ruff format skhpo tests examples bench docs/conf.py
	$(PY) -m ruff check --fix skhpo tests examples bench docs/conf.py

clean:
	rm -rf docs/_build docs/generated build dist *.egg-info bench/results
