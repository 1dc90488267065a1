# The README's two commands are `make demo` and `make test`; both set up what they need.
PYTHON ?= python3

.PHONY: setup demo test bench lint

setup:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (the dot program) with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; }
	$(PYTHON) -m pip install -q -e ".[dev]"

demo: setup
	chainrule demo

test: setup
	$(PYTHON) -m pytest

bench: setup
	$(PYTHON) benchmarks/scalar.py
	$(PYTHON) benchmarks/run.py

lint:
	ruff check . && ruff format --check .
