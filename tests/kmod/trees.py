# twinfs tests/kmod: the trees the cross-home tests write and read back.
# Layer: test helper (Python stdlib only); works on any mounted directory:
# twinfs-fuse on the host, the kernel module in the guest.  Runs as root
# (chown, mknod, trusted.* and security.* xattrs).
#
# populate() writes one deterministic tree with every kind of object twinfs
# stores: directories (deep, big enough for a hashed index), regular files
# around block boundaries, sparse files with data beyond 4 GiB, short
# (inline) and long symlinks, hard links across directories, a FIFO,
# device nodes, every permission bit, owners, nanosecond and pre-1970
# timestamps, and user/trusted/security xattrs small and large.
# modify() then changes a tree another home wrote: appends, truncates,
# renames, unlinks one name of a hard link, chmod/chown, xattr removal.
import os
import random
import stat

BIG_DIR = 600		# entries: well past one directory block
DEEP = 24		# levels of the deep directory chain


def _data(seed, n):
	return random.Random(seed).randbytes(n)


def _write(path, data, mode=0o644):
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
	try:
		mv = memoryview(data)
		while mv:
			n = os.write(fd, mv)
			mv = mv[n:]
	finally:
		os.close(fd)
	os.chmod(path, mode)


def _pwrite(path, off, data):
	fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
	try:
		os.pwrite(fd, data, off)
	finally:
		os.close(fd)


def populate(root, tag):
	"""Write the tree under root (an existing directory).  tag makes the
	contents differ between trees written by different homes."""
	j = lambda *p: os.path.join(root, *p)	# noqa: E731
	seed = sum(tag.encode())

	os.mkdir(j('files'), 0o755)
	for n in (0, 1, 4095, 4096, 4097, 65536 + 17, 1 << 20):
		_write(j('files', 'size-%d' % n), _data(seed + n, n))
	_write(j('files', 'text'), ('twinfs %s\n' % tag).encode() * 1000)
	# 12 direct blocks, then the indirect ones: cross the boundary
	_write(j('files', 'indirect'), _data(seed + 7, 12 * 4096 + 3 * 4096 + 5))

	os.mkdir(j('sparse'), 0o755)
	p = j('sparse', 'holes')
	_pwrite(p, 0, b'start')
	_pwrite(p, 10 << 20, _data(seed + 1, 9000))
	_pwrite(p, (64 << 20) - 3, b'end')
	p = j('sparse', 'far')			# double/triple indirect
	_pwrite(p, 5 << 30, b'beyond 4 GiB ' + tag.encode())
	_pwrite(p, (1 << 30) + 4090, b'across a block boundary')
	fd = os.open(j('sparse', 'extended'), os.O_WRONLY | os.O_CREAT, 0o644)
	os.write(fd, b'abc')
	os.ftruncate(fd, 3 << 20)		# grows over a hole
	os.close(fd)

	os.mkdir(j('modes'), 0o755)
	for m in (0o000, 0o400, 0o600, 0o640, 0o755, 0o777, 0o4755, 0o2755,
		  0o6711, 0o1644):
		_write(j('modes', 'f%04o' % m), b'x', m)
	os.mkdir(j('modes', 'sticky'), 0o755)
	os.chmod(j('modes', 'sticky'), 0o1777)
	os.mkdir(j('modes', 'private'), 0o700)
	os.mkdir(j('modes', 'sgid-dir'), 0o755)
	os.chmod(j('modes', 'sgid-dir'), 0o2775)

	os.mkdir(j('owners'), 0o755)
	for uid, gid in ((1000, 1000), (65534, 65534), (12345, 0),
			 (0, 4242), (2 ** 31, 7)):
		p = j('owners', 'u%d-g%d' % (uid, gid))
		_write(p, b'owned')
		os.chown(p, uid, gid)
	os.mkdir(j('owners', 'dir-1000'))
	os.chown(j('owners', 'dir-1000'), 1000, 100)

	os.mkdir(j('links'), 0o755)
	_write(j('links', 'target'), b'pointed at\n')
	os.symlink('target', j('links', 'short'))
	os.symlink('../files/text', j('links', 'up'))
	os.symlink('/' + 'long-component/' * 20 + tag, j('links', 'long'))
	os.symlink('x' * 1000, j('links', 'very-long'))
	os.symlink('does/not/exist', j('links', 'dangling'))
	os.symlink('../files', j('links', 'to-dir'))
	_write(j('links', 'hard'), _data(seed + 3, 5000))
	os.link(j('links', 'hard'), j('links', 'hard2'))
	os.link(j('links', 'hard'), j('files', 'hard3'))

	os.mkdir(j('special'), 0o755)
	os.mkfifo(j('special', 'fifo'), 0o640)
	os.mknod(j('special', 'null'), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
	os.mknod(j('special', 'loop0'), 0o660 | stat.S_IFBLK,
		 os.makedev(7, 0))
	os.mknod(j('special', 'bigdev'), 0o600 | stat.S_IFCHR,
		 os.makedev(4000, 70000))

	os.mkdir(j('xattrs'), 0o755)
	p = j('xattrs', 'file')
	_write(p, b'has xattrs')
	os.setxattr(p, 'user.small', b'v')
	os.setxattr(p, 'user.empty', b'')
	os.setxattr(p, 'user.binary', bytes(range(256)))
	os.setxattr(p, 'user.large', _data(seed + 4, 2000))
	os.setxattr(p, 'trusted.admin', b'only root sees this')
	os.setxattr(p, 'security.twinfs-test', b'label')
	os.setxattr(j('xattrs'), 'user.on-dir', tag.encode())
	os.symlink('file', j('xattrs', 'link'))
	os.setxattr(j('xattrs', 'link'), 'trusted.on-symlink', b'yes',
		    follow_symlinks=False)

	d = j('deep')
	for i in range(DEEP):
		d = os.path.join(d, 'level-%02d' % i)
	os.makedirs(d)
	_write(os.path.join(d, 'bottom'), b'at the bottom\n')

	os.mkdir(j('bigdir'), 0o755)
	for i in range(BIG_DIR):
		name = 'entry-%04d-%s' % (i, 'n' * (i % 50))
		if i % 3 == 0:
			os.mkdir(os.path.join(j('bigdir'), name))
		else:
			_write(os.path.join(j('bigdir'), name),
			       str(i).encode())
	for i in range(0, BIG_DIR, 7):		# holes in the entry blocks
		name = 'entry-%04d-%s' % (i, 'n' * (i % 50))
		p = os.path.join(j('bigdir'), name)
		if i % 3 == 0:
			os.rmdir(p)
		else:
			os.unlink(p)
	_write(j('bigdir', 'x' * 255), b'a name of 255 bytes')

	os.mkdir(j('times'), 0o755)
	for name, ns in (('ns', 1_000_000_000_123_456_789),
			 ('epoch', 0), ('before-1970', -1_234_567_891),
			 ('y2038', (2 ** 31 + 5) * 10 ** 9 + 7),
			 ('far-future', 4_000_000_000 * 10 ** 9 + 1)):
		p = j('times', name)
		_write(p, name.encode())
		os.utime(p, ns=(ns + 11, ns))
	os.symlink('ns', j('times', 'link'))
	os.utime(j('times', 'link'), ns=(5, 1_500_000_000_000_000_001),
		 follow_symlinks=False)

	_write(j('renamed-away'), b'first name')
	os.rename(j('renamed-away'), j('renamed'))
	_write(j('unlinked'), b'gone')
	os.unlink(j('unlinked'))
	# the directory times last: everything above changed them
	os.utime(j('times'), ns=(1, 999_999_999_999_999_999))


def modify(root, tag):
	"""Change a tree written by populate() (by the other home)."""
	j = lambda *p: os.path.join(root, *p)	# noqa: E731
	with open(j('files', 'text'), 'ab') as f:
		f.write(('appended by %s\n' % tag).encode())
	os.truncate(j('files', 'size-1048576'), 100000)
	os.truncate(j('files', 'size-4097'), 9 << 20)	# a hole at the end
	os.rename(j('files', 'size-1'), j('links', 'moved-here'))
	os.rename(j('modes'), j('modes-renamed'))
	os.unlink(j('links', 'hard2'))
	os.chmod(j('files', 'size-0'), 0o4711)
	os.chown(j('files', 'size-4095'), 777, 888)
	os.removexattr(j('xattrs', 'file'), 'user.large')
	os.setxattr(j('xattrs', 'file'), 'user.small', b'replaced by ' +
		    tag.encode())
	os.rmdir(j('owners', 'dir-1000'))
	_pwrite(j('sparse', 'far'), (3 << 30) + 1, b'written by ' +
		tag.encode())
	for i in range(1, 100, 3):
		name = 'entry-%04d-%s' % (i, 'n' * (i % 50))
		p = j('bigdir', name)
		if os.path.lexists(p) and not os.path.isdir(p):
			os.unlink(p)
	os.mkdir(j('new-from-' + tag))
	populate_small(j('new-from-' + tag), tag)


def populate_small(root, tag):
	"""A few objects of each kind (for a second home's additions)."""
	j = lambda *p: os.path.join(root, *p)	# noqa: E731
	_write(j('file'), _data(len(tag), 300000))
	os.symlink('file', j('link'))
	os.link(j('file'), j('hardlink'))
	os.mkdir(j('dir'))
	os.mkfifo(j('dir', 'fifo'))
	os.setxattr(j('file'), 'user.from', tag.encode())
	os.utime(j('file'), ns=(42, 123_456_789_012_345_678))
