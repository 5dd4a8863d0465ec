# tests/deb/guest-lib.sh: what guest-dkms.sh and guest-autoload.sh share,
# sourced by them in the vm/ guest (as root, with a scratch disk as
# /dev/vda).  Sets kver and mods (the running kernel's module tree) and $o
# (a tmpfs for the overlays' upper layers and scratch files).
#
# Layer: test (installed packages, guest).  Everything it changes is on
# tmpfs and goes with the guest.
fail() { echo "$name: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok  $*"; }
kver=$(uname -r)
mods=/lib/modules/$kver
o=/tmp/twinfs-ovl

# The guest's module tree (where the kernel's modprobe looks when it
# autoloads) made writable: an overlay with a tmpfs upper layer.  The
# modules the meson build put into it (extra/twinfs) are removed, so that
# only the DKMS ones will exist.
modules_overlay() {
	mkdir -p $o
	mount -t tmpfs tmpfs $o
	mkdir -p $o/mu $o/mw
	mount -t overlay -o lowerdir=$mods,upperdir=$o/mu,workdir=$o/mw overlay $mods
	rm -rf $mods/extra/twinfs
}

# modprobe finds twinfs (through its alias fs-twinfs) and twinfs_core in
# updates/dkms, nowhere else.
check_dkms_modules() {
	f=$(modinfo -n fs-twinfs) || fail "modprobe does not resolve fs-twinfs"
	case $f in $mods/updates/dkms/twinfs.ko*) ;; *) fail "fs-twinfs is $f" ;; esac
	for m in twinfs_core twinfs; do
		f=$(modinfo -n $m) || fail "modprobe does not find $m"
		case $f in $mods/updates/dkms/$m.ko*) ;; *) fail "$m is $f" ;; esac
	done
}

# RUN MNT: mkfs -t twinfs /dev/vda, mount -t twinfs at MNT (the kernel
# autoloads twinfs and twinfs_core through fs-twinfs; the loaded modules
# must be the ones modinfo finds: same srcversion), write, umount, the
# data back after a read-only remount, fsck -t twinfs -n, rmmod.  RUN is a
# function that runs a shell script where the twinfs tools are on PATH.
mount_check() {
	run=$1 mnt=$2
	grep -q '^twinfs ' /proc/modules && fail "twinfs loaded before the mount"
	$run "mkfs -t twinfs /dev/vda >/dev/null && mkdir -p $mnt &&
		mount -t twinfs /dev/vda $mnt && echo hello >$mnt/hello &&
		mkdir $mnt/dir && sync" || fail "mkfs, mount -t twinfs, write"
	grep -q '^twinfs ' /proc/modules && grep -q '^twinfs_core ' /proc/modules ||
		fail "mount -t twinfs did not load the modules"
	for m in twinfs_core twinfs; do
		[ "$(cat /sys/module/$m/srcversion)" = "$(modinfo -F srcversion $m)" ] ||
			fail "the loaded $m is not the DKMS one"
	done
	ok "mkfs -t twinfs; mount -t twinfs autoloaded the DKMS twinfs, twinfs_core"
	$run "umount $mnt && mount -t twinfs -o ro /dev/vda $mnt &&
		[ \"\$(cat $mnt/hello)\" = hello ] && umount $mnt &&
		fsck -t twinfs -n /dev/vda >/dev/null" || fail "umount, remount, fsck"
	rmmod twinfs twinfs_core || fail "rmmod"
	ok "umount, data back after a remount, fsck -t twinfs -n: exit 0, rmmod"
}
