# Offline Portal: `make run` serves the portal on a fresh machine; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Defaults for `make run` only; anything set in the environment wins.
run: export PORTAL_DEV_DEFAULTS ?= true
run: export SANDBOX_ENABLED ?= true
run: export LICENSE_API_URL ?= http://127.0.0.1:$(PORT)/sandbox/api/v4
run: export LICENSE_API_KEY ?= 3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b
run: export LICENSE_SHARED_KEY ?= demo-shared-key-0123456789abcdef
run: export LICENSE_API_BUNDLE_PRODUCTS ?= SUITE
run: export PORT := $(PORT)

.PHONY: run test lint format clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# nginx, which gunicorn.conf.py starts in front of gunicorn (Debian's, when missing; see
# scripts/install-nginx).
$(VENV)/.nginx: scripts/install-nginx | $(VENV)/bin/python
	scripts/install-nginx
	touch $@

# The browser tests' Chromium (Debian's) and axe-core (npm); see scripts/install-browser.
$(VENV)/.browser: package-lock.json scripts/install-browser | $(VENV)/bin/python
	scripts/install-browser
	touch $@

run: $(VENV)/.runtime $(VENV)/.nginx $(VENV)/.gettext
	$(PY) manage.py compilemessages --ignore '.*' --ignore node_modules --verbosity 0
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sandbox_seed sandbox/fixtures/demo.json
	$(PY) manage.py upsert_tenant demo.localhost --name "Demo Vendor" \
	    --api-url http://127.0.0.1:$(PORT)/sandbox/api/v4 --bundle-products SUITE \
	    --api-key 3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b --shared-key demo-shared-key-0123456789abcdef \
	    --primary-color "#8A1538" --accent-color "#0B5394" --support-email support@demo.example \
	    --help-text "A **white-labelled** demo tenant: same sandbox, its own brand."
	$(PY) manage.py upsert_tenant oauth.localhost --name "Demo Vendor on OAuth" \
	    --api-url http://127.0.0.1:$(PORT)/sandbox/api/v4 --bundle-products SUITE \
	    --client-id auth_company_100123 --client-secret demo-client-secret-0123456789 \
	    --primary-color "#1F5F3F" --help-text "A demo tenant on **OAuth** client credentials."
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Offline Portal: http://127.0.0.1:$(PORT)/  (sandbox License API at /sandbox/)"
	@echo "Branded demo tenant: http://demo.localhost:$(PORT)/"
	@echo "Demo tenant on OAuth: http://oauth.localhost:$(PORT)/"
	$(VENV)/bin/gunicorn -c gunicorn.conf.py offline_portal.wsgi

test: $(VENV)/.dev $(VENV)/.browser $(VENV)/.nginx $(VENV)/.gettext
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	@# The layout's rule (docs/architecture.md): no production module over 300 lines.
	@long=$$(find portal offline_portal -name '*.py' -not -path '*/migrations/*' \
	    -exec awk 'END { if (NR > 300) print FILENAME ": " NR " lines" }' {} \;); \
	if [ -n "$$long" ]; then echo "Over 300 lines, split by concern:"; echo "$$long"; exit 1; fi
	$(VENV)/bin/pytest

# The whole suite again on a throwaway PostgreSQL server (Debian's, installed when missing),
# including the scale-out test of two portal instances on one database.
.PHONY: test-postgres
test-postgres: $(VENV)/.dev $(VENV)/.browser $(VENV)/.nginx $(VENV)/.gettext
	scripts/postgres-test-server run -- $(VENV)/bin/pytest

# Throughput, latency, CPU and memory under the production server, driven by locust (see
# scripts/bench.py and docs/performance.md); BENCH_SECONDS sets the main run's length (60 s).
$(VENV)/.bench: requirements.txt requirements-bench.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@ $(VENV)/.runtime

.PHONY: bench
bench: $(VENV)/.bench $(VENV)/.nginx
	$(PY) scripts/bench.py

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# The container: docker when its daemon answers, else podman (see ../shared/tools/container).
CONTAINER_ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; \
	elif command -v podman >/dev/null 2>&1; then echo podman; else echo docker; fi)

.PHONY: container-test
container-test:
	CONTAINER_ENGINE=$(CONTAINER_ENGINE) $(PYTHON) scripts/container_test.py

# The translation catalogues (locale/<language>/LC_MESSAGES): the portal's strings, then
# portal.js's. Translate every new entry before committing; `make test` checks them.
LOCALES := -l de -l fr -l es -l ja -l ar
MESSAGES_IGNORE := -i node_modules -i staticfiles -i tests -i scripts -i var -i test-artifacts -i docs
.PHONY: messages
messages: $(VENV)/.dev $(VENV)/.gettext
	PORTAL_DEV_DEFAULTS=true $(PY) manage.py makemessages $(LOCALES) --no-location --no-obsolete $(MESSAGES_IGNORE)
	PORTAL_DEV_DEFAULTS=true $(PY) manage.py makemessages -d djangojs $(LOCALES) --no-location --no-obsolete $(MESSAGES_IGNORE)

# GNU gettext (msgfmt, xgettext) for the catalogues (Debian's, when missing; see
# scripts/install-gettext).
$(VENV)/.gettext: scripts/install-gettext | $(VENV)/bin/python
	scripts/install-gettext
	touch $@
