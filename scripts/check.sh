#!/usr/bin/env bash
# make check: run every test step in scripts/check.d/ in name order against
# the build directory given as $1.  Each step is a script that exits non-zero
# on failure; all steps run even if one fails, and the summary line counts
# steps.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export TWINFS_ROOT=$root
export TWINFS_BUILD=$(cd "$root/$build" && pwd)
pass=0
fail=0
failed=()
for step in "$root"/scripts/check.d/*.sh; do
	name=$(basename "$step" .sh)
	echo "=== check: $name"
	start=$(date +%s)
	if bash "$step"; then
		pass=$((pass + 1))
		echo "=== check: $name ok ($(( $(date +%s) - start )) s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "=== check: $name FAILED ($(( $(date +%s) - start )) s)"
	fi
done
[ ${#failed[@]} -eq 0 ] || echo "failed steps: ${failed[*]}"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
