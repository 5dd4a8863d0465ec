#!/usr/bin/env bash
# The benchmark harness (bench/): the unit tests of its parsers and report
# generator (bench/tests, no VM), then a smoke-sized run of the quick
# profile: one guest boot with ext4, the twinfs module and twinfs-fuse;
# on the host twinfs-fuse, the FUSE ceiling (passthrough_ll over ext4)
# and ext4 on a loop device; tiny sizes, one repetition, a full report.
# It checks that the harness works end to end, and that the host's
# reference rows are in the results, not the numbers.  About 70 s under
# TCG.  Run by scripts/check.sh (TWINFS_ROOT, TWINFS_BUILD).
set -u
cd "${TWINFS_ROOT:-$(dirname "$0")/../..}" || exit 1
build=${TWINFS_BUILD:-$PWD/build}
/usr/bin/python3 -m pytest -q -p no:cacheprovider bench/tests
rc=$?
[ $rc -eq 5 ] && { echo "70-bench: no tests collected"; exit 1; }
[ $rc -eq 0 ] || exit $rc
if [ "$(id -u)" != 0 ]; then
	echo "70-bench: the smoke run needs root (FUSE mounts)" >&2
	exit 1
fi
# --strict: any failed step fails the check; timeout(1) is the backstop
timeout -k 10 300 bench/twbench --profile smoke --build "$build" --strict
rc=$?
[ $rc -eq 124 ] && echo "70-bench: the smoke run timed out after 300 s" >&2
[ $rc -eq 0 ] || exit $rc
# the FUSE ceiling and the kernel reference measured on the host (issue 12)
/usr/bin/python3 - "$build/bench-smoke/results.json" <<'EOF'
import json
import sys
res = json.load(open(sys.argv[1]))
bad = ['%s (%s)' % (s, res['missing'].get(s) or 'no seq write result')
       for s in ('fuse-ceiling@host', 'ext4@host')
       if 'seqwrite' not in res['summary'].get(s, {})]
if bad:
	sys.exit('70-bench: the smoke run lacks %s' % ', '.join(bad))
# the ablation of the optimized profile (issue 12): a verdict per variant
abl = res.get('ablation') or {}
if not abl.get('verdicts') or any(not v.get('word') for v in abl['verdicts']):
	sys.exit('70-bench: the smoke run has no ablation verdicts')
EOF
