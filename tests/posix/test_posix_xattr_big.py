# twinfs tests/posix: extended attributes beyond one block - thousands of
# names (a listxattr of tens of KiB, ERANGE for a buffer one byte short,
# the size query), twinfs's limit at what one listxattr can return (ENOSPC
# past it, the list still whole), values of XATTR_SIZE_MAX (64 KiB) with
# replace and remove, persistence across a remount, the space given back,
# and a getfattr --dump / setfattr --restore round trip.  Each test makes
# its own filesystem (make_fs: twinfs-fuse, or the kernel module in the
# guest; tmpfs as the sanity check), checked by fsck.twinfs at teardown.
# Layer: POSIX test suite; system calls (ctypes for caller-sized buffers)
# and the attr package's getfattr/setfattr.
import errno
import os
import shutil
import subprocess

import pytest

from posixfs import c_getxattr, c_listxattr, raises_errno, write_file

NOTSUP = (errno.ENOTSUP, errno.EOPNOTSUPP)
SIZE_MAX = 65536		# XATTR_SIZE_MAX
LIST_MAX = 65536		# XATTR_LIST_MAX


def pattern(seed, n):
	"""n bytes that differ from seed to seed and from place to place."""
	block = bytes((seed * 131 + i * 7 + (i >> 8)) & 0xff
		      for i in range(4096))
	return (block * (n // 4096 + 1))[:n]


def user_file(fs, name='f', data=b'data'):
	"""A file on which user xattrs work (skip if they do not)."""
	p = fs.path / name
	write_file(p, data)
	try:
		os.setxattr(p, 'user.probe', b'1')
		os.removexattr(p, 'user.probe')
	except OSError as e:
		if e.errno in NOTSUP:
			pytest.skip('the target has no user.* xattrs')
		raise
	return p


def check_names(p, want):
	"""The list holds exactly the names of want (a dict name -> value),
	its size query agrees, and each value reads back."""
	total = sum(len(n) + 1 for n in want)
	n, _ = c_listxattr(p, 0)
	assert n == total
	r, raw = c_listxattr(p, n)
	assert r == n
	got = raw.split(b'\0')[:-1]
	assert sorted(got) == sorted(k.encode() for k in want)
	for k, v in want.items():
		assert os.getxattr(p, k) == v, k


def test_thousands_of_names(make_fs):
	fs = make_fs('64M')
	p = user_file(fs)
	want = {}
	for i in range(3000):
		k = 'user.many%05d' % i
		want[k] = b'%d' % (i * 13)
		os.setxattr(p, k, want[k])
	check_names(p, want)
	n, _ = c_listxattr(p, 0)
	assert n == 3000 * 15
	# a buffer too small by one byte, or by much: ERANGE
	raises_errno(errno.ERANGE, c_listxattr, p, n - 1)
	raises_errno(errno.ERANGE, c_listxattr, p, 100)
	# replace some, remove every third
	for i in range(0, 3000, 7):
		k = 'user.many%05d' % i
		want[k] = b'replaced %d' % i
		os.setxattr(p, k, want[k], os.XATTR_REPLACE)
	for i in range(0, 3000, 3):
		k = 'user.many%05d' % i
		os.removexattr(p, k)
		del want[k]
	check_names(p, want)
	if fs.can_remount:
		fs.remount()
		check_names(p, want)
	for k in list(want):
		os.removexattr(p, k)
	assert os.listxattr(p) == []


def test_names_up_to_the_list_limit(make_fs):
	"""twinfs keeps an inode's names within what one listxattr() can
	return (XATTR_LIST_MAX): 5461 names of 11 bytes (12 with the NUL)
	fit, the next is ENOSPC, and the whole list still reads."""
	fs = make_fs('64M')
	p = user_file(fs)
	names = ['user.n%05d' % i for i in range(LIST_MAX // 12)]
	for k in names:
		os.setxattr(p, k, b'v')
	assert len(names) == 5461
	n, _ = c_listxattr(p, 0)
	assert n == 5461 * 12
	assert sorted(os.listxattr(p)) == names
	raises_errno(errno.ERANGE, c_listxattr, p, n - 1)
	if fs.is_twinfs:
		raises_errno(errno.ENOSPC, os.setxattr, p, 'user.n99999', b'v')
		assert sorted(os.listxattr(p)) == names
		# a removal makes room for one more; a replace needs none
		os.setxattr(p, names[7], b'other', os.XATTR_REPLACE)
		os.removexattr(p, names[8])
		os.setxattr(p, 'user.n99999', b'v')
		assert os.getxattr(p, 'user.n99999') == b'v'
		assert os.getxattr(p, names[7]) == b'other'
		assert len(os.listxattr(p)) == 5461


def test_values_of_64k(make_fs):
	fs = make_fs('64M')
	p = user_file(fs)
	big = pattern(1, SIZE_MAX)
	os.setxattr(p, 'user.big', big)
	assert c_getxattr(p, 'user.big', 0)[0] == SIZE_MAX	# size query
	assert c_getxattr(p, 'user.big', SIZE_MAX) == (SIZE_MAX, big)
	raises_errno(errno.ERANGE, c_getxattr, p, 'user.big', SIZE_MAX - 1)
	raises_errno(errno.E2BIG, os.setxattr, p, 'user.big', big + b'x')
	assert os.getxattr(p, 'user.big') == big
	# values of every size class side by side, then each replaced
	sizes = (1, 1000, 4000, 4064, 4065, 20000, SIZE_MAX - 1, SIZE_MAX)
	for s in sizes:
		os.setxattr(p, 'user.s%d' % s, pattern(s, s))
	for s in sizes:
		assert os.getxattr(p, 'user.s%d' % s) == pattern(s, s)
	for i, s in enumerate(sizes):
		t = sizes[(i + 3) % len(sizes)]
		os.setxattr(p, 'user.s%d' % s, pattern(s + 1, t),
			    os.XATTR_REPLACE)
	os.setxattr(p, 'user.big', pattern(2, SIZE_MAX))
	if fs.can_remount:
		fs.remount()
	assert os.getxattr(p, 'user.big') == pattern(2, SIZE_MAX)
	for i, s in enumerate(sizes):
		t = sizes[(i + 3) % len(sizes)]
		assert os.getxattr(p, 'user.s%d' % s) == pattern(s + 1, t)
	# the file's data is untouched
	with open(p, 'rb') as fh:
		assert fh.read() == b'data'
	for s in sizes:
		os.removexattr(p, 'user.s%d' % s)
	os.removexattr(p, 'user.big')
	assert os.listxattr(p) == []


def test_big_values_give_their_space_back(make_fs):
	fs = make_fs('64M')
	p = user_file(fs, data=b'')
	os.sync()
	st = os.statvfs(fs.path)
	free0 = st.f_bfree * st.f_frsize
	for i in range(30):
		os.setxattr(p, 'user.v%02d' % i, pattern(i, SIZE_MAX))
	os.sync()
	st = os.statvfs(fs.path)
	used = free0 - st.f_bfree * st.f_frsize
	if fs.is_twinfs:
		# 17 value blocks each, beside entry blocks and the index
		assert used >= 30 * 17 * 4096
		assert used <= 30 * 18 * 4096 + 4 * 4096
	for i in range(30):
		assert os.getxattr(p, 'user.v%02d' % i) == pattern(i, SIZE_MAX)
	os.unlink(p)
	os.sync()
	st = os.statvfs(fs.path)
	if fs.is_twinfs:
		assert st.f_bfree * st.f_frsize == free0


def test_getfattr_setfattr_round_trip(make_fs):
	getfattr, setfattr = shutil.which('getfattr'), shutil.which('setfattr')
	if not getfattr or not setfattr:
		pytest.skip('getfattr/setfattr (the attr package) not installed')
	fs = make_fs('64M')
	p = user_file(fs, 'src')
	want = {}
	for i in range(600):
		want['user.name%04d' % i] = b'value %d' % i
	want['user.big'] = pattern(5, SIZE_MAX)
	want['user.mid'] = pattern(6, 9000)
	want['user.bin'] = bytes(range(256))
	for k, v in want.items():
		os.setxattr(p, k, v)
	dump = subprocess.run([getfattr, '--absolute-names', '-d', '-e', 'hex',
			       '-m', '^user\\.', str(p)], check=True,
			      capture_output=True, text=True).stdout
	assert dump.count('\nuser.') == len(want)
	# restore onto a new file: the dump names the source, so rename it
	q = fs.path / 'dst'
	write_file(q, b'')
	dump = dump.replace('# file: %s\n' % p, '# file: %s\n' % q)
	subprocess.run([setfattr, '--restore=-'], input=dump, check=True,
		       text=True, capture_output=True)
	check_names(q, want)
	# and the single values through the command-line tools
	subprocess.run([setfattr, '-n', 'user.cli', '-v', '0x' + 'ab' * 30000,
			str(q)], check=True, capture_output=True)
	out = subprocess.run([getfattr, '--only-values', '-n', 'user.cli',
			      str(q)], check=True, capture_output=True).stdout
	assert out == b'\xab' * 30000
