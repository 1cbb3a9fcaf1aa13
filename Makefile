# The two commands of the README: `make demo` runs the helpdesk, `make test` runs the tests.
# Everything else here is a helper for them.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: demo serve test ci lint format lock install install-dev migrate seed clean check-compose

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv

$(VENV)/.runtime: requirements/base.txt pyproject.toml | $(BIN)/python
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/base.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.dev: requirements/dev.txt pyproject.toml $(VENV)/.runtime
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_journeys

## make demo: install, migrate (SQLite by default), seed the demo data, serve HTTP + WebSockets
demo: seed
	@echo ""
	@echo "  Helpdesk is starting on http://$(HOST):$(PORT)/"
	@echo "    Landing page:   http://$(HOST):$(PORT)/"
	@echo "    Sign in:        http://$(HOST):$(PORT)/accounts/login/   (logins above)"
	@echo "    Acme's queue:   http://$(HOST):$(PORT)/t/acme/queue/"
	@echo "    API docs:       http://$(HOST):$(PORT)/api/docs/"
	@echo ""
	$(BIN)/uvicorn helpdesk.asgi:application --host $(HOST) --port $(PORT) --ws websockets-sansio --log-level warning

serve: install
	$(BIN)/uvicorn helpdesk.asgi:application --host $(HOST) --port $(PORT) --ws websockets-sansio

## make test: the whole suite. Embedded defaults without DATABASE_URL/REDIS_URL (skips what needs
## PostgreSQL or Redis, with a reason); with them set, everything runs. CI=true or
## HELPDESK_STRICT=1 turns any skip into a failure.
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ci:
	HELPDESK_STRICT=1 $(MAKE) test

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: install-dev
	$(BIN)/uv pip compile -q --python-version 3.11 pyproject.toml -o requirements/base.txt
	$(BIN)/uv pip compile -q --python-version 3.11 --extra dev pyproject.toml -o requirements/dev.txt

check-compose:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
