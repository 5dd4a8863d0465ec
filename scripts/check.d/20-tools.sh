#!/usr/bin/env bash
# The tools: mkfs.twinfs and twinfs-dump (tests/tools, pytest, host side).
# Run by scripts/check.sh, which sets TWINFS_ROOT and TWINFS_BUILD; alone,
# the repository root and its build/ are the defaults.
set -u
cd "${TWINFS_ROOT:-$(dirname "$0")/../..}" || exit 1
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/tools
rc=$?
[ $rc -eq 5 ] && { echo "no tests collected"; exit 1; }
exit $rc
