# The README's two commands are `make demo` and `make test`; both set up what they need.
PYTHON ?= python3

.PHONY: setup demo test bench lint mutation

setup:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (the dot program) with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; }
	$(PYTHON) -m pip install -q -e ".[dev]"

demo: setup
	chainrule demo

# Serial by default: on 2 shared cores pytest-xdist (`-n auto`) measured no faster. With more
# cores: make test PYTEST_ARGS="-n auto" (pytest-xdist comes with the dev and test extras).
PYTEST_ARGS ?=

test: setup
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PYTHON) benchmarks/scalar.py
	$(PYTHON) benchmarks/run.py
	$(PYTHON) benchmarks/search.py
	$(PYTHON) benchmarks/gradcheck.py

lint:
	ruff check . && ruff format --check .

# Mutation testing over the core modules (configured in pyproject.toml's [tool.mutmut]):
# takes a while; prints the surviving mutants at the end (`mutmut show NAME` for one).
mutation: setup
	rm -rf mutants
	# one thread per numeric library: mutmut forks, and a child forked while OpenMP or
	# BLAS threads hold a lock waits for ever (a CPU-time limit never stops it)
	HYPOTHESIS_PROFILE=mutation OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  mutmut run --max-children $(or $(JOBS),2)
	mutmut results
