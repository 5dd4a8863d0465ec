#!/usr/bin/env bash
# Fuzzing (tests/fuzz, docs/fuzzing.md): build the libFuzzer targets with
# clang (cached), run each for 30 s (FUZZ_CHECK_TIME), two at a time, then
# replay every regression image of tests/images/fuzz through every target
# and check its verdict.  Host side; the kernel replay comes with kmod.
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "$root/tests/fuzz/fuzz.sh" check
