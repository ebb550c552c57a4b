# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
PACKAGES := shared services/plans services/scheduler services/notify services/docs services/returns services/web plugins/england plugins/bromley plugins/greenwich plugins/guernsey plugins/scotland
PACKAGES += plugins/wales
PACKAGES += plugins/northern_ireland
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))

.PHONY: run test lint fuzz bench chaos install install-dev broker-package debian-packages clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Runtime: the services and plugin sets, installed editable from this tree.
$(VENV)/.installed: $(PY) constraints.txt $(PYPROJECTS)
	$(PIP) install -q -c constraints.txt $(addprefix -e ,$(PACKAGES))
	@touch $@

# Tests and benchmarks on top. liiatools only for its copies of the DfE census schemas (tests/unit/test_census_codes.py
# checks shared/cpp_shared/census_codes.py against them): --no-deps, as its declared dependencies (pandas<2,
# cchardet) do not install on this Python and none of them is needed to read its spec files.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt
	$(PIP) install -q --no-deps liiatools==0.2.0
	@touch $@

# checkov apart (requirements-checkov.txt says why); tests/unit/test_kubernetes.py runs .venv-checkov/bin/checkov.
.venv-checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev .venv-checkov/.installed

broker-package:
	@scripts/ensure-rabbitmq $(if $(CPP_BROKER_URL),--optional)

# Pango, HarfBuzz-Subset and fonts for WeasyPrint (the docs service's PDFs), poppler-utils for its tests.
debian-packages:
	@scripts/ensure-debian-packages

run: install broker-package debian-packages
	@$(VENV)/bin/cpp up

# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
test: install-dev debian-packages
	@scripts/ensure-debian-packages --tests
	@scripts/ensure-test-node-packages
	@scripts/ensure-rabbitmq
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The services fuzzed from their OpenAPI documents (also part of `make test`).
fuzz: install-dev
	@$(PY) -m pytest -m fuzz tests/services

# ruff.toml says which rules and the format, mypy.ini what is type-checked; .ci/run runs this after the tests.
lint: install-dev
	@$(VENV)/bin/ruff check shared services plugins tests bench
	@$(VENV)/bin/ruff format --check shared services plugins tests bench
	@$(VENV)/bin/mypy

# bus.py, then plans_api.py (BENCH_ARGS go to bus.py, PLANS_BENCH_ARGS to plans_api.py), then the others, each
# with its own *_BENCH_ARGS (WEB_BENCH_ARGS=--plans 2000: a quick try of web.py; CONTENTION_BENCH_ARGS=--store-url
# mongodb://... runs store_contention.py on MongoDB, as CPP_TEST_MONGO_URL does). plans_api.py
# loads with wrk when it is installed (installed here when we are root), else with its Python generator.
bench: install-dev
	@scripts/ensure-rabbitmq
	@$(PY) bench/bus.py $(BENCH_ARGS)
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] \
	  || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 \
	  || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1; } \
	  || echo "make bench: could not install wrk; bench/plans_api.py uses its Python load generator" >&2
	@$(PY) bench/plans_api.py $(PLANS_BENCH_ARGS)
	@$(PY) bench/scheduler.py $(SCHEDULER_BENCH_ARGS)
	@$(PY) bench/notify.py $(NOTIFY_BENCH_ARGS)
	@$(PY) bench/docs.py $(DOCS_BENCH_ARGS)
	@$(PY) bench/web.py $(WEB_BENCH_ARGS)
	@$(PY) bench/returns.py $(RETURNS_BENCH_ARGS)
	@$(PY) bench/store_contention.py $(CONTENTION_BENCH_ARGS)
	@$(PY) bench/store_queries.py $(QUERIES_BENCH_ARGS)

# Fault injection against `cpp up` (tests/chaos/driver.py): 4 minutes of walks while workers, web workers and the
# broker fail; sized by CHAOS_SECONDS, CHAOS_WALKERS, CHAOS_KILL_EVERY (low,high seconds) and CHAOS_SEED.
chaos: install-dev debian-packages
	@scripts/ensure-rabbitmq
	@$(PY) -m tests.chaos.driver

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache
