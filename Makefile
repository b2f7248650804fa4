# Each target creates .venv on first use and installs the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := assets/models/resnet_small.onnx
# The real-model corpus is exported by torch in its own environment: with torch importable,
# onnxruntime's transformer optimizer behaves differently, and the passes must be measured as
# users run them (.venv, no torch).
CORPUS_VENV := .venv-corpus
CORPUS_STAMP := $(CORPUS_VENV)/.installed
CORPUS ?= build/corpus

.PHONY: install run test bench bundle corpus coverage clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/onnx-workbench $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# The corpus and coverage scripts (and their modules) have their own targets: they need torch.
BENCH_SCRIPTS := $(filter-out benchmarks/corpus%.py benchmarks/coverage%.py,$(wildcard benchmarks/*.py))

bench: $(STAMP)
	@for script in $(BENCH_SCRIPTS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

$(CORPUS_STAMP): pyproject.toml
	test -x $(CORPUS_VENV)/bin/python || $(PYTHON) -m venv $(CORPUS_VENV)
	$(CORPUS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CORPUS_VENV)/bin/python -m pip install --quiet -e '.[corpus]'
	touch $(CORPUS_STAMP)

corpus: $(CORPUS_STAMP)
	$(CORPUS_VENV)/bin/python benchmarks/corpus.py --out $(CORPUS)

coverage: corpus $(STAMP)
	$(BIN)/python benchmarks/coverage.py --corpus $(CORPUS)

bundle: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bundle]'
	$(BIN)/python installer/build.py

clean:
	rm -rf $(VENV) $(CORPUS_VENV) build dist
