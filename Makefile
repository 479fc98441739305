# halo: high-availability load balancer (haproxy.cfg + keepalived.conf compatible).
GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: all build run test test-short vet fmt fuzz bench clean docs deb

all: build

build:
	$(GO) build -o $(BIN)/halo ./cmd/halo
	$(GO) build -o $(BIN)/halo-vrrp ./cmd/halo-vrrp

## run: serve the self-contained example configuration in the foreground.
run: build
	@echo "halo: open http://127.0.0.1:8080/ and reload (Ctrl-C stops)"
	@./$(BIN)/halo -f examples/quickstart.cfg -db

## test: the whole test suite (unit, integration through real sockets,
## haproxy side by side, VRRP in network namespaces when root).
test:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -race -count=1 -timeout 25m $(TESTFLAGS) $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

## docs: regenerate docs/config.md and docs/keepalived.md from the keyword tables.
docs:
	$(GO) run ./internal/config/gendocs > docs/config.md
	$(GO) run ./internal/vrrp/kaconf/gendocs > docs/keepalived.md

## fuzz: run every fuzz target for a short while.
fuzz:
	@for t in $$(grep -rl '^func Fuzz' --include='*_test.go' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    $(GO) test ./$$t -run '^$$' -fuzz "^$$f$$" -fuzztime 30s || exit 1; done; done

## bench: halo vs haproxy side by side (prints halo/haproxy ratios).
bench: build
	./bench/run.sh

clean:
	rm -rf $(BIN)

## deb: build the Debian package (binaries, systemd units, default configs,
## rsyslog and logrotate snippets, man pages) with nfpm into bin/.
NFPM       ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DEBDIR     ?= bin
DEBVERSION ?= 0.1.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
deb:
	mkdir -p bin/pkg $(DEBDIR)
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/pkg/halo ./cmd/halo
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/pkg/halo-vrrp ./cmd/halo-vrrp
	gzip -9n -c packaging/man/halo.8 > bin/pkg/halo.8.gz
	gzip -9n -c packaging/man/halo-vrrp.8 > bin/pkg/halo-vrrp.8.gz
	VERSION=$(DEBVERSION) ARCH=$$($(GO) env GOARCH) $(GO) run $(NFPM) package -f packaging/nfpm.yaml -p deb -t $(DEBDIR)/
