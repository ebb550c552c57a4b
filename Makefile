# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
PACKAGES := shared services/plans services/scheduler services/notify services/docs plugins/england
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))

.PHONY: run test bench install install-dev broker-package clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Runtime: the services and plugin sets, installed editable from this tree.
$(VENV)/.installed: $(PY) constraints.txt $(PYPROJECTS)
	$(PIP) install -q -c constraints.txt $(addprefix -e ,$(PACKAGES))
	@touch $@

# Tests and benchmarks on top.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

broker-package:
	@scripts/ensure-rabbitmq $(if $(CPP_BROKER_URL),--optional)

run: install broker-package
	@$(VENV)/bin/cpp up

# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
test: install-dev
	@scripts/ensure-rabbitmq
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: install-dev
	@scripts/ensure-rabbitmq
	@$(PY) bench/bus.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
