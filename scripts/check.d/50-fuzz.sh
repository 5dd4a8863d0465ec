#!/usr/bin/env bash
# Fuzzing (tests/fuzz, docs/fuzzing.md): build the libFuzzer targets with
# clang (cached), run each for 30 s (FUZZ_CHECK_TIME), two at a time, then
# replay every regression image of tests/images/fuzz through every target
# and check its verdict.  Then the replay in twinfs-fuse: every regression
# image and the corpus sample (tests/images/fuzz/corpus) decoded with the
# fzimg just built, mounted by twinfs-fuse read-only and read-write,
# walked, written, unmounted; refusals must match the core's verdict
# (tests/fuzz/test_replay_fuse.py, root and /dev/fuse, about 20 s).  The
# same images in the kernel module are 45-kmod's
# (tests/kmod/test_fuzzimages.py).
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
rc=0
"$root/tests/fuzz/fuzz.sh" check || rc=1
if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
	echo "50-fuzz: the replay in twinfs-fuse needs root and /dev/fuse" >&2
	exit 1
fi
cd "$root" || exit 1
echo "fuzz: the regression images and the corpus sample in twinfs-fuse"
/usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-o console_output_style=classic -rfE tests/fuzz/test_replay_fuse.py ||
	rc=1
exit $rc
