# twinfs tests/posix: fallocate(2) in each mode (0, KEEP_SIZE, PUNCH_HOLE,
# ZERO_RANGE with and without KEEP_SIZE): sizes, st_blocks, data kept or
# read as zeros, blocks past the end freed by truncate and unlink, what
# survives a remount, ENOSPC leaving a consistent filesystem (the fixture
# runs fsck.twinfs -n after each test on twinfs), unsupported modes; and
# FS_IOC_FIEMAP where the filesystem has it (twinfs's kernel home; FUSE
# has no fiemap, tmpfs neither).
# Layer: POSIX test suite; system calls only (fallocate through ctypes).
import ctypes
import errno
import fcntl
import os
import struct
import time

import pytest

import posixfs
from posixfs import fill, pread_all, pwrite_all, read_file

KiB = 1 << 10
MiB = 1 << 20

KEEP_SIZE = 0x01
PUNCH_HOLE = 0x02
COLLAPSE_RANGE = 0x08
ZERO_RANGE = 0x10
INSERT_RANGE = 0x20
UNSHARE_RANGE = 0x40

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
			    ctypes.c_int64]


def fallocate(fd, mode, off, length):
	if _libc.fallocate(fd, mode, off, length) != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e))


def fstype(fs):
	return posixfs.mount_entry(fs.path)[1]


def on_twinfs(fs):
	return fs.is_twinfs or fstype(fs) in ('twinfs', 'fuse.twinfs')


def falloc_or_skip(fs, fd, mode, off, length):
	"""fallocate; where a reference filesystem (tmpfs) lacks the mode,
	skip.  twinfs has every mode the suite asks for."""
	try:
		fallocate(fd, mode, off, length)
	except OSError as e:
		if e.errno == errno.EOPNOTSUPP and not on_twinfs(fs):
			pytest.skip('%s has no fallocate mode %#x'
				    % (fstype(fs), mode))
		if e.errno == errno.EOPNOTSUPP and mode & ZERO_RANGE and \
		   fstype(fs) == 'fuse.twinfs' and _daemon_fallocates(fs):
			# older kernels' FUSE clients pass only KEEP_SIZE and
			# PUNCH_HOLE on to the daemon
			pytest.skip('this kernel\'s FUSE client refuses '
				    'FALLOC_FL_ZERO_RANGE itself')
		raise


def _daemon_fallocates(fs):
	fd = os.open(fs.path / '.probe', os.O_RDWR | os.O_CREAT, 0o644)
	try:
		fallocate(fd, 0, 0, 1)
		return True
	except OSError:
		return False
	finally:
		os.close(fd)
		os.unlink(fs.path / '.probe')


def blocks_bytes(path_or_fd):
	st = os.fstat(path_or_fd) if isinstance(path_or_fd, int) \
		else os.stat(path_or_fd)
	return st.st_blocks * 512


def open_rw(path):
	return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def test_mode0_allocates_and_extends(fs):
	p = fs.path / 'f'
	fd = open_rw(p)
	try:
		falloc_or_skip(fs, fd, 0, 0, 100000)
		st = os.fstat(fd)
		assert st.st_size == 100000
		assert st.st_blocks * 512 >= 100000
		assert pread_all(fd, 100000, 0) == bytes(100000)
	finally:
		os.close(fd)
	assert read_file(p) == bytes(100000)


def test_mode0_keeps_data_and_zeroes_the_rest(fs):
	p = fs.path / 'f'
	data = fill(10000, seed=1)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		falloc_or_skip(fs, fd, 0, 5000, 20000)
		assert os.fstat(fd).st_size == 25000
		got = pread_all(fd, 25000, 0)
		assert got[:10000] == data
		assert got[10000:] == bytes(15000)
		# inside the size: the size stays
		falloc_or_skip(fs, fd, 0, 0, 4096)
		assert os.fstat(fd).st_size == 25000
	finally:
		os.close(fd)


def test_keep_size_blocks_past_the_end(fs):
	p = fs.path / 'f'
	data = fill(5000, seed=2)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		falloc_or_skip(fs, fd, KEEP_SIZE, 0, MiB)
		st = os.fstat(fd)
		assert st.st_size == 5000
		assert st.st_blocks * 512 >= MiB
		assert pread_all(fd, 10000, 0) == data
		# a write into the preallocated part: the gap reads as zeros
		pwrite_all(fd, b'x' * 100, 300000)
		assert os.fstat(fd).st_size == 300100
		got = pread_all(fd, 300100, 0)
		assert got[:5000] == data
		assert got[5000:300000] == bytes(295000)
		assert got[300000:] == b'x' * 100
		# growing over the preallocated blocks shows zeros
		os.ftruncate(fd, MiB)
		assert pread_all(fd, MiB - 300100, 300100) == bytes(MiB - 300100)
		assert os.fstat(fd).st_blocks * 512 >= MiB
	finally:
		os.close(fd)


def test_truncate_frees_blocks_past_the_end(fs):
	p = fs.path / 'f'
	fd = open_rw(p)
	try:
		pwrite_all(fd, b'a' * 5000, 0)
		falloc_or_skip(fs, fd, KEEP_SIZE, 0, 2 * MiB)
		assert blocks_bytes(fd) >= 2 * MiB
		os.ftruncate(fd, 100)
		assert os.fstat(fd).st_size == 100
		assert blocks_bytes(fd) <= 8192
		os.ftruncate(fd, 0)
		assert blocks_bytes(fd) == 0
	finally:
		os.close(fd)


def _free_bytes(path):
	st = os.statvfs(path)
	return st.f_bfree * st.f_frsize


def test_unlink_frees_preallocated_blocks(fs):
	p = fs.path / 'f'
	fd = open_rw(p)
	# after the create: the directory may have grown a block
	before = _free_bytes(fs.path)
	try:
		falloc_or_skip(fs, fd, KEEP_SIZE, 0, 8 * MiB)
		assert os.fstat(fd).st_size == 0
	finally:
		os.close(fd)
	assert _free_bytes(fs.path) <= before - 8 * MiB
	os.unlink(p)
	deadline = time.monotonic() + 10
	while _free_bytes(fs.path) < before and time.monotonic() < deadline:
		time.sleep(0.05)
	assert _free_bytes(fs.path) >= before


def test_punch_hole(fs):
	p = fs.path / 'f'
	data = fill(64 * KiB, seed=3)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		os.fsync(fd)
		before = blocks_bytes(fd)
		falloc_or_skip(fs, fd, PUNCH_HOLE | KEEP_SIZE, 5000, 20000)
		st = os.fstat(fd)
		assert st.st_size == 64 * KiB
		# blocks 8192..24575 are wholly inside: freed
		assert st.st_blocks * 512 <= before - 4 * 4096
		got = pread_all(fd, 64 * KiB, 0)
		assert got[:5000] == data[:5000]
		assert got[5000:25000] == bytes(20000)
		assert got[25000:] == data[25000:]
	finally:
		os.close(fd)
	assert read_file(p)[5000:25000] == bytes(20000)


def test_punch_hole_within_one_block_and_past_the_end(fs):
	p = fs.path / 'f'
	data = fill(10000, seed=4)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		falloc_or_skip(fs, fd, PUNCH_HOLE | KEEP_SIZE, 100, 200)
		falloc_or_skip(fs, fd, PUNCH_HOLE | KEEP_SIZE, 9000, MiB)
		assert os.fstat(fd).st_size == 10000
		got = pread_all(fd, 10000, 0)
		assert got[:100] == data[:100]
		assert got[100:300] == bytes(200)
		assert got[300:9000] == data[300:9000]
		assert got[9000:] == bytes(1000)
		# and the punched tail stays zero when the file grows
		os.ftruncate(fd, 20000)
		assert pread_all(fd, 11000, 9000) == bytes(11000)
	finally:
		os.close(fd)


def test_punch_hole_needs_keep_size(fs):
	fd = open_rw(fs.path / 'f')
	try:
		pwrite_all(fd, b'a' * 8192, 0)
		posixfs.raises_errno(errno.EOPNOTSUPP, fallocate, fd,
				     PUNCH_HOLE, 0, 4096)
	finally:
		os.close(fd)


def test_punch_hole_far_out_frees_indirect_blocks(fs):
	p = fs.path / 'f'
	fd = open_rw(p)
	try:
		falloc_or_skip(fs, fd, KEEP_SIZE, 5 << 30, 64 * KiB)
		assert blocks_bytes(fd) >= 64 * KiB
		assert os.fstat(fd).st_size == 0
		falloc_or_skip(fs, fd, PUNCH_HOLE | KEEP_SIZE, 5 << 30,
			       64 * KiB)
		assert blocks_bytes(fd) == 0
	finally:
		os.close(fd)


@pytest.mark.parametrize('keep', [False, True], ids=['extend', 'keep_size'])
def test_zero_range(fs, keep):
	p = fs.path / 'f'
	data = fill(64 * KiB, seed=5)
	mode = ZERO_RANGE | (KEEP_SIZE if keep else 0)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		falloc_or_skip(fs, fd, mode, 5000, 20000)
		assert os.fstat(fd).st_size == 64 * KiB
		got = pread_all(fd, 64 * KiB, 0)
		assert got[:5000] == data[:5000]
		assert got[5000:25000] == bytes(20000)
		assert got[25000:] == data[25000:]
		# across the end: allocated, the size grows unless KEEP_SIZE
		falloc_or_skip(fs, fd, mode, 60 * KiB, 100 * KiB)
		size = 64 * KiB if keep else 160 * KiB
		assert os.fstat(fd).st_size == size
		assert blocks_bytes(fd) >= 160 * KiB
		got = pread_all(fd, size, 0)
		assert got[:60 * KiB] == data[:5000] + bytes(20000) + \
			data[25000:60 * KiB]
		assert got[60 * KiB:] == bytes(size - 60 * KiB)
	finally:
		os.close(fd)


def test_zero_range_over_a_hole_allocates(fs):
	fd = open_rw(fs.path / 'f')
	try:
		os.ftruncate(fd, MiB)
		assert blocks_bytes(fd) == 0
		falloc_or_skip(fs, fd, ZERO_RANGE, 100, 3 * 4096)
		assert blocks_bytes(fd) >= 3 * 4096
		assert pread_all(fd, MiB, 0) == bytes(MiB)
	finally:
		os.close(fd)


@pytest.mark.parametrize('mode', [COLLAPSE_RANGE, INSERT_RANGE,
				  UNSHARE_RANGE, PUNCH_HOLE | ZERO_RANGE |
				  KEEP_SIZE],
			 ids=['collapse', 'insert', 'unshare', 'punch_zero'])
def test_unsupported_modes(fs, mode):
	if not on_twinfs(fs):
		pytest.skip('what other filesystems support differs')
	fd = open_rw(fs.path / 'f')
	try:
		pwrite_all(fd, fill(64 * KiB), 0)
		posixfs.raises_errno(errno.EOPNOTSUPP, fallocate, fd, mode,
				     0, 8192)
		assert os.fstat(fd).st_size == 64 * KiB
	finally:
		os.close(fd)


def test_fallocate_survives_remount(fs):
	if not fs.can_remount:
		pytest.skip('%s: the suite cannot remount this target' % fs.kind)
	p = fs.path / 'f'
	data = fill(6000, seed=6)
	fd = open_rw(p)
	try:
		pwrite_all(fd, data, 0)
		fallocate(fd, KEEP_SIZE, 0, MiB)
		fallocate(fd, 0, 2 * MiB, 8192)
		fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 100, 1000)
		fallocate(fd, ZERO_RANGE | KEEP_SIZE, 4096, 1000)
	finally:
		os.close(fd)
	blocks = blocks_bytes(p)
	fs.remount()
	st = os.stat(p)
	assert st.st_size == 2 * MiB + 8192
	assert st.st_blocks * 512 == blocks
	want = bytearray(data)
	want[100:1100] = bytes(1000)
	want[4096:5096] = bytes(1000)
	got = read_file(p)
	assert got[:6000] == bytes(want)
	assert got[6000:] == bytes(len(got) - 6000)


@pytest.mark.parametrize('mode', [0, KEEP_SIZE], ids=['extend', 'keep_size'])
def test_enospc_leaves_a_consistent_filesystem(small_fs, mode):
	p = small_fs.path / 'big'
	fd = open_rw(p)
	try:
		pwrite_all(fd, b'a' * 100, 0)
		posixfs.raises_errno(errno.ENOSPC, fallocate, fd, mode, 0,
				     64 * MiB)
		# the size did not move to the end of a failed allocation
		assert os.fstat(fd).st_size in (100, 64 * MiB) if mode == 0 \
			else os.fstat(fd).st_size == 100
		assert pread_all(fd, 100, 0) == b'a' * 100
	finally:
		os.close(fd)
	os.unlink(p)
	# the space is usable again
	q = small_fs.path / 'after'
	fd = open_rw(q)
	try:
		deadline = time.monotonic() + 10
		while True:
			try:
				fallocate(fd, 0, 0, 4 * MiB)
				break
			except OSError as e:
				if e.errno != errno.ENOSPC or \
				   time.monotonic() > deadline:
					raise
				time.sleep(0.1)
		assert os.fstat(fd).st_size == 4 * MiB
	finally:
		os.close(fd)


# -- fiemap ---------------------------------------------------------------------

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
_HDR = struct.Struct('=QQIIII')		# fm_start, fm_length, flags, mapped, count, reserved
_EXT = struct.Struct('=QQQQQIIII')	# logical, physical, length, res2[2], flags, res[3]


def fiemap(fd, start=0, length=(1 << 64) - 1, count=64):
	buf = bytearray(_HDR.size + count * _EXT.size)
	_HDR.pack_into(buf, 0, start, length, FIEMAP_FLAG_SYNC, 0, count, 0)
	fcntl.ioctl(fd, FS_IOC_FIEMAP, buf, True)
	mapped = _HDR.unpack_from(buf, 0)[3]
	out = []
	for i in range(mapped):
		e = _EXT.unpack_from(buf, _HDR.size + i * _EXT.size)
		out.append((e[0], e[1], e[2], e[5]))
	return out


def test_fiemap(fs):
	p = fs.path / 'f'
	fd = open_rw(p)
	try:
		try:
			fiemap(fd)
		except OSError as e:
			if e.errno not in (errno.EOPNOTSUPP, errno.ENOTTY):
				raise
			if fstype(fs) == 'twinfs':
				raise
			pytest.skip('%s has no fiemap (FUSE has none)'
				    % fstype(fs))
		assert fiemap(fd) == []
		pwrite_all(fd, fill(3 * 4096), 0)
		pwrite_all(fd, fill(4096), 100 * 4096)
		fallocate(fd, KEEP_SIZE, 200 * 4096, 2 * 4096)
		ext = fiemap(fd)
		logical = [(e[0], e[2]) for e in ext]
		# runs may split where the allocator did not place blocks
		# together: compare the logical coverage
		covered = set()
		for lo, ln in logical:
			assert lo % 4096 == 0 and ln % 4096 == 0
			covered |= set(range(lo // 4096, (lo + ln) // 4096))
		assert covered == {0, 1, 2, 100, 200, 201}
		assert ext[-1][3] & FIEMAP_EXTENT_LAST
		assert all(not e[3] & FIEMAP_EXTENT_LAST for e in ext[:-1])
		assert all(e[1] > 0 for e in ext)
		# a range in the middle
		mid = fiemap(fd, 50 * 4096, 100 * 4096)
		assert [(e[0], e[2]) for e in mid] == [(100 * 4096, 4096)]
		# punched away, gone from the map
		fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 0, 101 * 4096)
		assert [(e[0], e[2]) for e in fiemap(fd)] == \
			[(200 * 4096, 2 * 4096)]
	finally:
		os.close(fd)
