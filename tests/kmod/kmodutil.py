# twinfs tests/kmod: helpers shared by the kernel-module tests, on the host
# and in the guest.
# Layer: test helper (Python stdlib only; runs under Debian's python3 on the
# host and inside the vm/ guest).  May call the built tools of $TWINFS_BUILD
# (mkfs.twinfs, fsck.twinfs, twinfs-ctl, twinfs-mod, twinfs-fuse), mount,
# umount, losetup and fusermount3, and read /proc, /sys and /dev/kmsg.
#
# What is here:
#   tool()/run()        the project's programs and a subprocess wrapper
#   manifest()          what a mounted tree looks like through POSIX calls
#                       (types, modes, owners, sizes, blocks, mtimes, link
#                       targets, hard-link groups, xattrs, content hashes),
#                       so that two homes' views of one image can be compared
#   diff_manifests()    the differences, one readable line each
#   KmsgWatch           new kernel log records since a point, and the ones
#                       that report a kernel problem (oops, WARNING, BUG ...)
#   FuseMount           twinfs-fuse on an image, in the foreground, undone
#                       whatever happens (host side)
import ctypes
import errno
import hashlib
import os
import re
import stat
import subprocess
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def build_dir():
	return os.path.abspath(os.environ.get('TWINFS_BUILD') or
			       os.path.join(ROOT, 'build'))


def tool(rel):
	"""A built program: tool('tools/fsck.twinfs')."""
	return os.path.join(build_dir(), rel)


MKFS = 'tools/mkfs.twinfs'
FSCK = 'tools/fsck.twinfs'
CTL = 'tools/twinfs-ctl'
MOD = 'tools/twinfs-mod/twinfs-mod'
FUSE = 'fusefs/twinfs-fuse'


def run(cmd, timeout=120, check=False, **kw):
	"""subprocess.run with text output captured; cmd[0] may be a tool
	path relative to the build directory (tools/..., fusefs/...)."""
	cmd = [str(c) for c in cmd]
	if cmd[0].startswith(('tools/', 'fusefs/')):
		cmd[0] = tool(cmd[0])
	r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   text=True, timeout=timeout, **kw)
	if check and r.returncode != 0:
		raise AssertionError('%s: exit %d\n%s%s' % (
			' '.join(cmd), r.returncode, r.stdout[-4000:],
			r.stderr[-4000:]))
	return r


def mkfs(image, size, *args):
	"""A fresh twinfs image (a sparse file of SIZE)."""
	run([MKFS, '-q', *args, image, size], check=True)
	return str(image)


def fsck_n(image):
	"""fsck.twinfs -n: (exit status, output)."""
	r = run([FSCK, '-n', image], timeout=300)
	return r.returncode, r.stdout + r.stderr


def assert_fsck_clean(image):
	rc, out = fsck_n(image)
	assert rc == 0 and out.rstrip().endswith('clean'), \
		'fsck.twinfs -n %s: exit %d\n%s' % (image, rc, out[-6000:])


# -- what a tree looks like --------------------------------------------------

HASH_WHOLE = 64 << 20	# files up to this size are hashed whole
SAMPLE = 1 << 20	# bigger ones: 1 MiB at every 256 MiB and at the end


def _hash_file(path, size):
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		if size <= HASH_WHOLE:
			while True:
				b = f.read(1 << 20)
				if not b:
					break
				h.update(b)
		else:
			offs = list(range(0, size, 256 << 20))
			offs.append(max(0, size - SAMPLE))
			for off in offs:
				f.seek(off)
				h.update(b'@%d:' % off)
				h.update(f.read(SAMPLE))
	return h.hexdigest()


def _xattrs(path):
	out = {}
	try:
		names = os.listxattr(path, follow_symlinks=False)
	except OSError as e:
		if e.errno in (errno.ENOTSUP, errno.EPERM):
			return out
		raise
	for n in sorted(names):
		if n.startswith('system.'):
			continue	# ACLs and the like: the VFS's, not the image's
		out[n] = os.getxattr(path, n, follow_symlinks=False).hex()
	return out


def manifest(root, times=True, blocks=True):
	"""Every object under root, by relative path: a dict of its
	attributes as POSIX calls see them.  Hard links are recorded as the
	group of paths that share one inode (inode numbers themselves may
	differ between homes).  The root's own attributes are under '.'."""
	root = os.fspath(root)
	ents = {}
	groups = {}
	for dirpath, dirnames, filenames in os.walk(root):
		dirnames.sort()
		names = sorted(dirnames + filenames)
		if dirpath == root:
			names = ['.'] + names
		for name in names:
			p = os.path.normpath(os.path.join(dirpath, name))
			rel = os.path.relpath(p, root)
			st = os.lstat(p)
			e = {'type': stat.S_IFMT(st.st_mode),
			     'mode': '%04o' % stat.S_IMODE(st.st_mode),
			     'uid': st.st_uid, 'gid': st.st_gid}
			if times:
				e['mtime_ns'] = st.st_mtime_ns
			if stat.S_ISREG(st.st_mode):
				e['size'] = st.st_size
				e['nlink'] = st.st_nlink
				if blocks:
					e['blocks'] = st.st_blocks
				e['sha256'] = _hash_file(p, st.st_size)
				if st.st_nlink > 1:
					groups.setdefault(
						(st.st_dev, st.st_ino),
						[]).append(rel)
			elif stat.S_ISLNK(st.st_mode):
				e['size'] = st.st_size
				e['target'] = os.readlink(p)
			elif stat.S_ISDIR(st.st_mode):
				e['nlink'] = st.st_nlink
				e['entries'] = len(os.listdir(p))
			elif stat.S_ISCHR(st.st_mode) or \
			     stat.S_ISBLK(st.st_mode):
				e['rdev'] = [os.major(st.st_rdev),
					     os.minor(st.st_rdev)]
			e['xattrs'] = _xattrs(p)
			ents[rel] = e
	for paths in groups.values():
		for rel in paths:
			ents[rel]['links'] = sorted(paths)
	return ents


def statfs_summary(root):
	s = os.statvfs(root)
	return {'bsize': s.f_frsize, 'blocks': s.f_blocks, 'bfree': s.f_bfree,
		'files': s.f_files, 'ffree': s.f_ffree,
		'namemax': s.f_namemax}


def diff_manifests(a, b, na='a', nb='b'):
	"""Readable differences between two manifests (empty: the same)."""
	out = []
	for rel in sorted(set(a) | set(b)):
		if rel not in b:
			out.append('%s: only in %s' % (rel, na))
		elif rel not in a:
			out.append('%s: only in %s' % (rel, nb))
		else:
			for k in sorted(set(a[rel]) | set(b[rel])):
				va, vb = a[rel].get(k), b[rel].get(k)
				if va != vb:
					out.append('%s: %s %s=%r %s=%r' % (
						rel, k, na, va, nb, vb))
	return out


# -- the kernel log ---------------------------------------------------------

# What must never appear while twinfs runs: oopses, BUG()s, WARN()s,
# general protection faults, lockdep and list-debug reports, hung tasks,
# sanitizer reports, and slab leaks found when a cache is destroyed.
KERNEL_PROBLEM_RE = re.compile(
	r'(\bBUG[: ]|\bOops\b|WARNING:|general protection|kernel BUG|'
	r'Call Trace|Unable to handle|stack-protector|'
	r'possible circular locking|possible recursive locking|'
	r'list_(add|del) corruption|refcount_t: |'
	r'blocked for more than|UBSAN|KASAN|Objects remaining|'
	r'VFS: Busy inodes|slab error|double free|use-after-free)')


class KmsgWatch:
	"""New kernel log records since creation (reads /dev/kmsg, so a
	wrapped dmesg buffer or other readers cannot confuse it)."""

	def __init__(self):
		self.fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
		os.lseek(self.fd, 0, os.SEEK_END)
		self.lines = []

	def read(self):
		"""Returns the records that arrived since the last read."""
		new = []
		while True:
			try:
				rec = os.read(self.fd, 8192)
			except BlockingIOError:
				break
			except BrokenPipeError:
				new.append('(kmsg: records were lost)')
				continue
			head, _, msg = rec.decode(errors='replace') \
				.partition(';')
			new.append(msg.split('\n', 1)[0])
		self.lines += new
		return new

	def problems(self):
		self.read()
		return [l for l in self.lines if KERNEL_PROBLEM_RE.search(l)]

	def assert_clean(self, what=''):
		bad = self.problems()
		assert not bad, 'kernel reported problems%s:\n%s' % (
			(' ' + what) if what else '',
			'\n'.join(self.lines[-80:]))

	def close(self):
		os.close(self.fd)


# -- mounts ------------------------------------------------------------------

_libc = None


def libc():
	global _libc
	if _libc is None:
		_libc = ctypes.CDLL(None, use_errno=True)
	return _libc


def sys_mount(source, target, fstype, flags=0, data=None):
	"""mount(2); returns 0 or the errno."""
	r = libc().mount(source.encode(), target.encode(), fstype.encode(),
			 ctypes.c_ulong(flags),
			 data.encode() if data else None)
	return 0 if r == 0 else ctypes.get_errno()


def sys_umount(target, flags=0):
	r = libc().umount2(target.encode(), flags)
	return 0 if r == 0 else ctypes.get_errno()


LOOP_SET_FD = 0x4C00
LOOP_CLR_FD = 0x4C01
LOOP_CTL_GET_FREE = 0x4C82


def loop_attach(image, readonly=False):
	"""Attach image to a free loop device (what losetup --find --show
	does, without a process); returns /dev/loopN."""
	import fcntl
	ctl = os.open('/dev/loop-control', os.O_RDWR)
	try:
		n = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
	finally:
		os.close(ctl)
	dev = '/dev/loop%d' % n
	mode = os.O_RDONLY if readonly else os.O_RDWR
	img = os.open(image, mode)
	try:
		for _ in range(100):	# devtmpfs makes the node
			if os.path.exists(dev):
				break
			time.sleep(0.01)
		fd = os.open(dev, mode)
		try:
			fcntl.ioctl(fd, LOOP_SET_FD, img)
		finally:
			os.close(fd)
	finally:
		os.close(img)
	return dev


def loop_detach(dev):
	import fcntl
	fd = os.open(dev, os.O_RDONLY)
	try:
		fcntl.ioctl(fd, LOOP_CLR_FD)
	finally:
		os.close(fd)


def is_mountpoint(path):
	path = os.path.realpath(path)
	with open('/proc/self/mounts') as f:
		for line in f:
			mp = line.split()[1].encode().decode('unicode_escape')
			if mp == path:
				return True
	return False


def mounts_of(fstype):
	out = []
	with open('/proc/self/mounts') as f:
		for line in f:
			w = line.split()
			if w[2] == fstype:
				out.append(w[1])
	return out


class FuseMount:
	"""twinfs-fuse IMAGE MNT -f (host side); a context manager that
	unmounts, waits for the daemon (which writes everything back and
	marks the image clean) and kills it only as a last resort."""

	def __init__(self, image, mnt, opts='profile=base'):
		self.image = str(image)
		self.mnt = str(mnt)
		self.opts = opts
		self.proc = None
		self.log = None

	def __enter__(self):
		os.makedirs(self.mnt, exist_ok=True)
		self.log = open(self.mnt.rstrip('/') + '.log', 'w+')
		self.proc = subprocess.Popen(
			[tool(FUSE), self.image, self.mnt, '-f', '-o', self.opts],
			stdin=subprocess.DEVNULL, stdout=self.log,
			stderr=subprocess.STDOUT)
		deadline = time.monotonic() + 20
		while not is_mountpoint(self.mnt):
			if self.proc.poll() is not None or \
			   time.monotonic() > deadline:
				self._stop()
				raise AssertionError('twinfs-fuse did not mount %s:'
						     '\n%s' % (self.image,
							       self._log()))
			time.sleep(0.02)
		return self.mnt

	def _log(self):
		self.log.seek(0)
		return self.log.read()[-4000:]

	def _stop(self):
		if self.proc.poll() is None:
			self.proc.terminate()
			try:
				self.proc.wait(10)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait()

	def unmount(self):
		"""Unmount and wait for the daemon; returns its exit status."""
		if is_mountpoint(self.mnt):
			r = run(['fusermount3', '-u', self.mnt])
			if r.returncode != 0:
				run(['fusermount3', '-u', '-z', self.mnt])
		try:
			self.proc.wait(60)
		except subprocess.TimeoutExpired:
			self._stop()
		return self.proc.returncode

	def __exit__(self, *exc):
		rc = self.unmount()
		log = self._log()
		self.log.close()
		if exc[0] is None:
			assert rc == 0, 'twinfs-fuse exited with %s:\n%s' % (
				rc, log)
		return False
