# Afterwin: `make run` starts the product, `make test` runs the suite.
# Both create .venv and install the pinned dependencies when missing or out of date.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install run test lint format demo check-deploy clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Afterwin needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# The product as users see it: DEBUG off (friendly error pages), unless DJANGO_DEBUG is set.
run: export DJANGO_DEBUG ?= 0
# Links in emails (survey answers, unsubscribe) point at the server make run starts.
run: export AFTERWIN_SITE_URL ?= http://$(or $(WEB_BIND),127.0.0.1:8000)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: export AFTERWIN_SITE_URL ?= http://$(or $(WEB_BIND),127.0.0.1:8000)
demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo

check-deploy: install
	AFTERWIN_PRODUCTION=1 DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))') \
	DJANGO_ALLOWED_HOSTS=afterwin.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/celery var/celerybeat-schedule* var/staticfiles
