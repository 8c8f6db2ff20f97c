# runsc in Swift. `make run` and `make test` work on a fresh machine (as root): they install what is missing.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PREFIX ?= /usr/local
# The binary's stable path (README names it).
BIN := bin/runsc
# What `make run` runs in a sandbox over the host's root.
CMD ?= /bin/busybox echo hello from the sandbox
# Debian packages the build needs, then what the tests add (busybox-static: rootfs for bundle tests; gcc: C test
# programs; docker.io, containerd, runc and podman: the clients the integration tests drive).
DEPS := libseccomp-dev libcap-dev pkg-config busybox-static gcc libc6-dev
TEST_DEPS := python3 docker.io containerd runc podman
BENCH_DEPS := runsc gcc libc6-dev docker.io

.PHONY: all deps test-deps bench-deps build run test bench install clean fuzz

all: build

# Installs only what is missing; `apt-get update` only runs when something is.
install-missing = @missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

deps:
	$(call install-missing,$(DEPS))

test-deps:
	$(call install-missing,$(TEST_DEPS))

bench-deps:
	$(call install-missing,$(BENCH_DEPS))

# Release build; the runsc target links the Swift stdlib statically in release (see Package.swift).
build: deps
	$(SWIFT) build -c release --product runsc
	mkdir -p bin
	cp .build/release/runsc $(BIN)

run: build
	./$(BIN) do $(CMD)

# Unit and integration tests; the integration tests drive $(BIN) as a user would.
test: build test-deps
	RUNSC_BINARY=$(CURDIR)/$(BIN) $(SWIFT) test 2>&1 | tee .build/test.log; \
	status=$${PIPESTATUS[0]}; \
	grep -E "^(Test Suite 'All tests'|[[:space:]]+Executed .* tests)" .build/test.log | tail -2; \
	exit $$status

bench: build bench-deps
	RUNSC_BINARY=$(CURDIR)/$(BIN) scripts/bench.sh

# libFuzzer targets (Fuzz/): built with -sanitize=fuzzer,address in .build-fuzz, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz: deps
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/fuzz.sh

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/runsc

clean:
	rm -rf bin .build bench/out
