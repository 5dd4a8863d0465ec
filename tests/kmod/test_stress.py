# twinfs tests/kmod: concurrency on the kernel mount.  Several processes
# hammer one mount for a bounded time (stress.py: create, write, rename,
# unlink, link, readdir, mkdir, rmdir, truncate, mmap, fsync and sync, on a
# shared directory where they collide and on private ones checked against
# a model); then the image is unmounted and must be fsck.twinfs -n clean on
# the host, with nothing in the kernel log.
# Layer: host-side test (the guest part is kjobs.guest_stress, run in the
# session's one guest boot); calls fsck.twinfs.
import pytest

import kmodutil

pytestmark = pytest.mark.guest_job('stress')


def test_processes_hammer_one_mount(guest_jobs, record_property):
	res = guest_jobs.result('stress')
	rep = res['report']
	print('stress: %d workers, %d operations in %.1f s, sync %.2f s; %s'
	      % (rep['workers'], rep['total_ops'], rep['seconds'],
		 res['sync_seconds'], sorted(rep['ops'].items())))
	record_property('stress_ops', rep['total_ops'])
	assert rep['finished'] == rep['workers']
	assert rep['errors'] == [], '\n'.join(rep['errors'])
	assert rep['corrupt'] == [], '\n'.join(rep['corrupt'])
	# it really did hammer: every kind of operation, many times
	for op in ('shared-create', 'shared-rename', 'shared-unlink',
		   'shared-readdir', 'shared-mkdir', 'shared-truncate',
		   'mmap-shared', 'private-pwrite', 'private-mmap',
		   'private-truncate', 'private-fsync', 'private-verify'):
		assert rep['ops'].get(op, 0) + rep['ops'].get(op + '-raced',
							       0) >= 3, op
	assert rep['total_ops'] >= 1000


def test_image_clean_after_the_hammering(guest_jobs):
	guest_jobs.result('stress')
	kmodutil.assert_fsck_clean(guest_jobs.path('s.img'))
