#!/bin/sh
# tests/deb/guest-autoload.sh DIR: the modules twinfs-dkms's dkms built
# and installed in the host part (tests/deb/host-installed.sh, for the
# guest kernel's headers), loaded by `mount -t twinfs` in the vm/ guest
# (run by vm/run as root, with a scratch disk as /dev/vda).  The short
# guest part of `make check`; tests/deb/guest-dkms.sh, under `make
# deb-check`, runs the dkms build in the guest too.
#
# DIR holds modules/RELEASE/ (twinfs.ko, twinfs_core.ko as dkms installed
# them in updates/dkms, and srcversion: "MODULE SRCVERSION" lines) and
# tools/ (twinfs-tools unpacked, for mkfs and fsck -t twinfs).  An
# overlay on the guest's module tree (tests/deb/guest-lib.sh) with the
# meson build's extra/twinfs removed; the modules go into updates/dkms
# as dkms puts them, depmod -a; modinfo must resolve fs-twinfs and
# twinfs_core to them (same srcversion as the dkms build's); then mkfs,
# mount -t twinfs (autoload: both loaded, the DKMS ones), write, umount,
# fsck -t twinfs, rmmod.
#
# Layer: test (installed packages, guest).  Everything it changes is on
# tmpfs and goes with the guest.
set -eu
name=guest-autoload
. "$(dirname "$0")/guest-lib.sh"
dir=$(cd "$1" && pwd)
built=$dir/modules/$kver
[ -f "$built/srcversion" ] || fail "no DKMS build for $kver in $dir/modules"
modules_overlay
mkdir -p $mods/updates/dkms
cp "$built"/twinfs*.ko* $mods/updates/dkms/
depmod -a "$kver"
check_dkms_modules
while read -r m v; do
	[ "$(modinfo -F srcversion $m)" = "$v" ] ||
		fail "$m: srcversion $(modinfo -F srcversion $m), the dkms build's $v"
done <"$built/srcversion"
ok "the DKMS build in $mods/updates/dkms, depmod -a; modinfo: fs-twinfs, twinfs_core there, same srcversion"

# The installed paths of twinfs-tools, not the build tree's (nor
# /usr/local's); mkfs(8) and fsck(8) search PATH after /sbin.
tools=$dir/tools/usr/sbin
here() {
	env PATH=$tools:/usr/sbin:/usr/bin:/sbin:/bin sh -euc "$1"
}
[ "$(here 'command -v mkfs.twinfs')" = $tools/mkfs.twinfs ] ||
	fail "mkfs.twinfs is $(here 'command -v mkfs.twinfs')"
mount_check here /tmp/t
