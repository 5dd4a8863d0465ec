#!/bin/sh
# tests/deb/host-installed.sh: the three packages as a user gets them.
# Runs as root inside tests/deb/throwaway-root (a throw-away copy of the
# host's root), with /tmp/check holding the packages and corrupt.img (a
# filesystem whose free block count is off, made by the check step).
#
# Installs all three as the README says (apt-get install ./*.deb; nothing
# to download: their dependencies are installed already).  twinfs-dkms's postinst runs
# dkms, which builds and installs the modules for each kernel whose
# headers are here (the vm/ guest's: the host's own kernel has none), so
# the modules must be in /lib/modules/RELEASE/updates/dkms; when
# /tmp/check/out is there (writable), they and their srcversion are
# copied to out/modules/RELEASE/ for the guest part.  Then, using
# only the installed paths (PATH is the system's, the build tree is not
# on it): the programs and pages, mkfs -t twinfs, fsck -t twinfs and its
# fsck(8) exit codes, mount -t fuse.twinfs (through mount.fuse3), an
# fstab line and mount -a, umount, fsck; then apt-get purge, and every
# path dpkg -L listed, the DKMS tree and the modules must be gone.
#
# Layer: test (installed programs).  Prints one line per check.
set -eu
fail() { echo "host-installed: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok  $*"; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mnt=/tmp/mnt
# throwaway-root drops everything anyway; a failed check must not leave a
# mount busy for the next one
trap 'umount $mnt 2>/dev/null || true' EXIT

# An earlier `meson install` into /usr/local must not answer for the
# packages: hide it in this throw-away root.
rm -f /usr/local/sbin/*twinfs* /usr/local/bin/*twinfs*
# So must a module from an earlier `make -C kmod dkms-install`.
rm -rf /usr/local/src/twinfs-* /usr/src/twinfs-* /var/lib/dkms/twinfs \
	/lib/modules/*/updates/dkms/twinfs*.ko* /lib/modules/*/extra/twinfs
debs=$(ls /tmp/check/twinfs-tools_*.deb /tmp/check/twinfs-fuse_*.deb \
	/tmp/check/twinfs-dkms_*.deb)
start=$(date +%s)
apt-get install -y -q --no-install-recommends $debs \
	>/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt-get install"; }
for p in twinfs-tools twinfs-fuse twinfs-dkms; do
	[ "$(dpkg-query -W -f='${Status}' $p)" = "install ok installed" ] ||
		fail "$p is not installed"
done
ok "apt-get install ./twinfs-{tools,fuse,dkms}_*.deb ($(( $(date +%s) - start )) s, with dkms)"

# DKMS: built and installed for every kernel with headers
kernels=
for b in /lib/modules/*/build; do
	[ -f "$b/Makefile" ] && kernels="$kernels $(basename "$(dirname "$b")")"
done
[ -n "$kernels" ] || fail "no kernel headers here (make guest installs them)"
for k in $kernels; do
	dkms status -m twinfs -v 0.1.0 -k "$k" | grep -q ": installed" ||
		{ grep -A30 "Building for" /tmp/apt.log;
		  fail "dkms status for $k: $(dkms status -m twinfs)"; }
	for m in twinfs_core twinfs; do
		f=$(modinfo -k "$k" -n $m) || fail "modinfo -k $k $m"
		case $f in /lib/modules/$k/updates/dkms/$m.ko*) ;;
		*) fail "$m for $k is $f" ;; esac
		modinfo -k "$k" -F vermagic $m | grep -q "^$k " ||
			fail "$m: vermagic is not $k"
	done
	modinfo -k "$k" -F alias twinfs | grep -qx fs-twinfs ||
		fail "twinfs for $k has no fs-twinfs alias"
	modprobe -S "$k" -n -q fs-twinfs ||
		fail "modprobe -S $k does not resolve fs-twinfs"
done
ok "dkms built and installed twinfs, twinfs_core for$kernels (updates/dkms, alias fs-twinfs)"
# what the guest part loads (tests/deb/guest-autoload.sh): the modules
# dkms installed, with their srcversion
if [ -d /tmp/check/out ]; then
	for k in $kernels; do
		mkdir -p /tmp/check/out/modules/$k
		cp /lib/modules/$k/updates/dkms/twinfs*.ko* /tmp/check/out/modules/$k/
		for m in twinfs_core twinfs; do
			echo "$m $(modinfo -k "$k" -F srcversion $m)"
		done >/tmp/check/out/modules/$k/srcversion
	done
	ok "copied out for the guest: the DKMS modules and their srcversion"
fi

for prog in mkfs.twinfs fsck.twinfs twinfs-dump twinfs-ctl twinfs-mod \
	    twinfs-fuse twinfs; do
	[ "$(command -v $prog)" = /usr/sbin/$prog ] ||
		fail "$prog is $(command -v $prog || echo missing)"
	$prog --version | grep -q '0\.1\.0' || fail "$prog --version"
	dpkg -S /usr/sbin/$prog >/dev/null || fail "/usr/sbin/$prog: no package"
	man -w $prog >/dev/null 2>&1 || fail "man $prog: no page"
done
man -w 5 twinfs >/dev/null || fail "man 5 twinfs"
twinfs-mod --version | grep -q '^twinfs-mod.*0\.1\.0' ||
	fail "twinfs-mod --version: $(twinfs-mod --version)"
ok "programs in /usr/sbin, --version, pages (man -w; twinfs(5))"

img=/tmp/twinfs-deb-check.img
truncate -s 64M $img
mkfs -t twinfs $img >/tmp/mkfs.log 2>&1 || { cat /tmp/mkfs.log; fail "mkfs -t twinfs"; }
rc=0; fsck -t twinfs -n $img >/dev/null || rc=$?
[ $rc = 0 ] || fail "fsck -t twinfs -n of a new filesystem: exit $rc"
ok "mkfs -t twinfs; fsck -t twinfs -n: exit 0"

# fsck(8)'s exit codes on a damaged filesystem: 4 left, 1 corrected, 0
cp /tmp/check/corrupt.img /tmp/corrupt.img
rc=0; fsck -t twinfs -n /tmp/corrupt.img >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "fsck -n of a damaged image: exit $rc, not 4"
rc=0; fsck -t twinfs -p /tmp/corrupt.img >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "fsck -p of a damaged image: exit $rc, not 1"
rc=0; fsck -t twinfs -n /tmp/corrupt.img >/dev/null 2>&1 || rc=$?
[ $rc = 0 ] || fail "fsck -n after -p: exit $rc, not 0"
rc=0; fsck -t twinfs -n /tmp/nonexistent >/dev/null 2>&1 || rc=$?
[ $rc = 8 ] || fail "fsck of a missing device: exit $rc, not 8"
ok "fsck -t twinfs exit codes: 4 (-n), 1 (-p), 0, 8"

mkdir -p $mnt
mount -t fuse.twinfs $img $mnt || fail "mount -t fuse.twinfs"
findmnt -n -o FSTYPE $mnt | grep -qx fuse.twinfs || fail "not a fuse.twinfs mount"
echo hello >$mnt/hello
mkdir $mnt/dir
umount $mnt || fail "umount"
ok "mount -t fuse.twinfs IMAGE DIR, write, umount"

echo "$img $mnt fuse.twinfs defaults 0 0" >>/etc/fstab
mount -a -t fuse.twinfs || fail "mount -a"
[ "$(cat $mnt/hello)" = hello ] && [ -d $mnt/dir ] || fail "data lost"
# the daemon serving it (its command line names the image)
exe=
for pid in $(pgrep -f "^[^ ]*twinfs[^ ]* $img "); do
	exe=$(readlink /proc/$pid/exe || true)
done
[ "$exe" = /usr/sbin/twinfs-fuse ] || fail "the daemon is '$exe'"
umount $mnt || fail "umount (fstab)"
ok "fstab line + mount -a: the data is there, daemon /usr/sbin/twinfs-fuse"
rc=0; fsck -t twinfs -n $img >/dev/null || rc=$?
[ $rc = 0 ] || fail "fsck after the mounts: exit $rc"
ok "fsck -t twinfs -n after the mounts: exit 0"

# removal: nothing of the packages is left
dpkg -L twinfs-tools twinfs-fuse twinfs-dkms | sort -u >/tmp/files
apt-get purge -y -q twinfs-dkms twinfs-fuse twinfs-tools >/tmp/apt.log 2>&1 ||
	{ cat /tmp/apt.log; fail "apt-get purge"; }
dirs=
while read -r f; do
	[ "$f" = /. ] && continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	# a directory may stay when another package owns it too
	if [ -d "$f" ] && [ ! -L "$f" ]; then dirs="$dirs $f"; continue; fi
	fail "$f is left after apt-get purge"
done </tmp/files
[ -z "$dirs" ] || dpkg -S $dirs >/dev/null 2>&1 ||
	fail "directories left that no package owns: $(dpkg -S $dirs 2>&1 >/dev/null)"
for p in twinfs-tools twinfs-fuse twinfs-dkms; do
	dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q installed &&
		fail "$p still known to dpkg"
done
[ ! -e /var/lib/dkms/twinfs ] || fail "/var/lib/dkms/twinfs is left"
left=$(find /lib/modules/*/updates -name 'twinfs*' 2>/dev/null | head -3)
[ -z "$left" ] || fail "left in the module trees: $left"
ls /usr/sbin | grep -q twinfs && fail "twinfs files left in /usr/sbin"
ok "apt-get purge: all $(wc -l </tmp/files) paths of dpkg -L gone, /var/lib/dkms/twinfs and the modules too"
