# MithraPay developer commands. `make run` and `make test` work on a fresh
# clone with only Python 3.11+ and make; see README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export APP_ENV ?= development

# MariaDB's driver compiles against libmariadb-dev, so it is installed only
# when the environment or .env points the project at MariaDB.
USES_MARIADB := $(shell { printf '%s\n' "DATABASE_URL=$$DATABASE_URL" "DB_HOST=$$DB_HOST"; cat .env 2>/dev/null; } | grep -Eq '^(DATABASE_URL=mysql|DB_HOST=.+)' && echo yes)
REQUIREMENTS := requirements.txt $(if $(USES_MARIADB),requirements-mysql.txt)
DEV_REQUIREMENTS := requirements-dev.txt $(REQUIREMENTS)

.PHONY: help install install-dev run test lint format check-migrations schema \
	messages migrate roles worker beat clean bench-orders bench-import \
	deploy-check fuzz e2e

help:
	@echo "make run    - install, migrate and serve on http://127.0.0.1:8000"
	@echo "make test   - lint, migration check, schema check and the test suite"
	@echo "make format - apply ruff's formatting and import order"
	@echo "make messages - extract and compile the translation catalogues"
	@echo "make worker / make beat - a Celery worker / the beat scheduler"

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "MithraPay needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: $(BIN)/python $(REQUIREMENTS)
	$(BIN)/pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $@

$(VENV)/.installed-dev: $(BIN)/python $(DEV_REQUIREMENTS)
	$(BIN)/pip install --quiet $(addprefix -r ,$(DEV_REQUIREMENTS))
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py setup_roles

run: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_demo_sales
	$(BIN)/python manage.py runserver 127.0.0.1:8000

worker: install
	$(BIN)/celery -A mithrapay worker --loglevel=INFO

beat: install
	$(BIN)/celery -A mithrapay beat --loglevel=INFO

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install-dev
	APP_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

schema: install-dev
	APP_ENV=test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

test: lint check-migrations schema
	$(BIN)/pytest

messages: install-dev
	$(BIN)/python manage.py makemessages --locale fa --no-obsolete --no-location \
		--ignore '.venv/*' --ignore 'staticfiles/*'
	$(BIN)/python manage.py compilemessages --locale fa --ignore '.venv/*'

bench-orders: install
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	$(BIN)/python bench/bench_orders.py

# The public API under wrk against gunicorn with production settings, on a
# database of its own (mithrapay_bench) beside the one DATABASE_URL names;
# see "## Performance" in README.md. BENCH_ARGS="--profile /tmp/mithrapay-profile"
# adds py-spy flame graphs of each load.
.PHONY: bench
bench: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/bench_http.py $(BENCH_ARGS)

# The checkout under load on two versions of the code, in alternating runs,
# on the data `make bench` seeded: BASE=<git ref> (default HEAD~1) against
# this checkout; see "## Performance" in README.md.
BASE ?= HEAD~1
ROUNDS ?= 4
.PHONY: bench-compare
bench-compare: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/compare_orders.py --base $(BASE) --rounds $(ROUNDS)

# One request's cost in one process on the data `make bench` seeded: wall and
# CPU time, then instructions per request under valgrind (callgrind counts
# the Python process only and gives the same figure run after run).
# bench-order-cost places orders; bench-list-cost reads the uncached list.
COST_RUNS ?= 200
.PHONY: bench-order-cost bench-list-cost
bench-order-cost: COST_ENDPOINT = orders
bench-list-cost: COST_ENDPOINT = products
bench-order-cost bench-list-cost: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	command -v valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(BIN)/python bench/request_cost.py --endpoint $(COST_ENDPOINT) --requests 500
	@start=$$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		$(BIN)/python bench/request_cost.py --endpoint $(COST_ENDPOINT) --requests 0 2>&1 \
		| awk '/Collected/ {print $$4}'); \
	total=$$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		$(BIN)/python bench/request_cost.py --endpoint $(COST_ENDPOINT) --requests $(COST_RUNS) 2>&1 \
		| awk '/Collected/ {print $$4}'); \
	echo "$$(( (total - start) / $(COST_RUNS) )) instructions per request to $(COST_ENDPOINT) (callgrind, the Python process)"

# 100,000 codes through `manage.py import_codes`, on a throw-away database
# beside the one DATABASE_URL names (set it to MariaDB for the real figure).
bench-import: install
	$(BIN)/python -m catalog.bench.import_bench

# Django's deployment checks under production settings, every warning an
# error. Throw-away secrets; the real servers when DATABASE_URL and REDIS_URL
# are set, else a SQLite path (the checks do not connect).
deploy-check: install
	APP_ENV=production ENV_FILE=/dev/null ALLOWED_HOSTS=shop.example.com \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	JWT_SECRET=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	CODE_DIGEST_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))') \
	CODE_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	DATABASE_URL=$${DATABASE_URL:-sqlite:///$(CURDIR)/var/deploy-check.sqlite3} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# schemathesis against gunicorn on MariaDB and Redis (DATABASE_URL and
# REDIS_URL name the servers; the run uses its own database, mithrapay_fuzz).
# Fails on any failure; see fuzz/schemathesis.toml.
fuzz: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	$(BIN)/python fuzz/run.py

# The customer's journey over HTTP against gunicorn and a Celery worker on
# MariaDB and Redis (database mithrapay_e2e), then the back-office journey
# in a headless browser where that target exists.
e2e: install-dev
	$(BIN)/pip install --quiet -r requirements-mysql.txt
	$(BIN)/python e2e/journey.py
	@if $(MAKE) -n e2e-admin >/dev/null 2>&1; then $(MAKE) e2e-admin; \
	else echo "make e2e-admin is not defined; the back-office journey is skipped"; fi

# The back office's dashboard with 100,000 orders on a throw-away database
# beside the one DATABASE_URL names (point it at MariaDB for the real figure).
.PHONY: bench-dashboard e2e-admin
bench-dashboard: install
	$(if $(USES_MARIADB),$(BIN)/pip install --quiet -r requirements-mysql.txt)
	$(BIN)/python bench/bench_dashboard.py

# The back office in Debian's Chromium driven by Playwright, on a throw-away
# SQLite shop (never a browser downloaded by Playwright). Installs chromium
# with apt-get when it is missing and this runs as root.
e2e-admin: install
	$(BIN)/pip install --quiet -r requirements-e2e.txt
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "install Debian's chromium first: apt-get install chromium"; exit 1; }
	$(BIN)/python e2e/admin_browser.py

clean:
	rm -rf $(VENV) staticfiles
