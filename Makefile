# goloop: `make demo` (installs, then trains a 9x9 net from zero) and `make test`.
# PYTHON may point at a virtualenv's interpreter.
PYTHON ?= python3
PIP = $(PYTHON) -m pip

.PHONY: install install-peers build test bench demo clean

# torch: an unpinned requirement would pull the newest CUDA build (several GB). When no torch is
# importable we install the pinned CPU build first; an existing (e.g. GPU) torch is left alone.
install:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[test]"

# Real programs some tests talk to when present (they skip otherwise): KaTrain's engine client
# (a large download: kivy and friends). CI installs them; GNU Go comes from Debian (gnugo).
install-peers:
	$(PIP) install "katrain==1.20.0" || echo "warning: katrain could not be installed; tests/engine/test_katrain.py will skip"
	@command -v gnugo >/dev/null || test -x /usr/games/gnugo || \
	  (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	   timeout 300 sh -c 'apt-get install -y -q gnugo >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q gnugo >/dev/null 2>&1)') || \
	  echo "warning: GNU Go could not be installed; the tests that play it will skip"

# Rebuild the Cython extensions in place after editing a .pyx (install does this once).
build:
	$(PYTHON) setup.py build_ext --inplace -j 2

test:
	$(PYTHON) -m pytest tests

# The built-in run: a small net learning 9x9 from zero, a few cycles of the synchronous loop
# (about 10 minutes on a 2-core CPU; a GPU is used when present). Run again to continue it.
DEMO_DIR ?= demo-run
DEMO_CYCLES ?= 3
demo:
	@$(PYTHON) -c "import goloop.common.search.core, goloop.loop" 2>/dev/null || $(MAKE) install
	$(PYTHON) -m goloop loop --base-dir $(DEMO_DIR) --cycles $(DEMO_CYCLES)

bench:
	$(PYTHON) bench/board_bench.py
	$(PYTHON) bench/nn_bench.py
	$(PYTHON) bench/selfplay_bench.py
	$(PYTHON) bench/shuffle_bench.py
	$(PYTHON) bench/gatekeeper_bench.py
	$(PYTHON) bench/train_bench.py

# Not in `bench` (an hour or more): the demo run continued, its nets against the random net and
# GNU Go; writes learning_curve.json and .png.
learning-curve:
	$(PYTHON) bench/learning_curve.py

clean:
	rm -rf build *.egg-info
	find common engine selfplay shuffler trainer exporter gatekeeper \( -name '*.so' -o -name '*.cpp' -o -name '*.c' \) -delete
