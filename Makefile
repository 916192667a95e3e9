# Berth — the two commands people use are `make dev` and `make test`; both
# run `make setup` first, which installs only what is missing.
SHELL := /bin/bash
GO ?= go
CI ?=
# chromium: the UI's browser tests (ui/browser_test.go) drive it headless.
APT_PKGS := haproxy nginx-light zookeeper dnsutils wrk busybox-static chromium
IMAGES_DIR := $(CURDIR)/.build/images
# Fuzz time for the app decoder in `make test` (bounded; CI runs it every time).
FUZZTIME ?= 20s
GOTEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: setup apt consul images build dev test vet fuzz bench scale chaos clean

## setup: install missing Debian packages, build bin/consul and the local images.
# apt and the Consul build run in parallel (the images need busybox-static, so
# they come after apt); each step prints one line with its time.
setup:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j2 apt consul && \
	$(MAKE) --no-print-directory images && \
	echo "setup: done in $$(( $$(date +%s) - start ))s"

apt:
	@start=$$(date +%s); missing=""; \
	for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  mkdir -p .build; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } >.build/apt.log 2>&1 || \
	    { tail -20 .build/apt.log; echo "setup: apt-get install$$missing failed (.build/apt.log)"; exit 1; }; \
	  echo "setup: Debian packages installed in $$(( $$(date +%s) - start ))s"; \
	else echo "setup: Debian packages present"; fi

consul: bin/consul

# Consul 1.16.1 from the separate tools module; rebuilt only when missing or
# when tools/go.mod or tools/go.sum change.
bin/consul: tools/go.mod tools/go.sum
	@echo "setup: building Consul from tools/ (a few minutes the first time)"
	@start=$$(date +%s); \
	cd tools && $(GO) build -ldflags='-s -w' -o ../bin/consul github.com/hashicorp/consul && cd .. && \
	echo "setup: $$(./bin/consul version | head -1) built in $$(( $$(date +%s) - start ))s"

# The example images are built from contexts that hold only their binary; the
# Docker layer cache makes a rebuild with unchanged binaries instant.
images:
	@mkdir -p $(IMAGES_DIR)/hello $(IMAGES_DIR)/busybox
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(IMAGES_DIR)/hello/hello ./examples/images/hello
	@cp examples/images/hello/Dockerfile $(IMAGES_DIR)/hello/Dockerfile
	@cp /bin/busybox $(IMAGES_DIR)/busybox/busybox
	@cp examples/images/busybox/Dockerfile $(IMAGES_DIR)/busybox/Dockerfile
	@out=$$(docker build -q -t berth/hello $(IMAGES_DIR)/hello 2>&1) || { echo "$$out"; exit 1; }
	@out=$$(docker build -q -t berth/busybox $(IMAGES_DIR)/busybox 2>&1) || { echo "$$out"; exit 1; }
	@echo "setup: images berth/hello and berth/busybox ready"

build:
	$(GO) build -o bin/berth ./cmd/berth

## dev: the whole platform on this machine (Ctrl-C stops everything).
dev: setup build
	./bin/berth dev

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: every test of the repo against the real components.
test: setup vet
	CI=$(CI) $(GO) test $(GOTEST_FLAGS) ./...
	@$(MAKE) --no-print-directory fuzz

fuzz:
	@FUZZTIME=$(FUZZTIME) ./.ci/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## scale: the master at scale — 10,000 simulated agents, 10,000 apps, 1,000,000
# tasks, median of three runs, one table (make test runs the 100,000-task profile).
scale: build
	BERTH_SCALE=$${BERTH_SCALE:-full} $(GO) test -count=1 -v -timeout 90m -run TestScale ./scale/

## chaos: faults under load on a real cluster (issue 17) — agent restarts, Consul
# killed and restarted — one table; the full profile (BERTH_CHAOS=fast: the
# short one `go test ./chaos/` runs). Not part of `make test`.
chaos: setup build
	BERTH_CHAOS=$${BERTH_CHAOS:-full} $(GO) test -count=1 -v -timeout 20m -run TestChaos ./chaos/

clean:
	rm -rf .build bin/berth
