# ticketgate: build, test and install.
#   make build     ./ticketgate, its version stamped from `git describe`
#   make test      the test suite with the race detector
#   make check     what CI runs (.ci/run: gofmt, vet, staticcheck, tests)
#   make install   binary, man page, systemd unit and (if absent) a config
#                  under DESTDIR/PREFIX; see README "Install on Debian with Postfix"

GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= /etc/systemd/system
CONFDIR ?= /etc/ticketgate
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)

.PHONY: build test check install clean

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o ticketgate ./cmd/ticketgate

test:
	$(GO) test -race ./...

check:
	.ci/run

install: build
	install -D -m 0755 ticketgate $(DESTDIR)$(BINDIR)/ticketgate
	install -D -m 0644 docs/ticketgate.8 $(DESTDIR)$(MANDIR)/man8/ticketgate.8
	install -d $(DESTDIR)$(UNITDIR)
	sed "s|/usr/local/bin/ticketgate|$(BINDIR)/ticketgate|" dist/systemd/ticketgate.service > $(DESTDIR)$(UNITDIR)/ticketgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ticketgate.service
	install -d -m 0750 $(DESTDIR)$(CONFDIR)
	test -e $(DESTDIR)$(CONFDIR)/config.yaml || install -m 0640 config.example.yaml $(DESTDIR)$(CONFDIR)/config.yaml

clean:
	rm -f ticketgate
