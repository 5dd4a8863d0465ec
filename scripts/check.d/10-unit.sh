#!/usr/bin/env bash
# make check step: the C unit tests (meson suite 'unit'): the core's tests
# (tests/unit/test_core_*.c, test_model.c) and the user-space environment's
# (tests/unit/test_user_*.c), all under AddressSanitizer and UBSan.
# Run by scripts/check.sh, which sets TWINFS_BUILD; alone, build/ under the
# repository root is the default.
#
# TWINFS_UNIT_SUITE picks a subset: 'core' or 'user' (default: 'unit', all).
# TWINFS_SEED and TWINFS_MODEL_OPS are passed on to the model test.
# Exits non-zero if a test fails (or the build does).
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TWINFS_BUILD:-$root/build}
suite=${TWINFS_UNIT_SUITE:-unit}
if [ ! -f "$build/build.ninja" ]; then
	echo "10-unit: $build is not a configured meson build directory" >&2
	exit 1
fi
exec meson test -C "$build" --print-errorlogs --suite "$suite"
