#!/bin/sh
# kmod/build.sh OUTDIR [KDIR]: build twinfs_core.ko and twinfs.ko with kbuild.
#
# Layer: build tooling.  OUTDIR gets symbolic links to kmod/ and common/
# sources (kbuild builds next to its sources; links keep the source tree
# clean and leave one copy of every file).  KDIR defaults to $KDIR, else to
# the Debian headers that vm/ boots (vm/kernel-version --kdir).  Extra make
# arguments come from $KBUILD_ARGS (default W=1).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: kmod/build.sh OUTDIR [KDIR]}
kdir=${2:-${KDIR:-}}
[ -n "$kdir" ] || kdir=$("$src/vm/kernel-version" --kdir)
if [ ! -f "$kdir/Makefile" ]; then
	echo "kmod/build.sh: no kernel build tree at $kdir" >&2
	echo "  (install linux-headers-<version> or set KDIR)" >&2
	exit 1
fi
mkdir -p "$out/common"
out=$(cd "$out" && pwd)
find "$out" -maxdepth 2 -type l ! -exec test -e {} \; -delete
for f in "$src"/kmod/*.c "$src"/kmod/*.h "$src"/kmod/Kbuild; do
	ln -sf "$f" "$out/"
done
for f in "$src"/common/*.c "$src"/common/*.h; do
	ln -sf "$f" "$out/common/"
done
exec make -C "$kdir" M="$out" ${KBUILD_ARGS:-W=1} modules
