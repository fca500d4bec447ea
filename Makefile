VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.seglab-installed
export HF_HUB_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: demo test bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[all,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/seglab demo -o demo_output
	@echo "open demo_output/index.html"

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules src/seglab --ignore=src/seglab/__main__.py

# make bench                 -> classical methods vs OpenCV / scikit-image (writes docs/performance.md)
# make bench BENCH=deep       -> benchmarks/bench_deep.py (also: metrics, inpaint, scale)
BENCH ?= classical
bench: $(STAMP)
	$(PY) benchmarks/bench_$(BENCH).py $(if $(filter classical,$(BENCH)),--write docs/performance.md,)

clean:
	rm -rf demo_output .pytest_cache build *.egg-info
