#!/bin/sh
# kmod/guest-install.sh BUILD_DIR STAMP CORE_KO FS_KO: put the freshly built
# modules into the test guest's module tree (build/vm/<release>/image, the
# unpacked Debian kernel that vm/run boots) under extra/, and depmod it, so
# that in the guest `modprobe twinfs`, `twinfs-mod load --with-deps twinfs`
# and `mount -t twinfs` (autoload through the fs-twinfs alias) find them.
#
# Layer: build tooling.  Touches nothing outside BUILD_DIR.  Without a guest
# (vm/build has not run) it only says so: the modules stay in build/kmod.
set -eu
build=$1 stamp=$2 core=$3 fs=$4
src=$(cd "$(dirname "$0")/.." && pwd)
vmdir=$("$src/vm/build" --print-dir --build-dir "$build" 2>/dev/null) || vmdir=
kver=$(basename "${vmdir:-none}")
tree=$vmdir/image/lib/modules/$kver
if [ -z "$vmdir" ] || [ ! -d "$tree" ]; then
	echo "kmod: no guest module tree yet (vm/build); modules left in $(dirname "$core")"
	: >"$stamp"
	exit 0
fi
mkdir -p "$tree/extra/twinfs"
cp "$core" "$fs" "$tree/extra/twinfs/"
depmod -b "$vmdir/image" "$kver"
: >"$stamp"
