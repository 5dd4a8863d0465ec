# twinfs tests/posix: statfs accounting (sizes, free blocks after writing
# and deleting, inodes) and running out of space: ENOSPC for data and for
# inodes on a small filesystem, recovery after deleting, and a consistent
# (fsck-clean, checked by the fixture) filesystem afterwards.
# Layer: POSIX test suite; system calls only.  The ENOSPC tests need a
# filesystem of their own (fixtures small_fs/make_fs) and skip on dir:
# targets.
import errno
import os

import pytest

from posixfs import fill, pwrite_all, read_file, write_file

MiB = 1 << 20


def test_statvfs_fields_are_sane(fsroot):
	st = os.statvfs(fsroot)
	assert st.f_bsize > 0 and st.f_frsize > 0
	assert st.f_bsize % 512 == 0
	assert 0 < st.f_bfree <= st.f_blocks
	assert st.f_bavail <= st.f_bfree
	assert st.f_ffree <= st.f_files
	assert st.f_favail <= st.f_ffree
	assert st.f_namemax == 255


def test_writing_and_deleting_moves_free_blocks(fsroot):
	before = os.statvfs(fsroot)
	p = fsroot / 'f'
	write_file(p, fill(8 * MiB))
	fd = os.open(p, os.O_RDONLY)
	os.fsync(fd)
	os.close(fd)
	mid = os.statvfs(fsroot)
	used = (before.f_bfree - mid.f_bfree) * mid.f_frsize
	assert 8 * MiB <= used <= 9 * MiB, used
	assert mid.f_blocks == before.f_blocks
	os.unlink(p)
	os.sync()
	after = os.statvfs(fsroot)
	back = (after.f_bfree - mid.f_bfree) * after.f_frsize
	assert back >= 8 * MiB, back
	assert abs(after.f_bfree - before.f_bfree) * after.f_frsize <= 64 * 1024


def test_sparse_file_uses_no_space_for_holes(fsroot):
	before = os.statvfs(fsroot)
	fd = os.open(fsroot / 's', os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.ftruncate(fd, 1 << 40)
		os.pwrite(fd, b'x', 1 << 39)
		os.fsync(fd)
	finally:
		os.close(fd)
	after = os.statvfs(fsroot)
	assert (before.f_bfree - after.f_bfree) * after.f_frsize < MiB


def test_creating_files_uses_inodes(fsroot):
	before = os.statvfs(fsroot)
	for i in range(50):
		write_file(fsroot / ('f%d' % i), b'')
	mid = os.statvfs(fsroot)
	assert before.f_ffree - mid.f_ffree == 50
	for i in range(50):
		os.unlink(fsroot / ('f%d' % i))
	after = os.statvfs(fsroot)
	assert after.f_ffree == before.f_ffree


def test_statfs_size_matches_the_filesystem(small_fs):
	st = os.statvfs(small_fs.path)
	total = st.f_blocks * st.f_frsize
	assert 8 * MiB <= total <= 16 * MiB, total


def _fill_until_enospc(path, chunk=256 * 1024):
	"""Write chunks to path until the filesystem is full; ENOSPC may come
	from write() or from fsync() (write-back).  Returns bytes written as
	far as the file size says."""
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	data = fill(chunk)
	hit = False
	try:
		for _ in range(100000):
			try:
				n = os.write(fd, data)
				if n < len(data):	# short write: full
					continue
			except OSError as e:
				assert e.errno == errno.ENOSPC, e
				hit = True
				break
			try:
				os.fsync(fd)
			except OSError as e:
				assert e.errno == errno.ENOSPC, e
				hit = True
				break
	finally:
		try:
			os.close(fd)
		except OSError as e:
			assert e.errno == errno.ENOSPC, e
	assert hit, 'never ran out of space'
	return os.stat(path).st_size


def test_enospc_then_delete_then_write_again(small_fs):
	root = small_fs.path
	size = _fill_until_enospc(root / 'big')
	assert size >= 4 * MiB
	st = os.statvfs(root)
	assert st.f_bavail * st.f_frsize < MiB
	# a small file cannot be written any more...
	try:
		write_file(root / 'more', fill(1 * MiB))
		fd = os.open(root / 'more', os.O_RDONLY)
		os.fsync(fd)
		os.close(fd)
		assert False, 'a 1 MiB file fitted into a full filesystem'
	except OSError as e:
		assert e.errno == errno.ENOSPC
	# ...what was written before is intact
	data = read_file(root / 'big')
	assert len(data) == size
	chunk = fill(256 * 1024)
	whole = len(data) // len(chunk) * len(chunk)
	for off in range(0, whole, len(chunk)):
		assert data[off:off + len(chunk)] == chunk, off
	# delete: POSIX frees the space once the last link is gone and no
	# one has the file open, so it can be written again at once...
	os.unlink(root / 'big')
	if os.path.exists(root / 'more'):
		os.unlink(root / 'more')
	again = fill(size // 2, seed=1)
	fd = os.open(root / 'again', os.O_WRONLY | os.O_CREAT, 0o644)
	try:
		pwrite_all(fd, again, 0)
		os.fsync(fd)
	finally:
		os.close(fd)
	assert read_file(root / 'again') == again
	# ...and statfs counts it as free
	os.sync()
	st = os.statvfs(root)
	assert st.f_bavail * st.f_frsize >= size // 2 - MiB


def test_enospc_on_metadata_when_full(small_fs):
	"""With no free blocks, operations that need a block fail with
	ENOSPC, not with corruption, and the filesystem stays usable."""
	root = small_fs.path
	os.mkdir(root / 'd')
	_fill_until_enospc(root / 'big')
	errs = set()
	made = 0
	for i in range(2000):
		try:
			os.mkdir(root / 'd' / ('sub%04d' % i))
			made += 1
		except OSError as e:
			errs.add(e.errno)
			break
	for i in range(300):
		try:
			os.symlink('y' * 3000, root / ('long%03d' % i))
		except OSError as e:
			errs.add(e.errno)
			break
	assert errs <= {errno.ENOSPC}, errs
	os.unlink(root / 'big')
	os.sync()
	os.mkdir(root / 'after')
	write_file(root / 'after' / 'f', b'works')
	assert read_file(root / 'after' / 'f') == b'works'


def test_inode_exhaustion_is_enospc(make_fs):
	fs = make_fs('16M', inodes=64)
	root = fs.path
	made = []
	for i in range(10000):
		try:
			write_file(root / ('f%d' % i), b'')
		except OSError as e:
			assert e.errno == errno.ENOSPC, e
			break
		made.append(i)
	else:
		pytest.fail('created 10000 files on a 64-inode filesystem')
	assert 40 <= len(made) <= 64
	assert os.statvfs(root).f_ffree == 0
	os.unlink(root / 'f0')
	write_file(root / 'again', b'x')
	assert read_file(root / 'again') == b'x'
