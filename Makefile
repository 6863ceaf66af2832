# Two commands do all set-up on a fresh machine:
#   make run   the gateway on SQLite with the offline demo catalog, on http://127.0.0.1:8000
#   make test  lint, type-check and the whole test suite against PostgreSQL and Redis
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo-reset cluster test lint typecheck pytest install install-dev bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# A local .env with fresh secrets, so the embedded run never uses a shared default key.
# umask 077: the file is created readable by its owner only (0600), never by other users.
.env: | $(PY)
	umask 077 && $(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	print('DEBUG=true'); \
	print('SECRET_KEY=' + secrets.token_urlsafe(50)); \
	print('FIELD_ENCRYPTION_KEY=' + Fernet.generate_key().decode())" > .env

# The demo catalog is applied on the first start only: later starts keep what ops changed.
run: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py gateway_demo --base-url http://$(HOST):$(PORT)
	$(VENV)/bin/uvicorn gateway_project.asgi:application --host $(HOST) --port $(PORT)

# Puts what fixtures/demo.yaml lists back to its values (keeps the demo key and admin login).
demo-reset: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py gateway_demo --reset --base-url http://$(HOST):$(PORT)

# Two web nodes (WEB1_PORT, WEB2_PORT), a worker, beat and the consumer under honcho
# (Procfile.cluster), on the PostgreSQL, Redis and RabbitMQ named by the environment or, when
# unset, on localhost's. Refuses to start on SQLite or without Redis (docs/deployment.md).
cluster: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gateway
cluster: export REDIS_URL ?= redis://127.0.0.1:6379/0
cluster: export CELERY_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
cluster: export WEB1_PORT ?= 8001
cluster: export WEB2_PORT ?= 8002
cluster: $(VENV)/.dev .env
	$(PY) deploy/cluster_check.py
	$(PY) manage.py migrate --noinput
	$(PY) manage.py gateway_demo --base-url http://$(HOST):$$WEB1_PORT
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) $(VENV)/bin/honcho -f Procfile.cluster start

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

pytest: $(VENV)/.dev
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(VENV)/.dev
	bash bench/run.sh

clean:
	rm -rf $(VENV) db.sqlite3 .demo-key staticfiles .pytest_cache .mypy_cache .ruff_cache
