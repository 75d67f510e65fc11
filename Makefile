# geolargeimage developer tasks. Needs CPython 3.12/3.13 (gdal-wheel has cp312/cp313 wheels only);
# .ci/find-python locates one even when python3 is older or pyenv shims are inactive.
VENV := .venv
PYTHON := $(VENV)/bin/python

.PHONY: venv test lint bench bench-peers demo data clean

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg
	@set -e; PY=$$(bash .ci/find-python); \
	echo "using $$PY ($$("$$PY" -V 2>&1))"; \
	"$$PY" -m venv $(VENV); \
	$(PYTHON) -m pip install -q --upgrade pip; \
	$(PYTHON) -m pip install -e '.[test]'
	touch $@

# pycodestyle, pyflakes and pep8-naming at 100 columns. The N rules that forbid camelCase are off:
# large_image's camelCase API (getRegion, tileWidth, jpegQuality=...) is what we are compatible with.
RUFF := $(PYTHON) -m ruff check --line-length 100 --select E,F,W,N,I --ignore N802,N803,N815,N816

lint: venv
	$(RUFF) geolargeimage tests

test: venv lint
	$(PYTHON) -m pytest -n 2 --ignore=tests/benchmarks tests

bench: venv bench-peers
	PYTHONPATH=$(CURDIR) $(PYTHON) tests/benchmarks/run.py

# The benchmark's peers, never the library's dependencies: the `bench` extra (rio-tiler from its
# wheel, which carries rasterio's own GDAL; large-image; pyinstrument), then large_image's GDAL
# source with --no-deps, beside our gdal-wheel (its `gdal` requirement would replace it).
# Each step is skipped when its package imports already; a failed install (offline) warns and
# `make bench` goes on: the peer rows then say 'skipped'.
bench-peers: venv
	@$(PYTHON) -c 'import rio_tiler, large_image, pyinstrument, rioxarray' 2>/dev/null || \
	$(PYTHON) -m pip install -q --only-binary rasterio,rio-tiler -e '.[bench]' || \
	echo "warning: the bench extra (rio-tiler, large-image, rioxarray) did not install; its rows say 'skipped'"
	@$(PYTHON) -c 'import large_image_source_gdal' 2>/dev/null || \
	$(PYTHON) -m pip install -q --no-deps large-image-source-gdal || \
	echo "warning: large-image-source-gdal did not install; the large_image rows say 'skipped'"

# The long fuzz corpus (the CI part runs in `make test`); FUZZ_COUNT / FUZZ_SEED change it.
FUZZ_COUNT ?= 2000
FUZZ_SEED ?= 2026
.PHONY: fuzz
fuzz: venv
	GEOLARGEIMAGE_FUZZ_LONG=$(FUZZ_COUNT) GEOLARGEIMAGE_FUZZ_SEED=$(FUZZ_SEED) \
	$(PYTHON) -m pytest -p no:xdist tests/test_fuzz.py -k long -rA

demo: venv
	$(PYTHON) -m geolargeimage.demo data/sample.tif demo-output

data: venv
	$(PYTHON) data/make_sample.py data/sample.tif

clean:
	rm -rf $(VENV) demo-output .pytest_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
