# Two commands do the whole set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Everything runs against a project-local Airflow home and the local AWS simulator.
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/simulator:$(CURDIR)/local
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export DR_MANIFEST_DIR ?= $(CURDIR)/include/manifests

.PHONY: venv test demo validate plan schema docs iam lock clean mwaa-bundle bench

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt -c constraints.txt
	# the checkout's packages on the venv's path, so `python -m dr_adapters ...` works as printed
	printf '%s\n' $(CURDIR)/plugins $(CURDIR)/simulator $(CURDIR)/local \
	  > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/dr-orchestrator-checkout.pth"
	touch $(STAMP)

# Two test processes (TEST_WORKERS=0: one): the end-to-end modules in one, the rest shared out by module.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=30  # the slowest 30: the suite stays inside CI's limit

demo: $(STAMP)
	$(PY) -m drlocal.demo

validate: $(STAMP)
	$(PY) -m dr_adapters validate include/manifests/*.yaml include/manifests/*.json

plan: $(STAMP)
	$(PY) -m dr_adapters plan include/manifests/acme-production.yaml

schema: $(STAMP)
	$(PY) -m dr_adapters schema > include/manifest.schema.json

docs: $(STAMP)
	$(PY) -m dr_adapters actions --write README.md

# Least-privilege IAM policies and the spoke-role template, from the adapters (include/iam/README.md).
iam: $(STAMP)
	$(PY) -m dr_adapters iam --write include/iam

# What an Amazon MWAA environment takes, in build/mwaa/ (docs/deploy-mwaa.md).
mwaa-bundle: $(STAMP)
	$(PY) deploy/mwaa_bundle.py --out build/mwaa

# Performance and scale figures: ~25 minutes; results in build/bench/*.json, tables into BENCHMARKS.md.
bench: $(STAMP)
	$(PY) benchmarks/parse_cost.py --customers 500 --resources 50 --waves 5 --repeat 5
	$(PY) benchmarks/api_efficiency.py --resources 1000 --waves 5 --repeat 3
	$(PY) benchmarks/standalone_slots.py --runs 8 --parallelism 4 --aws-seconds 120
	$(PY) benchmarks/readiness_cost.py --runs 5
	$(PY) benchmarks/outage.py --resources 24 --waves 3 --repeat 3
	$(PY) benchmarks/discovery.py --resources 1140 --spokes 2 --repeat 3
	$(PY) benchmarks/report.py --write BENCHMARKS.md

lock: $(STAMP)
	{ echo "# Full lock of the development virtualenv (pip freeze). Regenerate with: make lock"; \
	  $(PY) -m pip freeze | grep -v '^-e'; } > constraints.txt

clean:
	rm -rf $(VENV) .airflow .pytest_cache
