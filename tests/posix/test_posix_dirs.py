# twinfs tests/posix: directories - mkdir/rmdir rules, link counts,
# readdir (completeness, stability under concurrent change), removed
# directories, and a 100,000-entry directory.
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).
import collections
import errno
import os
import random
import stat
import time

import pytest

from posixfs import raises_errno, write_file


def test_mkdir_rmdir(fsroot):
	d = fsroot / 'd'
	os.mkdir(d, 0o750)
	st = os.stat(d)
	assert stat.S_ISDIR(st.st_mode)
	assert stat.S_IMODE(st.st_mode) == 0o750
	assert st.st_nlink == 2
	assert os.listdir(d) == []
	os.rmdir(d)
	assert not os.path.exists(d)


def test_mkdir_existing_is_eexist(fsroot):
	os.mkdir(fsroot / 'd')
	write_file(fsroot / 'f', b'')
	os.symlink('d', fsroot / 'l')
	raises_errno(errno.EEXIST, os.mkdir, fsroot / 'd')
	raises_errno(errno.EEXIST, os.mkdir, fsroot / 'f')
	raises_errno(errno.EEXIST, os.mkdir, fsroot / 'l')
	raises_errno(errno.ENOENT, os.mkdir, fsroot / 'x' / 'y')
	raises_errno(errno.ENOTDIR, os.mkdir, fsroot / 'f' / 'y')


def test_rmdir_errors(fsroot):
	os.makedirs(fsroot / 'd' / 'sub')
	write_file(fsroot / 'f', b'')
	raises_errno(errno.ENOTEMPTY, os.rmdir, fsroot / 'd')
	raises_errno(errno.ENOTDIR, os.rmdir, fsroot / 'f')
	raises_errno(errno.ENOENT, os.rmdir, fsroot / 'missing')
	raises_errno(errno.EINVAL, os.rmdir, os.path.join(fsroot, 'd', '.'))
	raises_errno((errno.ENOTEMPTY, errno.EBUSY, errno.EINVAL), os.rmdir,
		     fsroot / 'd' / 'sub' / '..')
	write_file(fsroot / 'd' / 'sub' / 'x', b'')
	raises_errno(errno.ENOTEMPTY, os.rmdir, fsroot / 'd' / 'sub')
	os.unlink(fsroot / 'd' / 'sub' / 'x')
	os.rmdir(fsroot / 'd' / 'sub')
	os.rmdir(fsroot / 'd')


def test_dir_nlink_is_two_plus_subdirs(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	assert os.stat(d).st_nlink == 2
	for i in range(5):
		os.mkdir(d / ('s%d' % i))
		assert os.stat(d).st_nlink == 3 + i
	for i in range(3):
		write_file(d / ('f%d' % i), b'')
		os.symlink('x', d / ('l%d' % i))
	assert os.stat(d).st_nlink == 7
	os.rmdir(d / 's0')
	assert os.stat(d).st_nlink == 6
	os.rename(d / 's1', fsroot / 's1')
	assert os.stat(d).st_nlink == 5
	assert os.stat(d / 's2').st_nlink == 2


def test_dot_and_dotdot(fsroot):
	os.makedirs(fsroot / 'a' / 'b')
	a = os.stat(fsroot / 'a')
	assert os.stat(os.path.join(fsroot, 'a', '.')).st_ino == a.st_ino
	assert os.stat(fsroot / 'a' / 'b' / '..').st_ino == a.st_ino
	assert os.stat(fsroot / 'a' / '..').st_ino == os.stat(fsroot).st_ino
	# readdir does not report . and .. through os.listdir, but getdents
	# must not return duplicates of them either
	assert sorted(os.listdir(fsroot / 'a')) == ['b']


def test_readdir_types_and_inodes(fsroot):
	os.mkdir(fsroot / 'd')
	write_file(fsroot / 'f', b'')
	os.symlink('f', fsroot / 'l')
	os.mkfifo(fsroot / 'p')
	got = {}
	with os.scandir(fsroot) as it:
		for e in it:
			got[e.name] = (e.is_dir(follow_symlinks=False),
				       e.is_file(follow_symlinks=False),
				       e.is_symlink(), e.inode())
	assert set(got) == {'d', 'f', 'l', 'p'}
	assert got['d'][:3] == (True, False, False)
	assert got['f'][:3] == (False, True, False)
	assert got['l'][:3] == (False, False, True)
	assert got['p'][:3] == (False, False, False)
	for n, v in got.items():
		assert v[3] == os.lstat(fsroot / n).st_ino, n


def test_readdir_lists_every_entry_once(fsroot):
	names = ['e%05d_%s' % (i, 'x' * (i % 200)) for i in range(3000)]
	for n in names:
		write_file(fsroot / n, b'')
	got = os.listdir(fsroot)
	assert len(got) == len(names)
	assert sorted(got) == sorted(names)


def test_readdir_after_deletions_and_reuse(fsroot):
	for i in range(1000):
		write_file(fsroot / ('a%d' % i), b'')
	for i in range(0, 1000, 2):
		os.unlink(fsroot / ('a%d' % i))
	for i in range(500):
		os.mkdir(fsroot / ('b%d' % i))
	expect = {'a%d' % i for i in range(1, 1000, 2)} | \
		{'b%d' % i for i in range(500)}
	got = os.listdir(fsroot)
	assert len(got) == len(expect)
	assert set(got) == expect
	assert os.stat(fsroot).st_nlink == 2 + 500


def test_readdir_stable_while_directory_changes(fsroot):
	"""POSIX: an entry added or removed during readdir may or may not be
	returned, but every entry present throughout is returned exactly
	once, and nothing is returned twice."""
	d = fsroot / 'd'
	os.mkdir(d)
	n = 5000
	for i in range(n):
		write_file(d / ('keep%05d' % i), b'')
	for i in range(n):
		write_file(d / ('gone%05d' % i), b'')
	rng = random.Random(7)
	seen = []
	added = set()
	removed = set()
	with os.scandir(d) as it:
		for k, e in enumerate(it):
			seen.append(e.name)
			# a burst of changes every 200 entries, 2000 at most
			# (a filesystem may return the new names, so this must
			# not grow with what readdir returns)
			if k % 200 == 100 and len(added) < 2000:
				for _ in range(150):
					g = 'gone%05d' % rng.randrange(n)
					if g not in removed:
						os.unlink(d / g)
						removed.add(g)
					a = 'new%06d' % rng.randrange(10**6)
					if a not in added:
						write_file(d / a, b'')
						added.add(a)
	dup = [x for x, c in collections.Counter(seen).items() if c > 1]
	assert dup == [], 'returned twice: %r' % dup[:10]
	keep = {'keep%05d' % i for i in range(n)}
	missing = keep - set(seen)
	assert not missing, 'never returned: %r' % sorted(missing)[:10]
	stray = set(seen) - keep - added - {'gone%05d' % i for i in range(n)}
	assert not stray, stray
	final = set(os.listdir(d))
	assert final == keep | added | ({'gone%05d' % i for i in range(n)}
					- removed)


def test_removed_directory_is_empty_and_refuses_new_entries(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
	try:
		os.rmdir(d)
		assert os.fstat(fd).st_nlink == 0
		assert os.listdir(fd) == []
		raises_errno(errno.ENOENT, os.open, 'x',
			     os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
		raises_errno(errno.ENOENT, os.mkdir, 'y', dir_fd=fd)
	finally:
		os.close(fd)
	assert os.listdir(fsroot) == []


def test_deep_nesting(fsroot):
	p = fsroot
	for i in range(100):
		p = p / ('d%d' % i)
		os.mkdir(p)
	write_file(p / 'leaf', b'deep')
	assert os.stat(p / 'leaf').st_size == 4
	# and remove it bottom-up
	for i in reversed(range(100)):
		for e in os.listdir(p):
			os.unlink(p / e) if not os.path.isdir(p / e) else os.rmdir(p / e)
		p = p.parent
	os.rmdir(fsroot / 'd0')
	assert os.listdir(fsroot) == []


# -- a big directory ----------------------------------------------------------------

BIG = 100_000


@pytest.mark.fs_image(size='512M', inodes=131072)
def test_directory_with_100000_entries(fs, record):
	"""Create 100,000 files in one directory, stat a sample, readdir all
	of them (each exactly once), unlink them all; times are recorded
	(JUnit properties) and printed, not asserted."""
	fs.require_free(inodes=BIG + 100)
	d = fs.path / 'big'
	os.mkdir(d)
	names = ['file-%06d-%s' % (i, 'n' * (i % 37)) for i in range(BIG)]
	times = {}
	t = time.monotonic()
	for n in names:
		os.close(os.open(d / n, os.O_CREAT | os.O_WRONLY | os.O_EXCL,
				 0o644))
	times['create'] = time.monotonic() - t
	assert os.stat(d).st_nlink == 2

	t = time.monotonic()
	rng = random.Random(1)
	for n in rng.sample(names, 2000):
		st = os.stat(d / n)
		assert stat.S_ISREG(st.st_mode) and st.st_size == 0
	raises_errno(errno.ENOENT, os.stat, d / 'file-100000-')
	times['stat2000'] = time.monotonic() - t

	t = time.monotonic()
	got = os.listdir(d)
	times['readdir'] = time.monotonic() - t
	assert len(got) == BIG
	counts = collections.Counter(got)
	assert max(counts.values()) == 1
	assert set(got) == set(names)

	t = time.monotonic()
	for n in names:
		os.unlink(d / n)
	times['unlink'] = time.monotonic() - t
	assert os.listdir(d) == []
	os.rmdir(d)
	for k, v in times.items():
		record('big_dir_' + k + '_s', round(v, 2))
	print('100k dir on %s: %s' % (fs.kind, ', '.join(
		'%s %.1f s' % kv for kv in times.items())))
