# twinfs tests/posix: every rename case - plain, over files, over empty
# and non-empty directories, type mismatches, into its own subtree, hard
# links of one inode, ".." after a move, and renameat2's RENAME_NOREPLACE,
# RENAME_EXCHANGE and RENAME_WHITEOUT.
# Layer: POSIX test suite; system calls only (renameat2 through ctypes),
# against any mounted directory (see conftest.py).
import errno
import os
import stat

import pytest

from posixfs import (RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
		     fs_type, is_twinfs_fuse,
		     raises_errno, read_file, renameat2, write_file)


def test_rename_file_same_dir(fsroot):
	write_file(fsroot / 'a', b'A')
	ino = os.stat(fsroot / 'a').st_ino
	os.rename(fsroot / 'a', fsroot / 'b')
	assert os.listdir(fsroot) == ['b']
	assert read_file(fsroot / 'b') == b'A'
	assert os.stat(fsroot / 'b').st_ino == ino


def test_rename_file_across_dirs(fsroot):
	os.mkdir(fsroot / 'x')
	os.mkdir(fsroot / 'y')
	write_file(fsroot / 'x' / 'f', b'F')
	os.rename(fsroot / 'x' / 'f', fsroot / 'y' / 'g')
	assert os.listdir(fsroot / 'x') == []
	assert os.listdir(fsroot / 'y') == ['g']
	assert read_file(fsroot / 'y' / 'g') == b'F'
	assert os.stat(fsroot / 'x').st_nlink == 2
	assert os.stat(fsroot / 'y').st_nlink == 2


def test_rename_over_existing_file_replaces_it(fsroot):
	write_file(fsroot / 'a', b'new')
	write_file(fsroot / 'b', b'old')
	ino_a = os.stat(fsroot / 'a').st_ino
	fd = os.open(fsroot / 'b', os.O_RDONLY)	# the old one stays readable
	try:
		os.rename(fsroot / 'a', fsroot / 'b')
		assert os.listdir(fsroot) == ['b']
		assert read_file(fsroot / 'b') == b'new'
		assert os.stat(fsroot / 'b').st_ino == ino_a
		assert os.pread(fd, 10, 0) == b'old'
		assert os.fstat(fd).st_nlink == 0
	finally:
		os.close(fd)


def test_rename_over_file_with_other_links_keeps_them(fsroot):
	write_file(fsroot / 'a', b'A')
	write_file(fsroot / 'b', b'B')
	os.link(fsroot / 'b', fsroot / 'b2')
	os.rename(fsroot / 'a', fsroot / 'b')
	assert read_file(fsroot / 'b2') == b'B'
	assert os.stat(fsroot / 'b2').st_nlink == 1


def test_rename_dir_over_empty_dir(fsroot):
	os.makedirs(fsroot / 'src' / 'child')
	os.mkdir(fsroot / 'dst')
	os.mkdir(fsroot / 'p')
	os.rename(fsroot / 'src', fsroot / 'dst')
	assert sorted(os.listdir(fsroot)) == ['dst', 'p']
	assert os.listdir(fsroot / 'dst') == ['child']
	assert os.stat(fsroot).st_nlink == 4


def test_rename_dir_over_nonempty_dir_is_enotempty(fsroot):
	os.mkdir(fsroot / 'src')
	os.makedirs(fsroot / 'dst' / 'x')
	raises_errno(errno.ENOTEMPTY, os.rename, fsroot / 'src', fsroot / 'dst')
	write_file(fsroot / 'dst2', b'')
	os.mkdir(fsroot / 'd3')
	write_file(fsroot / 'd3' / 'f', b'')
	raises_errno(errno.ENOTEMPTY, os.rename, fsroot / 'src', fsroot / 'd3')
	assert os.path.isdir(fsroot / 'src')
	assert os.listdir(fsroot / 'dst') == ['x']


def test_rename_file_over_dir_is_eisdir(fsroot):
	write_file(fsroot / 'f', b'')
	os.mkdir(fsroot / 'd')
	raises_errno(errno.EISDIR, os.rename, fsroot / 'f', fsroot / 'd')
	assert os.path.isfile(fsroot / 'f') and os.path.isdir(fsroot / 'd')


def test_rename_dir_over_file_is_enotdir(fsroot):
	write_file(fsroot / 'f', b'')
	os.mkdir(fsroot / 'd')
	raises_errno(errno.ENOTDIR, os.rename, fsroot / 'd', fsroot / 'f')
	assert os.path.isfile(fsroot / 'f') and os.path.isdir(fsroot / 'd')


def test_rename_dir_into_its_own_subtree_is_einval(fsroot):
	os.makedirs(fsroot / 'a' / 'b' / 'c')
	raises_errno(errno.EINVAL, os.rename, fsroot / 'a',
		     fsroot / 'a' / 'b' / 'c' / 'a')
	raises_errno(errno.EINVAL, os.rename, fsroot / 'a', fsroot / 'a' / 'x')
	# onto its own (non-empty) ancestor: ENOTEMPTY (or EINVAL)
	raises_errno((errno.ENOTEMPTY, errno.EINVAL), os.rename,
		     fsroot / 'a' / 'b' / 'c', fsroot / 'a')
	assert os.path.isdir(fsroot / 'a' / 'b' / 'c')


def test_rename_hard_links_of_same_inode_is_a_noop(fsroot):
	write_file(fsroot / 'a', b'x')
	os.link(fsroot / 'a', fsroot / 'b')
	os.rename(fsroot / 'a', fsroot / 'b')
	assert sorted(os.listdir(fsroot)) == ['a', 'b']
	assert os.stat(fsroot / 'a').st_nlink == 2


def test_rename_to_itself_is_a_noop(fsroot):
	write_file(fsroot / 'a', b'x')
	os.mkdir(fsroot / 'd')
	os.rename(fsroot / 'a', fsroot / 'a')
	os.rename(fsroot / 'd', fsroot / 'd')
	assert sorted(os.listdir(fsroot)) == ['a', 'd']
	assert read_file(fsroot / 'a') == b'x'


def test_dotdot_follows_a_moved_directory(fsroot):
	os.makedirs(fsroot / 'a' / 'sub' / 'deeper')
	os.mkdir(fsroot / 'b')
	os.rename(fsroot / 'a' / 'sub', fsroot / 'b' / 'sub')
	b = os.stat(fsroot / 'b')
	assert os.stat(fsroot / 'b' / 'sub' / '..').st_ino == b.st_ino
	assert os.stat(fsroot / 'b' / 'sub' / 'deeper' / '..').st_ino == \
		os.stat(fsroot / 'b' / 'sub').st_ino
	assert os.stat(fsroot / 'a').st_nlink == 2
	assert b.st_nlink == 3
	# a relative walk up from the moved directory lands in its new parent
	fd = os.open(fsroot / 'b' / 'sub', os.O_RDONLY | os.O_DIRECTORY)
	try:
		assert os.stat('..', dir_fd=fd).st_ino == b.st_ino
	finally:
		os.close(fd)
	# and the moved directory can be removed from its new place
	os.rmdir(fsroot / 'b' / 'sub' / 'deeper')
	os.rmdir(fsroot / 'b' / 'sub')
	assert os.stat(fsroot / 'b').st_nlink == 2


def test_rename_dir_over_empty_dir_in_other_parent_fixes_nlinks(fsroot):
	os.makedirs(fsroot / 'p1' / 'd')
	os.makedirs(fsroot / 'p2' / 'e')
	os.rename(fsroot / 'p1' / 'd', fsroot / 'p2' / 'e')
	assert os.stat(fsroot / 'p1').st_nlink == 2
	assert os.stat(fsroot / 'p2').st_nlink == 3
	assert os.stat(fsroot / 'p2' / 'e' / '..').st_ino == \
		os.stat(fsroot / 'p2').st_ino


def test_rename_errors(fsroot):
	write_file(fsroot / 'f', b'')
	raises_errno(errno.ENOENT, os.rename, fsroot / 'missing', fsroot / 'x')
	raises_errno(errno.ENOENT, os.rename, fsroot / 'f',
		     fsroot / 'nodir' / 'x')
	raises_errno(errno.ENOTDIR, os.rename, fsroot / 'f',
		     fsroot / 'f' / 'x')
	dot = os.path.join(fsroot, '.')		# (pathlib drops a '.')
	raises_errno((errno.EBUSY, errno.EINVAL), os.rename, dot, fsroot / 'x')
	raises_errno((errno.EBUSY, errno.EINVAL, errno.ENOTEMPTY), os.rename,
		     fsroot / 'f', dot)
	os.mkdir(fsroot / 'd')
	raises_errno(errno.ENOTDIR, os.rename, fsroot / 'd',
		     str(fsroot / 'f') + '/')


def test_rename_symlink_moves_the_link_not_the_target(fsroot):
	write_file(fsroot / 't', b'T')
	os.symlink('t', fsroot / 'l')
	os.rename(fsroot / 'l', fsroot / 'm')
	assert os.readlink(fsroot / 'm') == 't'
	assert read_file(fsroot / 't') == b'T'
	assert sorted(os.listdir(fsroot)) == ['m', 't']


def test_rename_many_between_two_dirs_keeps_all(fsroot):
	os.mkdir(fsroot / 'x')
	os.mkdir(fsroot / 'y')
	for i in range(500):
		write_file(fsroot / 'x' / ('f%d' % i), b'%d' % i)
	for i in range(500):
		os.rename(fsroot / 'x' / ('f%d' % i), fsroot / 'y' / ('g%d' % i))
	assert os.listdir(fsroot / 'x') == []
	assert sorted(os.listdir(fsroot / 'y')) == \
		sorted('g%d' % i for i in range(500))
	for i in range(0, 500, 37):
		assert read_file(fsroot / 'y' / ('g%d' % i)) == b'%d' % i


# -- renameat2 ---------------------------------------------------------------------

def test_renameat2_noreplace_refuses_existing(fsroot):
	write_file(fsroot / 'a', b'A')
	write_file(fsroot / 'b', b'B')
	raises_errno(errno.EEXIST, renameat2, fsroot / 'a', fsroot / 'b',
		     RENAME_NOREPLACE)
	assert read_file(fsroot / 'a') == b'A'
	assert read_file(fsroot / 'b') == b'B'
	os.mkdir(fsroot / 'd')
	raises_errno(errno.EEXIST, renameat2, fsroot / 'a', fsroot / 'd',
		     RENAME_NOREPLACE)
	os.symlink('dangling', fsroot / 'l')
	raises_errno(errno.EEXIST, renameat2, fsroot / 'a', fsroot / 'l',
		     RENAME_NOREPLACE)


def test_renameat2_noreplace_renames_to_new_name(fsroot):
	write_file(fsroot / 'a', b'A')
	renameat2(fsroot / 'a', fsroot / 'c', RENAME_NOREPLACE)
	assert os.listdir(fsroot) == ['c']
	assert read_file(fsroot / 'c') == b'A'


def test_renameat2_exchange_files(fsroot):
	write_file(fsroot / 'a', b'A')
	write_file(fsroot / 'b', b'BB')
	ia, ib = os.stat(fsroot / 'a').st_ino, os.stat(fsroot / 'b').st_ino
	renameat2(fsroot / 'a', fsroot / 'b', RENAME_EXCHANGE)
	assert read_file(fsroot / 'a') == b'BB'
	assert read_file(fsroot / 'b') == b'A'
	assert os.stat(fsroot / 'a').st_ino == ib
	assert os.stat(fsroot / 'b').st_ino == ia


def test_renameat2_exchange_file_and_dir_across_parents(fsroot):
	os.makedirs(fsroot / 'p1' / 'd' / 'inner')
	os.mkdir(fsroot / 'p2')
	write_file(fsroot / 'p2' / 'f', b'F')
	renameat2(fsroot / 'p1' / 'd', fsroot / 'p2' / 'f', RENAME_EXCHANGE)
	assert stat.S_ISREG(os.stat(fsroot / 'p1' / 'd').st_mode)
	assert read_file(fsroot / 'p1' / 'd') == b'F'
	assert os.path.isdir(fsroot / 'p2' / 'f' / 'inner')
	# the directory moved from p1 to p2: link counts and ".." follow
	assert os.stat(fsroot / 'p1').st_nlink == 2
	assert os.stat(fsroot / 'p2').st_nlink == 3
	assert os.stat(fsroot / 'p2' / 'f' / '..').st_ino == \
		os.stat(fsroot / 'p2').st_ino


def test_renameat2_exchange_two_dirs(fsroot):
	os.makedirs(fsroot / 'a' / 'x')
	os.makedirs(fsroot / 'b' / 'y' / 'z')
	renameat2(fsroot / 'a', fsroot / 'b', RENAME_EXCHANGE)
	assert os.listdir(fsroot / 'a') == ['y']
	assert os.listdir(fsroot / 'b') == ['x']
	assert os.stat(fsroot / 'a').st_nlink == 3


def test_renameat2_exchange_errors(fsroot):
	write_file(fsroot / 'a', b'A')
	os.makedirs(fsroot / 'd' / 'sub')
	raises_errno(errno.ENOENT, renameat2, fsroot / 'a', fsroot / 'missing',
		     RENAME_EXCHANGE)
	raises_errno(errno.ENOENT, renameat2, fsroot / 'missing', fsroot / 'a',
		     RENAME_EXCHANGE)
	raises_errno(errno.EINVAL, renameat2, fsroot / 'a', fsroot / 'd',
		     RENAME_EXCHANGE | RENAME_NOREPLACE)
	# a directory with its own descendant
	raises_errno(errno.EINVAL, renameat2, fsroot / 'd',
		     fsroot / 'd' / 'sub', RENAME_EXCHANGE)
	assert read_file(fsroot / 'a') == b'A'
	assert os.listdir(fsroot / 'd') == ['sub']


def test_renameat2_unknown_flags_are_einval(fsroot):
	write_file(fsroot / 'a', b'A')
	raises_errno(errno.EINVAL, renameat2, fsroot / 'a', fsroot / 'b',
		     1 << 10)
	assert os.listdir(fsroot) == ['a']


def test_renameat2_whiteout_is_refused_or_done_right(fsroot):
	"""RENAME_WHITEOUT is for overlayfs; a filesystem may refuse it
	(EINVAL) but must then leave everything as it was.  Needs root."""
	if os.geteuid() != 0:
		pytest.skip('RENAME_WHITEOUT needs CAP_MKNOD')
	write_file(fsroot / 'a', b'A')
	try:
		renameat2(fsroot / 'a', fsroot / 'b', RENAME_WHITEOUT)
	except OSError as e:
		assert e.errno == errno.EINVAL
		assert os.listdir(fsroot) == ['a']
		return
	st = os.lstat(fsroot / 'a')
	assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
	assert read_file(fsroot / 'b') == b'A'


# -- RENAME_WHITEOUT (overlayfs): the old name becomes a char device 0/0 --

def _whiteout_expected(fs):
	"""tmpfs and both twinfs homes must do RENAME_WHITEOUT; elsewhere a
	refusal (EINVAL) skips."""
	t = fs_type(fs.root)
	return fs.is_twinfs or t in ('tmpfs', 'twinfs') or \
		is_twinfs_fuse(fs.root)


def _whiteout(fs, old, new, flags=0):
	if os.geteuid() != 0:
		pytest.skip('RENAME_WHITEOUT needs CAP_MKNOD')
	try:
		renameat2(old, new, RENAME_WHITEOUT | flags)
	except OSError as e:
		if e.errno == errno.EINVAL and not _whiteout_expected(fs):
			pytest.skip('no RENAME_WHITEOUT on %s' % fs_type(fs.root))
		raise


def _assert_whiteout(path):
	st = os.lstat(path)
	assert stat.S_ISCHR(st.st_mode), oct(st.st_mode)
	assert st.st_rdev == 0
	assert stat.S_IMODE(st.st_mode) == 0
	assert st.st_nlink == 1
	assert st.st_uid == os.geteuid()


def test_whiteout_to_new_name(fs, fsroot):
	write_file(fsroot / 'a', b'A')
	ino = os.stat(fsroot / 'a').st_ino
	_whiteout(fs, fsroot / 'a', fsroot / 'b')
	assert sorted(os.listdir(fsroot)) == ['a', 'b']
	_assert_whiteout(fsroot / 'a')
	assert os.lstat(fsroot / 'a').st_ino != ino
	assert os.stat(fsroot / 'b').st_ino == ino
	assert read_file(fsroot / 'b') == b'A'
	kinds = {e.name: e.is_file() for e in os.scandir(fsroot)}
	assert kinds == {'a': False, 'b': True}
	if fs.can_remount:
		fs.remount()
		_assert_whiteout(fsroot / 'a')
		assert read_file(fsroot / 'b') == b'A'


def test_whiteout_over_existing_file(fs, fsroot):
	write_file(fsroot / 'a', b'A')
	write_file(fsroot / 'b', b'old')
	fd = os.open(fsroot / 'b', os.O_RDONLY)
	try:
		_whiteout(fs, fsroot / 'a', fsroot / 'b')
		assert os.fstat(fd).st_nlink == 0
		assert os.read(fd, 10) == b'old'
	finally:
		os.close(fd)
	_assert_whiteout(fsroot / 'a')
	assert read_file(fsroot / 'b') == b'A'


def test_whiteout_noreplace_and_exchange(fs, fsroot):
	write_file(fsroot / 'a', b'A')
	write_file(fsroot / 'b', b'B')
	try:
		renameat2(fsroot / 'a', fsroot / 'b',
			  RENAME_WHITEOUT | RENAME_NOREPLACE)
	except OSError as e:
		if e.errno == errno.EINVAL and not _whiteout_expected(fs):
			pytest.skip('no RENAME_WHITEOUT here')
		assert e.errno == errno.EEXIST
	else:
		pytest.fail('RENAME_NOREPLACE over an existing name succeeded')
	raises_errno(errno.EINVAL, renameat2, fsroot / 'a', fsroot / 'b',
		     RENAME_WHITEOUT | RENAME_EXCHANGE)
	assert read_file(fsroot / 'a') == b'A'
	assert read_file(fsroot / 'b') == b'B'
	_whiteout(fs, fsroot / 'a', fsroot / 'c', RENAME_NOREPLACE)
	_assert_whiteout(fsroot / 'a')
	assert read_file(fsroot / 'c') == b'A'


def test_whiteout_directory_across_parents(fs, fsroot):
	os.makedirs(fsroot / 'p' / 'd' / 'sub')
	os.mkdir(fsroot / 'q')
	write_file(fsroot / 'p' / 'd' / 'f', b'F')
	p_links = os.stat(fsroot / 'p').st_nlink
	q_links = os.stat(fsroot / 'q').st_nlink
	_whiteout(fs, fsroot / 'p' / 'd', fsroot / 'q' / 'd')
	_assert_whiteout(fsroot / 'p' / 'd')
	assert os.stat(fsroot / 'p').st_nlink == p_links - 1
	assert os.stat(fsroot / 'q').st_nlink == q_links + 1
	assert read_file(fsroot / 'q' / 'd' / 'f') == b'F'
	assert os.stat(fsroot / 'q' / 'd' / '..').st_ino == \
		os.stat(fsroot / 'q').st_ino
	# a whiteout is an ordinary node: it can be replaced and removed
	raises_errno(errno.ENOTDIR, os.rename, fsroot / 'q' / 'd',
		     fsroot / 'p' / 'd')
	os.rename(fsroot / 'q' / 'd' / 'f', fsroot / 'p' / 'd')
	assert read_file(fsroot / 'p' / 'd') == b'F'
	os.unlink(fsroot / 'p' / 'd')
	assert os.listdir(fsroot / 'p') == []
