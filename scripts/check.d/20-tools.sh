#!/usr/bin/env bash
# The tools (tests/tools, pytest, host side): mkfs.twinfs, twinfs-dump and
# the others; --help/--version and the manual pages against them
# (test_man.py); `meson install` into a temporary DESTDIR (test_install.py).
# Run by scripts/check.sh, which sets TWINFS_ROOT and TWINFS_BUILD; alone,
# the repository root and its build/ are the defaults.
set -u
cd "${TWINFS_ROOT:-$(dirname "$0")/../..}" || exit 1
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/tools
rc=$?
[ $rc -eq 5 ] && { echo "no tests collected"; exit 1; }
exit $rc
