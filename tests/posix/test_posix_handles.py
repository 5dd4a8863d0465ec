# twinfs tests/posix: file handles, name_to_handle_at(2) and
# open_by_handle_at(2), the interface an NFS server (and fanotify, backup
# and dedup tools) uses to name a file without a path.
#
#   - A handle still opens its file, with the same data, after the kernel
#     dropped its dentries and inodes (the filesystem must find the inode
#     from the handle alone) and after an unmount and a new mount.
#   - A directory opened by handle is connected to the tree: its path is
#     right (the kernel asked the filesystem for its parent, "..", and for
#     its name), openat() of a child and of ".." works.
#   - A handle of a removed file is stale (ESTALE) whether the kernel still
#     caches anything or not, also once a new file took the inode's slot:
#     never the new file's data.  Forged handles (another generation, an
#     inode number 0 or out of range) are stale too.
#
# Layer: POSIX test suite; system calls only (name_to_handle_at and
# open_by_handle_at through ctypes, drop_caches).  Needs root
# (CAP_DAC_READ_SEARCH, /proc/sys/vm/drop_caches).  Runs on tmpfs (the
# reference), twinfs-fuse and the kernel module in the guest.
import errno
import os

import pytest

from posixfs import (drop_caches, fill, mount_entry, name_to_handle,
		     open_by_handle, raises_errno, read_file, write_file)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
				reason='open_by_handle_at and drop_caches '
				'need root')


def read_fd(fd):
	"""Read fd to its end from offset 0 and close it."""
	out = bytearray()
	try:
		while True:
			b = os.pread(fd, 1 << 20, len(out))
			if not b:
				return bytes(out)
			out += b
	finally:
		os.close(fd)


def fd_path(fd):
	return os.readlink('/proc/self/fd/%d' % fd)


def make_tree(root):
	"""f (300 kB), d/child, d/sub/deep; returns the data of f."""
	data = fill(300000, seed=15)
	write_file(root / 'f', data)
	os.mkdir(root / 'd')
	os.mkdir(root / 'd' / 'sub')
	write_file(root / 'd' / 'child', b'child\n')
	write_file(root / 'd' / 'sub' / 'deep', b'deep\n')
	return data


def check_tree(mnt, root, handles, data):
	"""Open each of make_tree's files and directories by its handle
	(caches dropped before each) and check what they hold."""
	drop_caches()
	fd = open_by_handle(mnt, handles['f'])
	assert os.fstat(fd).st_ino == os.stat(root / 'f').st_ino
	assert read_fd(fd) == data

	drop_caches()
	fd = open_by_handle(mnt, handles['d'], os.O_RDONLY | os.O_DIRECTORY)
	try:
		# connected: the kernel asked for the parent and the name
		assert fd_path(fd) == os.path.realpath(root / 'd')
		assert sorted(os.listdir(fd)) == ['child', 'sub']
		assert read_fd(os.open('child', os.O_RDONLY, dir_fd=fd)) == \
			b'child\n'
	finally:
		os.close(fd)

	drop_caches()
	fd = open_by_handle(mnt, handles['sub'], os.O_RDONLY | os.O_DIRECTORY)
	try:
		assert fd_path(fd) == os.path.realpath(root / 'd' / 'sub')
		up = os.open('..', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
		try:
			assert os.fstat(up).st_ino == os.stat(root / 'd').st_ino
		finally:
			os.close(up)
		assert read_fd(os.open('deep', os.O_RDONLY, dir_fd=fd)) == \
			b'deep\n'
	finally:
		os.close(fd)


def handles_of(root):
	return {'f': name_to_handle(root / 'f'),
		'd': name_to_handle(root / 'd'),
		'sub': name_to_handle(root / 'd' / 'sub')}


def test_handles_survive_dropped_caches(fs):
	root = fs.path
	data = make_tree(root)
	handles = handles_of(root)
	check_tree(fs.root, root, handles, data)

	# a write through a handle is the file's, seen by name
	drop_caches()
	fd = open_by_handle(fs.root, handles['f'], os.O_RDWR)
	try:
		assert os.pwrite(fd, b'HANDLE', 4096) == 6
		os.fsync(fd)
	finally:
		os.close(fd)
	drop_caches()
	assert read_file(root / 'f') == data[:4096] + b'HANDLE' + data[4102:]
	# the same file gives the same handle
	assert name_to_handle(root / 'f').data == handles['f'].data


def test_handles_survive_a_remount(make_fs):
	h = make_fs('64M')
	root = h.path
	data = make_tree(root)
	handles = handles_of(root)
	write_file(root / 'gone', b'gone\n')
	gone = name_to_handle(root / 'gone')
	os.unlink(root / 'gone')
	h.remount()		# skips where the suite cannot remount (tmpfs)
	check_tree(h.root, root, handles, data)
	raises_errno(errno.ESTALE, open_by_handle, h.root, gone)


def test_handle_of_a_removed_file_is_stale(make_fs):
	# few inodes, so that new files soon take the removed file's slot
	h = make_fs('16M', inodes=64)
	root = h.path
	write_file(root / 'victim', b'the old file\n')
	ino = os.stat(root / 'victim').st_ino
	victim = name_to_handle(root / 'victim')
	assert read_fd(open_by_handle(h.root, victim)) == b'the old file\n'
	os.unlink(root / 'victim')
	raises_errno(errno.ESTALE, open_by_handle, h.root, victim)
	drop_caches()
	raises_errno(errno.ESTALE, open_by_handle, h.root, victim)

	os.statvfs(root)	# (twinfs-fuse: waits for the inode's FORGET)
	reused = None
	for i in range(200):
		p = root / ('new%d' % i)
		try:
			write_file(p, b'new file %d\n' % i)
		except OSError as e:
			assert e.errno == errno.ENOSPC, e
			break
		if os.stat(p).st_ino == ino:
			reused = p
			break
	if mount_entry(root)[1] in ('twinfs', 'fuse.twinfs'):
		# twinfs allocates round the table: the slot comes back
		assert reused, 'inode %d was not reused' % ino
	for drop in (False, True):
		if drop:
			drop_caches()
		raises_errno(errno.ESTALE, open_by_handle, h.root, victim)
	if reused:
		new = name_to_handle(reused)
		assert new.data != victim.data
		drop_caches()
		assert read_fd(open_by_handle(h.root, new)) == \
			read_file(reused)


# (fstype, handle type, bytes): which 32-bit words hold the inode number
# (low, high or None) and the generation
_LAYOUTS = {
	('tmpfs', 1, 12): (1, 2, 0),		# shmem_encode_fh
	('twinfs', 1, 8): (0, None, 1),		# FILEID_INO32_GEN
	('fuse.twinfs', 0x81, 12): (1, 0, 2),	# fuse_encode_fh: nodeid
}


def forge(handle, layout, ino=None, gen=None):
	lo, hi, g = layout
	w = handle.words()
	if ino is not None:
		w[lo] = ino & 0xffffffff
		if hi is not None:
			w[hi] = ino >> 32
	if gen is not None:
		w[g] = gen & 0xffffffff
	return handle.with_words(w)


def test_forged_handles_are_stale(fs):
	root = fs.path
	write_file(root / 'f', b'data\n')
	h = name_to_handle(root / 'f')
	key = (mount_entry(root)[1], h.type, len(h.data))
	if key not in _LAYOUTS:
		pytest.skip('unknown handle layout %r' % (key,))
	lay = _LAYOUTS[key]
	ino = os.stat(root / 'f').st_ino
	gen = h.words()[lay[2]]
	assert forge(h, lay, ino=ino, gen=gen).data == h.data
	for drop in (False, True):
		if drop:
			drop_caches()
		raises_errno(errno.ESTALE, open_by_handle, fs.root,
			     forge(h, lay, gen=gen + 1))
		for bad in (0, 0xfffffff0):	# no inode, out of range
			raises_errno(errno.ESTALE, open_by_handle, fs.root,
				     forge(h, lay, ino=bad))
		assert read_fd(open_by_handle(fs.root, h)) == b'data\n'
