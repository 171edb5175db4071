# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: help venv chromium ocr demo test test-netns unit lint typecheck bench clean

help:
	@echo "make demo   - install, find or install Chromium, run the hotline on the sandbox web"
	@echo "make test   - install, find or install Chromium, run lint and the whole test suite"
	@echo "make bench  - run the benchmarks in benchmarks/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

chromium: venv
	$(PY) -m crawler.install_browser

# Tesseract reads text in screenshots and pictures; optional, installed when root can.
ocr: venv
	$(PY) -m classifiers.install_ocr

demo: chromium ocr
	$(VENV)/bin/hotline demo

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

test: chromium ocr lint typecheck
	$(PY) -m pytest -ra --ignore=tests/netns
	$(MAKE) test-netns

# Tests that make a browser try refused addresses run in a loopback-only network namespace.
test-netns: chromium
	PY=$(PY) sh tests/netns/run.sh

unit: venv
	$(PY) -m pytest -ra tests/unit

bench: chromium
	$(PY) benchmarks/bench_intake.py
	$(PY) benchmarks/bench_capture.py
	$(PY) benchmarks/bench_classify.py
	$(PY) benchmarks/bench_claims.py
	$(PY) benchmarks/bench_queue_page.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
