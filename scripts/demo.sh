#!/usr/bin/env bash
# make demo: the main job.  A short look at the filesystem through the core
# alone (mkfs, twinfs-ctl, fsck: no mount), then the side-by-side comparison
# of its two homes, the quick profile of bench/twbench: one guest boot
# measures the twinfs module, twinfs-fuse (base and optimized), ext4 vs
# fuse2fs, exFAT vs exfat-fuse and tmpfs on one virtual disk, then
# twinfs-fuse runs natively on the host.  It prints the comparison table
# and writes the report (Markdown, JSON, CSV, plots) to BUILD/report/.
# `make bench` runs the full profile.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/twinfs-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
img=$work/demo.img
ctl=$build/tools/twinfs-ctl

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "the core alone: mkfs.twinfs, twinfs-ctl (no mount), fsck.twinfs"
"$build/tools/mkfs.twinfs" -q -L demo "$img" 64M
"$ctl" "$img" mkdir /src
for f in "$root"/common/*.c; do
	"$ctl" "$img" put "$f" "/src/$(basename "$f")"
done
"$ctl" "$img" ls /src | head -4
echo "..."
"$ctl" "$img" cat /src/crc32c.c | cmp - "$root/common/crc32c.c"
echo "read back /src/crc32c.c through the core: identical"
"$build/tools/fsck.twinfs" -n "$img" | tail -1

step "the two homes side by side: bench/twbench --profile quick"
echo "(about 5 minutes under TCG; make bench runs the full profile)"
"$root/bench/twbench" --profile quick --build "$build"
