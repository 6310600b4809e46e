# ss-redir: the two commands README promises, and the pieces they are made of.
SWIFT ?= swift

.PHONY: deps build release test demo clean

deps:
	bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The whole test suite: unit tests and the network end-to-end tests (root: namespaces, nftables, ss-server).
test: build
	$(SWIFT) test

# Builds release and shows the main job on a throwaway gateway in network namespaces.
demo: release
	SS_REDIR_BIN=$$($(SWIFT) build -c release --show-bin-path)/ss-redir bash scripts/demo.sh

clean:
	rm -rf .build
