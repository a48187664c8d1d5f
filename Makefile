# Almanac developer commands. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STACK := hack/stack
export ALMANAC_TIMES := /tmp/almanac-test-times-$(shell echo $$PPID)
PROFILE ?= short

.PHONY: help install console-assets stack dev down status lint unit integration e2e chaos test crds clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@echo "== creating $(VENV) with Almanac and its dev tools"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[runtime,dev]'
	touch $@

console-assets: ## vendor the web console's npm assets (JSON Editor; axe-core for its tests)
	@hack/console/assets

install: $(VENV)/.installed console-assets ## create .venv with the project and its dev tools, and the console's assets

stack: install ## bring the local stack up (Kubernetes, Postgres, Kafka) and leave it running
	@$(STACK) up
	@echo "# use it:  eval \"\$$($(STACK) env)\"  then  $(VENV)/bin/kubectl get nodes"

dev: install ## the stack plus CRDs, two operator replicas and a sample job every 30 s
	@$(STACK) dev

down: install ## stop the local stack and clean up after it
	@$(STACK) down

status: install ## show the local stack's processes and ports
	@$(STACK) status

crds: install ## regenerate crds/ from the pydantic models (and the chart's copy)
	$(PY) -m almanac crds
	$(PY) hack/chart/sync.py

lint: install ## ruff, mypy, hadolint, the Helm chart (helm lint, checkov) and the docs (mkdocs --strict)
	@hack/timed lint $(VENV)/bin/ruff check .
	@hack/timed format $(VENV)/bin/ruff format --check .
	@hack/timed mypy $(VENV)/bin/mypy
	@hack/timed hadolint $(VENV)/bin/hadolint Dockerfile
	@hack/timed chart hack/chart/lint.sh
	@hack/timed docs $(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site

unit: install ## unit tests (pure logic, no cluster)
	@hack/timed unit $(PY) -m pytest tests/unit -q

integration: install ## integration tests against the real stack (started if needed)
	@hack/timed build $(STACK) build
	@hack/timed integration $(PY) -m pytest tests/integration -q --durations=25

e2e: install ## Helm chart end-to-end tests on the local stack (started if needed)
	@hack/timed e2e $(PY) -m pytest tests/e2e -q --durations=10

chaos: install ## the chaos suite: 3 replicas under leader kills and restarts, exact accounting (PROFILE=short|long)
	@hack/timed chaos $(PY) -m hack.chaos --profile $(PROFILE)

test: lint unit integration e2e chaos ## everything CI runs: lint, unit, integration, e2e and the short chaos profile
	@hack/timed --summary

clean: ## remove the virtualenv and caches in the checkout
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
