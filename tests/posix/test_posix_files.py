# twinfs tests/posix: regular files - open flags, read/write, truncate,
# sparse files, large offsets, unlink while open, NAME_MAX, special files,
# and persistence across a remount (where the suite can remount).
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).  Every assertion holds on tmpfs too.
import errno
import os
import stat
import threading

import pytest

from posixfs import (diff_snapshots, fill, pread_all, pwrite_all,
		     raises_errno, read_file, snapshot, tick, write_file)

BS = 4096


# -- create and open flags --------------------------------------------------------

def test_create_write_read_back(fsroot):
	p = fsroot / 'f'
	data = fill(100000)
	write_file(p, data)
	st = os.stat(p)
	assert stat.S_ISREG(st.st_mode)
	assert st.st_size == len(data)
	assert st.st_nlink == 1
	assert read_file(p) == data


def test_create_mode_respects_umask(fsroot):
	old = os.umask(0o027)
	try:
		fd = os.open(fsroot / 'f', os.O_CREAT | os.O_WRONLY, 0o777)
		os.close(fd)
		os.mkdir(fsroot / 'd', 0o777)
	finally:
		os.umask(old)
	assert stat.S_IMODE(os.stat(fsroot / 'f').st_mode) == 0o750
	assert stat.S_IMODE(os.stat(fsroot / 'd').st_mode) == 0o750


def test_new_file_owned_by_creator(fsroot):
	fd = os.open(fsroot / 'f', os.O_CREAT | os.O_WRONLY, 0o644)
	st = os.fstat(fd)
	os.close(fd)
	assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
	assert st.st_size == 0


def test_o_excl_fails_on_existing_file(fsroot):
	p = fsroot / 'f'
	write_file(p, b'keep')
	raises_errno(errno.EEXIST, os.open, p,
		     os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
	assert read_file(p) == b'keep'


def test_o_excl_fails_on_dangling_symlink(fsroot):
	os.symlink('nowhere', fsroot / 'l')
	raises_errno(errno.EEXIST, os.open, fsroot / 'l',
		     os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
	assert not os.path.exists(fsroot / 'nowhere')


def test_o_creat_follows_dangling_symlink(fsroot):
	os.symlink('target', fsroot / 'l')
	fd = os.open(fsroot / 'l', os.O_CREAT | os.O_WRONLY, 0o644)
	os.write(fd, b'x')
	os.close(fd)
	assert read_file(fsroot / 'target') == b'x'


def test_o_excl_creates_exactly_once_under_contention(fsroot):
	p = fsroot / 'lock'
	wins = []
	barrier = threading.Barrier(8)

	def racer(i):
		barrier.wait()
		try:
			fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
			os.close(fd)
			wins.append(i)
		except FileExistsError:
			pass

	ts = [threading.Thread(target=racer, args=(i,)) for i in range(8)]
	for t in ts:
		t.start()
	for t in ts:
		t.join()
	assert len(wins) == 1


def test_o_trunc_empties_existing_file(fsroot):
	p = fsroot / 'f'
	write_file(p, fill(10000))
	ino = os.stat(p).st_ino
	fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
	try:
		assert os.fstat(fd).st_size == 0
		os.write(fd, b'abc')
	finally:
		os.close(fd)
	assert read_file(p) == b'abc'
	assert os.stat(p).st_ino == ino


def test_o_trunc_then_extend_reads_zeros(fsroot):
	# old blocks must not come back after O_TRUNC
	p = fsroot / 'f'
	write_file(p, fill(3 * BS))
	fd = os.open(p, os.O_RDWR | os.O_TRUNC)
	try:
		os.ftruncate(fd, 3 * BS)
		assert pread_all(fd, 3 * BS, 0) == bytes(3 * BS)
	finally:
		os.close(fd)


def test_open_missing_without_creat_is_enoent(fsroot):
	raises_errno(errno.ENOENT, os.open, fsroot / 'missing', os.O_RDONLY)
	raises_errno(errno.ENOENT, os.open, fsroot / 'nodir' / 'f',
		     os.O_CREAT | os.O_WRONLY)


def test_open_directory_for_write_is_eisdir(fsroot):
	raises_errno(errno.EISDIR, os.open, fsroot, os.O_WRONLY)
	raises_errno(errno.EISDIR, os.open, fsroot, os.O_RDWR)


def test_o_directory_on_file_is_enotdir(fsroot):
	write_file(fsroot / 'f', b'')
	raises_errno(errno.ENOTDIR, os.open, fsroot / 'f',
		     os.O_RDONLY | os.O_DIRECTORY)
	raises_errno(errno.ENOTDIR, os.stat, str(fsroot / 'f') + '/x')


def test_o_append_writes_at_end(fsroot):
	p = fsroot / 'f'
	write_file(p, b'0123456789')
	fd = os.open(p, os.O_WRONLY | os.O_APPEND)
	try:
		os.lseek(fd, 0, os.SEEK_SET)
		os.write(fd, b'abc')
		assert os.lseek(fd, 0, os.SEEK_CUR) == 13
	finally:
		os.close(fd)
	assert read_file(p) == b'0123456789abc'


def _appender(path, tag, count, size):
	fd = os.open(path, os.O_WRONLY | os.O_APPEND)
	try:
		for i in range(count):
			rec = (b'%c%06d' % (tag, i)).ljust(size - 1, b'.') + b'\n'
			assert os.write(fd, rec) == size
	finally:
		os.close(fd)


def test_concurrent_o_append_writers_do_not_overwrite(fsroot):
	"""Several processes append fixed-size records through their own
	O_APPEND descriptors: every record must land whole, none lost."""
	p = fsroot / 'log'
	write_file(p, b'')
	nproc, count, size = 4, 400, 100
	pids = []
	for k in range(nproc):
		pid = os.fork()
		if pid == 0:
			code = 0
			try:
				_appender(p, ord('A') + k, count, size)
			except BaseException:
				code = 1
			os._exit(code)
		pids.append(pid)
	for pid in pids:
		_, status = os.waitpid(pid, 0)
		assert os.waitstatus_to_exitcode(status) == 0
	data = read_file(p)
	assert len(data) == nproc * count * size
	recs = [data[i:i + size] for i in range(0, len(data), size)]
	seen = {}
	for r in recs:
		assert r.endswith(b'\n') and len(r) == size, r
		tag, num = r[0], int(r[1:7])
		assert r == (b'%c%06d' % (tag, num)).ljust(size - 1, b'.') + b'\n'
		seen.setdefault(tag, []).append(num)
	for k in range(nproc):
		# each writer's records appear in its own order, all of them
		assert seen[ord('A') + k] == list(range(count))


def test_read_at_and_past_eof(fsroot):
	p = fsroot / 'f'
	write_file(p, b'hello')
	fd = os.open(p, os.O_RDONLY)
	try:
		assert os.pread(fd, 100, 0) == b'hello'
		assert os.pread(fd, 100, 3) == b'lo'
		assert os.pread(fd, 100, 5) == b''
		assert os.pread(fd, 100, 1 << 40) == b''
	finally:
		os.close(fd)


def test_write_to_readonly_fd_is_ebadf(fsroot):
	p = fsroot / 'f'
	write_file(p, b'x')
	fd = os.open(p, os.O_RDONLY)
	try:
		raises_errno(errno.EBADF, os.write, fd, b'y')
		raises_errno(errno.EINVAL, os.ftruncate, fd, 0)
	finally:
		os.close(fd)


def test_overwrite_middle_unaligned(fsroot):
	p = fsroot / 'f'
	base = bytearray(fill(5 * BS + 123, seed=1))
	write_file(p, base)
	patch = fill(2 * BS + 77, seed=2)
	off = BS - 50
	fd = os.open(p, os.O_WRONLY)
	try:
		pwrite_all(fd, patch, off)
	finally:
		os.close(fd)
	base[off:off + len(patch)] = patch
	assert read_file(p) == bytes(base)


def test_write_past_eof_leaves_zero_gap(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abc')
	fd = os.open(p, os.O_WRONLY)
	try:
		os.pwrite(fd, b'xyz', 10000)
	finally:
		os.close(fd)
	data = read_file(p)
	assert len(data) == 10003
	assert data == b'abc' + bytes(10000 - 3) + b'xyz'


def test_large_file_round_trip(fsroot):
	p = fsroot / 'big'
	data = fill(12 << 20, seed=3)
	write_file(p, data)
	assert os.stat(p).st_size == len(data)
	assert read_file(p) == data


# -- truncate -------------------------------------------------------------------

@pytest.mark.parametrize('new', [0, 1, 4095, 4096, 4097, 10000, 3 * BS - 1])
def test_truncate_down_keeps_prefix(fsroot, new):
	p = fsroot / 'f'
	data = fill(4 * BS + 10)
	write_file(p, data)
	os.truncate(p, new)
	assert os.stat(p).st_size == new
	assert read_file(p) == data[:new]


@pytest.mark.parametrize('new', [1, 4095, 4097, 65537, 1 << 20])
def test_truncate_up_reads_zeros(fsroot, new):
	p = fsroot / 'f'
	write_file(p, b'abc')
	os.truncate(p, 3 + new)
	assert os.stat(p).st_size == 3 + new
	assert read_file(p) == b'abc' + bytes(new)


def test_truncate_down_then_up_does_not_resurrect_data(fsroot):
	p = fsroot / 'f'
	write_file(p, fill(3 * BS))
	fd = os.open(p, os.O_RDWR)
	try:
		os.ftruncate(fd, 100)
		os.ftruncate(fd, 3 * BS)
		got = pread_all(fd, 3 * BS, 0)
	finally:
		os.close(fd)
	assert got[:100] == fill(3 * BS)[:100]
	assert got[100:] == bytes(3 * BS - 100)


def test_truncate_to_same_size_keeps_data(fsroot):
	p = fsroot / 'f'
	data = fill(5000)
	write_file(p, data)
	os.truncate(p, 5000)
	assert read_file(p) == data


def test_truncate_errors(fsroot):
	write_file(fsroot / 'f', b'x')
	raises_errno(errno.EINVAL, os.truncate, fsroot / 'f', -1)
	raises_errno(errno.EISDIR, os.truncate, fsroot, 0)
	raises_errno(errno.ENOENT, os.truncate, fsroot / 'missing', 0)


# -- sparse files -----------------------------------------------------------------

def test_sparse_file_holes_read_zero_and_use_few_blocks(fsroot):
	p = fsroot / 'sparse'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.pwrite(fd, b'A' * 10, 0)
		os.pwrite(fd, b'B' * 10, 64 << 20)
		os.fsync(fd)
		st = os.fstat(fd)
		assert st.st_size == (64 << 20) + 10
		# two data blocks plus some map blocks, not 64 MiB
		assert st.st_blocks * 512 < (1 << 20), st.st_blocks
		assert os.pread(fd, 20, 0) == b'A' * 10 + bytes(10)
		assert os.pread(fd, 8192, 32 << 20) == bytes(8192)
		assert os.pread(fd, 20, (64 << 20) - 10) == bytes(10) + b'B' * 10
	finally:
		os.close(fd)


def test_sparse_file_beyond_4gib(fsroot):
	"""A write at 5 GiB: offsets past 32 bits must neither wrap nor
	allocate the gap."""
	p = fsroot / 'huge'
	off = 5 << 30
	data = fill(10000, seed=5)
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		pwrite_all(fd, data, off)
		os.fsync(fd)
		st = os.fstat(fd)
		assert st.st_size == off + len(data)
		assert st.st_blocks * 512 < (1 << 20), st.st_blocks
		assert pread_all(fd, len(data), off) == data
		assert os.pread(fd, 4096, 4 << 30) == bytes(4096)
		assert os.pread(fd, 4096, 1 << 30) == bytes(4096)
		assert os.pread(fd, 4096, 0) == bytes(4096)
		# the low 32 bits of the offset must not alias
		assert os.pread(fd, 4096, off - (4 << 30)) == bytes(4096)
	finally:
		os.close(fd)
	os.unlink(p)


# Block offsets where a classic block map changes level (12 direct
# pointers, 508 per 4 KiB indirect block, as in twinfs) and a few far ones;
# on any filesystem these are just sparse writes at odd places.
_L1 = 12			# first block behind the single indirect block
_L2 = _L1 + 508			# ... double
_L3 = _L2 + 508 ** 2		# ... triple
_L4 = _L3 + 508 ** 3		# ... quadruple
_FAR_OFFSETS = [
	11 * BS, _L1 * BS - 50, _L2 * BS - 50, _L2 * BS + 2 * BS,
	_L3 * BS - 3, _L3 * BS + 7 * BS, _L4 * BS - 60, _L4 * BS + 1000,
	1 << 40, (1 << 43) + 12345,
]


def test_sparse_writes_at_block_map_boundaries(fsroot):
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		for i, off in enumerate(_FAR_OFFSETS):
			pwrite_all(fd, fill(100, seed=i), off)
		os.fsync(fd)
		for i, off in enumerate(_FAR_OFFSETS):
			assert pread_all(fd, 100, off) == fill(100, seed=i), off
			if off >= BS:
				assert os.pread(fd, 64, off - 64) == bytes(64)
		assert os.fstat(fd).st_size == _FAR_OFFSETS[-1] + 100
		assert os.fstat(fd).st_blocks * 512 < (4 << 20)
		# and cutting it back frees the far blocks
		os.ftruncate(fd, 12 * BS + 50)
		assert pread_all(fd, 1 << 16, 0)[11 * BS:11 * BS + 100] == \
			fill(100, seed=0)
		os.ftruncate(fd, 1 << 40)
		assert os.pread(fd, 100, (12 + 508) * BS) == bytes(100)
	finally:
		os.close(fd)


def test_truncate_huge_sparse_file_then_unlink(fsroot):
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.ftruncate(fd, 1 << 42)
		assert os.fstat(fd).st_size == 1 << 42
		assert os.pread(fd, 10, (1 << 42) - 10) == bytes(10)
		os.pwrite(fd, b'x', (1 << 41))
		assert os.pread(fd, 3, (1 << 41) - 1) == b'\0x\0'
	finally:
		os.close(fd)
	os.unlink(p)


def _hole_reporting(fd, hole_end):
	"""Whether lseek(SEEK_DATA) reports a leading hole at all (a
	filesystem may legally treat the whole file as data)."""
	return os.lseek(fd, 0, os.SEEK_DATA) != 0


def test_seek_data_hole_generic_guarantees(fsroot):
	"""What every filesystem must do (the generic implementation
	included): ENXIO past EOF, a hole at EOF, data where data is."""
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.pwrite(fd, b'D' * BS, 1 << 20)
		size = (1 << 20) + BS
		raises_errno(errno.ENXIO, os.lseek, fd, size, os.SEEK_DATA)
		raises_errno(errno.ENXIO, os.lseek, fd, size, os.SEEK_HOLE)
		raises_errno(errno.ENXIO, os.lseek, fd, size + 1, os.SEEK_DATA)
		assert os.lseek(fd, (1 << 20) + 5, os.SEEK_HOLE) == size
		assert os.lseek(fd, (1 << 20) + 5, os.SEEK_DATA) == \
			(1 << 20) + 5
		d = os.lseek(fd, 0, os.SEEK_DATA)
		assert d in (0, 1 << 20) or 0 <= d <= 1 << 20
		h = os.lseek(fd, 0, os.SEEK_HOLE)
		assert h in (0, size)
	finally:
		os.close(fd)


def test_seek_data_hole_reports_holes(fsroot):
	"""Where holes are reported (tmpfs does), they must be exact at block
	granularity."""
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.pwrite(fd, b'D' * BS, 1 << 20)
		os.pwrite(fd, b'E' * BS, 3 << 20)
		os.ftruncate(fd, 5 << 20)
		os.fsync(fd)
		if not _hole_reporting(fd, 1 << 20):
			pytest.skip('the target does not report holes '
				    '(SEEK_DATA treats the file as all data)')
		assert os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20
		assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
		assert os.lseek(fd, 1 << 20, os.SEEK_HOLE) == (1 << 20) + BS
		assert os.lseek(fd, (1 << 20) + BS, os.SEEK_DATA) == 3 << 20
		assert os.lseek(fd, 3 << 20, os.SEEK_HOLE) == (3 << 20) + BS
		raises_errno(errno.ENXIO, os.lseek, fd, (3 << 20) + BS,
			     os.SEEK_DATA)
	finally:
		os.close(fd)


# -- unlink while open --------------------------------------------------------------

def test_unlinked_open_file_stays_usable(fsroot):
	p = fsroot / 'f'
	data = fill(300000)
	write_file(p, data)
	fd = os.open(p, os.O_RDWR)
	try:
		os.unlink(p)
		assert not os.path.exists(p)
		assert os.fstat(fd).st_nlink == 0
		assert pread_all(fd, len(data), 0) == data
		os.pwrite(fd, b'more', len(data))
		assert os.fstat(fd).st_size == len(data) + 4
		assert os.pread(fd, 4, len(data)) == b'more'
		assert os.listdir(fsroot) == []
	finally:
		os.close(fd)


def test_unlinked_open_file_space_freed_on_close(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	fd = os.open(p, os.O_RDWR)
	try:
		pwrite_all(fd, fill(8 << 20), 0)
		os.fsync(fd)
		before = os.statvfs(fsroot).f_bfree
		os.unlink(p)
	finally:
		os.close(fd)
	os.sync()
	st = os.statvfs(fsroot)
	freed = (st.f_bfree - before) * st.f_frsize
	assert freed >= (7 << 20), 'only %d bytes freed' % freed


def test_unlink_missing_and_dir(fsroot):
	raises_errno(errno.ENOENT, os.unlink, fsroot / 'missing')
	os.mkdir(fsroot / 'd')
	raises_errno(errno.EISDIR, os.unlink, fsroot / 'd')


# -- names --------------------------------------------------------------------------

def test_name_max_255_works_256_is_enametoolong(fsroot):
	n255, n256 = 'n' * 255, 'n' * 256
	write_file(fsroot / n255, b'x')
	assert read_file(fsroot / n255) == b'x'
	assert n255 in os.listdir(fsroot)
	os.mkdir(fsroot / ('d' * 255))
	os.symlink(n255, fsroot / ('s' * 255))
	os.link(fsroot / n255, fsroot / ('h' * 255))
	os.rename(fsroot / ('h' * 255), fsroot / ('r' * 255))
	assert os.stat(fsroot / n255).st_nlink == 2
	for fn, args in [
		(os.open, (fsroot / n256, os.O_CREAT | os.O_WRONLY, 0o644)),
		(os.stat, (fsroot / n256,)),
		(os.mkdir, (fsroot / n256,)),
		(os.symlink, ('x', fsroot / n256)),
		(os.link, (fsroot / n255, fsroot / n256)),
		(os.rename, (fsroot / n255, fsroot / n256)),
		(os.unlink, (fsroot / n256,)),
	]:
		raises_errno(errno.ENAMETOOLONG, fn, *args)
	assert sorted(os.listdir(fsroot)) == sorted(
		[n255, 'd' * 255, 's' * 255, 'r' * 255])
	assert os.statvfs(fsroot).f_namemax == 255


def test_name_max_counts_bytes_not_characters(fsroot):
	ok = '\u00e9' * 127 + 'x'		# 255 bytes in UTF-8
	bad = '\u00e9' * 128			# 256 bytes
	write_file(fsroot / ok, b'1')
	assert os.listdir(fsroot) == [ok]
	raises_errno(errno.ENAMETOOLONG, os.open, fsroot / bad,
		     os.O_CREAT | os.O_WRONLY, 0o644)


def test_names_with_odd_bytes(fsroot):
	names = [b'sp ace', b'tab\there', b'nl\nx', b'\xff\xfe', b'-rf',
		 b'.hidden', b'..x', b'...', b'a' * 200, b'\x01\x7f']
	root = os.fsencode(fsroot)
	for n in names:
		write_file(os.path.join(root, n), n)
	assert sorted(os.listdir(root)) == sorted(names)
	for n in names:
		assert read_file(os.path.join(root, n)) == n


def test_case_sensitive_names(fsroot):
	write_file(fsroot / 'abc', b'1')
	write_file(fsroot / 'ABC', b'2')
	assert read_file(fsroot / 'abc') == b'1'
	assert read_file(fsroot / 'ABC') == b'2'


# -- special files ---------------------------------------------------------------

def test_fifo_and_device_nodes(fsroot):
	os.mkfifo(fsroot / 'fifo', 0o640)
	st = os.stat(fsroot / 'fifo')
	assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
	if os.geteuid() == 0:
		dev = os.makedev(1, 3)
		os.mknod(fsroot / 'null', stat.S_IFCHR | 0o600, dev)
		st = os.stat(fsroot / 'null')
		assert stat.S_ISCHR(st.st_mode) and st.st_rdev == dev
		os.mknod(fsroot / 'blk', stat.S_IFBLK | 0o600, os.makedev(7, 0))
		assert os.stat(fsroot / 'blk').st_rdev == os.makedev(7, 0)
	os.mknod(fsroot / 'reg', stat.S_IFREG | 0o600)
	assert stat.S_ISREG(os.stat(fsroot / 'reg').st_mode)
	raises_errno(errno.EEXIST, os.mkfifo, fsroot / 'fifo')


def test_fifo_passes_data(fsroot):
	os.mkfifo(fsroot / 'fifo')
	pid = os.fork()
	if pid == 0:
		try:
			fd = os.open(fsroot / 'fifo', os.O_WRONLY)
			os.write(fd, b'through the fifo')
			os.close(fd)
		finally:
			os._exit(0)
	fd = os.open(fsroot / 'fifo', os.O_RDONLY)
	try:
		got = b''
		while True:
			b = os.read(fd, 100)
			if not b:
				break
			got += b
	finally:
		os.close(fd)
		os.waitpid(pid, 0)
	assert got == b'through the fifo'


# -- persistence (targets the suite can remount) ------------------------------------

def test_everything_survives_a_remount(fs):
	"""Build a tree with every kind of object, unmount (fsck clean),
	mount again: names, contents, modes, owners, links, xattrs, exact
	times and inode numbers are all the same."""
	if not fs.can_remount:
		pytest.skip('%s: the suite cannot remount this target' % fs.kind)
	top = fs.path
	r = top / 't'
	os.makedirs(r / 'a' / 'b' / 'c')
	write_file(r / 'a' / 'f', fill(123457))
	write_file(r / 'a' / 'b' / 'empty', b'')
	os.link(r / 'a' / 'f', r / 'a' / 'b' / 'hard')
	os.symlink('../f', r / 'a' / 'b' / 'short')
	os.symlink('x' * 4000, r / 'long')
	os.mkfifo(r / 'fifo')
	os.chmod(r / 'a' / 'b' / 'c', 0o2751)
	os.chown(r / 'a' / 'f', 1234, 5678)
	os.setxattr(r / 'a' / 'f', 'user.k', b'v' * 300)
	os.setxattr(r / 'a', 'user.dir', b'')
	for i in range(300):
		write_file(r / 'a' / 'b' / ('many%03d' % i), b'%d' % i)
	os.utime(r / 'a' / 'b' / 'empty', ns=(1_000_000_123, 2_000_000_456))
	# a sparse file past 4 GiB, checked by reading its ends
	fd = os.open(top / 'sparse', os.O_RDWR | os.O_CREAT, 0o600)
	os.pwrite(fd, b'head', 0)
	os.pwrite(fd, b'tail', 5 << 30)
	os.close(fd)
	# reading updates atime once (relatime); after that it is stable
	tick()
	snapshot(r, times=True)
	before = snapshot(r, times=True, inodes=True)
	inos = {k: os.lstat(os.path.join(r, k)).st_ino for k in before}
	fs.remount()
	after = snapshot(r, times=True, inodes=True)
	assert diff_snapshots(before, after, 'before', 'after') == []
	assert {k: os.lstat(os.path.join(r, k)).st_ino for k in after} == inos
	fd = os.open(top / 'sparse', os.O_RDONLY)
	try:
		assert os.fstat(fd).st_size == (5 << 30) + 4
		assert os.pread(fd, 8, 0) == b'head' + bytes(4)
		assert os.pread(fd, 8, (5 << 30) - 4) == bytes(4) + b'tail'
	finally:
		os.close(fd)
