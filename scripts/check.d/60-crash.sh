#!/usr/bin/env bash
# Crash states, checked (tests/crash, docs/crash.md): workloads recorded in
# the core in process, in twinfs-fuse on the host (needs root and
# /dev/fuse) and in twinfs.ko in the test guest (dm-log-writes); every
# prefix, flush-boundary and seeded reordered crash state is checked with
# fsck -n, a replaying mount against the oracle, and fsck -n again.  Then
# the test builds whose commit is broken on purpose: early1 (no flush
# before the commit block; the checksum chain covers it) must pass, early2
# (nor after it) must fail.  A few minutes; the table at the end has the
# numbers.
set -u
: "${TWINFS_ROOT:?}" "${TWINFS_BUILD:?}"
cd "$TWINFS_ROOT"
if [ "$(id -u)" != 0 ]; then
	echo "60-crash: needs root (FUSE mounts, the guest)" >&2
	exit 1
fi
vm/build --quiet --build-dir "$TWINFS_BUILD" || exit 1
mkdir -p "$TWINFS_BUILD/crash"
timeout -k 10 600 /usr/bin/python3 tests/crash/crashrun.py --suite check \
	--early --json "$TWINFS_BUILD/crash/check.json"
rc=$?
[ $rc -eq 124 ] && echo "60-crash: timed out after 600 s" >&2
exit $rc
