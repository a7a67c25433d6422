# Every target sets itself up: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := vault faultpoints sandbox tap-gusto target-dynamics-fo connector
STAMP := $(VENV)/.installed
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: venv demo test chaos bench lint typecheck sandbox clean resilience-table mapping-schema

venv: $(STAMP)

# Bytecode is compiled at install (--compile-bytecode for the dependencies, compileall for the
# editable packages and anything installed before): otherwise every run of the tap and the target compiles the SDK again
# whenever bytecode cannot be written (read-only installs, PYTHONDONTWRITEBYTECODE), ~0.6 s CPU.
COMPILE = $(BIN)/python -m compileall -q -j 0 $(PACKAGES)

$(STAMP): requirements-dev.txt $(PYPROJECTS) Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	@$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.txt $(foreach p,$(PACKAGES),-e ./$(p))
	@$(COMPILE) $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null
	@touch $(STAMP)

demo: venv
	@$(BIN)/python scripts/demo.py

test: venv
	@scripts/ensure_chromium.sh
	@$(BIN)/python -m pytest -m "not chaos" $(PYTEST_ARGS)
	@$(BIN)/python scripts/fault_table.py

chaos: venv
	@$(BIN)/python -m pytest -m chaos -s $(PYTEST_ARGS)
	@$(BIN)/python scripts/fault_table.py

# The plugins as Meltano installs them, each with only its own dependencies (the development
# environment also holds the connector's report libraries: numpy, which singer-sdk's joblib then
# imports at every start). The benchmarks run the tap and the target processes from here.
PLUGINS_VENV := .venv-plugins
PLUGINS_STAMP := $(PLUGINS_VENV)/.installed

$(PLUGINS_STAMP): $(STAMP) vault/pyproject.toml tap-gusto/pyproject.toml target-dynamics-fo/pyproject.toml
	@test -x $(PLUGINS_VENV)/bin/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(PLUGINS_VENV)
	@$(BIN)/uv pip install --quiet --compile-bytecode --python $(PLUGINS_VENV)/bin/python -e ./vault -e ./tap-gusto -e ./target-dynamics-fo
	@touch $@

bench: venv $(PLUGINS_STAMP)
	@# The working tree's own sources change after install: their bytecode too is made first, or
	@# each measured run would compile them again (where bytecode is not written) and count it.
	@$(COMPILE) >/dev/null
	@$(BIN)/python bench/tap_extract.py
	@BENCH_PLUGIN_BIN=$(PLUGINS_VENV)/bin $(BIN)/python bench/target_post.py
	@BENCH_PLUGIN_BIN=$(PLUGINS_VENV)/bin BENCH_PEOPLE_RUNS=steady $(BIN)/python bench/target_people.py
	@$(BIN)/python bench/corrections_detect.py
	@# Every grant waits on its budget (as companies of thousands of employees do at Gusto's 200/min):
	@# without that, five processes on a small machine measure its cores, not the grants.
	@BENCH_PLUGIN_BIN=$(PLUGINS_VENV)/bin $(BIN)/python bench/companies_parallel.py --employees 500 --sandbox-limit 40

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: venv
	@$(BIN)/mypy vault/gd_vault faultpoints/gd_faultpoints sandbox/gd_sandbox tap-gusto/tap_gusto target-dynamics-fo/target_dynamics_fo connector/gusto_dynamics

sandbox: venv
	@$(BIN)/python -m gd_sandbox up

clean:
	rm -rf $(VENV) $(PLUGINS_VENV) .meltano .sandbox output .gusto-dynamics $(foreach p,$(PACKAGES),$(p)/build $(p)/dist)

# Rewrite the README's table of faults survived and bad inputs tried from the last test run.
resilience-table: venv
	@$(BIN)/python scripts/fault_table.py

# Rewrite config/mapping.schema.json (editors' schema for mapping files) from the mapping model.
mapping-schema: venv
	@$(BIN)/python -m target_dynamics_fo.mapping.schema config/mapping.schema.json
