# Quick start: `make run` simulates a shipped trace on a shipped config; `make test` runs the suite.
# Both create and use a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CONFIG ?= configs/npu1.yaml
TRACE  ?= traces/pipeline_2core.json
PLOT   ?= out/run.png

.PHONY: run test venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/npusim run --config $(CONFIG) --trace $(TRACE) --plot $(PLOT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
