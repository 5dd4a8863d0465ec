# twinfs tests/fuse: the data promises of tests/posix/test_posix_integrity
# in both profiles of twinfs-fuse and with its multithreaded loop (the
# POSIX suite runs the optimized profile and, in make check, the threads),
# with a real unmount, fsck and new daemon between writing and
# checking:
#
#   - write() says ENOSPC when the image is full, fsync() and close()
#     succeed, and after a remount the file holds every byte write()
#     accepted.  (The writeback cache, which no profile uses, cannot keep
#     this promise: write() then fills the page cache past the end of the
#     disk and only fsync/close report ENOSPC - docs/fuse.md.)
#   - a buffered read after an asynchronous O_DIRECT write returns the new
#     bytes, with buffered reads racing the write.
#
# Layer: test harness (Python stdlib + pytest); the helpers are the POSIX
# suite's (tests/posix/posixfs.py); runs the built daemon and tools.
import os
import sys

import pytest

import twfuse

sys.path.insert(0, os.path.join(twfuse.ROOT, 'tests', 'posix'))
from posixfs import (check_written, direct_write_race,  # noqa: E402
		     write_until_enospc)

PROFILES = twfuse.PROFILES + [twfuse.THREADS]


@pytest.mark.parametrize('profile', PROFILES)
def test_full_disk_write_is_enospc_and_nothing_accepted_is_lost(
		tracker, tmp_path, mnt, profile):
	image = twfuse.mkfs(tmp_path / 'img', '32M')
	d = tracker.daemon(image, mnt).start('profile=' + profile)
	path = os.path.join(mnt, 'big')
	accepted = write_until_enospc(path, limit=64 << 20)
	assert 16 << 20 <= accepted <= 32 << 20
	d.unmount()
	twfuse.assert_clean(image)
	d = tracker.daemon(image, mnt).start('profile=' + profile)
	check_written(path, accepted)
	d.unmount()
	twfuse.assert_clean(image)


@pytest.mark.parametrize('profile', PROFILES)
def test_buffered_read_after_async_direct_write(tracker, image, mnt, profile):
	d = tracker.daemon(image, mnt).start('profile=' + profile)
	assert direct_write_race(os.path.join(mnt, 'f'), rounds=100) is None
	d.unmount()
	twfuse.assert_clean(image)
