# twinfs tests/posix: timestamp rules - which calls change atime, mtime and
# ctime of the inode and of its directory; utimensat with explicit times,
# UTIME_NOW and UTIME_OMIT; nanosecond resolution; times far from now.
# Layer: POSIX test suite; system calls only (utimensat through ctypes),
# against any mounted directory (see conftest.py).
#
# Method: before an operation the test pins atime/mtime to known old
# values (utimensat) and remembers ctime, sleeps one tick (posixfs.tick),
# operates, and checks which of the three moved.  "Moved" means "is now
# at least the time just before the operation", so coarse kernel clocks
# cannot make a test flaky.  atime checks are the ones that hold under
# relatime (the Linux default): after a write, a read updates atime.
import errno
import os
import time

import pytest

from posixfs import (UTIME_NOW, UTIME_OMIT, mount_options, ns_times,
		     raises_errno, read_file, tick, utimensat, write_file)

OLD_A = 1_000_000_000_111_111_111	# 2001-09-09, distinct ns digits
OLD_M = 1_000_000_100_222_222_222
SLACK = 50_000_000			# coarse clock vs time.time_ns()


def pin(path, follow=True):
	"""Set atime/mtime of path to OLD_A/OLD_M, wait a tick; return the
	ctime and the time (ns) from which a change counts as "now"."""
	utimensat(path, OLD_A, OLD_M, follow=follow)
	c = os.stat(path, follow_symlinks=follow).st_ctime_ns
	tick()
	return c, time.time_ns() - SLACK


def assert_now(t, since, what):
	now = time.time_ns() + SLACK
	assert since <= t <= now, '%s=%d not in [%d, %d]' % (what, t, since, now)


def check(path, since, c0, a=False, m=False, c=False, follow=True):
	"""Assert which of atime/mtime/ctime of path changed since pin()."""
	at, mt, ct = ns_times(path, follow)
	if a:
		assert_now(at, since, 'atime')
	else:
		assert at == OLD_A, 'atime changed'
	if m:
		assert_now(mt, since, 'mtime')
	else:
		assert mt == OLD_M, 'mtime changed'
	if c:
		assert ct > c0, 'ctime did not change'
		assert_now(ct, since, 'ctime')
	else:
		assert ct == c0, 'ctime changed'


def need_atime(path):
	opts = mount_options(path)
	if 'noatime' in opts:
		pytest.skip('mounted noatime')


# -- the file's own times -----------------------------------------------------------

def test_new_file_times_are_now_and_equal(fsroot):
	t0 = time.time_ns() - SLACK
	write_file(fsroot / 'f', b'')
	a, m, c = ns_times(fsroot / 'f')
	assert_now(m, t0, 'mtime')
	assert a == m == c


def test_write_changes_mtime_ctime_not_atime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abc')
	c0, since = pin(p)
	fd = os.open(p, os.O_WRONLY)
	try:
		os.pwrite(fd, b'x', 1)
	finally:
		os.close(fd)
	check(p, since, c0, m=True, c=True)


def test_empty_write_changes_nothing(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abc')
	c0, since = pin(p)
	fd = os.open(p, os.O_WRONLY)
	try:
		os.write(fd, b'')
	finally:
		os.close(fd)
	check(p, since, c0)


def test_truncate_changes_mtime_ctime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abcdef')
	c0, since = pin(p)
	os.truncate(p, 2)
	check(p, since, c0, m=True, c=True)
	c0, since = pin(p)
	fd = os.open(p, os.O_WRONLY)
	try:
		os.ftruncate(fd, 10000)
	finally:
		os.close(fd)
	check(p, since, c0, m=True, c=True)


def test_o_trunc_changes_mtime_ctime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abcdef')
	c0, since = pin(p)
	os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
	check(p, since, c0, m=True, c=True)


def test_chmod_changes_only_ctime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	os.chmod(p, 0o600)
	check(p, since, c0, c=True)


def test_chown_changes_only_ctime(fsroot):
	if os.geteuid() != 0:
		pytest.skip('needs root for chown')
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	os.chown(p, 1000, 1000)
	check(p, since, c0, c=True)


def test_link_changes_ctime_of_inode(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	os.link(p, fsroot / 'g')
	check(p, since, c0, c=True)
	c0, since = pin(p)
	os.unlink(fsroot / 'g')
	check(p, since, c0, c=True)


def test_rename_changes_ctime_of_inode(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	os.rename(p, fsroot / 'g')
	check(fsroot / 'g', since, c0, c=True)


def test_xattr_changes_only_ctime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	try:
		os.setxattr(p, 'user.t', b'v')
	except OSError as e:
		if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
			pytest.skip('no user xattrs on this target')
		raise
	check(p, since, c0, c=True)
	c0, since = pin(p)
	os.removexattr(p, 'user.t')
	check(p, since, c0, c=True)


def test_read_and_stat_change_no_mtime_ctime(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abc')
	utimensat(p, OLD_A, OLD_M)
	c0 = os.stat(p).st_ctime_ns
	tick()
	read_file(p)
	os.stat(p)
	os.listxattr(p)
	_, m, c = ns_times(p)
	assert (m, c) == (OLD_M, c0)


def test_read_after_write_updates_atime(fsroot, fs, request):
	"""Holds under relatime: atime <= mtime, so the next read updates
	atime."""
	need_atime(fsroot)
	p = fsroot / 'f'
	write_file(p, b'abc')
	utimensat(p, OLD_A, UTIME_OMIT)		# atime older than mtime
	tick()
	since = time.time_ns() - SLACK
	with open(p, 'rb') as f:
		assert f.read() == b'abc'
	a, m, _ = ns_times(p)
	assert_now(a, since, 'atime')


def test_read_after_write_updates_atime_even_when_cached(fsroot, fs, request):
	"""The same, when the data was just written (and is cached): the
	read may be served from the page cache, atime must still move."""
	need_atime(fsroot)
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.write(fd, b'cached data')
		os.pread(fd, 11, 0)
		tick()
		os.pwrite(fd, b'C', 0)		# mtime now > atime
		tick()
		since = time.time_ns() - SLACK
		assert os.pread(fd, 11, 0) == b'Cached data'
	finally:
		os.close(fd)
	a, _, _ = ns_times(p)
	assert_now(a, since, 'atime')


def test_listing_a_changed_directory_updates_its_atime(fsroot):
	need_atime(fsroot)
	d = fsroot / 'd'
	os.mkdir(d)
	write_file(d / 'f', b'')		# dir mtime now
	utimensat(d, OLD_A, UTIME_OMIT)
	tick()
	since = time.time_ns() - SLACK
	assert os.listdir(d) == ['f']
	a, _, _ = ns_times(d)
	assert_now(a, since, 'dir atime')


# -- directory times ----------------------------------------------------------------

@pytest.mark.parametrize('op', ['create', 'mkdir', 'symlink', 'link',
				'mknod', 'unlink', 'rmdir', 'rename_in',
				'rename_out', 'rename_within'])
def test_namespace_change_updates_dir_mtime_ctime(fsroot, op):
	d = fsroot / 'd'
	other = fsroot / 'o'
	os.mkdir(d)
	os.mkdir(other)
	write_file(other / 'src', b'')
	write_file(d / 'victim', b'')
	os.mkdir(d / 'subdir')
	c0, since = pin(d)
	if op == 'create':
		write_file(d / 'new', b'')
	elif op == 'mkdir':
		os.mkdir(d / 'new')
	elif op == 'symlink':
		os.symlink('x', d / 'new')
	elif op == 'link':
		os.link(other / 'src', d / 'new')
	elif op == 'mknod':
		os.mkfifo(d / 'new')
	elif op == 'unlink':
		os.unlink(d / 'victim')
	elif op == 'rmdir':
		os.rmdir(d / 'subdir')
	elif op == 'rename_in':
		os.rename(other / 'src', d / 'new')
	elif op == 'rename_out':
		os.rename(d / 'victim', other / 'moved')
	elif op == 'rename_within':
		os.rename(d / 'victim', d / 'renamed')
	check(d, since, c0, m=True, c=True)


def test_rename_over_existing_updates_target_dir(fsroot):
	os.mkdir(fsroot / 'a')
	os.mkdir(fsroot / 'b')
	write_file(fsroot / 'a' / 'f', b'1')
	write_file(fsroot / 'b' / 'f', b'2')
	ca, since = pin(fsroot / 'a')
	cb, _ = pin(fsroot / 'b')
	since = min(since, time.time_ns() - SLACK)
	os.rename(fsroot / 'a' / 'f', fsroot / 'b' / 'f')
	check(fsroot / 'a', since, ca, m=True, c=True)
	check(fsroot / 'b', since, cb, m=True, c=True)


def test_file_change_does_not_touch_dir_times(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	write_file(d / 'f', b'abc')
	c0, since = pin(d)
	with open(d / 'f', 'r+b') as f:
		f.write(b'X')
	os.chmod(d / 'f', 0o600)
	os.truncate(d / 'f', 1)
	read_file(d / 'f')
	check(d, since, c0)


# -- setting times ----------------------------------------------------------------

def test_utimensat_explicit_times_with_nanoseconds(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0 = os.stat(p).st_ctime_ns
	tick()
	since = time.time_ns() - SLACK
	utimensat(p, 1_234_567_890_123_456_789, 1_300_000_000_000_000_001)
	a, m, c = ns_times(p)
	assert a == 1_234_567_890_123_456_789
	assert m == 1_300_000_000_000_000_001
	assert c > c0
	assert_now(c, since, 'ctime')


@pytest.mark.parametrize('ns', [1, 999_999_999, 500_000_000])
def test_nanoseconds_preserved(fsroot, ns):
	p = fsroot / 'f'
	write_file(p, b'')
	t = 1_600_000_000 * 10**9 + ns
	os.utime(p, ns=(t, t))
	a, m, _ = ns_times(p)
	assert (a, m) == (t, t)


@pytest.mark.parametrize('sec', [0, 2**31 - 1, 2**31 + 5, 4_102_444_800,
				 7_000_000_000, -1, -86400 * 365 * 50])
def test_times_far_from_now(fsroot, sec):
	"""Before 1970 and after 2038 (y2038) and 2106 (unsigned 32 bits)."""
	p = fsroot / 'f'
	write_file(p, b'')
	t = sec * 10**9 + 123
	os.utime(p, ns=(t, t))
	a, m, _ = ns_times(p)
	assert (a, m) == (t, t)


def test_utime_now_sets_both_to_now(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	utimensat(p, None, None)
	check(p, since, c0, a=True, m=True, c=True)


def test_utime_now_and_omit(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	utimensat(p, UTIME_NOW, UTIME_OMIT)
	check(p, since, c0, a=True, c=True)
	c0, since = pin(p)
	utimensat(p, UTIME_OMIT, UTIME_NOW)
	check(p, since, c0, m=True, c=True)
	c0, since = pin(p)
	utimensat(p, UTIME_OMIT, 5_000_000_007)
	a, m, c = ns_times(p)
	assert (a, m) == (OLD_A, 5_000_000_007) and c > c0


def test_utime_both_omit_changes_nothing(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	c0, since = pin(p)
	utimensat(p, UTIME_OMIT, UTIME_OMIT)
	check(p, since, c0)


def test_utime_on_directory_and_missing(fsroot):
	os.mkdir(fsroot / 'd')
	os.utime(fsroot / 'd', ns=(OLD_A, OLD_M))
	assert ns_times(fsroot / 'd')[:2] == (OLD_A, OLD_M)
	raises_errno(errno.ENOENT, os.utime, fsroot / 'missing', ns=(1, 1))
