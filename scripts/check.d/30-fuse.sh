#!/usr/bin/env bash
# Check step (layer: test driver) for the FUSE daemon: tests/fuse (pytest,
# real FUSE mounts on the host, as root): both profiles, mount -t
# fuse.twinfs, crashes, persistence, bad input, who may mount where, and
# processes hammering a mount (30 s of the step's 45 s).  Needs /dev/fuse
# and fusermount3.
set -u
cd "$TWINFS_ROOT"
if [ "$(id -u)" != 0 ]; then
	echo "30-fuse: needs root (real FUSE mounts)" >&2
	exit 1
fi
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/fuse
rc=$?
[ $rc -eq 5 ] && { echo "30-fuse: no tests collected"; exit 1; }
exit $rc
