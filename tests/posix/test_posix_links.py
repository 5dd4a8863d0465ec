# twinfs tests/posix: hard links and link counts, symbolic links (short,
# long up to 4095 bytes, dangling, lstat/readlink, ELOOP, O_NOFOLLOW).
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).
import errno
import os
import stat

import pytest

from posixfs import raises_errno, read_file, write_file


# -- hard links ----------------------------------------------------------------------

def test_hard_link_shares_inode_and_data(fsroot):
	write_file(fsroot / 'a', b'one')
	os.link(fsroot / 'a', fsroot / 'b')
	sa, sb = os.stat(fsroot / 'a'), os.stat(fsroot / 'b')
	assert sa.st_ino == sb.st_ino
	assert sa.st_nlink == sb.st_nlink == 2
	with open(fsroot / 'b', 'r+b') as f:
		f.write(b'two')
	assert read_file(fsroot / 'a') == b'two'


def test_nlink_counts_up_and_down(fsroot):
	write_file(fsroot / 'f', b'x')
	os.mkdir(fsroot / 'd')
	for i in range(20):
		os.link(fsroot / 'f', fsroot / 'd' / ('l%d' % i))
		assert os.stat(fsroot / 'f').st_nlink == 2 + i
	for i in range(20):
		os.unlink(fsroot / 'd' / ('l%d' % i))
		assert os.stat(fsroot / 'f').st_nlink == 20 - i
	os.unlink(fsroot / 'f')
	assert os.listdir(fsroot / 'd') == []


def test_data_survives_until_last_link_goes(fsroot):
	write_file(fsroot / 'a', b'data')
	os.link(fsroot / 'a', fsroot / 'b')
	os.unlink(fsroot / 'a')
	assert read_file(fsroot / 'b') == b'data'
	assert os.stat(fsroot / 'b').st_nlink == 1


def test_hard_link_errors(fsroot):
	write_file(fsroot / 'f', b'')
	os.mkdir(fsroot / 'd')
	raises_errno(errno.EPERM, os.link, fsroot / 'd', fsroot / 'd2')
	raises_errno(errno.EEXIST, os.link, fsroot / 'f', fsroot / 'd')
	raises_errno(errno.EEXIST, os.link, fsroot / 'f', fsroot / 'f')
	raises_errno(errno.ENOENT, os.link, fsroot / 'missing', fsroot / 'x')
	raises_errno(errno.ENOENT, os.link, fsroot / 'f', fsroot / 'no' / 'x')


def test_hard_link_to_symlink_links_the_symlink(fsroot):
	os.symlink('target', fsroot / 'l')
	os.link(fsroot / 'l', fsroot / 'l2', follow_symlinks=False)
	st = os.lstat(fsroot / 'l2')
	assert stat.S_ISLNK(st.st_mode) and st.st_nlink == 2
	assert os.readlink(fsroot / 'l2') == 'target'


def test_link_of_unlinked_open_file_is_enoent(fsroot):
	"""linkat(AT_EMPTY_PATH)/proc tricks aside, a name that is gone
	cannot be linked."""
	write_file(fsroot / 'f', b'')
	os.unlink(fsroot / 'f')
	raises_errno(errno.ENOENT, os.link, fsroot / 'f', fsroot / 'g')


# -- symbolic links ------------------------------------------------------------------

@pytest.mark.parametrize('length', [1, 10, 60, 127, 128, 200, 1000, 4000,
				    4063, 4064, 4095])
def test_symlink_target_lengths(fsroot, length):
	target = ('t' * (length - 1)) + 'z'
	os.symlink(target, fsroot / 'l')
	assert os.readlink(fsroot / 'l') == target
	st = os.lstat(fsroot / 'l')
	assert stat.S_ISLNK(st.st_mode)
	assert st.st_size == length
	assert stat.S_IMODE(st.st_mode) == 0o777


def test_symlink_target_of_4096_is_enametoolong(fsroot):
	raises_errno(errno.ENAMETOOLONG, os.symlink, 'x' * 4096, fsroot / 'l')
	assert os.listdir(fsroot) == []


def test_symlink_follow_and_lstat(fsroot):
	write_file(fsroot / 't', b'target data')
	os.symlink('t', fsroot / 'l')
	assert read_file(fsroot / 'l') == b'target data'
	assert os.stat(fsroot / 'l').st_ino == os.stat(fsroot / 't').st_ino
	assert os.lstat(fsroot / 'l').st_ino != os.stat(fsroot / 't').st_ino
	assert stat.S_ISLNK(os.lstat(fsroot / 'l').st_mode)


def test_symlink_relative_to_its_directory(fsroot):
	os.makedirs(fsroot / 'a' / 'b')
	write_file(fsroot / 'a' / 'f', b'F')
	os.symlink('../f', fsroot / 'a' / 'b' / 'l')
	assert read_file(fsroot / 'a' / 'b' / 'l') == b'F'
	os.symlink('a/b', fsroot / 'dirlink')
	assert os.listdir(fsroot / 'dirlink') == ['l']
	assert read_file(fsroot / 'dirlink' / 'l') == b'F'


def test_dangling_symlink(fsroot):
	os.symlink('nowhere/at/all', fsroot / 'l')
	assert os.readlink(fsroot / 'l') == 'nowhere/at/all'
	raises_errno(errno.ENOENT, os.stat, fsroot / 'l')
	assert stat.S_ISLNK(os.lstat(fsroot / 'l').st_mode)
	assert os.listdir(fsroot) == ['l']
	os.unlink(fsroot / 'l')
	assert os.listdir(fsroot) == []


def test_symlink_to_absolute_path(fsroot):
	write_file(fsroot / 't', b'abs')
	os.symlink(str(fsroot / 't'), fsroot / 'l')
	assert read_file(fsroot / 'l') == b'abs'


def test_symlink_errors(fsroot):
	os.symlink('x', fsroot / 'l')
	write_file(fsroot / 'f', b'')
	raises_errno(errno.EEXIST, os.symlink, 'y', fsroot / 'l')
	raises_errno(errno.EEXIST, os.symlink, 'y', fsroot / 'f')
	raises_errno(errno.ENOENT, os.symlink, '', fsroot / 'e')
	raises_errno(errno.EINVAL, os.readlink, fsroot / 'f')
	raises_errno(errno.ENOENT, os.readlink, fsroot / 'missing')


def test_symlink_loop_is_eloop(fsroot):
	os.symlink('b', fsroot / 'a')
	os.symlink('a', fsroot / 'b')
	raises_errno(errno.ELOOP, os.stat, fsroot / 'a')
	raises_errno(errno.ELOOP, os.open, fsroot / 'a', os.O_RDONLY)
	raises_errno(errno.ELOOP, os.open, fsroot / 'a',
		     os.O_CREAT | os.O_WRONLY, 0o644)
	os.symlink('self', fsroot / 'self')
	raises_errno(errno.ELOOP, os.stat, fsroot / 'self')


def test_symlink_chain_limit_is_eloop(fsroot):
	"""Linux follows at most 40 links in one lookup."""
	write_file(fsroot / 'end', b'E')
	prev = 'end'
	for i in range(45):
		os.symlink(prev, fsroot / ('s%d' % i))
		prev = 's%d' % i
	assert read_file(fsroot / 's30') == b'E'
	raises_errno(errno.ELOOP, os.stat, fsroot / 's44')


def test_o_nofollow_on_symlink_is_eloop(fsroot):
	write_file(fsroot / 't', b'')
	os.symlink('t', fsroot / 'l')
	raises_errno(errno.ELOOP, os.open, fsroot / 'l',
		     os.O_RDONLY | os.O_NOFOLLOW)
	fd = os.open(fsroot / 't', os.O_RDONLY | os.O_NOFOLLOW)
	os.close(fd)


def test_symlink_in_path_to_file_is_enotdir(fsroot):
	write_file(fsroot / 'f', b'')
	os.symlink('f', fsroot / 'l')
	raises_errno(errno.ENOTDIR, os.stat, str(fsroot / 'l') + '/x')


def test_lchown_and_utime_on_symlink_itself(fsroot):
	if os.geteuid() != 0:
		pytest.skip('needs root for chown')
	write_file(fsroot / 't', b'')
	os.symlink('t', fsroot / 'l')
	os.chown(fsroot / 'l', 4321, 8765, follow_symlinks=False)
	assert (os.lstat(fsroot / 'l').st_uid,
		os.lstat(fsroot / 'l').st_gid) == (4321, 8765)
	assert os.stat(fsroot / 't').st_uid == 0
	os.utime(fsroot / 'l', ns=(5_000_000_001, 6_000_000_002),
		 follow_symlinks=False)
	assert os.lstat(fsroot / 'l').st_mtime_ns == 6_000_000_002
	assert os.stat(fsroot / 't').st_mtime_ns != 6_000_000_002
