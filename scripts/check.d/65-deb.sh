#!/usr/bin/env bash
# make check step: the Debian packages (debian/, `make deb`), built and
# used as installed.
#   1. `make deb` into $TWINFS_BUILD/deb: twinfs-tools, twinfs-fuse and
#      twinfs-dkms must all be there.
#   2. lintian on the three packages and on the source package (made by
#      dpkg-source from a clean copy of the tree): no error, no warning
#      (none is overridden; a tag kept would be explained in a
#      debian/*.lintian-overrides).
#   3. tests/deb/host-installed.sh in a throw-away copy of this machine's
#      root (tests/deb/throwaway-root: overlay on a tmpfs, private mount
#      and PID namespaces, so the host is untouched even on failure):
#      apt-get install of the three (dkms builds the modules for the
#      guest kernel's headers), the installed programs, pages, mkfs/fsck
#      -t twinfs and fsck's exit codes on a good and a damaged image,
#      mount -t fuse.twinfs and an fstab line, then apt-get purge leaves
#      nothing.
#      Before the purge it hands back the modules dkms installed for the
#      guest kernel, with their srcversion.
#   4. tests/deb/guest-autoload.sh in the vm/ guest (one boot): those
#      modules in an overlay on the guest's module tree (updates/dkms,
#      the meson build's removed, depmod -a), mkfs -t twinfs with the
#      packaged twinfs-tools, and `mount -t twinfs` autoloads the
#      DKMS-built twinfs and twinfs_core (same srcversion), write, umount,
#      fsck, rmmod.  65 s with the load average near 2 on 2 cores under
#      TCG (half of it depmod -a), 136 s near 5.
#   5. Only with TWINFS_DEB_GUEST=1 (`make deb-check`): tests/deb/
#      guest-dkms.sh in the vm/ guest: twinfs-dkms installed through dkms
#      for the running kernel, and `mount -t twinfs` autoloads the
#      DKMS-built modules.  Under TCG on 2 cores it took 8 minutes with
#      the machine half idle and 15 on a busy one (the dkms build is 4 to
#      10 of them), too long for every `make check`.
# The host part took 3 minutes on a busy 2-core machine.  Run by
# scripts/check.sh, which sets TWINFS_ROOT and TWINFS_BUILD; alone, the
# repository root and its build/ are the defaults.  The guest is cached in $TWINFS_VM_DIR,
# else $TWINFS_BUILD/vm.  Needs root (namespaces, mounts, dpkg).
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TWINFS_BUILD:-$root/build}
cd "$root"
if [ "$(id -u)" != 0 ]; then
	echo "65-deb: needs root (a throw-away root, FUSE mounts, dpkg)" >&2
	exit 1
fi
mkdir -p "$build"
build=$(cd "$build" && pwd)
deb=$build/deb
t0=$(date +%s)
since() { echo "$(( $(date +%s) - $1 )) s"; }

tmp=$(mktemp -d "$build/deb-check.XXXXXX")
chmod 0755 "$tmp"
cleanup() {
	# throwaway-root's mounts are in its own namespace; only files here
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. the packages
start=$(date +%s)
make -s -C "$root" BUILD="$build" deb >"$tmp/make.log" 2>&1 ||
	{ cat "$tmp/make.log"; echo "65-deb: make deb failed" >&2; exit 1; }
shopt -s nullglob
debs=("$deb"/twinfs-tools_*.deb "$deb"/twinfs-fuse_*.deb "$deb"/twinfs-dkms_*.deb)
if [ ${#debs[@]} -ne 3 ]; then
	echo "65-deb: make deb made: $(cd "$deb" && echo *.deb)" >&2
	exit 1
fi
echo "65-deb: make deb: $(cd "$deb" && echo twinfs-*.deb) ($(since $start))"

# 2. lintian: the binary packages, then the source package.  Its
# temporary files go to $tmp; as root it says it would rather not be.
start=$(date +%s)
mkdir "$tmp/src" "$tmp/lintian"
tar -C "$root" --exclude=./.git --exclude='./build*' \
	--exclude="./${build#"$root"/}" --exclude=__pycache__ -cf - . |
	tar -C "$tmp/src" -xf -
(cd "$tmp/src" && dpkg-source -b . >"$tmp/dpkg-source.log" 2>&1) ||
	{ cat "$tmp/dpkg-source.log"; echo "65-deb: dpkg-source -b failed" >&2; exit 1; }
lint=0
TMPDIR=$tmp/lintian lintian --fail-on error,warning --display-info \
	"$deb"/twinfs_*.changes "$tmp"/twinfs_*.dsc >"$tmp/lintian.out" 2>&1 || lint=1
grep -v 'running with root privileges' "$tmp/lintian.out"
if [ $lint -ne 0 ]; then
	echo "65-deb: lintian: errors or warnings" >&2
	exit 1
fi
echo "65-deb: lintian: no error, no warning ($(since $start))"
rm -rf "$tmp/src"

# 3. installed on (a copy of) the host.  twinfs-dkms's postinst builds
# for the kernels whose headers are here: the guest's (vm/build installs
# them; make check has run it by now).
start=$(date +%s)
export TWINFS_VM_DIR=${TWINFS_VM_DIR:-$build/vm}
kver=$(vm/kernel-version) || exit 1
if ! dpkg-query -W -f='${Status}' "linux-headers-$kver" 2>/dev/null |
	grep -q 'ok installed'; then
	vm/build --quiet --build-dir "$build" || exit 1
fi
cp "${debs[@]}" "$tmp/"
mkdir "$tmp/x"
dpkg-deb -x "$deb"/twinfs-tools_*.deb "$tmp/x"
/usr/bin/python3 tests/deb/corrupt-image "$tmp/x/usr/sbin/mkfs.twinfs" \
	"$tmp/corrupt.img" || { echo "65-deb: corrupt-image failed" >&2; exit 1; }
cp tests/deb/host-installed.sh "$tmp/"
# what host-installed.sh hands back for step 4
mkdir "$tmp/out"
echo "65-deb: on the host, in a throw-away root:"
timeout -k 10 600 tests/deb/throwaway-root "$tmp" sh /tmp/check/host-installed.sh
rc=$?
[ $rc -eq 124 ] && echo "65-deb: host-installed.sh timed out after 600 s" >&2
if [ $rc -ne 0 ]; then
	echo "65-deb: host-installed.sh failed (exit $rc)" >&2
	exit 1
fi
echo "65-deb: host part ok ($(since $start))"

# in_guest TIMEOUT SCRIPT DIR WHAT: tests/deb/SCRIPT DIR in the vm/ guest,
# with a new 64 MiB scratch disk as /dev/vda.  vm/run kills its guest on
# timeout and when it is killed itself.
in_guest() {
	local rw=() rc start=$(date +%s)
	case $tmp in "$root"/*) ;; *) rw=(--rw "$tmp") ;; esac
	rm -f "$tmp/disk.img"
	truncate -s 64M "$tmp/disk.img"
	echo "65-deb: in the guest, $4:"
	TWINFS_BUILD=$build vm/run -t "$1" "${rw[@]}" -d "$tmp/disk.img" \
		-- sh "tests/deb/$2" "$3"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "65-deb: $2 failed (vm/run exit $rc)" >&2
		exit 1
	fi
	echo "65-deb: $2 ok ($(since $start))"
}
vm/build --quiet --build-dir "$build" || exit 1

# 4. the modules dkms built in step 3, autoloaded in the guest
mv "$tmp/x" "$tmp/out/tools"
in_guest 600 guest-autoload.sh "$tmp/out" "the modules dkms built on the host"

# 5. the dkms build in the guest
if [ "${TWINFS_DEB_GUEST:-0}" = 1 ]; then
	in_guest 2400 guest-dkms.sh "$tmp" "twinfs-dkms installed there"
fi
echo "65-deb: ok ($(since $t0))"
