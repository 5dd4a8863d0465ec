#!/usr/bin/env bash
# make demo: the main job.  For now (the foundation): make an image, write
# files into it through the core in this process (twinfs-ctl), check it with
# fsck.twinfs and show it with twinfs-dump.  Later issues grow this into the
# side-by-side comparison of the kernel and FUSE homes.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/twinfs-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
img=$work/demo.img
ctl=$build/tools/twinfs-ctl

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "mkfs.twinfs: a 256 MiB image"
"$build/tools/mkfs.twinfs" -L demo "$img" 256M

step "twinfs-ctl: write files through the core, no mount needed"
"$ctl" "$img" mkdir /src
for f in "$root"/common/*.c; do
	"$ctl" "$img" put "$f" "/src/$(basename "$f")"
done
"$ctl" "$img" symlink src/journal.c /journal
"$ctl" "$img" setxattr /src user.comment "the core of twinfs"
"$ctl" "$img" ls -l /src
"$ctl" "$img" cat /src/crc32c.c | cmp - "$root/common/crc32c.c"
echo "read back /src/crc32c.c: identical"

step "fsck.twinfs -n: check it"
"$build/tools/fsck.twinfs" -n "$img"

step "twinfs-dump: what is on disk"
"$build/tools/twinfs-dump" "$img" superblock
"$build/tools/twinfs-dump" "$img" ls /src | head -20
