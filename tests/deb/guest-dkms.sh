#!/bin/sh
# tests/deb/guest-dkms.sh DIR: twinfs-dkms as a user gets it, in the vm/
# guest (run by vm/run as root, with a scratch disk as /dev/vda).  DIR
# holds the packages.
#
# The guest's root is the host's, read-only over 9p, so dpkg cannot write
# to it.  As vm/init does for mount points, an overlay with a tmpfs upper
# layer makes it writable: one on the guest's module tree
# (/lib/modules/RELEASE, where the kernel's modprobe looks when it
# autoloads), one on / mounted at /tmp/root, with /proc, /sys, /dev and
# that module tree bound in.  There, chrooted: dpkg -i twinfs-tools
# twinfs-dkms, whose postinst runs dkms add/build/install for the running
# kernel against its Debian headers; the modules must land in
# updates/dkms.  The modules the meson build put into the guest's tree
# (extra/twinfs) are removed from the overlay first, so that only the DKMS
# ones exist.  Then mkfs -t twinfs, mount -t twinfs (the kernel autoloads
# twinfs and twinfs_core through fs-twinfs; the loaded module must be the
# DKMS build: same srcversion), write, umount, fsck -t twinfs, rmmod, and
# dpkg --purge: the dpkg -L paths, /var/lib/dkms/twinfs and every twinfs
# module in the tree must be gone, and modprobe must no longer resolve the
# alias.
#
# The module tree's overlay and the mount checks are in
# tests/deb/guest-lib.sh, shared with guest-autoload.sh (make check's
# shorter guest part).
#
# Layer: test (installed packages, guest).  Everything it changes is on
# tmpfs and goes with the guest.
set -eu
name=guest-dkms
. "$(dirname "$0")/guest-lib.sh"
dir=$(cd "$1" && pwd)
mkdir -p /tmp/root
modules_overlay
mkdir -p $o/ru $o/rw
depmod -a "$kver"
modinfo twinfs >/dev/null 2>&1 && fail "a twinfs module is still in $mods"
r=/tmp/root
mount -t overlay -o lowerdir=/,upperdir=$o/ru,workdir=$o/rw overlay $r
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
# dkms's bash needs /dev/fd for its <(...); the guest's devtmpfs has none
for n in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 \
	 stderr:/proc/self/fd/2; do
	[ -e /dev/${n%%:*} ] || ln -sf ${n#*:} /dev/${n%%:*}
done
mount --rbind /dev $r/dev
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
mount -t tmpfs -o mode=0755 tmpfs $r/run
mkdir -p $r$mods $r/tmp/check
mount --bind $mods $r$mods
mount --bind "$dir" $r/tmp/check
ok "an overlay root with the guest's module tree ($kver)"

in_root() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive TERM=dumb chroot $r sh -euc "$1"
}
start=$(date +%s)
# man-db's trigger would re-index every page over 9p, which takes minutes
# under TCG: turn it off (what debconf's man-db/auto-update=false does);
# the host part checks the pages.
in_root 'rm -f /usr/local/sbin/*twinfs* /var/lib/man-db/auto-update
	dpkg -i /tmp/check/twinfs-tools_*.deb /tmp/check/twinfs-dkms_*.deb \
		>/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
	grep -E "Building for|Installing|DKMS: install" /tmp/dpkg.log || true' ||
	fail "dpkg -i twinfs-tools twinfs-dkms"
ok "dpkg -i twinfs-tools twinfs-dkms ($(( $(date +%s) - start )) s, with the dkms build)"
in_root "dkms status twinfs" | grep -q "twinfs/0.1.0, $kver, x86_64: installed" ||
	fail "dkms status: $(in_root 'dkms status')"
check_dkms_modules
ok "dkms status: installed; modinfo: $mods/updates/dkms/twinfs{,_core}.ko*"

mount_check in_root /tmp/t

in_root 'dpkg -L twinfs-dkms twinfs-tools | sort -u >/tmp/files
	dpkg --purge twinfs-dkms twinfs-tools >/tmp/dpkg.log 2>&1 ||
		{ cat /tmp/dpkg.log; exit 1; }
	dirs=
	while read -r f; do
		[ "$f" = /. ] && continue
		[ -e "$f" ] || [ -L "$f" ] || continue
		if [ -d "$f" ] && [ ! -L "$f" ]; then dirs="$dirs $f"; continue; fi
		echo "$f is left after dpkg --purge" >&2; exit 1
	done </tmp/files
	# a directory may stay when another package owns it too (one dpkg -S:
	# each reads the whole database, slowly over 9p)
	[ -z "$dirs" ] || dpkg -S $dirs >/dev/null 2>&1 ||
		{ echo "directories left that no package owns:$dirs" >&2; exit 1; }
	[ ! -e /var/lib/dkms/twinfs ] || { echo "/var/lib/dkms/twinfs left" >&2; exit 1; }
	[ ! -e /usr/src/twinfs-0.1.0 ] || { echo "/usr/src/twinfs-0.1.0 left" >&2; exit 1; }
	echo "$(wc -l </tmp/files) paths"' >$o/purge.out || fail "dpkg --purge"
left=$(find $mods -name 'twinfs*' | head -5)
[ -z "$left" ] || fail "left in the module tree: $left"
modprobe -n -q fs-twinfs 2>/dev/null && fail "modprobe still resolves fs-twinfs"
ok "dpkg --purge: all $(cat $o/purge.out) of dpkg -L gone, /var/lib/dkms/twinfs and the modules too"
umount -R $r
