# Mercato: `make up` runs the system, `make test` passes the tests. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv may have just been installed by `make deps` as a module of the system Python.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN = $(UV) run --frozen --all-packages
NATIVE = $(RUN) python -m native
# topology.render needs only the standard library: plain python3 where uv is not installed yet.
RENDER = $(if $(shell command -v uv 2>/dev/null),$(RUN) python,python3) -m topology.render
# The Docker stack where an engine answers, else the native one (up, down, ps and logs agree).
DOCKER_ENGINE = docker info >/dev/null 2>&1
# Each member's src/ is a root for mypy, so `shared/src/mercato_shared/x.py` is `mercato_shared.x`.
MYPYPATH = $(subst $(eval) ,:,$(wildcard shared/src shop/src services/*/src workers/src packages/*/src) observability/grafana)

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install what is missing: uv, nginx (apt, as root), the locked Python packages, Docker Compose; start Postgres/Redis if stopped
	@bash native/bootstrap.sh
	@$(UV) sync --frozen --all-packages
	@bash docker/install-compose.sh

.PHONY: render
render: ## Render the deployment from stack.toml: docker-compose.yml, the gateway's routes, .env.example
	@$(RENDER)

.PHONY: up
up: render ## Run the system: Docker Compose where an engine runs, else the native stack
	@if $(DOCKER_ENGINE); then \
		docker compose up -d --build --wait; \
	else \
		$(MAKE) --no-print-directory native-up; \
	fi

.PHONY: native-up
native-up: deps render ## Run the native stack (supervisord, local nginx, Postgres, Redis) and wait until ready
	@$(NATIVE) up

.PHONY: down
down: ## Stop everything `make up` started
	@if $(DOCKER_ENGINE); then docker compose down; else $(NATIVE) down; fi

.PHONY: ps
ps: ## Show the state of each process of the stack (every replica: MERCATO_REPLICAS)
	@if $(DOCKER_ENGINE); then docker compose ps --all; else $(NATIVE) ps; fi

.PHONY: logs
logs: ## Show recent logs of each process (FOLLOW=1 to follow)
	@if $(DOCKER_ENGINE); then \
		docker compose logs --tail 40 $(if $(FOLLOW),--follow,); \
	else \
		$(NATIVE) logs $(if $(FOLLOW),--follow,); \
	fi

.PHONY: new-service
new-service: ## Make services/NAME/ from the template, add it to stack.toml, render, install (NAME=...)
	@test -n "$(NAME)" || { echo "usage: make new-service NAME=<name>" >&2; exit 2; }
	@$(RUN) python -m devtools.new_service $(NAME)

.PHONY: test
test: deps ## Install what is missing, then run unit, integration, end-to-end (schemathesis, short chaos) and static tests
	@$(RUN) pytest

.PHONY: contract
contract: deps ## schemathesis, every check and phase, against every service on a stack of its own
	@$(RUN) pytest -m contract

.PHONY: test-unit
test-unit: ## Unit tests only (no I/O)
	@$(RUN) pytest -m "not integration and not e2e"

.PHONY: test-integration
test-integration: ## Integration tests against the real Postgres and Redis
	@$(RUN) pytest -m integration

.PHONY: test-e2e
test-e2e: ## End-to-end tests through the gateway of a native stack started for them
	@$(RUN) pytest -m e2e

.PHONY: bench
bench: ## Every path users call, on stacks of its own, into bench/README.md (QUICK=1: a few minutes)
	@$(RUN) python -m bench $(if $(QUICK),--quick,)

.PHONY: profile
profile: ## Flame graph of SERVICE (any service; catalog-lists: list pages; catalog-reservations: under orders) of the running stack
	@$(RUN) python -m bench.profile $(or $(SERVICE),catalog)

.PHONY: bench-instructions
bench-instructions: deps ## Instructions per product read under each telemetry setting (catalog under callgrind, ~1 min per configuration; needs valgrind)
	@$(RUN) python -m bench.callgrind

.PHONY: chaos
chaos: deps ## Faults under load on a stack of its own (own Postgres and Redis), checked against a ledger (~5 min)
	@$(RUN) python -m chaos

.PHONY: lint
lint: ## ruff check, ruff format --check, mypy --strict
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@MYPYPATH=$(MYPYPATH) $(RUN) mypy shared/src shop/src $(wildcard services/*/src) $(wildcard workers/src) \
		$(wildcard packages/*/src) topology devtools \
		$(wildcard shared/tests shop/tests services/*/tests services/*/migrations workers/tests packages/*/tests) \
		$(wildcard packages/*/measure) native tests bench chaos conftest.py observability/grafana

.PHONY: fmt
fmt: ## Format and autofix with ruff
	@$(RUN) ruff format .
	@$(RUN) ruff check --fix .

.PHONY: clean
clean: ## Remove run directories and caches (stop the stack first)
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
