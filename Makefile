# kubeguard.hardening developer entry points. Everything installs itself; caches live in ~/.cache/kubeguard-testbed.
SHELL := /bin/bash
KG_CACHE ?= $(HOME)/.cache/kubeguard-testbed
export KG_CACHE

.PHONY: testbed test unit lint molecule demo build clean-nodes
testbed:            ## podman, node images, pinned Kubernetes binaries, Python toolchain
	bash testbed/setup.sh
test:               ## the whole test suite (what CI runs)
	bash testbed/run-tests.sh
unit: testbed       ## unit + integration tests only
	bash testbed/run-tests.sh unit
lint: testbed
	bash testbed/run-tests.sh lint
molecule: testbed
	bash testbed/run-tests.sh molecule
demo:               ## harden the built-in demo node and show what changed
	bash testbed/demo.sh
build:
	bash testbed/run-tests.sh build
