#!/usr/bin/env bash
# make check step: the kernel module (tests/kmod) in Debian's kernel, in the
# vm/ guest: life cycle (autoload, busy, stacked unload, 100 cycles without
# a leak), the golden corrupted images, the fuzz regression images and
# corpus sample (tests/images/fuzz, about 35 s of the guest's time: mount
# verdicts equal the core's in user space, walks and writes without an
# oops, WARNING or hang), cross-home images (module <->
# twinfs-ctl/twinfs-fuse on the host), processes hammering one mount, and
# the POSIX suite on a kernel mount.  Two guest boots: the in_vm tests, and
# the jobs that need the host before and after (tests/kmod/kjobs.py).
# Needs root (FUSE mounts on the host) and the module built
# ($TWINFS_BUILD/kmod/*.ko, installed into the guest by the build).
set -u
: "${TWINFS_ROOT:?}" "${TWINFS_BUILD:?}"
cd "$TWINFS_ROOT"
if [ "$(id -u)" != 0 ]; then
	echo "45-kmod: needs root (twinfs-fuse mounts on the host)" >&2
	exit 1
fi
for ko in twinfs_core twinfs; do
	if [ ! -f "$TWINFS_BUILD/kmod/$ko.ko" ]; then
		echo "45-kmod: $TWINFS_BUILD/kmod/$ko.ko is not built" >&2
		exit 1
	fi
done
vm/build --quiet --build-dir "$TWINFS_BUILD" || exit 1
# The backstop for the whole step; each guest has its own timeout.  About
# 6 minutes on an idle 2-CPU machine without KVM; much more when the
# machine is busy (TCG shares the CPUs).
timeout -k 30 1800 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-o console_output_style=classic -rfEs tests/kmod
rc=$?
if [ $rc -eq 5 ]; then
	echo "45-kmod: pytest collected no tests" >&2
	exit 1
fi
[ $rc -eq 124 ] && echo "45-kmod: timed out after 1800 s" >&2
exit $rc
