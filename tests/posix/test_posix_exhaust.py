# twinfs tests/posix: running out of things.  The inode table full (every
# kind of create fails with ENOSPC while blocks are still free, the rest
# keeps working), trees deeper than PATH_MAX (ENAMETOOLONG from the path,
# never from the filesystem; thousands of levels), and a directory's link
# count at its limit (EMLINK for mkdir and for a rename that would move a
# directory in).  Running out of blocks is test_posix_statfs.py's.  After
# each test a twinfs image must be fsck.twinfs -n clean (the fixtures'
# teardown; on the kernel mount, tests/kmod checks the image after the
# suite).
# Layer: POSIX test suite; system calls only.  The tests that need a
# filesystem of their own use make_fs (tmpfs, twinfs-fuse, and the kernel
# module in the guest with TWINFS_POSIX_MKFS=kernel).
import errno
import os
import stat

import pytest

from posixfs import raises_errno, read_file, write_file

MiB = 1 << 20
PATH_MAX = 4096		# Linux's, with the terminating NUL


def _free_bytes(path):
	st = os.statvfs(path)
	return st.f_bavail * st.f_frsize


def test_inode_table_full_every_create_is_enospc(make_fs):
	fs = make_fs('16M', inodes=64)
	root = fs.path
	write_file(root / 'keep', b'k')
	made = 0
	for i in range(10000):
		try:
			write_file(root / ('f%d' % i), b'')
		except OSError as e:
			assert e.errno == errno.ENOSPC, e
			break
		made += 1
	else:
		pytest.fail('created 10000 files on a 64-inode filesystem')
	assert made >= 30
	assert os.statvfs(root).f_ffree == 0
	# blocks are not the problem
	assert _free_bytes(root) >= 8 * MiB
	raises_errno(errno.ENOSPC, os.mkdir, root / 'dir')
	raises_errno(errno.ENOSPC, os.symlink, 'short', root / 'sym')
	raises_errno(errno.ENOSPC, os.symlink, 'long/' * 600, root / 'lsym')
	raises_errno(errno.ENOSPC, os.mkfifo, root / 'fifo')
	raises_errno(errno.ENOSPC, os.mknod, root / 'chr',
		     stat.S_IFCHR | 0o600, os.makedev(1, 3))
	raises_errno(errno.ENOSPC, os.open, root / 'new',
		     os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
	assert not any(n in os.listdir(root) for n in
		       ('dir', 'sym', 'lsym', 'fifo', 'chr', 'new'))
	# what needs no inode still works: data, hard links, renames
	data = os.urandom(2 * MiB)
	write_file(root / 'keep', data)
	if fs.kind == 'tmpfs':
		# (tmpfs counts a hard link's dentry against nr_inodes)
		raises_errno(errno.ENOSPC, os.link, root / 'keep',
			     root / 'keep-link')
		os.rename(root / 'keep', root / 'keep-moved')
		os.rename(root / 'keep-moved', root / 'keep')
	else:
		os.link(root / 'keep', root / 'keep-link')
		os.rename(root / 'keep-link', root / 'keep-moved')
		assert os.stat(root / 'keep').st_nlink == 2
		assert read_file(root / 'keep-moved') == data
	assert read_file(root / 'keep') == data
	# and one inode back is one create again, of any kind
	os.unlink(root / 'f0')
	os.mkdir(root / 'dir')
	raises_errno(errno.ENOSPC, os.symlink, 'short', root / 'sym')
	os.unlink(root / 'f1')
	os.symlink('long/' * 600, root / 'lsym')
	assert os.readlink(root / 'lsym') == 'long/' * 600
	os.unlink(root / 'f2')
	write_file(root / 'dir' / 'inside', b'works')
	assert read_file(root / 'dir' / 'inside') == b'works'
	assert os.statvfs(root).f_ffree == 0


def _open_dir(name, dir_fd):
	return os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)


def test_tree_deeper_than_path_max(fsroot):
	"""mkdir by absolute path goes on until the path reaches PATH_MAX
	(ENAMETOOLONG: the VFS's limit, not the filesystem's); relative to a
	directory descriptor the tree goes deeper, and it all works there."""
	name = 'n' * 255
	path = str(fsroot)
	depth = 0
	while True:
		nxt = path + '/' + name
		try:
			os.mkdir(nxt)
		except OSError as e:
			assert e.errno == errno.ENAMETOOLONG, e
			assert len(nxt.encode()) >= PATH_MAX
			break
		assert len(nxt.encode()) < PATH_MAX
		path = nxt
		depth += 1
	assert depth >= 10
	# deeper, by descriptors
	fds = [_open_dir(path, None)]
	try:
		for _ in range(6):
			os.mkdir(name, dir_fd=fds[-1])
			fds.append(_open_dir(name, fds[-1]))
		deep = path + ('/' + name) * 6
		raises_errno(errno.ENAMETOOLONG, os.stat, deep)
		raises_errno(errno.ENAMETOOLONG, os.open, deep + '/f',
			     os.O_CREAT | os.O_WRONLY, 0o644)
		fd = os.open('f', os.O_CREAT | os.O_WRONLY, 0o644,
			     dir_fd=fds[-1])
		os.write(fd, b'at the bottom')
		os.fsync(fd)
		os.close(fd)
		fd = os.open('f', os.O_RDONLY, dir_fd=fds[-1])
		assert os.read(fd, 100) == b'at the bottom'
		os.close(fd)
		# the top may not move into its own subtree, however deep
		top = os.open(fsroot, os.O_RDONLY | os.O_DIRECTORY)
		try:
			raises_errno(errno.EINVAL, os.rename, name, 'loop',
				     src_dir_fd=top, dst_dir_fd=fds[-1])
		finally:
			os.close(top)
		# take it down from the bottom
		os.unlink('f', dir_fd=fds[-1])
		for i in range(len(fds) - 1, 0, -1):
			os.close(fds[i])
			fds.pop()
			os.rmdir(name, dir_fd=fds[-1])
	finally:
		for fd in fds:
			os.close(fd)
	while path != str(fsroot):
		os.rmdir(path)
		path = os.path.dirname(path)
	assert os.listdir(fsroot) == []


DEEP = 2100	# levels of one-byte names: a path of 4200 bytes


def test_two_thousand_levels(fsroot):
	"""A chain of 2100 directories (by descriptors: its path is longer
	than PATH_MAX): the deepest one moves to the top and back, the top
	cannot move into the bottom, and the chain comes down again."""
	top = os.open(fsroot, os.O_RDONLY | os.O_DIRECTORY)
	fd = top
	try:
		os.mkdir('d', dir_fd=top)
		fd = _open_dir('d', top)
		for _ in range(DEEP - 1):
			os.mkdir('d', dir_fd=fd)
			nfd = _open_dir('d', fd)
			os.close(fd)
			fd = nfd
		write_file('/proc/self/fd/%d/leaf' % fd, b'deep')
		raises_errno(errno.EINVAL, os.rename, 'd', 'x', src_dir_fd=top,
			     dst_dir_fd=fd)
		# the deepest directory, moved to the top: its .. follows
		os.mkdir('bottom', dir_fd=fd)
		os.rename('bottom', 'up', src_dir_fd=fd, dst_dir_fd=top)
		assert os.stat('/proc/self/fd/%d/up/..' % top).st_ino == \
			os.fstat(top).st_ino
		os.rename('up', 'bottom', src_dir_fd=top, dst_dir_fd=fd)
		assert os.stat('/proc/self/fd/%d/bottom/..' % fd).st_ino == \
			os.fstat(fd).st_ino
		os.rmdir('bottom', dir_fd=fd)
		assert read_file('/proc/self/fd/%d/leaf' % fd) == b'deep'
		os.unlink('leaf', dir_fd=fd)
		# down again, from the bottom up through '..'
		rmchain_up(fd, top, 'd')
		fd = top
	finally:
		if fd != top:
			os.close(fd)
		os.close(top)
	assert os.listdir(fsroot) == []


def rmchain_up(fd, top, name):
	"""fd is the bottom of a chain top/name/name/...: remove the chain
	upwards through '..', holding two descriptors at a time (any depth,
	no paths).  Closes fd."""
	top_ino = os.fstat(top).st_ino
	while True:
		parent = _open_dir('..', fd)
		os.close(fd)
		os.rmdir(name, dir_fd=parent)
		if os.fstat(parent).st_ino == top_ino:
			os.close(parent)
			return
		fd = parent


LINK_MAX = 65000	# twinfs's TW_LINK_MAX: 64998 subdirectories


@pytest.mark.slow
def test_subdirectory_link_max_is_emlink(make_fs, record):
	"""A directory with TW_LINK_MAX - 2 subdirectories: mkdir and a
	rename that would move one more directory in are EMLINK; moving one
	out makes room again."""
	if os.environ.get('TWINFS_POSIX_MKFS') == 'kernel':
		pytest.skip('the kernel module: tests/kmod/test_exhaust.py, on '
			    'an image made on the host (65000 mkdirs under '
			    'emulation take a minute)')
	fs = make_fs('400M', inodes=66000, journal=1024)
	if fs.kind == 'tmpfs':
		pytest.skip('tmpfs has no link limit')
	root = fs.path
	full = root / 'full'
	os.mkdir(full)
	os.mkdir(root / 'mover')
	fd = os.open(full, os.O_RDONLY | os.O_DIRECTORY)
	try:
		for i in range(LINK_MAX - 2):
			os.mkdir('s%d' % i, dir_fd=fd)
	finally:
		os.close(fd)
	assert os.stat(full).st_nlink == LINK_MAX
	raises_errno(errno.EMLINK, os.mkdir, full / 'one-too-many')
	raises_errno(errno.EMLINK, os.rename, root / 'mover', full / 'mover')
	assert os.path.isdir(root / 'mover')
	assert os.stat(full).st_nlink == LINK_MAX
	os.rename(full / 's0', root / 's0')
	os.rename(root / 'mover', full / 'mover')
	assert os.stat(full).st_nlink == LINK_MAX
