# twinfs tests/posix: extended attributes - user.* set/get/list/remove,
# XATTR_CREATE/XATTR_REPLACE, ENODATA, ERANGE (small buffers, long names),
# large values, permissions, trusted.* as root; where a target has no
# user xattrs at all the tests skip with that reason.
# Layer: POSIX test suite; system calls only (getxattr/listxattr with a
# caller-sized buffer through ctypes), against any mounted directory.
import errno
import os

import pytest

from posixfs import (NOBODY, USER2, GROUP2, as_user, c_getxattr,
		     c_listxattr, raises_errno, write_file)

NOTSUP = (errno.ENOTSUP, errno.EOPNOTSUPP)
# Every filesystem in this suite holds at least this much in one value
# (twinfs: up to 64 KiB, test_posix_xattr_big.py).
BIG = 4000


@pytest.fixture
def f(fsroot):
	"""A file on which user xattrs work (skip if they do not)."""
	p = fsroot / 'f'
	write_file(p, b'')
	try:
		os.setxattr(p, 'user.probe', b'1')
		os.removexattr(p, 'user.probe')
	except OSError as e:
		if e.errno in NOTSUP:
			pytest.skip('the target has no user.* xattrs')
		raise
	return p


def user_names(p, follow=True):
	return sorted(n for n in os.listxattr(p, follow_symlinks=follow)
		      if n.startswith('user.'))


def test_set_get_list_remove(f):
	os.setxattr(f, 'user.a', b'alpha')
	os.setxattr(f, 'user.b', b'')
	os.setxattr(f, 'user.c', b'\0bin\0ary\xff')
	assert os.getxattr(f, 'user.a') == b'alpha'
	assert os.getxattr(f, 'user.b') == b''
	assert os.getxattr(f, 'user.c') == b'\0bin\0ary\xff'
	assert user_names(f) == ['user.a', 'user.b', 'user.c']
	os.removexattr(f, 'user.b')
	assert user_names(f) == ['user.a', 'user.c']
	raises_errno(errno.ENODATA, os.getxattr, f, 'user.b')


def test_replace_value_grow_and_shrink(f):
	os.setxattr(f, 'user.v', b'x')
	os.setxattr(f, 'user.w', b'neighbour')
	for n in (1000, 3, 2500, 0, 17):
		os.setxattr(f, 'user.v', bytes([n % 251]) * n)
		assert os.getxattr(f, 'user.v') == bytes([n % 251]) * n
		assert os.getxattr(f, 'user.w') == b'neighbour'
	assert user_names(f) == ['user.v', 'user.w']


def test_xattr_create_and_replace_flags(f):
	raises_errno(errno.ENODATA, os.setxattr, f, 'user.x', b'1',
		     os.XATTR_REPLACE)
	os.setxattr(f, 'user.x', b'1', os.XATTR_CREATE)
	raises_errno(errno.EEXIST, os.setxattr, f, 'user.x', b'2',
		     os.XATTR_CREATE)
	assert os.getxattr(f, 'user.x') == b'1'
	os.setxattr(f, 'user.x', b'3', os.XATTR_REPLACE)
	assert os.getxattr(f, 'user.x') == b'3'
	raises_errno(errno.EINVAL, os.setxattr, f, 'user.x', b'4',
		     os.XATTR_CREATE | os.XATTR_REPLACE | 4)


def test_missing_attribute_is_enodata(f):
	raises_errno(errno.ENODATA, os.getxattr, f, 'user.none')
	raises_errno(errno.ENODATA, os.removexattr, f, 'user.none')
	assert user_names(f) == []


def test_small_buffers_are_erange(f):
	os.setxattr(f, 'user.key', b'0123456789')
	assert c_getxattr(f, 'user.key', 0)[0] == 10	# size query
	assert c_getxattr(f, 'user.key', 10) == (10, b'0123456789')
	raises_errno(errno.ERANGE, c_getxattr, f, 'user.key', 9)
	n, _ = c_listxattr(f, 0)
	r, names = c_listxattr(f, n)
	assert r == n and b'user.key\0' in names
	raises_errno(errno.ERANGE, c_listxattr, f, n - 1)


def test_name_length_limits(f):
	ok = 'user.' + 'n' * 250			# 255 bytes in all
	os.setxattr(f, ok, b'v')
	assert os.getxattr(f, ok) == b'v'
	raises_errno(errno.ERANGE, os.setxattr, f, ok + 'x', b'v')
	raises_errno(errno.ERANGE, os.getxattr, f, ok + 'x')
	raises_errno(errno.EINVAL, os.setxattr, f, 'user.', b'v')
	raises_errno(NOTSUP, os.setxattr, f, 'nonsense.x', b'v')


def test_large_value(f):
	v = bytes(range(256)) * (BIG // 256) + b'z' * (BIG % 256)
	os.setxattr(f, 'user.big', v)
	assert os.getxattr(f, 'user.big') == v
	assert c_getxattr(f, 'user.big', 0)[0] == BIG


def test_value_over_vfs_limit_is_e2big(f):
	raises_errno(errno.E2BIG, os.setxattr, f, 'user.huge', b'x' * 65537)


def test_value_too_big_for_target_fails_cleanly(f):
	"""A value a filesystem cannot hold (anything up to 64 KiB is
	filesystem-specific) either works, or fails with E2BIG/ENOSPC and
	changes nothing."""
	os.setxattr(f, 'user.keep', b'k' * 100)
	for n in (8000, 30000, 65536):
		try:
			os.setxattr(f, 'user.big', b'b' * n)
		except OSError as e:
			assert e.errno in (errno.E2BIG, errno.ENOSPC), e
			raises_errno(errno.ENODATA, os.getxattr, f, 'user.big')
		else:
			assert os.getxattr(f, 'user.big') == b'b' * n
			os.removexattr(f, 'user.big')
		assert os.getxattr(f, 'user.keep') == b'k' * 100
		assert user_names(f) == ['user.keep']


def test_many_attributes(f):
	for i in range(40):
		os.setxattr(f, 'user.attr%02d' % i, b'v%d' % i * 10)
	assert user_names(f) == ['user.attr%02d' % i for i in range(40)]
	for i in range(0, 40, 2):
		os.removexattr(f, 'user.attr%02d' % i)
	for i in range(1, 40, 2):
		assert os.getxattr(f, 'user.attr%02d' % i) == b'v%d' % i * 10
	assert len(user_names(f)) == 20


def test_fill_until_full_then_free(f):
	"""Add 200-byte values until the filesystem says the inode is full
	(ENOSPC/E2BIG) or 60 fit; every value stays readable, and removing
	one makes room again."""
	names = []
	for i in range(60):
		try:
			os.setxattr(f, 'user.fill%02d' % i, bytes([i]) * 200)
		except OSError as e:
			assert e.errno in (errno.ENOSPC, errno.E2BIG), e
			break
		names.append('user.fill%02d' % i)
	assert len(names) >= 15			# at least ~3 KiB fit
	for n in names:
		assert os.getxattr(f, n) == bytes([int(n[-2:])]) * 200
	os.removexattr(f, names[0])
	os.setxattr(f, 'user.again', b'a' * 200)
	assert os.getxattr(f, 'user.again') == b'a' * 200


def test_xattrs_on_directory(fsroot, f):
	d = fsroot / 'd'
	os.mkdir(d)
	os.setxattr(d, 'user.dir', b'yes')
	assert os.getxattr(d, 'user.dir') == b'yes'
	assert user_names(d) == ['user.dir']


def test_user_xattr_on_symlink_and_fifo_is_eperm(fsroot, f):
	os.symlink('f', fsroot / 'l')
	os.mkfifo(fsroot / 'p')
	raises_errno(errno.EPERM, os.setxattr, fsroot / 'l', 'user.x', b'1',
		     follow_symlinks=False)
	raises_errno(errno.EPERM, os.setxattr, fsroot / 'p', 'user.x', b'1')
	# through the symlink it is the target's
	os.setxattr(fsroot / 'l', 'user.via', b'2')
	assert os.getxattr(f, 'user.via') == b'2'


def test_hard_links_share_xattrs(fsroot, f):
	os.setxattr(f, 'user.s', b'shared')
	os.link(f, fsroot / 'g')
	assert os.getxattr(fsroot / 'g', 'user.s') == b'shared'
	os.setxattr(fsroot / 'g', 'user.t', b'2')
	assert user_names(f) == ['user.s', 'user.t']


def test_xattrs_survive_rename_and_go_with_the_file(fsroot, f):
	os.setxattr(f, 'user.r', b'1')
	os.rename(f, fsroot / 'g')
	assert os.getxattr(fsroot / 'g', 'user.r') == b'1'
	os.unlink(fsroot / 'g')
	write_file(fsroot / 'g', b'')
	assert user_names(fsroot / 'g') == []


def test_user_xattr_permissions(fsroot, f):
	if os.geteuid() != 0:
		pytest.skip('needs root to switch users')
	os.setxattr(f, 'user.p', b'v')
	os.chown(f, USER2, GROUP2)
	os.chmod(f, 0o644)
	assert as_user(NOBODY, NOBODY, os.getxattr, f, 'user.p') == b'v'
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.setxattr, f,
		     'user.p', b'w')
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.removexattr, f,
		     'user.p')
	os.chmod(f, 0o600)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.getxattr, f,
		     'user.p')
	as_user(USER2, GROUP2, os.setxattr, f, 'user.p', b'owner')
	assert os.getxattr(f, 'user.p') == b'owner'


def test_trusted_namespace_root_only(fsroot):
	if os.geteuid() != 0:
		pytest.skip('needs root for trusted.*')
	p = fsroot / 'f'
	write_file(p, b'')
	try:
		os.setxattr(p, 'trusted.t', b'root')
	except OSError as e:
		if e.errno in NOTSUP:
			pytest.skip('the target has no trusted.* xattrs')
		raise
	assert os.getxattr(p, 'trusted.t') == b'root'
	assert 'trusted.t' in os.listxattr(p)
	os.chmod(p, 0o666)
	# invisible and untouchable for other users
	names = as_user(NOBODY, NOBODY, os.listxattr, p)
	assert 'trusted.t' not in names
	raises_errno((errno.EPERM, errno.ENODATA), as_user, NOBODY, NOBODY,
		     os.getxattr, p, 'trusted.t')
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.setxattr, p,
		     'trusted.u', b'x')
	os.removexattr(p, 'trusted.t')
	raises_errno(errno.ENODATA, os.getxattr, p, 'trusted.t')
