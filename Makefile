# pincluster: build, run, test, bench. `make help` lists the targets.
GO       ?= go
BIN      := bin/pincluster
PKGS     := ./...
CONFIG   ?=

.PHONY: help build run test test-short kubo test-kubo bench bench-10m bench-scale bench-global cluster chaos chaos-short netimpair netns-cluster netns-selftest netns-bench fmt vet fuzz proto proto-check clean ui-screenshot

help:
	@echo "make build    build bin/pincluster"
	@echo "make run      build and start a single-peer daemon (config in ~/.pincluster, or CONFIG=dir)"
	@echo "make test     go vet + go test -race ./... (includes the end-to-end suite)"
	@echo "make bench    print the benchmark table: single peer (ingest, listing, RSS vs raw Badger), cluster (ingest, convergence, catch-up), allocation and self-healing (-suite single|cluster|alloc|all)"
	@echo "make bench-10m  single peer holding 10M queued (unfetchable) pins: RSS (target < 1 GB), ingest and listing; then a fresh peer catching up with 10M pins; not in CI"
	@echo "make bench-scale  scale harness: 10, 30 and 100 peers in one process (formation, convergence, catch-up, a 10% kill, bytes and CPU per pin); SCALE_PEERS=10,30 to choose, SCALE_LOW_WATER/SCALE_HIGH_WATER for cluster.connection_manager"
	@echo "make bench-global  global status against status --local on GLOBAL_PEERS (20) real daemons, each pinning GLOBAL_PINS (20000) pins; convergence too; not in CI"
	@echo "make cluster  start three peers on loopback in a temp dir"
	@echo "make chaos    fault harness: 5 real peers, 10 minutes of load under a seeded random nemesis, then checks nothing acknowledged was lost (SEED=n to repeat a run)"
	@echo "make chaos-short  the same for 75 s with a fixed seed (CI)"
	@echo "make netns-cluster  (root) N peers (NETNS_N=3), one per network namespace, LINK delay/jitter/loss between them (docs/netns.md); DURATION= or Ctrl-C"
	@echo "make netns-selftest  (root) up 3 namespaced peers with impairment, pin, converge, down, nothing left; skips where namespaces are unavailable"
	@echo "make netns-bench  (root) convergence, catch-up and chaos figures in the namespace cluster, with and without LINK"
	@echo "make fuzz     run each fuzz target for a short while"
	@echo "make proto    regenerate the committed Go code of the wire schemas (internal/wirepb/*.proto; needs protoc $(PROTOC_VERSION))"
	@echo "make ui-screenshot  retake docs/ui.png, the README's screenshot of the status page (needs chromium)"
	@echo "make kubo     build the pinned Kubo daemon (tools/kubo/bin/ipfs; slow, once)"
	@echo "make test-kubo  test the kubo IPFS backend against that daemon, and the IPFS proxy and the pinning service API with its CLI"

build:
	$(GO) build -o $(BIN) ./cmd/pincluster

run: build
	./$(BIN) $(if $(CONFIG),--config $(CONFIG)) daemon

# The suites that build and run the binary (test/e2e, chaos) run uncached: go test's cache does
# not see the sources their `go build` reads, so a cached pass could hide a broken binary.
BINARY_SUITES := ./test/e2e/ ./chaos/

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $$($(GO) list $(PKGS) | grep -v -e /test/e2e -e /pincluster/chaos$$)
	$(GO) test -race -count=1 -timeout 20m $(BINARY_SUITES)

# The kubo backend's tests run against a real Kubo daemon, pinned in tools/kubo (its own module,
# so the main go.mod does not carry Kubo's dependencies). `make test` skips them.
KUBO_BIN := tools/kubo/bin/ipfs

kubo: $(KUBO_BIN)

$(KUBO_BIN):
	cd tools/kubo && $(GO) build -o bin/ipfs github.com/ipfs/kubo/cmd/ipfs

test-kubo: $(KUBO_BIN)
	PINCLUSTER_KUBO_BIN=$(abspath $(KUBO_BIN)) $(GO) test -race -count=1 ./ipfs/kubo/... ./api/ipfsproxy/ ./api/pinsvc/
	PINCLUSTER_KUBO_BIN=$(abspath $(KUBO_BIN)) $(GO) test -race -count=1 -run 'TestIPNS|TestIPLD' ./test/e2e/

# The status page's browser test (api/rest/ui, headless Chromium) writes its screenshot here.
ui-screenshot:
	UI_SCREENSHOT=$(abspath docs/ui.png) $(GO) test -count=1 -run TestStatusPageInBrowser ./api/rest/ui/

test-short:
	$(GO) test -short $(PKGS)

bench: build
	$(GO) run ./bench
	$(GO) run ./bench -suite batch

# Ten million pins on one peer, all queued in its tracker (the embedded node cannot fetch the
# random CIDs): the daemon's RSS must stay under 1 GB (pin_tracker.queue_window bounds the
# tracker; the queue itself is in Badger); then a fresh peer catching up with a 10M pinset of a
# 3-peer cluster (target < 5 min). The fills go through POST /pins/batch. Not in CI.
bench-10m: build
	$(GO) run ./bench -suite single -n 10000000 -ingest 100000 -lists 1 -fill-batch
	$(GO) run ./bench -suite cluster -cluster-pins 20000 -catchup 10000000 -fill-batch -cluster-wait 12m

# The scale harness (testcluster/scale_test.go): N peers in one process on real libp2p hosts
# and fake IPFS backends; prints a table row per size. Not in CI (100 peers take minutes).
SCALE_PEERS ?= 10,30,100
bench-scale:
	PINCLUSTER_SCALE_PEERS=$(SCALE_PEERS) PINCLUSTER_SCALE_LOW_WATER=$(SCALE_LOW_WATER) PINCLUSTER_SCALE_HIGH_WATER=$(SCALE_HIGH_WATER) $(GO) test -count=1 -run '^TestScale$$' -timeout 60m ./testcluster/ -v | grep -v '^=== \|^--- \|^    ---'

# Global status against status --local on real daemons (bench/global.go): GLOBAL_PEERS peers on
# loopback, GLOBAL_PINS pins every peer pins; convergence, then timed rounds. Not in CI.
GLOBAL_PEERS ?= 20
GLOBAL_PINS ?= 20000
bench-global: build
	$(GO) run ./bench -suite global -global-peers $(GLOBAL_PEERS) -global-pins $(GLOBAL_PINS)

cluster: build
	bash scripts/cluster.sh

# Fault harness (chaos/): real daemons, seeded faults, a checker. SEED= repeats a run; without it
# the seed comes from the clock and is printed first.
SEED ?=
chaos: build
	$(GO) run ./chaos -bin $(BIN) -peers 5 -duration 10m $(if $(SEED),-seed $(SEED))

chaos-short: build
	$(GO) run ./chaos -bin $(BIN) -peers 5 -duration 75s -seed $(or $(SEED),1)

# The namespace cluster (scripts/netns-cluster.sh, docs/netns.md): real network paths between
# peers, impaired by netem where the kernel has it and by bin/netimpair otherwise. Root only.
NETNS_N  ?= 3
LINK     ?=
DURATION ?=
NETNS_ENV = $(if $(LINK),LINK='$(LINK)')

netimpair:
	$(GO) build -o bin/netimpair ./cmd/netimpair

netns-cluster: build netimpair
	$(NETNS_ENV) bash scripts/netns-cluster.sh run $(NETNS_N) $(DURATION)

netns-selftest: build netimpair
	$(NETNS_ENV) bash scripts/netns-cluster.sh selftest

netns-bench: build netimpair
	$(NETNS_ENV) bash scripts/netns-cluster.sh bench

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)

FUZZTIME ?= 10s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$spec || exit 1; \
	  done; \
	done

# Wire schemas: the generated Go code is committed, so only a schema change needs protoc. The
# versions are pinned because they are written into the generated files' headers; protoc comes
# from the OS (Debian bookworm: apt-get install protobuf-compiler), protoc-gen-go is built here.
PROTOC_VERSION        := 3.21.12
PROTOC_GEN_GO_VERSION := v1.36.12
PROTO_FILES            = $(sort $(wildcard internal/wirepb/*.proto))

proto:
	@protoc --version | grep -qx 'libprotoc $(PROTOC_VERSION)' || \
	  { echo "make proto needs protoc $(PROTOC_VERSION), found: $$(protoc --version 2>&1)"; exit 1; }
	GOBIN=$(abspath bin/tools) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	protoc --plugin=protoc-gen-go=$(abspath bin/tools/protoc-gen-go) -I . \
	  --go_out=. --go_opt=module=github.com/pincluster/pincluster $(PROTO_FILES)

# proto-check regenerates the wire code and fails if it differs from what is committed.
proto-check: proto
	git diff --exit-code -- internal/wirepb || { echo "internal/wirepb: the committed generated code is not what make proto generates"; exit 1; }

clean:
	rm -rf bin
