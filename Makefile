# wordcrowd: every target sets itself up (virtual environment, Debian packages when run as root).
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: serve test lint bench clean

$(RUNTIME): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV) train
	touch $@

$(DEV): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV) train,dev,record
	touch $@ $(RUNTIME)

serve: $(RUNTIME)  ## run the collector on the embedded defaults (SQLite + local files)
	$(BIN)/wordcrowd serve

TEST_WORKERS ?= 2

test: $(DEV)  ## the whole test suite (SQLite, PostgreSQL, S3 API server, Chromium) on TEST_WORKERS workers
	bash scripts/services.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(DEV)
	$(BIN)/ruff check .

bench: $(DEV)  ## benchmarks; figures go to benchmarks/RESULTS.md
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) instance .pytest_cache
