# twinfs tests/fuse: what twinfs-fuse writes survives unmount and remount
# (files, holes, directories, symlinks, hard links, special files, xattrs,
# modes, owners, times to the nanosecond), and the image shows the same
# through fsck.twinfs and `twinfs-dump --json` as stat() did through the
# mount.  Also the set-ID and umask rules the FUSE settings are for.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools.
import codecs
import hashlib
import os
import stat
import subprocess
import tempfile

import pytest

import twfuse

NS = 1000000000


def _latin1(err):
	return (''.join(chr(b) for b in err.object[err.start:err.end]),
		err.end)


codecs.register_error('twinfs-latin1', _latin1)


def json_str(value):
	"""How twinfs-dump writes bytes as a JSON string: UTF-8 where valid,
	other bytes as Latin-1."""
	return value.decode('utf-8', errors='twinfs-latin1')


def build_tree(root):
	"""Make one of everything; returns the paths, relative to @root."""
	j = lambda *p: os.path.join(root, *p)	# noqa: E731
	with open(j('small'), 'wb') as f:
		f.write(b'hello\n')
	os.chmod(j('small'), 0o640)
	os.chown(j('small'), 1234, 5678)
	os.link(j('small'), j('small.hard'))
	with open(j('multi'), 'wb') as f:
		f.write(hashlib.sha256(b'seed').digest() * 10000)	# 320000 B
	with open(j('sparse'), 'wb') as f:
		f.write(b'head')
		f.seek(10 << 20)
		f.write(b'T')
	open(j('empty'), 'wb').close()
	os.chmod(j('empty'), 0o4755)
	os.mkdir(j('d'))
	os.chmod(j('d'), 0o1777)
	os.makedirs(j('d', 'e', 'f'))
	os.chmod(j('d', 'e'), 0o2750)
	os.chown(j('d', 'e'), 42, 43)
	os.symlink('small', j('short'))
	os.symlink('/' + 'long/' * 80 + 'target', j('long'))
	os.symlink('/nonexistent', j('d', 'dangling'))
	os.mkfifo(j('fifo'), 0o600)
	os.mknod(j('null'), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
	os.mknod(j('sda1'), 0o660 | stat.S_IFBLK, os.makedev(8, 1))
	os.mknod(j('sock'), 0o644 | stat.S_IFSOCK)
	os.setxattr(j('small'), 'user.a', b'A')
	os.setxattr(j('small'), 'user.bin', bytes(range(256)))
	os.setxattr(j('small'), 'trusted.t', b'T' * 1000)
	os.setxattr(j('small'), 'security.s', b'S')
	os.setxattr(j('d'), 'user.dir', 'ünïcode'.encode())
	os.setxattr(j('long'), 'trusted.l', b'L', follow_symlinks=False)
	return ['small', 'small.hard', 'multi', 'sparse', 'empty', 'd', 'd/e',
		'd/e/f', 'short', 'long', 'd/dangling', 'fifo', 'null', 'sda1',
		'sock']


def set_times(root):
	"""Explicit times, last: reading a file later would move its atime."""
	j = lambda *p: os.path.join(root, *p)	# noqa: E731
	os.utime(j('small'), ns=(981173106 * NS + 123456789,
				 917834400 * NS + 987654321))
	os.utime(j('multi'), ns=(-100 * NS - 5, -315619200 * NS))
	os.utime(j('d', 'e'), ns=(4102444800 * NS + 1, 4102444800 * NS + 2))
	os.utime(j('long'), ns=(1234 * NS, 5678 * NS), follow_symlinks=False)


def snapshot(root, paths):
	"""Attributes and xattrs of @paths (no data read: atime stays)."""
	snap = {}
	for p in paths:
		full = os.path.join(root, p)
		st = os.lstat(full)
		x = {n: os.getxattr(full, n, follow_symlinks=False)
		     for n in os.listxattr(full, follow_symlinks=False)}
		snap[p] = dict(mode=st.st_mode, uid=st.st_uid, gid=st.st_gid,
			       size=st.st_size, nlink=st.st_nlink,
			       ino=st.st_ino, rdev=st.st_rdev,
			       blocks=st.st_blocks, atime=st.st_atime_ns,
			       mtime=st.st_mtime_ns, ctime=st.st_ctime_ns,
			       xattrs=x)
	return snap


def contents(root, paths):
	out = {}
	for p in paths:
		full = os.path.join(root, p)
		st = os.lstat(full)
		if stat.S_ISREG(st.st_mode):
			with open(full, 'rb') as f:
				out[p] = hashlib.sha256(f.read()).hexdigest()
		elif stat.S_ISLNK(st.st_mode):
			out[p] = os.readlink(full)
		elif stat.S_ISDIR(st.st_mode):
			out[p] = sorted(os.listdir(full))
	return out


@pytest.mark.parametrize('first, second', [('optimized', 'base'),
					   ('base', 'optimized')])
def test_persistence_and_image_agree(tracker, image, mnt, first, second):
	d = tracker.daemon(image, mnt).start('profile=' + first)
	paths = build_tree(mnt)
	data = contents(mnt, [p for p in paths if p != 'd/e'])
	set_times(mnt)
	before = snapshot(mnt, paths)
	d.unmount()

	# fsck: clean, and the counts of what we made
	rc, out = twfuse.fsck(image)
	assert rc == 0 and out.rstrip().endswith('clean'), out
	inodes = {s['ino'] for s in before.values()}
	ndirs = sum(1 for s in before.values() if stat.S_ISDIR(s['mode']))
	summary = out.splitlines()[-1]
	assert ' %d files, %d directories,' % (len(inodes) - ndirs,
						   ndirs + 1) in summary, summary

	# twinfs-dump shows what stat() showed
	for p, s in before.items():
		node = twfuse.dump_json(image, 'stat', '/' + p)['inode']
		for k in ('ino', 'mode', 'uid', 'gid', 'size', 'nlink', 'atime',
			  'mtime', 'ctime'):
			assert node[k] == s[k], (p, k, node[k], s[k])
		assert node['blocks'] * 8 == s['blocks'] or \
			node['blocks'] == s['blocks'], (p, node['blocks'])
		dumped = {x['name']: (x['size'], x['value'])
			  for x in node.get('xattrs', [])}
		assert dumped == {n: (len(v), json_str(v))
				  for n, v in s['xattrs'].items()}, p
	listing = twfuse.dump_json(image, 'ls', '/')['entries']
	assert sorted(e['name'] for e in listing) == \
		sorted(['.', '..'] + [p for p in paths if '/' not in p])
	for e in listing:
		if e['name'] in before:
			assert e['ino'] == before[e['name']]['ino']

	# and the other profile finds it all again
	d = tracker.daemon(image, mnt).start('profile=' + second)
	after = snapshot(mnt, paths)
	assert after == before
	assert contents(mnt, [p for p in paths if p != 'd/e']) == data
	st = os.stat(os.path.join(mnt, 'sparse'))
	assert st.st_size == (10 << 20) + 1 and st.st_blocks <= 64
	d.unmount()
	twfuse.assert_clean(image)


def as_user(uid, gid, code):
	"""Run Python @code as @uid/@gid (no supplementary groups)."""
	r = subprocess.run(['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
			    '--clear-groups', '/usr/bin/python3', '-c', code],
			   capture_output=True, text=True, timeout=60)
	assert r.returncode == 0, r.stderr
	return r.stdout


@pytest.fixture
def open_mnt(tracker):
	"""A mountpoint other users can reach (pytest's tmp is 0700)."""
	d = tempfile.mkdtemp(prefix='twfuse-perm-')
	os.chmod(d, 0o755)
	yield d
	assert not tracker.cleanup()	# unmount before the rmdir
	os.rmdir(d)


@pytest.mark.parametrize('profile', ['base', 'optimized'])
def test_setid_and_umask_rules(tracker, image, open_mnt, profile):
	"""POSIX through FUSE: the kernel clears set-ID bits (we take no
	FUSE_CAP_HANDLE_KILLPRIV and no atomic O_TRUNC), the daemon applies
	the umask (FUSE_CAP_DONT_MASK) and new inodes get the caller's ids."""
	mnt = open_mnt
	tracker.daemon(image, mnt).start('profile=' + profile, 'allow_other')
	os.chmod(mnt, 0o777)
	j = lambda p: os.path.join(mnt, p)	# noqa: E731
	for name in ('w', 't', 'o', 'c', 'g'):
		with open(j(name), 'w') as f:
			f.write('data')
		os.chmod(j(name), 0o6777)	# setuid, setgid+group exec
	# write, truncate and O_TRUNC by someone else: both bits go
	as_user(1000, 1000, 'import os\n'
		'fd = os.open(%r, os.O_WRONLY | os.O_APPEND)\n'
		'os.write(fd, b"more"); os.close(fd)\n'
		'os.truncate(%r, 1)\n'
		'os.close(os.open(%r, os.O_WRONLY | os.O_TRUNC))\n'
		% (j('w'), j('t'), j('o')))
	for name in ('w', 't', 'o'):
		assert stat.S_IMODE(os.stat(j(name)).st_mode) == 0o777, name
	# chown (even by root) clears them
	os.chown(j('c'), 1000, 1000)
	assert stat.S_IMODE(os.stat(j('c')).st_mode) == 0o777
	# root's own writes keep them (CAP_FSETID)
	with open(j('g'), 'a') as f:
		f.write('root')
	assert stat.S_IMODE(os.stat(j('g')).st_mode) == 0o6777

	# umask and owners of new inodes
	out = as_user(1000, 1001, 'import os\nos.umask(0o027)\n'
		      'open(%r, "w").close()\nos.mkdir(%r)\n'
		      'os.mknod(%r, 0o666)\nos.symlink("x", %r)\n'
		      % (j('new'), j('newdir'), j('node'), j('sym')))
	assert out == ''
	for name, mode in (('new', 0o640), ('newdir', 0o750),
			   ('node', 0o640), ('sym', 0o777)):
		st = os.lstat(j(name))
		assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == \
			(mode, 1000, 1001), name

	# set-group-ID directory: group inherited, subdirectories keep the
	# bit, a non-member's new file does not get it
	os.mkdir(j('sgid'))
	os.chown(j('sgid'), 0, 2000)
	os.chmod(j('sgid'), 0o2777)
	as_user(1000, 1000, 'import os\nos.umask(0)\n'
		'os.close(os.open(%r, os.O_CREAT | os.O_WRONLY, 0o2775))\n'
		'os.mkdir(%r, 0o755)\n' % (j('sgid/f'), j('sgid/sub')))
	st = os.stat(j('sgid/f'))
	assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (2000, 0o775)
	st = os.stat(j('sgid/sub'))
	assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (2000, 0o2755)
