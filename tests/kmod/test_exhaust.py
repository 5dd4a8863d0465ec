# twinfs tests/kmod: a directory at its link limit on the kernel mount.
# The image is made on the host (exhaust.py: 64998 subdirectories by
# twinfs-ctl, which the guest under TCG would need a minute for); in the
# guest, mkdir and the renames that would move one more directory in are
# EMLINK, what keeps the count works; then fsck.twinfs -n clean on the
# host.  (Full disks and inode tables, deep trees and long names are
# tests/posix's, which tests/kmod/test_posix.py runs on the module with
# loop-mounted images of its own.)
# Layer: host-side test (the guest part is kjobs.guest_exhaust, run in
# the session's one guest boot); calls fsck.twinfs.
import pytest

import exhaust
import kmodutil

pytestmark = pytest.mark.guest_job('exhaust')


def test_directory_link_limit_is_emlink(guest_jobs):
	got = guest_jobs.result('exhaust')['checks']
	wrong = {k: 'got %r, want %r' % (got.get(k), v)
		 for k, v in exhaust.EXPECTED.items() if got.get(k) != v}
	assert not wrong, wrong


def test_image_clean_after_emlink(guest_jobs):
	guest_jobs.result('exhaust')
	kmodutil.assert_fsck_clean(guest_jobs.path('e.img'))
