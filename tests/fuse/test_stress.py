# twinfs tests/fuse: several processes hammering one twinfs-fuse mount, the
# same run as the kernel module's (tests/kmod/stress.py, in the guest):
# shared directories where they collide (rename races, link/unlink,
# mkdir/rmdir), truncate against readers, readdir during create, a shared
# mmap'd file, private files checked against a model; a watchdog fails the
# run if a worker is stuck, with its kernel stack and the daemon's.
#
# Afterwards:
# * clean: unmount, fsck.twinfs -n clean, mount again: every private file
#   has the model's content and each private directory lists exactly the
#   model's names;
# * kill -9: the daemon dies right after the run, nothing unmounted; a new
#   daemon replays the journal, and every file fsync'd (with its
#   directory) and not changed since has its fsync'd content; after its
#   unmount fsck.twinfs -n is clean.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools and fusermount3; imports tests/kmod/stress.py.
#
# The multithreaded loop (twfuse.THREADS) takes the longest run and the
# kill -9, the optimized and base profiles (one thread) shorter ones.
# TWINFS_FUSE_STRESS_SECONDS scales the runs (default 12: 36 s in all).
import os
import sys

import pytest

import twfuse

sys.path.insert(0, os.path.join(twfuse.ROOT, 'tests', 'kmod'))
import stress  # noqa: E402

SECONDS = int(os.environ.get('TWINFS_FUSE_STRESS_SECONDS', '12'))
WORKERS = 4
STUCK = 60	# s without progress before a worker counts as hung


def hammer(tracker, image, mnt, profile, seconds):
	d = tracker.daemon(image, mnt).start('profile=' + profile,
					     foreground=True)
	rep = stress.run(mnt, WORKERS, seconds, seed=7, stuck=STUCK,
			 watch=[d.pid])
	print('stress on twinfs-fuse (%s): %d workers, %d operations in '
	      '%.1f s' % (profile, rep['workers'], rep['total_ops'],
			  rep['seconds']))
	assert rep['stuck'] == [], '\n\n'.join(rep['stuck'])
	assert rep['finished'] == rep['workers']
	assert rep['errors'] == [], '\n'.join(rep['errors'])
	assert rep['corrupt'] == [], '\n'.join(rep['corrupt'])
	for op in ('shared-rename', 'shared-unlink', 'shared-link',
		   'trunc-truncate', 'trunc-read', 'growing-create',
		   'growing-readdir', 'mmap-shared', 'private-fsync',
		   'private-verify'):
		assert rep['ops'].get(op, 0) + rep['ops'].get(op + '-raced',
							       0) >= 3, op
	assert d.running(), 'the daemon died: ' + d.stderr
	return d, rep


@pytest.mark.parametrize('profile,seconds', [
	(twfuse.THREADS, SECONDS), ('optimized', max(SECONDS * 2 // 3, 1)),
	('base', max(SECONDS // 2, 1))])
def test_stress_then_remount(tracker, tmp_path, mnt, profile, seconds):
	image = twfuse.mkfs(tmp_path / 'img', '512M', '-N', '32768')
	d, rep = hammer(tracker, image, mnt, profile, seconds)
	assert d.unmount() == 0, d.stderr
	twfuse.assert_clean(image)
	d = tracker.daemon(image, mnt).start('profile=' + profile,
					     foreground=True)
	problems = stress.verify(mnt, rep)
	assert problems == [], '\n'.join(problems)
	assert d.unmount() == 0, d.stderr
	twfuse.assert_clean(image)


def test_stress_then_kill9(tracker, tmp_path, mnt):
	image = twfuse.mkfs(tmp_path / 'img', '512M', '-N', '32768')
	d, rep = hammer(tracker, image, mnt, twfuse.THREADS,
			max(SECONDS * 5 // 6, 1))
	d.kill9()
	twfuse.lazy_unmount(mnt)
	assert twfuse.mount_of(mnt) is None
	d = tracker.daemon(image, mnt).start('profile=optimized',
					     foreground=True)
	checked, problems = stress.verify_durable(mnt, rep)
	assert problems == [], '\n'.join(problems)
	assert checked >= WORKERS
	assert d.unmount() == 0, d.stderr
	twfuse.assert_clean(image)
