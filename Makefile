# nicflow — build, test and demo entry points.
#
#   make demo    install what is missing, build, run the three-namespace demo (root)
#   make test    every test tier with a summary: deps, check, unit, netns
#
# The tiers are implemented in scripts/test.sh; each can also be run alone.

SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

.PHONY: all build deps check unit fuzz netns vm test demo bench clean

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

bench: build
	@test/bench/forward.sh

clean:
	rm -rf bin
