# twinfs: thin wrapper around meson so that the README's two commands work on
# a fresh Debian 12 machine.  The real build lives in meson.build.
#
#   make demo    install what is missing, build, run the main job
#   make check   install what is missing, build, run every test
#   make bench   the full benchmark profile (make demo runs the quick one)
#   make bench-ablation  the ablation of twinfs-fuse's optimized profile alone
#   make deb     the Debian packages, into $(BUILD)/deb/ (README: Installing)
#   make deb-check  build, lint and install them, also in the test guest
#
# BUILD selects the meson build directory.

BUILD ?= build
MESON_OPTS ?=
PKG_LIST := debian-packages.txt

.PHONY: all deps guest configure build kmod demo check fuzz clean deb

all: build

# Install the Debian packages listed in $(PKG_LIST) that are not installed yet.
# Idempotent and silent when everything is present.
deps:
	@missing=$$(grep -v '^\s*\(#\|$$\)' $(PKG_LIST) | sed 's/\s*#.*//' | \
		while read -r p; do \
			dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | \
				grep -q 'install ok installed' || echo "$$p"; \
		done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root for apt-get" >&2; exit 1; fi; \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null || exit 1; \
	fi

# The test guest: Debian's kernel unpacked into $(BUILD)/vm and the
# matching linux-headers installed (kmod/ builds against them).  Cached:
# quiet and quick when nothing changed.
guest: deps
	@vm/build --quiet --build-dir $(BUILD)

$(BUILD)/build.ninja: meson.build
	@if [ -f $(BUILD)/build.ninja ]; then meson setup --reconfigure $(BUILD) $(MESON_OPTS) >/dev/null; \
	else meson setup $(BUILD) $(MESON_OPTS) >/dev/null; fi

configure: deps guest $(BUILD)/build.ninja

build: configure
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

# Only the kernel modules (KDIR=/lib/modules/$$(uname -r)/build for the
# running kernel; see the README before installing them anywhere).
kmod: configure
	@ninja -C $(BUILD) kmod/twinfs.ko kmod/twinfs_core.ko

demo: build
	@./scripts/demo.sh $(BUILD)

# The full benchmark profile (bench/twbench; make demo runs the quick one).
.PHONY: bench
bench: build
	@bench/twbench --profile full --build $(BUILD)

# The ablation of twinfs-fuse's optimized profile alone (docs/results.md,
# "Ablation of the optimized profile"): on the host, the quick profile's
# sizes, 3 repetitions, a few minutes; the report goes to $(BUILD)/ablation/
# and the table into docs/results.md.  make bench runs it at full sizes.
.PHONY: bench-ablation
bench-ablation: build
	@bench/twbench --ablation --profile quick --build $(BUILD) \
		--update-docs docs/results.md

check: build
	@./scripts/check.sh $(BUILD)

# The Debian packages (debian/): twinfs-tools, twinfs-fuse, twinfs-dkms,
# built by dpkg-buildpackage from a copy of the source tree in
# $(BUILD)/deb/src (without .git and build*/), so that debian/tmp, the
# obj-* build directory and the ../*.deb that dpkg-buildpackage writes all
# stay under $(BUILD)/deb.  Needs only `make deps`, not the meson build.
# No -dbgsym packages, so that `apt install ./build/deb/*.deb` installs the
# three.  `make deb-check` builds, lints and installs them (in a throw-away
# root and in the test guest): scripts/check.d/65-deb.sh, whose host part
# `make check` runs.
DEB_DIR = $(BUILD)/deb
DEB_REL = $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
deb: deps
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	@tar -C . --exclude=./.git --exclude='./build*' --exclude='./$(DEB_REL)' \
		--exclude=__pycache__ -cf - . | tar -C $(DEB_DIR)/src -xf -
	@cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS) noautodbgsym" \
		dpkg-buildpackage -b -us -uc -J >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "make deb: failed, see $(DEB_DIR)/build.log" >&2; exit 1; }
	@ls -1 $(abspath $(DEB_DIR))/*.deb

# The packages, and their test with the full in-guest part (a real dkms
# build and install in the TCG guest: 8 to 15 minutes more, too long for
# every `make check`, which only loads the host's DKMS build in the guest).
.PHONY: deb-check
deb-check: deps
	@TWINFS_ROOT=$(CURDIR) TWINFS_BUILD=$(abspath $(BUILD)) TWINFS_DEB_GUEST=1 \
		bash scripts/check.d/65-deb.sh

# The fault-isolation experiment (docs/crash.md): the same fault in the
# module and in the daemon, in the test guest; prints its table.
.PHONY: fault-isolation
fault-isolation: build guest
	@TWINFS_BUILD=$(abspath $(BUILD)) tests/crash/fault_isolation.py

# Every crash state of a long run (docs/crash.md): the whole 2-op ACE space
# in the core, larger samples in the two homes.  Hours.
.PHONY: crash-full
crash-full: build guest
	@TWINFS_BUILD=$(abspath $(BUILD)) tests/crash/crashrun.py --suite full --early

# A long fuzzing campaign of the core and fsck (docs/fuzzing.md):
# FUZZ_TIME seconds per target (default 1800), FUZZ_JOBS at a time.
fuzz: deps
	@TWINFS_BUILD=$(abspath $(BUILD)) ./tests/fuzz/fuzz.sh campaign $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
