#!/usr/bin/env bash
# Golden corrupted images: fsck verdicts and mount errors (host side).
set -u
cd "$TWINFS_ROOT"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/images
rc=$?
[ $rc -eq 5 ] && { echo "no tests collected"; exit 1; }
exit $rc
