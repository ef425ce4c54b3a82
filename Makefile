# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# durable-rules compiles C at install time: gcc and the Python headers must be present
# (they are on the project's machines); Python must be 3.11 or 3.12.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if (3,11) <= sys.version_info[:2] < (3,13) else 1)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test validate bench schema messages clean bytecode

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: need Python 3.11 or 3.12 (durable-rules does not build on 3.13+)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,scale]'
	@touch $(STAMP)

# The package's bytecode, written ahead: an editable install leaves it to Python, which does
# not write it where PYTHONDONTWRITEBYTECODE is set (as on the project's machines), so every
# pbr command compiled the package again (about 80 ms of its start-up). Only changed files
# are compiled again.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src > /dev/null

run: $(STAMP) bytecode
	$(BIN)/pbr validate contracts/
	$(BIN)/pbr db upgrade
	$(BIN)/pbr serve --contracts contracts/

test: $(STAMP) bytecode
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/pbr validate contracts/

schema: $(STAMP)
	$(BIN)/pbr schema --write

# Extract the messages from the code into the template and merge them into each language's
# .po (new messages arrive untranslated: tests/test_i18n.py names them). The .po files are
# read at run time, so there is nothing to compile.
LOCALE := src/pbr_rules/locale
messages: $(STAMP)
	$(BIN)/pybabel extract --add-location=file --sort-output --project=pbr-rules --version=0.1.0 \
		--copyright-holder="the pbr-rules authors" --msgid-bugs-address="the pbr-rules issue tracker" \
		-F babel.cfg -o $(LOCALE)/pbr_rules.pot src/pbr_rules
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width=100 \
		-i $(LOCALE)/pbr_rules.pot -d $(LOCALE) -D pbr_rules

bench: $(STAMP) bytecode
	$(BIN)/python bench/bench_evaluate.py
	$(BIN)/python bench/bench_ledger.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_simulation.py
	$(BIN)/python bench/bench_cohort_memory.py
	$(BIN)/python bench/bench_workers.py --dask
	@echo "national scale (460,000 participants, about 50 minutes a mode here): $(BIN)/python bench/bench_national.py"

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
