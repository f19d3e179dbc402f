# Two entry points: `make demo` and `make test`. Both set up what they need.
# One progress line per step; the full output of each step goes to $(LOG).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOG    := $(VENV)/setup.log
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mosquitto mosquitto-clients victoria-metrics chromium fonts-noto-cjk postgresql

.PHONY: demo test lint venv dev-venv system-deps schemas clean

# Run a setup step quietly: "  <what> … ok", or its log's tail and a non-zero exit.
define step
	@printf '  %-52s' "$(1) …"; \
	if ( $(2) ) >>$(LOG) 2>&1; then echo ok; else echo FAILED; tail -n 30 $(LOG); \
	echo "(full log: $(LOG))"; exit 1; fi
endef

$(BIN)/.runtime: pyproject.toml
	@mkdir -p $(VENV) && : > $(LOG)
	$(call step,creating the virtualenv,$(PYTHON) -m venv $(VENV) || ($(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV)))
	$(call step,upgrading pip,$(BIN)/pip install --upgrade pip)
	$(call step,installing the gateway (runtime only),$(BIN)/pip install -e .)
	@touch $@

$(BIN)/.installed: $(BIN)/.runtime pyproject.toml
	$(call step,installing test and camera extras,$(BIN)/pip install -e '.[dev]')
	@touch $@

venv: $(BIN)/.runtime

dev-venv: $(BIN)/.installed

# Real servers the tests talk to; installed from Debian's packages when missing. PostgreSQL:
# the tests run initdb/postgres from /usr/lib/postgresql/<version>/bin themselves (not on PATH,
# no service needed); the package also starts a system cluster, which the tests do not use.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then printf '  %-52s' "installing$$missing …"; \
	  if ( $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing ) >>$(LOG) 2>&1; \
	  then echo ok; else echo FAILED; tail -n 30 $(LOG); exit 1; fi; fi

lint: dev-venv
	$(BIN)/ruff check .

# Two workers (pytest-xdist), a test module each at a time (module fixtures such as the
# broker stay shared): most tests wait on a broker, a database or a browser, so a 2-core
# machine runs the suite in well under 10 minutes instead of ~13.
test: dev-venv system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile

demo: venv
	@$(BIN)/scgw demo

schemas: dev-venv
	$(BIN)/scgw schemas export

clean:
	rm -rf $(VENV) data .pytest_cache
