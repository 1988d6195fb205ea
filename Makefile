# nicflow — build, test and demo entry points.
#
#   make demo    install what is missing, build, run the three-namespace demo (root)
#   make test    every test tier with a summary: deps, check, unit, netns
#   make conformance  os-ken's OpenFlow 1.3 switch test suite, nicflowd and Open vSwitch (root)
#
# The tiers are implemented in scripts/test.sh; each can also be run alone.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

.PHONY: all build deps check unit fuzz netns vm test demo bench bench-meter bench-vm conformance clean

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

deps:
	@scripts/deps.sh

check:
	@scripts/test.sh check

unit:
	@scripts/test.sh unit

fuzz:
	@scripts/fuzz.sh

netns:
	@scripts/test.sh netns

vm:
	@scripts/test.sh vm

test:
	@scripts/test.sh deps check unit netns vm

demo: deps build
	@test/demo/demo.sh

# The forwarding benchmark, the control-plane benchmark (test/bench/control.sh:
# 100,000 rules added, added in a bundle, dumped and deleted with ovs-ofctl,
# and the RSS they cost, nicflowd against Open vSwitch; RULES=N changes the
# count), then the meter benchmark (test/bench/meter.sh:
# every band, unit, burst and rate of issue 12, nicflow against Open
# vSwitch's meters on the same traffic, about 6 minutes).
bench: build
	@test/bench/forward.sh
	@test/bench/control.sh
	@test/bench/meter.sh

bench-meter: build
	@test/bench/meter.sh

# The tc tier benchmarks in the VM (10,000 rules through nicflowd against
# tc -batch, counter dump and merge; tcflower's BenchmarkAdd), with the tc
# binary packed. BENCH=REGEXP narrows them, BENCHTIME sets -benchtime,
# RULES=N installs N rules instead of 10,000.
bench-vm:
	@NICFLOW_VM_TOOLS=1 NICFLOW_VM_PKGS="tcflower offload/manager" \
		NICFLOW_VM_BENCH='$(or $(BENCH),.)' NICFLOW_VM_BENCHTIME='$(BENCHTIME)' \
		NICFLOW_VM_APPEND="$${NICFLOW_VM_APPEND:-}$(if $(RULES), nicflow.env=NICFLOW_BENCH_RULES=$(RULES))" \
		NICFLOW_VM_PKG_TIMEOUT=$${NICFLOW_VM_PKG_TIMEOUT:-60m} NICFLOW_VM_TIMEOUT=$${NICFLOW_VM_TIMEOUT:-3900} \
		NICFLOW_VM_MEM=$${NICFLOW_VM_MEM:-2048} \
		NICFLOW_VM_LOG=$${NICFLOW_VM_LOG:-bin/vm/bench.log} test/vm/run.sh

# The os-ken OpenFlow 1.3 switch test suite, every test, against nicflowd
# and Open vSwitch (test/conformance/README.md): writes
# test/conformance/results.txt, prints the pass/fail summary per family, the
# failures by cause and the differences to test/conformance/expected.txt;
# fails if a test expected to pass did not. Logs in bin/conformance. About
# 36 minutes (the 51 rate tests send 30 s of traffic each). RUN=REGEXP only
# the matching tests (results.txt is left alone), TARGETS=nicflowd without
# the peer, UPDATE=1 rewrites expected.txt from nicflowd's results.
conformance: build
	cd test/conformance && $(GO) test -count=1 -v -timeout 4h -run '^TestConformance$$' . -args \
		-conformance.full -conformance.report \
		-conformance.nicflowd=$(CURDIR)/bin/nicflowd -conformance.logdir=$(CURDIR)/bin/conformance \
		$(if $(RUN),-conformance.run='$(RUN)',-conformance.write) \
		$(if $(TARGETS),-conformance.targets=$(TARGETS)) $(if $(UPDATE),-conformance.update)

clean:
	rm -rf bin
