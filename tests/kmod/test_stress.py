# twinfs tests/kmod: concurrency on the kernel mount.  Several processes
# hammer one mount for a bounded time (stress.py: create, write, rename,
# unlink, link, readdir, mkdir, rmdir, truncate, mmap, fsync and sync, on a
# shared directory where they collide, truncate against readers, readdir
# during create, and private directories checked against a model) while
# another process keeps the guest short of memory (allocating most of it,
# dropping caches); a watchdog fails the run if a worker is stuck, with its
# kernel stack.  Then the image is unmounted and mounted again in the guest
# (every private file as the model says), must be fsck.twinfs -n clean on
# the host, with nothing in the kernel log, and twinfs-fuse on the host
# must read the same model from it.
# Layer: host-side test (the guest part is kjobs.guest_stress, run in the
# session's one guest boot); calls fsck.twinfs and twinfs-fuse.
import pytest

import kmodutil
import stress

pytestmark = pytest.mark.guest_job('stress')


def test_processes_hammer_one_mount(guest_jobs, record_property):
	res = guest_jobs.result('stress')
	rep = res['report']
	print('stress: %d workers, %d operations in %.1f s, %d memory '
	      'pressure cycles, %d cache drops, sync %.2f s; %s'
	      % (rep['workers'], rep['total_ops'], rep['seconds'],
		 rep['pressure_cycles'], rep['cache_drops'],
		 res['sync_seconds'], sorted(rep['ops'].items())))
	record_property('stress_ops', rep['total_ops'])
	assert rep['stuck'] == [], '\n\n'.join(rep['stuck'])
	assert rep['finished'] == rep['workers']
	assert rep['errors'] == [], '\n'.join(rep['errors'])
	assert rep['corrupt'] == [], '\n'.join(rep['corrupt'])
	# it really did hammer: every kind of operation, many times
	for op in ('shared-create', 'shared-rename', 'shared-unlink',
		   'shared-readdir', 'shared-mkdir', 'shared-truncate',
		   'mmap-shared', 'private-pwrite', 'private-mmap',
		   'private-truncate', 'private-fsync', 'private-verify',
		   'trunc-truncate', 'trunc-read', 'growing-create',
		   'growing-readdir'):
		assert rep['ops'].get(op, 0) + rep['ops'].get(op + '-raced',
							       0) >= 3, op
	assert rep['total_ops'] >= 1000
	assert rep['pressure_cycles'] >= 1 and rep['cache_drops'] >= 5, \
		'not much memory pressure'


def test_everything_there_after_a_remount(guest_jobs):
	res = guest_jobs.result('stress')
	assert res['remount_problems'] == [], \
		'\n'.join(res['remount_problems'])


def test_image_clean_after_the_hammering(guest_jobs):
	res = guest_jobs.result('stress')
	image = guest_jobs.path('s.img')
	kmodutil.assert_fsck_clean(image)
	# and the other home reads the same files from it
	with kmodutil.FuseMount(image, guest_jobs.path('fuse-s')) as m:
		problems = stress.verify(m, res['report'])
	assert problems == [], '\n'.join(problems)
	kmodutil.assert_fsck_clean(image)
