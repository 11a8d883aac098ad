# Otklik: the verbs. `make demo` and `make test` work on a fresh clone.
SHELL := bash
.DEFAULT_GOAL := help
VENV := .venv

.PHONY: help demo sandbox test lint fmt venv browser local-up local-down bench deploy lambda-build fuzz api-fuzz build clean-local

help: ## List the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The project's Python tools (moto server, cargo-lambda, cfn-lint, the SAM translator), pinned, in ./.venv only.
$(VENV)/.installed: requirements-dev.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

venv: $(VENV)/.installed ## Install the pinned Python tools into ./.venv

browser: ## Install Debian's chromium and the pinned playwright-core (for the landing-page test)
	scripts/browser-setup.sh

test: venv ## Format check, clippy and all tests against a local AWS endpoint of their own
	scripts/test.sh

demo: venv ## A shop's day end to end on the local stack, with a report (exit 0 = all outcomes happened)
	scripts/demo.sh

sandbox: local-up ## The local stack left running, with a page to play the customer by hand
	@set -a; . .local/stack.env; set +a; echo; echo "Sandbox: open $$OTKLIK_API_URL/sandbox in a browser (make local-down stops it)"; \
	  echo "Dashboard of the demo shop (signed link, valid 7 days): $$OTKLIK_DASHBOARD_URL"

lint: ## cargo fmt --check and clippy
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

local-up: venv ## Start the local stack (AWS endpoint, simulators, API, runner); settings in .local/stack.env
	OTKLIK_SKIP_PROVISION=1 scripts/local-up.sh --stack

local-down: ## Stop exactly what local-up started
	scripts/local-down.sh

build: ## Build everything (debug)
	cargo build --workspace

api-fuzz: venv ## schemathesis against docs/openapi.yaml on a local stack (also part of make test)
	scripts/api-fuzz.sh

fuzz: ## Fuzz every parser of outside input (cargo-fuzz on nightly, FUZZ_RUNS per target; fuzz/README.md)
	scripts/fuzz.sh

bench: venv ## Benchmark (not a test): cold start, peak memory, calls per survey, AWS cost → docs/performance.md
	scripts/bench.sh

deploy: venv ## Deploy to AWS: make deploy SES_IDENTITY=… ALARM_EMAIL=… [SECRETS_PREFIX= CONFIG= STACK= REGION= DRY_RUN=1]
	scripts/deploy.sh

lambda-build: venv ## Build every function for Lambda (arm64, release) into target/lambda/<function>/bootstrap
	scripts/lambda-build.sh
