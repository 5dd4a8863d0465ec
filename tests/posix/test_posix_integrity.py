# twinfs tests/posix: promises about data that a filesystem must keep even
# when it is full or accessed two ways at once.
#
#   - A writer that fills the filesystem with write() alone, never
#     fsync(), is told ENOSPC by write() itself; fsync() and close() then
#     succeed, and every byte write() accepted is in the file (after a
#     remount where the suite can remount).  A filesystem whose write()
#     accepts what it cannot store, and says so only at fsync or close,
#     loses data the writer believes written.
#   - A buffered read after an asynchronous O_DIRECT write of the same
#     range has completed returns the new bytes, even when buffered reads
#     raced the write and pulled the old bytes into the page cache
#     (fstests' generic/451).  Skipped where O_DIRECT is refused.
#
# Layer: POSIX test suite; system calls only (Linux AIO through ctypes).
# Runs on tmpfs, twinfs-fuse and the kernel module in the guest; the
# daemon's own tests (tests/fuse/test_integrity.py) run the same helpers
# in both profiles.
import os

from posixfs import check_written, direct_write_race, write_until_enospc

MiB = 1 << 20


def test_write_reports_enospc_and_keeps_what_it_accepted(small_fs):
	root = small_fs.path
	st = os.statvfs(root)
	capacity = st.f_blocks * st.f_frsize
	accepted = write_until_enospc(root / 'big', limit=2 * capacity)
	assert 4 * MiB <= accepted <= capacity
	if small_fs.can_remount:
		small_fs.remount()	# from the disk, not the page cache
	check_written(root / 'big', accepted)


def test_buffered_read_sees_a_finished_async_direct_write(fsroot):
	assert direct_write_race(fsroot / 'f', rounds=100) is None
