# hybridcloud.migration: `make demo` and `make test` work on a fresh machine (they install what they need).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT      := $(abspath .)
VENV      := $(ROOT)/.venv
BIN       := $(VENV)/bin
PYTHON    ?= $(shell $(ROOT)/.ci/find-python)
# ansible-test needs the collection at .../ansible_collections/<namespace>/<name>: a copy of the tree.
ATEST_DIR := $(ROOT)/build/ansible-test/ansible_collections/hybridcloud/migration
# Everything else (ansible-playbook, pytest) finds the collection through a link to this tree.
COLL_PATH := $(ROOT)/build/collections
COLL_LINK := $(COLL_PATH)/ansible_collections/hybridcloud/migration
PYVER      = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
export ANSIBLE_COLLECTIONS_PATH := $(COLL_PATH)
export PYTHONPATH := $(COLL_PATH):$(ROOT)$(if $(PYTHONPATH),:$(PYTHONPATH))
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
PYTEST     = $(BIN)/pytest -p no:cacheprovider -n 2

# The oldest ansible-core that meta/runtime.yml claims, on the newest Python its controller supports.
OLDEST_CORE   := $(shell sed -n 's/^requires_ansible: *"*>= *\([0-9]*\.[0-9]*\).*/\1/p' $(ROOT)/meta/runtime.yml)
OLDEST_VENV   := $(ROOT)/.venv-oldest
OLDEST_PYTHON ?= $(shell $(ROOT)/.ci/find-python 12)

.PHONY: help venv collection-link sanity lint units integration molecule test demo build install-check bench clean vcsim oldest browser

help:
	@echo "make demo   - start the simulators/emulators and run the migration playbooks against them"
	@echo "make test   - everything CI runs: sanity lint units integration molecule build"

# galaxy-importer pins its own ansible-core and ansible-lint: it gets a virtualenv of its own.
IMPORTER  := $(ROOT)/.venv-importer
$(IMPORTER)/.installed:
	@echo "== galaxy-importer virtualenv"
	test -x $(IMPORTER)/bin/python || $(PYTHON) -m venv $(IMPORTER)
	$(IMPORTER)/bin/python -m pip install -q --upgrade pip
	$(IMPORTER)/bin/python -m pip install -q galaxy-importer
	touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt test-requirements.txt
	@echo "== virtualenv with $(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r test-requirements.txt
	touch $@

collection-link:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(ROOT) $(COLL_LINK)

# A fresh copy of what git tracks (plus new, unignored files), so ansible-test sees exactly the repo.
$(ATEST_DIR): FORCE
	@rm -rf $(ATEST_DIR) && mkdir -p $(ATEST_DIR)
	@git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C $(ATEST_DIR)
	@# Its own git repository: inside this one, build/ is ignored and ansible-test would skip everything.
	@cd $(ATEST_DIR) && git init -q && git add -A
FORCE:

sanity: venv $(ATEST_DIR)
	@echo "== ansible-test sanity"
	$(BIN)/python .ci/seed_get_pip.py
	cd $(ATEST_DIR) && $(BIN)/ansible-test sanity --venv --python $(PYVER) --color no
	@for f in tests/sanity/ignore-*.txt; do [ ! -s "$$f" ] || { echo "$$f must be empty"; exit 1; }; done

lint: venv collection-link
	@echo "== ansible-lint --profile production"
	$(BIN)/ansible-lint --profile production
	@echo "== antsibull-changelog lint"
	$(BIN)/antsibull-changelog lint

units: venv collection-link vcsim
	@echo "== unit and emulator contract tests"
	$(PYTEST) -q tests/unit tests/emulators tests/vcsim

integration: venv collection-link vcsim browser
	@echo "== integration tests (modules through ansible-playbook against the emulators and vcsim)"
	$(PYTEST) -q tests/integration

# The scenarios converge against one local test cloud (emulators + vcsim) started around the run.
MOLECULE_ENV := $(ROOT)/build/env-molecule
molecule: venv collection-link vcsim
	@echo "== molecule"
	@if [ ! -d extensions/molecule ]; then echo "no scenarios yet"; exit 0; fi; \
	$(BIN)/python -m tests.environment up --dir $(MOLECULE_ENV) >/dev/null; \
	rc=0; (cd extensions && PATH=$(BIN):$$PATH HYBRIDCLOUD_ENV=$(MOLECULE_ENV)/vars.yml \
	  $(BIN)/molecule test --all) || rc=$$?; \
	$(BIN)/python -m tests.environment down --dir $(MOLECULE_ENV); exit $$rc

build: venv $(IMPORTER)/.installed
	@echo "== ansible-galaxy collection build + install + galaxy-importer"
	@rm -rf build/dist build/install && mkdir -p build/dist build/install
	$(BIN)/ansible-galaxy collection build --output-path build/dist .
	ANSIBLE_COLLECTIONS_PATH=$(ROOT)/build/install $(BIN)/ansible-galaxy collection install --offline --force \
	  -p build/install build/dist/hybridcloud-migration-*.tar.gz
	test -f build/install/ansible_collections/hybridcloud/migration/MANIFEST.json
	@# No development clutter in what users install (virtualenvs, build output, test machinery).
	@if tar tzf build/dist/hybridcloud-migration-*.tar.gz | grep -E '^(\.venv|build/|bench/|extensions/|tests/(unit|integration|emulators|output)/)'; \
	  then echo "the tarball ships development files"; exit 1; fi
	ANSIBLE_COLLECTIONS_PATH=$(ROOT)/build/install $(BIN)/ansible-doc -l hybridcloud.migration
	@# Automation Hub's import checks on the tarball; any warning or error fails the build.
	cd build/dist && PATH=$(IMPORTER)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(ROOT)/.ci/galaxy-importer.cfg \
	  $(IMPORTER)/bin/python -m galaxy_importer.main hybridcloud-migration-*.tar.gz > ../importer.log 2>&1 \
	  || { cat ../importer.log; exit 1; }
	@if grep -E "WARNING|ERROR|Traceback" build/importer.log; then echo "galaxy-importer complained"; exit 1; fi
	@tail -1 build/importer.log

vcsim:
	@bash tests/vcsim/build.sh

# Headless Chromium (Debian's package) renders the migration report in its test.
browser:
	@.ci/install-chromium

# The support matrix: sanity, units and integration again on the oldest claimed ansible-core.
$(OLDEST_VENV)/.installed: requirements.txt .ci/oldest-requirements.txt meta/runtime.yml
	@echo "== virtualenv with ansible-core $(OLDEST_CORE) on $(OLDEST_PYTHON)"
	test -x $(OLDEST_VENV)/bin/python || $(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install -q "ansible-core==$(OLDEST_CORE).*" -r requirements.txt -r .ci/oldest-requirements.txt
	touch $@

oldest: $(OLDEST_VENV)/.installed collection-link vcsim browser
	@echo "== oldest supported ansible-core: $$($(OLDEST_VENV)/bin/ansible --version | head -1)"
	VENV=$(OLDEST_VENV) .ci/sanity-files
	ANSIBLE_PYTHON_INTERPRETER=$(OLDEST_VENV)/bin/python \
	  $(OLDEST_VENV)/bin/pytest -p no:cacheprovider -n 2 -q tests/unit tests/emulators tests/integration

test: sanity lint units integration molecule build oldest
	@echo "== make test: all passed"

demo: venv collection-link vcsim
	$(BIN)/python -m tests.demo

bench: venv collection-link vcsim
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf build
