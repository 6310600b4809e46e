# ss-redir: the two commands README promises, and the pieces they are made of.
SWIFT ?= swift

.PHONY: deps build release test demo bench bench-micro clean deb test-deb

deps:
	bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The whole test suite: unit tests and the network end-to-end tests (root: namespaces, nftables, ss-server).
test: build
	$(SWIFT) test
	bash scripts/test-deb.sh

# Builds release and shows the main job on a throwaway gateway in network namespaces.
demo: release
	SS_REDIR_BIN=$$($(SWIFT) build -c release --show-bin-path)/ss-redir bash scripts/demo.sh

# Ours against shadowsocks-libev's ss-redir on the namespace testbed (root, ~15 min; BENCH_QUICK=1 for a
# one-minute smoke check). Rewrites docs/performance.md's results. Not part of `test`: figures, not verdicts.
bench: deps
	bash scripts/bench/run.sh

bench-micro:
	bash scripts/bench/micro.sh

clean:
	rm -rf .build .build-deb dist

# The Debian package, dist/ss-redir_<version>_<arch>.deb: one ss-redir binary built release with the Swift
# standard library linked in (--static-swift-stdlib, scratch path .build-deb), stripped, with ss-server and
# ss-local as links to it; Depends from dpkg-shlibdeps. Only local tools, no downloads. See docs/debian.md.
deb: deps
	bash scripts/build-deb.sh

# What make test runs on the package: Depends, file list, size budget, then (root) install, run, remove and
# purge in a clean debootstrap root cached in .cache/. DEB=path checks that package instead of building one.
test-deb: deps
	bash scripts/test-deb.sh

# Installation (GNU conventions: PREFIX, DESTDIR). SS_REDIR_BIN=path installs an already-built binary instead
# of building release first. Units go to $(PREFIX)/lib/systemd/system (systemd reads /usr/local/lib/...
# too); SYSTEMD_UNIT_DIR=/etc/systemd/system puts them with the administrator's. See docs/install.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/ss-redir
DOCDIR ?= $(PREFIX)/share/doc/ss-redir
SYSCONFDIR ?= /etc
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPLETION_DIR ?= $(PREFIX)/share/fish/vendor_completions.d
INSTALL ?= install

INSTALLED_BIN = $(or $(SS_REDIR_BIN),$(shell $(SWIFT) build -c release --show-bin-path)/ss-redir)
# ss-server comes from the same build as ss-redir unless SS_SERVER_BIN names another binary.
INSTALLED_SERVER_BIN = $(or $(SS_SERVER_BIN),$(dir $(INSTALLED_BIN))ss-server)
INSTALLED_LOCAL_BIN = $(or $(SS_LOCAL_BIN),$(dir $(INSTALLED_BIN))ss-local)
HOSTS_RULES = $(notdir $(wildcard hosts-rules/*))
DOCS = README.md $(wildcard docs/*.md)
UNIT_SUBSTITUTIONS = -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

.PHONY: install uninstall man

# The man pages in docs/man are generated from the same source as --help (swift-argument-parser's plugin,
# which builds release); a test checks every flag of --help is in them.
man:
	$(SWIFT) package --allow-writing-to-package-directory generate-manual
	for tool in ss-redir ss-server ss-local; do \
		cp .build/plugins/GenerateManual/outputs/$$tool/$$tool.1 docs/man/; \
	done

install: $(if $(SS_REDIR_BIN),,release)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/ss-redir $(DESTDIR)$(SYSCONFDIR)/ss-server \
		$(DESTDIR)$(DATADIR)/hosts-rules \
		$(DESTDIR)$(DATADIR)/openwrt $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMD_UNIT_DIR) \
		$(DESTDIR)$(BASH_COMPLETION_DIR) $(DESTDIR)$(ZSH_COMPLETION_DIR) $(DESTDIR)$(FISH_COMPLETION_DIR) \
		$(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(INSTALLED_BIN) $(DESTDIR)$(BINDIR)/ss-redir
	$(INSTALL) -m 644 docs/man/ss-redir.1 docs/man/ss-server.1 docs/man/ss-local.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 755 $(INSTALLED_SERVER_BIN) $(DESTDIR)$(BINDIR)/ss-server
	$(INSTALL) -m 755 $(INSTALLED_LOCAL_BIN) $(DESTDIR)$(BINDIR)/ss-local
	$(INSTALL) -m 644 packaging/config.json.example $(DESTDIR)$(SYSCONFDIR)/ss-redir/config.json.example
	$(INSTALL) -m 644 $(addprefix hosts-rules/,$(HOSTS_RULES)) $(DESTDIR)$(DATADIR)/hosts-rules/
	$(INSTALL) -m 755 packaging/openwrt/ss-redir.init $(DESTDIR)$(DATADIR)/openwrt/ss-redir.init
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	sed $(UNIT_SUBSTITUTIONS) packaging/systemd/ss-redir@.service.in > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-redir@.service
	chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-redir@.service
	sed $(UNIT_SUBSTITUTIONS) packaging/systemd/ss-server@.service.in > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-server@.service
	chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-server@.service
	$(INSTALLED_BIN) --generate-completion-script bash > $(DESTDIR)$(BASH_COMPLETION_DIR)/ss-redir
	$(INSTALLED_BIN) --generate-completion-script zsh > $(DESTDIR)$(ZSH_COMPLETION_DIR)/_ss-redir
	$(INSTALLED_BIN) --generate-completion-script fish > $(DESTDIR)$(FISH_COMPLETION_DIR)/ss-redir.fish

# Removes what install put there and nothing else: a config.json (or any other file) in
# $(SYSCONFDIR)/ss-redir stays, and so does the directory then.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ss-redir $(DESTDIR)$(SYSCONFDIR)/ss-redir/config.json.example \
		$(DESTDIR)$(BINDIR)/ss-server $(DESTDIR)$(BINDIR)/ss-local $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-server@.service \
		$(addprefix $(DESTDIR)$(DATADIR)/hosts-rules/,$(HOSTS_RULES)) $(DESTDIR)$(DATADIR)/openwrt/ss-redir.init \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) $(DESTDIR)$(SYSTEMD_UNIT_DIR)/ss-redir@.service \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/ss-redir $(DESTDIR)$(ZSH_COMPLETION_DIR)/_ss-redir \
		$(DESTDIR)$(FISH_COMPLETION_DIR)/ss-redir.fish \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,ss-redir.1 ss-server.1 ss-local.1)
	for dir in $(DESTDIR)$(SYSCONFDIR)/ss-redir $(DESTDIR)$(SYSCONFDIR)/ss-server $(DESTDIR)$(DATADIR)/hosts-rules \
		$(DESTDIR)$(DATADIR)/openwrt $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR); do \
		if [ -d "$$dir" ]; then rmdir --ignore-fail-on-non-empty "$$dir"; fi; \
	done
