# clusterbench — set-up, tests and benchmarks.
# `make run` and `make test` install what they need (redis-server) on a fresh machine.

GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 1s
BENCHCOUNT ?= 6
BIN       := bin/clusterbench

.PHONY: all build run test test-short lint fmt-check vet bench bench-e2e fuzz redis clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/clusterbench

# redis-server/redis-tools from Debian's packages (apt-get when root).
redis:
	@./scripts/ensure-redis.sh

# The main job: a local throwaway cluster, load, a migration, the comparison table.
run: redis build
	@./scripts/make-run.sh $(BIN)

# Everything: formatting, vet, unit and integration tests, a short fuzz smoke.
test: redis lint
	$(GO) test -count=1 -timeout 9m $(PKGS)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Hot-path benchmarks, benchstat-ready: bench.txt can be compared with
# `go run golang.org/x/perf/cmd/benchstat@latest old.txt bench.txt`.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) . | tee bench.txt

FUZZTIME ?= 30s
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin bench.txt

# The generator against redis-benchmark --cluster on one local cluster.
bench-e2e: redis build
	@./scripts/bench-e2e.sh $(BIN)
