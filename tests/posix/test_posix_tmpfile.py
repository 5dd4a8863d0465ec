# twinfs tests/posix: O_TMPFILE - an unnamed regular file in a directory,
# given a name later with linkat(fd, "", ..., AT_EMPTY_PATH) or through
# /proc/self/fd, never with O_EXCL, and freed at the last close if it got
# none.  twinfs-fuse cannot offer it (libfuse 3.14 has no tmpfile
# operation, docs/fuse.md): there it must fail cleanly with EOPNOTSUPP.
# Layer: POSIX test suite; system calls only (linkat through ctypes),
# against any mounted directory (see conftest.py).
import errno
import os
import stat

import pytest

from posixfs import (fill, fs_type, is_twinfs_fuse, link_follow, linkat_fd,
		     raises_errno)

# tmpfs and the kernel home must offer O_TMPFILE; twinfs-fuse must refuse
# it with EOPNOTSUPP; elsewhere a refusal skips.
SUPPORTED = ('tmpfs', 'twinfs')


def _open_tmpfile(fs, flags=os.O_RDWR, mode=0o600):
	try:
		return os.open(fs.path, os.O_TMPFILE | flags, mode)
	except OSError as e:
		if e.errno != errno.EOPNOTSUPP:
			raise
		if is_twinfs_fuse(fs.root):
			pytest.skip('twinfs-fuse: no O_TMPFILE (libfuse 3.14)')
		assert fs_type(fs.root) not in SUPPORTED and \
			fs.kind not in ('tmpfs', 'kernel')
		pytest.skip('no O_TMPFILE on %s' % fs_type(fs.root))


def test_tmpfile_is_unnamed_and_linkable(fs):
	fsroot = fs.path
	data = fill(3 * 4096 + 17, seed=7)
	fd = _open_tmpfile(fs)
	try:
		st = os.fstat(fd)
		assert stat.S_ISREG(st.st_mode)
		assert stat.S_IMODE(st.st_mode) == 0o600
		assert st.st_nlink == 0 and st.st_uid == os.geteuid()
		assert os.listdir(fsroot) == []
		assert os.write(fd, data) == len(data)
		linkat_fd(fd, fsroot / 'a')
		assert os.fstat(fd).st_nlink == 1
		assert os.stat(fsroot / 'a').st_ino == st.st_ino
		link_follow('/proc/self/fd/%d' % fd, fsroot / 'b')
		assert os.fstat(fd).st_nlink == 2
		raises_errno(errno.EEXIST, linkat_fd, fd, fsroot / 'b')
	finally:
		os.close(fd)
	assert sorted(os.listdir(fsroot)) == ['a', 'b']
	with open(fsroot / 'b', 'rb') as f:
		assert f.read() == data
	if fs.can_remount:
		fs.remount()
		with open(fsroot / 'a', 'rb') as f:
			assert f.read() == data
		assert os.stat(fsroot / 'a').st_nlink == 2


def test_tmpfile_excl_cannot_be_linked(fs):
	fd = _open_tmpfile(fs, os.O_RDWR | os.O_EXCL)
	try:
		os.write(fd, b'x' * 100)
		raises_errno(errno.ENOENT, linkat_fd, fd, fs.path / 'a')
		raises_errno(errno.ENOENT, link_follow,
			     '/proc/self/fd/%d' % fd, fs.path / 'b')
	finally:
		os.close(fd)
	assert os.listdir(fs.path) == []


def test_tmpfile_freed_at_close(fs):
	before = os.statvfs(fs.path)
	fd = _open_tmpfile(fs)
	try:
		os.write(fd, fill(1 << 20, seed=3))
		os.fsync(fd)
		during = os.statvfs(fs.path)
		assert during.f_bfree < before.f_bfree
		assert during.f_ffree < before.f_ffree
	finally:
		os.close(fd)
	after = os.statvfs(fs.path)
	assert after.f_ffree == before.f_ffree
	assert after.f_bfree >= before.f_bfree - 1
	assert os.listdir(fs.path) == []
	if fs.can_remount:
		fs.remount()
		assert os.statvfs(fs.path).f_ffree == before.f_ffree


def test_tmpfile_rules(fs):
	"""O_TMPFILE needs a writable mode and a directory; the new file
	takes a set-group-ID directory's group."""
	fd = _open_tmpfile(fs)
	os.close(fd)
	raises_errno(errno.EINVAL, os.open, fs.path, os.O_TMPFILE | os.O_RDONLY,
		     0o600)
	os.close(os.open(fs.path / 'f', os.O_CREAT | os.O_WRONLY, 0o644))
	raises_errno(errno.ENOTDIR, os.open, fs.path / 'f',
		     os.O_TMPFILE | os.O_RDWR, 0o600)
	os.mkdir(fs.path / 'g')
	os.chown(fs.path / 'g', 0, 4321)
	os.chmod(fs.path / 'g', 0o2775)
	fd = os.open(fs.path / 'g', os.O_TMPFILE | os.O_WRONLY, 0o640)
	try:
		assert os.fstat(fd).st_gid == 4321
		linkat_fd(fd, fs.path / 'g' / 'n')
	finally:
		os.close(fd)
	assert os.stat(fs.path / 'g' / 'n').st_gid == 4321


def test_tmpfile_on_twinfs_fuse_fails_cleanly(fs):
	"""twinfs-fuse: EOPNOTSUPP, nothing created, the daemon serves on
	(teardown checks the image with fsck)."""
	if not is_twinfs_fuse(fs.root):
		pytest.skip('only twinfs-fuse refuses O_TMPFILE')
	before = os.statvfs(fs.path)
	for _ in range(2):	# the kernel remembers the refusal
		raises_errno(errno.EOPNOTSUPP, os.open, fs.path,
			     os.O_TMPFILE | os.O_RDWR, 0o600)
	assert os.listdir(fs.path) == []
	assert os.statvfs(fs.path).f_ffree == before.f_ffree
	with open(fs.path / 'after', 'wb') as f:
		f.write(b'still serving')
	assert os.listdir(fs.path) == ['after']
