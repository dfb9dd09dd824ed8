# sluice Makefile. `make check` is the test command CI (.ci/run) and the README use.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.Version=$(VERSION)
BINDIR    ?= bin
CMDS      := sluice sluice-postgres sluice-mysql sluice-clickhouse

.PHONY: all build test test-integration check conformance fuzz bench bench-quick bench-micro torture torture-quick torture-eos lint demo walsafe-long servers servers-stop clean

all: build

## build: the static binaries in bin/, version stamped from git: sluice (every subcommand),
## sluice-postgres and sluice-mysql (one source each: smaller, lower idle RSS), sluice-clickhouse.
build:
	@set -e; for c in $(CMDS); do \
	  echo "CGO_ENABLED=0 $(GO) build -o $(BINDIR)/$$c ./cmd/$$c"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/$$c ./cmd/$$c; \
	done

## test: unit tests with the race detector (no servers needed).
test:
	$(GO) test -race $(PKGS)

## test-integration: also the tests behind the integration build tag; needs SLUICE_TEST_* (see
## scripts/servers.sh env); missing servers are skipped unless SLUICE_TEST_REQUIRE=1.
## TESTTIMEOUT bounds each package's test binary: go test's default 10 minutes is what the
## capture/mysql suite takes on two busy cores, and a timeout there says nothing about a bug.
TESTTIMEOUT ?= 25m
test-integration:
	$(GO) test -race -tags integration -timeout $(TESTTIMEOUT) $(PKGS)

## check: what CI runs. Starts every test server (and sweeps the slots killed runs left), then
## vet + all tests, servers required, then
## torture-quick (its own private servers on ports 41000+, as root; about 5 minutes).
check:
	scripts/servers.sh start
	scripts/servers.sh sweep
	eval "$$(scripts/servers.sh env)" && export SLUICE_TEST_REQUIRE=1 && \
	  $(GO) vet -tags integration $(PKGS) && \
	  $(GO) test -race -tags integration -timeout $(TESTTIMEOUT) $(PKGS)
	$(MAKE) torture-quick

## fuzz: run each Fuzz* target for FUZZTIME (default 30s).
fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$dir $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$dir; \
	  done; \
	done

## bench: end-to-end benchmarks against this machine's references (issue 7): private servers,
## the 1.7 M-change workload, 3 repetitions; table on stdout, bench/results/latest.json.
## Settings: BENCH_REPS, BENCH_SECTIONS, BENCH_SCHEMAS, BENCH_PPROF… (see bench/bench.sh).
bench:
	bench/bench.sh

## bench-quick: the same at 1/10 of the workload, for a quick look.
bench-quick:
	BENCH_SCALE=10 bench/bench.sh

## bench-micro: the hot-path micro-benchmarks (binlog row decode, pgoutput tuple decode, envelope
## encode, transforms, ClickHouse column append); BENCHCOUNT=10 > new.txt, then benchstat old.txt new.txt.
BENCHCOUNT ?= 1
BENCHPKGS  ?= ./capture/... ./envelope/... ./transform/... ./sink/... ./internal/...
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) $(BENCHPKGS)

## torture: sluice under faults (issue 13, docs/torture.md): PostgreSQL 17 and MySQL 9.7 →
## sluice → kfake, → Kafka → ClickHouse and → ClickHouse on private servers, ≥ 50 kill -9 and
## ≥ 10 of every other fault per path, then a source-vs-sink check of each; exits 1 on any loss
## or difference. Long. Settings: TORTURE_SEED (rerun a schedule), TORTURE_ARGS (e.g.
## -paths pg15,mariadb or -sinks kafka), TORTURE_PORT_BASE, TORTURE_INFRA_DIR.
TORTURE_ARGS ?=
torture:
	torture/torture.sh -paths pg17,mysql9 -parallel $(TORTURE_ARGS)

## torture-quick: the same with two faults of each kind (about 5 minutes); part of make check.
torture-quick:
	torture/torture.sh -quick -paths pg17,mysql9 -parallel $(TORTURE_ARGS)

## torture-eos: the exactly-once crash test (issue 18), PostgreSQL and MySQL, --exactly-once:
## 50 kill -9 and 10 broker restarts each; exits non-zero on a lost or duplicated row
## (read_committed). EOS_QUICK=1: 2,000 rows, 5 kills, 1 restart, and 100,000 rows for the
## initial snapshot that the kills cut (about a minute each).
torture-eos:
	@set -e; q=; [ -n "$(EOS_QUICK)" ] && q="ROWS=2000 KILLS=5 RESTARTS=1 SNAP_ROWS=100000"; \
	for db in pg my; do env $$q torture/eos.sh $$db eos; done

## conformance: run Debezium's own test tables through sluice on the test servers
## (integration/conformance) and rewrite docs/conformance.md, the table of cases per server.
conformance:
	eval "$$(scripts/servers.sh env)" && export SLUICE_TEST_REQUIRE=1 && \
	  $(GO) test -count=1 -tags integration ./integration/conformance -args -conformance.report=$(CURDIR)/docs/conformance.md

## lint: go vet, gofmt, and golangci-lint when installed (.golangci.yml).
lint:
	$(GO) vet -tags integration $(PKGS)
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v golangci-lint >/dev/null; then golangci-lint run $(PKGS); else echo "golangci-lint not installed; skipped"; fi

## demo: the seed's pipeline in one command (needs root + apt, Debian 12): MariaDB → sluice mysql →
## Kafka (kfake) → sluice clickhouse → ClickHouse, a shop workload, the topics and a live query side by side.
demo:
	scripts/demo.sh

## walsafe-long: 30 minutes (WALSAFE_MINUTES) of writes outside the publication on a private
## PostgreSQL 15: the retained WAL of a default slot vs one with lsn.flush.mode connector. Not in check.
walsafe-long:
	scripts/walsafe-long.sh

servers:
	scripts/servers.sh start

servers-stop:
	scripts/servers.sh stop

clean:
	rm -rf bin
