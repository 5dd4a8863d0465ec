# twinfs tests/posix: mmap (MAP_SHARED writes, msync, coherence with
# read/write, MAP_PRIVATE isolation, holes) and fsync/fdatasync on files
# and directories.
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).
import mmap
import os

from posixfs import fill, pread_all, pwrite_all, read_file, write_file

BS = 4096


def test_mmap_shared_write_visible_to_read(fsroot):
	p = fsroot / 'f'
	write_file(p, bytes(4 * BS))
	fd = os.open(p, os.O_RDWR)
	try:
		m = mmap.mmap(fd, 4 * BS, mmap.MAP_SHARED,
			      mmap.PROT_READ | mmap.PROT_WRITE)
		try:
			m[100:110] = b'0123456789'
			m[3 * BS - 2:3 * BS + 2] = b'abcd'
			# coherent with read() even before msync
			assert os.pread(fd, 10, 100) == b'0123456789'
			m.flush()	# msync(MS_SYNC)
		finally:
			m.close()
	finally:
		os.close(fd)
	data = read_file(p)
	assert data[100:110] == b'0123456789'
	assert data[3 * BS - 2:3 * BS + 2] == b'abcd'
	assert len(data) == 4 * BS


def test_mmap_sees_write(fsroot):
	p = fsroot / 'f'
	write_file(p, bytes(2 * BS))
	fd = os.open(p, os.O_RDWR)
	try:
		m = mmap.mmap(fd, 2 * BS, mmap.MAP_SHARED, mmap.PROT_READ)
		try:
			os.pwrite(fd, b'written', BS + 5)
			assert m[BS + 5:BS + 12] == b'written'
		finally:
			m.close()
	finally:
		os.close(fd)


def test_mmap_write_survives_close_and_reopen(fsroot):
	p = fsroot / 'f'
	size = 64 * BS + 123
	write_file(p, bytes(size))
	patt = fill(size, seed=9)
	fd = os.open(p, os.O_RDWR)
	m = mmap.mmap(fd, size, mmap.MAP_SHARED)
	os.close(fd)		# the mapping keeps the file open
	m[:] = patt
	m.flush()
	m.close()
	assert read_file(p) == patt


def test_mmap_write_into_sparse_file(fsroot):
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.ftruncate(fd, 256 * BS)
		m = mmap.mmap(fd, 256 * BS, mmap.MAP_SHARED)
		try:
			assert m[:BS] == bytes(BS)
			m[200 * BS:200 * BS + 5] = b'hello'
			m.flush()
		finally:
			m.close()
		os.fsync(fd)
		assert os.pread(fd, 5, 200 * BS) == b'hello'
		assert pread_all(fd, 200 * BS, 0) == bytes(200 * BS)
		assert os.fstat(fd).st_size == 256 * BS
	finally:
		os.close(fd)


def test_mmap_private_write_does_not_reach_file(fsroot):
	p = fsroot / 'f'
	write_file(p, b'A' * BS)
	fd = os.open(p, os.O_RDWR)
	try:
		m = mmap.mmap(fd, BS, mmap.MAP_PRIVATE)
		try:
			m[0:4] = b'PRIV'
			assert m[0:4] == b'PRIV'
		finally:
			m.close()
	finally:
		os.close(fd)
	assert read_file(p) == b'A' * BS


def test_mmap_partial_last_page_zero_beyond_eof(fsroot):
	p = fsroot / 'f'
	write_file(p, b'x' * 100)
	fd = os.open(p, os.O_RDWR)
	try:
		m = mmap.mmap(fd, 100, mmap.MAP_SHARED)
		try:
			assert m[:] == b'x' * 100
			m[99:100] = b'y'
			m.flush()
		finally:
			m.close()
		# stores beyond EOF in the last page never reach the file
		assert os.fstat(fd).st_size == 100
		assert os.pread(fd, 200, 0) == b'x' * 99 + b'y'
	finally:
		os.close(fd)


def test_mmap_two_mappings_are_coherent(fsroot):
	p = fsroot / 'f'
	write_file(p, bytes(BS))
	fd1 = os.open(p, os.O_RDWR)
	fd2 = os.open(p, os.O_RDWR)
	try:
		m1 = mmap.mmap(fd1, BS, mmap.MAP_SHARED)
		m2 = mmap.mmap(fd2, BS, mmap.MAP_SHARED)
		m1[10:13] = b'one'
		assert m2[10:13] == b'one'
		m1.close()
		m2.close()
	finally:
		os.close(fd1)
		os.close(fd2)


def test_mmap_after_truncate_extend(fsroot):
	p = fsroot / 'f'
	write_file(p, b'abc')
	fd = os.open(p, os.O_RDWR)
	try:
		os.ftruncate(fd, 3 * BS)
		m = mmap.mmap(fd, 3 * BS, mmap.MAP_SHARED)
		try:
			assert m[:3] == b'abc'
			assert m[3:3 * BS] == bytes(3 * BS - 3)
			m[2 * BS:2 * BS + 3] = b'end'
			m.flush()
		finally:
			m.close()
	finally:
		os.close(fd)
	assert read_file(p) == b'abc' + bytes(2 * BS - 3) + b'end' + \
		bytes(BS - 3)


# -- fsync / fdatasync --------------------------------------------------------------

def test_fsync_and_fdatasync_on_file(fsroot):
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		pwrite_all(fd, fill(3 * BS + 17), 0)
		os.fsync(fd)
		os.pwrite(fd, b'more', 10 * BS)
		os.fdatasync(fd)
		assert os.fstat(fd).st_size == 10 * BS + 4
	finally:
		os.close(fd)
	# on a read-only descriptor too
	fd = os.open(p, os.O_RDONLY)
	try:
		os.fsync(fd)
		os.fdatasync(fd)
	finally:
		os.close(fd)
	assert read_file(p)[:3 * BS + 17] == fill(3 * BS + 17)


def test_fsync_and_fdatasync_on_directory(fsroot):
	os.mkdir(fsroot / 'd')
	write_file(fsroot / 'd' / 'f', b'x')
	fd = os.open(fsroot / 'd', os.O_RDONLY | os.O_DIRECTORY)
	try:
		os.fsync(fd)
		os.fdatasync(fd)
	finally:
		os.close(fd)
	fd = os.open(fsroot, os.O_RDONLY | os.O_DIRECTORY)
	try:
		os.fsync(fd)
	finally:
		os.close(fd)


def test_fsync_after_unlink_of_open_file(fsroot):
	p = fsroot / 'f'
	fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
	try:
		os.write(fd, b'abc')
		os.unlink(p)
		os.fsync(fd)
		os.fdatasync(fd)
		assert os.pread(fd, 3, 0) == b'abc'
	finally:
		os.close(fd)


def test_sync_and_syncfs(fsroot):
	write_file(fsroot / 'f', b'x')
	os.sync()
	assert read_file(fsroot / 'f') == b'x'
