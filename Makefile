# Quick start: `make run` simulates a shipped trace on a shipped config; `make test` runs the suite.
# Both create and use a local virtual environment (.venv) on first use. `make run` installs only
# what running needs; `make test` (and `make venv`) add the test and docs extras, on a stamp of their own.
# A bare Debian/Ubuntu needs: sudo apt-get install python3 python3-venv make
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
NOTEBOOKS_STAMP := $(VENV)/.installed-notebooks

CONFIG ?= configs/npu1.yaml
TRACE  ?= traces/pipeline_2core.json
PLOT   ?= out/run.png

.PHONY: run test venv docs notebooks clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "error: '$(PYTHON) -m venv' failed: on Debian/Ubuntu install python3-venv (sudo apt-get install python3-venv)" >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(RUN_STAMP) $(TEST_STAMP)

$(NOTEBOOKS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[notebooks]'
	touch $(RUN_STAMP) $(NOTEBOOKS_STAMP)

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/npusim run --config $(CONFIG) --trace $(TRACE) --plot $(PLOT)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

docs: $(TEST_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d out/site

notebooks: $(NOTEBOOKS_STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis out/site
