# twinfs tests/posix: helpers shared by the POSIX suite and the fsx test.
# Layer: test helper (Python stdlib only, so that it runs unchanged on the
# host and inside the QEMU guest).  Calls system calls through os and ctypes;
# knows nothing about twinfs itself.
#
# What is here:
#   raises_errno()      assert that a call fails with one of some errnos
#   renameat2()         renameat2(2) with flags, through syscall(2)
#   utimensat()         utimensat(2) with UTIME_NOW / UTIME_OMIT
#   as_user()           run a function in a forked child as another uid/gid
#   tick()              sleep long enough for the next timestamp to differ
#   write_file(), read_file(), fill()
#   write_until_enospc(), check_written()
#                       fill a filesystem with write() alone; verify it
#   direct_write_race() buffered reads racing asynchronous O_DIRECT writes
#   name_to_handle(), open_by_handle(), drop_caches()
#                       file handles (name_to_handle_at/open_by_handle_at)
#   mount_options()     the mount options of the filesystem holding a path
#   snapshot(), diff_snapshots()   whole-tree metadata+content comparison
import ctypes
import ctypes.util
import errno
import hashlib
import os
import pickle
import platform
import stat
import struct
import time
import traceback

import pytest

# -- system calls that os does not wrap -------------------------------------

_libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6',
		    use_errno=True)

AT_FDCWD = -100
RENAME_NOREPLACE = 1 << 0
RENAME_EXCHANGE = 1 << 1
RENAME_WHITEOUT = 1 << 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_SYMLINK_NOFOLLOW = 0x100

_SYS_RENAMEAT2 = {'x86_64': 316, 'aarch64': 276, 'riscv64': 276,
		  'i686': 353, 'i386': 353}

_libc.syscall.restype = ctypes.c_long


_libc.getxattr.restype = ctypes.c_ssize_t
_libc.listxattr.restype = ctypes.c_ssize_t


def c_getxattr(path, name, size):
	"""getxattr(2) with a buffer of exactly size bytes: (ret, bytes)."""
	buf = ctypes.create_string_buffer(max(size, 1))
	r = _libc.getxattr(os.fsencode(path), name.encode(),
			   buf if size else None, ctypes.c_size_t(size))
	if r < 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(path))
	return r, buf.raw[:r] if size else b''


def c_listxattr(path, size):
	"""listxattr(2) with a buffer of exactly size bytes: (ret, bytes)."""
	buf = ctypes.create_string_buffer(max(size, 1))
	r = _libc.listxattr(os.fsencode(path), buf if size else None,
			    ctypes.c_size_t(size))
	if r < 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(path))
	return r, buf.raw[:r] if size else b''


def renameat2(old, new, flags=0, olddirfd=AT_FDCWD, newdirfd=AT_FDCWD):
	"""renameat2(2) through syscall(2) (SYS 316 on x86_64), so that it
	works whatever the libc wraps.  Raises OSError like os.rename."""
	nr = _SYS_RENAMEAT2.get(platform.machine())
	if nr is None:
		pytest.skip('renameat2: unknown syscall number on %s'
			    % platform.machine())
	r = _libc.syscall(ctypes.c_long(nr), ctypes.c_int(olddirfd),
			  os.fsencode(old), ctypes.c_int(newdirfd),
			  os.fsencode(new), ctypes.c_uint(flags))
	if r != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(old), None, str(new))


AT_EMPTY_PATH = 0x1000
AT_SYMLINK_FOLLOW = 0x400


def linkat_fd(fd, new, newdirfd=AT_FDCWD):
	"""linkat(fd, "", newdirfd, new, AT_EMPTY_PATH): give the file open
	as fd a name (an O_TMPFILE file).  Raises OSError."""
	r = _libc.linkat(ctypes.c_int(fd), b'', ctypes.c_int(newdirfd),
			 os.fsencode(new), ctypes.c_int(AT_EMPTY_PATH))
	if r != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(new))


def link_follow(old, new):
	"""linkat(AT_FDCWD, old, AT_FDCWD, new, AT_SYMLINK_FOLLOW): with old
	= /proc/self/fd/N, names the open file (os.link calls link(2), which
	does not follow).  Raises OSError."""
	r = _libc.linkat(ctypes.c_int(AT_FDCWD), os.fsencode(old),
			 ctypes.c_int(AT_FDCWD), os.fsencode(new),
			 ctypes.c_int(AT_SYMLINK_FOLLOW))
	if r != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(old), None, str(new))


def fs_type(path):
	"""The filesystem type of the mount holding path ("tmpfs", "twinfs",
	"fuse.twinfs", ...), from /proc/self/mountinfo."""
	ent = mount_entry(path)
	return ent[1] if ent else ''


def is_twinfs_fuse(path):
	"""Whether path is on a twinfs-fuse mount."""
	t = fs_type(path)
	return t.startswith('fuse') and 'twinfs' in t


class _Timespec(ctypes.Structure):
	_fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def utimensat(path, atime, mtime, follow=True, dirfd=AT_FDCWD):
	"""utimensat(2).  atime/mtime: None for "now" (NULL times), or each
	an int nanosecond count, UTIME_NOW or UTIME_OMIT (as tv_nsec)."""
	if atime is None and mtime is None:
		tsp = None
	else:
		ts = (_Timespec * 2)()
		for i, t in enumerate((atime, mtime)):
			if t in (UTIME_NOW, UTIME_OMIT):
				ts[i].tv_sec, ts[i].tv_nsec = 0, t
			else:
				ts[i].tv_sec, ts[i].tv_nsec = divmod(t, 10**9)
		tsp = ts
	r = _libc.utimensat(ctypes.c_int(dirfd), os.fsencode(path), tsp,
			    ctypes.c_int(0 if follow else AT_SYMLINK_NOFOLLOW))
	if r != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(path))


# -- assertions ---------------------------------------------------------------

def errname(e):
	return errno.errorcode.get(e, str(e))


def raises_errno(expected, fn, *args, **kw):
	"""Call fn(*args, **kw) and assert it raises OSError with an errno in
	expected (one errno or a collection).  Returns the exception."""
	if isinstance(expected, int):
		expected = (expected,)
	try:
		r = fn(*args, **kw)
	except OSError as e:
		assert e.errno in expected, \
			'%s%r: expected %s, got %s (%s)' % (
				getattr(fn, '__name__', fn), args,
				'/'.join(errname(x) for x in expected),
				errname(e.errno), e)
		return e
	raise AssertionError('%s%r: expected %s, but it succeeded (-> %r)' % (
		getattr(fn, '__name__', fn), args,
		'/'.join(errname(x) for x in expected), r))


def tick(seconds=0.03):
	"""Sleep long enough that a timestamp taken afterwards is later than
	one taken before, on every clock the kernel uses for inode times
	(coarse ktime ticks at HZ >= 100)."""
	time.sleep(seconds)


def ns_times(path, follow=True):
	"""(atime_ns, mtime_ns, ctime_ns) of path."""
	st = os.stat(path, follow_symlinks=follow)
	return st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns


# -- file content -------------------------------------------------------------

def write_file(path, data, mode=0o644):
	"""Create or truncate path and write data (bytes) to it."""
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
	try:
		view = memoryview(data)
		while view:
			n = os.write(fd, view)
			view = view[n:]
	finally:
		os.close(fd)


def read_file(path):
	with open(path, 'rb') as f:
		return f.read()


def pwrite_all(fd, data, off):
	"""pwrite until everything is written (short writes are legal)."""
	view = memoryview(data)
	while view:
		n = os.pwrite(fd, view, off)
		assert n > 0
		view = view[n:]
		off += n


def pread_all(fd, n, off):
	"""pread exactly up to n bytes (less only at EOF)."""
	out = bytearray()
	while len(out) < n:
		b = os.pread(fd, n - len(out), off + len(out))
		if not b:
			break
		out += b
	return bytes(out)


def fill(n, seed=0):
	"""n bytes of a deterministic, position-dependent pattern (no zeros,
	so that a hole read back as data would show)."""
	out = bytearray()
	i = 0
	while len(out) < n:
		out += hashlib.sha256(b'%d:%d' % (seed, i)).digest()
		i += 1
	b = bytes(out[:n])
	return b.replace(b'\0', b'\1')


def write_until_enospc(path, chunk=256 * 1024, limit=1 << 34):
	"""Write distinct chunks (fill(chunk, seed=i)) to a new file with
	write() alone, no fsync, until write() fails.  The failure must be
	ENOSPC, and before @limit bytes.  Then fsync() and close() must
	succeed: everything write() accepted fits.  Returns the bytes write()
	accepted (short writes count for what they wrote)."""
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	accepted, i = 0, 0
	try:
		while True:
			view = memoryview(fill(chunk, seed=i))
			try:
				while view:
					n = os.write(fd, view)
					accepted += n
					view = view[n:]
			except OSError as e:
				assert e.errno == errno.ENOSPC, e
				break
			i += 1
			assert accepted < limit, (
				'write() accepted %d bytes and never said ENOSPC'
				% accepted)
		os.fsync(fd)	# raises if write() promised what did not fit
	finally:
		os.close(fd)
	return accepted


def check_written(path, accepted, chunk=256 * 1024):
	"""The file at path holds exactly what write_until_enospc() says
	write() accepted: its size and every byte."""
	assert os.stat(path).st_size == accepted
	with open(path, 'rb') as f:
		i = 0
		while True:
			got = f.read(chunk)
			if not got:
				break
			assert got == fill(chunk, seed=i)[:len(got)], (
				'chunk %d (offset %d) differs from what write() '
				'accepted' % (i, i * chunk))
			i += 1
	assert i * chunk >= accepted


class _Iocb(ctypes.Structure):
	_fields_ = [('aio_data', ctypes.c_uint64),
		    ('aio_key', ctypes.c_uint32),
		    ('aio_rw_flags', ctypes.c_int32),
		    ('aio_lio_opcode', ctypes.c_uint16),
		    ('aio_reqprio', ctypes.c_int16),
		    ('aio_fildes', ctypes.c_uint32),
		    ('aio_buf', ctypes.c_uint64),
		    ('aio_nbytes', ctypes.c_uint64),
		    ('aio_offset', ctypes.c_int64),
		    ('aio_reserved2', ctypes.c_uint64),
		    ('aio_flags', ctypes.c_uint32),
		    ('aio_resfd', ctypes.c_uint32)]


class _IoEvent(ctypes.Structure):
	_fields_ = [('data', ctypes.c_uint64), ('obj', ctypes.c_uint64),
		    ('res', ctypes.c_int64), ('res2', ctypes.c_int64)]


# io_setup, io_destroy, io_getevents, io_submit (linux/aio_abi.h)
_SYS_AIO = {'x86_64': (206, 207, 208, 209), 'aarch64': (0, 1, 4, 2),
	    'riscv64': (0, 1, 4, 2)}
_IOCB_CMD_PWRITE = 1


def _aio_call(nr, *args):
	r = _libc.syscall(ctypes.c_long(nr), *args)
	if r < 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e))
	return r


def direct_write_race(path, rounds=100, size=1 << 20):
	"""Buffered reads racing asynchronous O_DIRECT writes (the race of
	fstests' generic/451).  Each round writes fill(size, seed=round)
	with io_submit() on an O_DIRECT descriptor while a thread reads the
	range through a buffered one (pulling the old bytes into the page
	cache); once io_getevents() says the write is done, a buffered read
	must return the new bytes.  Returns None, or what went wrong first.
	Skips where O_DIRECT is refused (EINVAL: no direct I/O there)."""
	import mmap
	import threading

	nrs = _SYS_AIO.get(platform.machine())
	if nrs is None:
		pytest.skip('Linux AIO: unknown syscall numbers on %s'
			    % platform.machine())
	io_setup, io_destroy, io_getevents, io_submit = nrs
	bfd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
	try:
		dfd = os.open(path, os.O_RDWR | os.O_DIRECT)
	except OSError as e:
		os.close(bfd)
		if e.errno == errno.EINVAL:
			pytest.skip('%s: no O_DIRECT here' % path)
		raise
	buf = mmap.mmap(-1, size)	# page-aligned, as O_DIRECT wants
	addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
	ctx = ctypes.c_ulong(0)
	try:
		pwrite_all(bfd, fill(size, seed=0), 0)
		os.fsync(bfd)
		_aio_call(io_setup, ctypes.c_uint(1), ctypes.byref(ctx))
		for r in range(1, rounds + 1):
			want = fill(size, seed=r)
			buf[:] = want
			stop = threading.Event()

			def reader():
				while not stop.is_set():
					os.pread(bfd, size, 0)

			t = threading.Thread(target=reader, daemon=True)
			t.start()
			cb = _Iocb(aio_fildes=dfd,
				   aio_lio_opcode=_IOCB_CMD_PWRITE,
				   aio_buf=addr, aio_nbytes=size, aio_offset=0)
			cbs = (ctypes.POINTER(_Iocb) * 1)(ctypes.pointer(cb))
			_aio_call(io_submit, ctx, ctypes.c_long(1), cbs)
			ev = _IoEvent()
			_aio_call(io_getevents, ctx, ctypes.c_long(1),
				  ctypes.c_long(1), ctypes.byref(ev), None)
			stop.set()
			t.join()
			if ev.res != size:
				return 'round %d: the direct write returned %d' % (
					r, ev.res)
			got = pread_all(bfd, size, 0)
			if got != want:
				off = next(i for i in range(size)
					   if got[i:i + 1] != want[i:i + 1])
				return ('round %d: a buffered read after the '
					'direct write returned old data at '
					'offset %d' % (r, off))
		return None
	finally:
		if ctx.value:
			_libc.syscall(ctypes.c_long(io_destroy), ctx)
		del addr
		buf.close()
		os.close(dfd)
		os.close(bfd)


# -- file handles ---------------------------------------------------------------

MAX_HANDLE_SZ = 128


class _FileHandle(ctypes.Structure):
	_fields_ = [('handle_bytes', ctypes.c_uint),
		    ('handle_type', ctypes.c_int),
		    ('f_handle', ctypes.c_ubyte * MAX_HANDLE_SZ)]


class Handle:
	"""A file handle as name_to_handle_at(2) gave it: the type and the
	opaque bytes (which only the filesystem that made them reads)."""

	def __init__(self, htype, data):
		self.type = htype
		self.data = bytes(data)

	def words(self):
		"""The bytes as native 32-bit words (the kernel's struct fid)."""
		return list(struct.unpack('=%dI' % (len(self.data) // 4),
					  self.data[:len(self.data) // 4 * 4]))

	def with_words(self, words):
		return Handle(self.type, struct.pack('=%dI' % len(words),
						     *words))

	def __repr__(self):
		return 'Handle(type=%#x, %s)' % (self.type, self.data.hex())


def name_to_handle(path, follow=False, dirfd=AT_FDCWD):
	"""name_to_handle_at(2) of path: a Handle.  Raises OSError (e.g.
	EOPNOTSUPP where the filesystem cannot export handles)."""
	fh = _FileHandle()
	fh.handle_bytes = MAX_HANDLE_SZ
	mount_id = ctypes.c_int()
	r = _libc.name_to_handle_at(ctypes.c_int(dirfd), os.fsencode(path),
				    ctypes.byref(fh), ctypes.byref(mount_id),
				    ctypes.c_int(0x400 if follow else 0))
	if r != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e), str(path))
	return Handle(fh.handle_type, bytes(fh.f_handle[:fh.handle_bytes]))


def open_by_handle(mount_path, handle, flags=os.O_RDONLY):
	"""open_by_handle_at(2): a descriptor for the file handle names on
	the filesystem mounted at (or holding) mount_path.  Needs
	CAP_DAC_READ_SEARCH.  Raises OSError (ESTALE for a handle of a file
	that is gone)."""
	mfd = os.open(mount_path, os.O_RDONLY | os.O_DIRECTORY)
	try:
		fh = _FileHandle()
		fh.handle_bytes = len(handle.data)
		fh.handle_type = handle.type
		ctypes.memmove(fh.f_handle, handle.data, len(handle.data))
		fd = _libc.open_by_handle_at(ctypes.c_int(mfd),
					     ctypes.byref(fh),
					     ctypes.c_int(flags | os.O_CLOEXEC))
		if fd < 0:
			e = ctypes.get_errno()
			raise OSError(e, os.strerror(e), repr(handle))
		return fd
	finally:
		os.close(mfd)


def drop_caches():
	"""Write back and drop the kernel's clean page cache, dentries and
	inodes (needs root), so that the next access asks the filesystem."""
	os.sync()
	with open('/proc/sys/vm/drop_caches', 'w') as f:
		f.write('3\n')


# -- running as another user --------------------------------------------------

NOBODY = 65534
USER2 = 12345
GROUP2 = 12345


class ChildError(Exception):
	pass


def as_user(uid, gid, fn, *args, groups=(), **kw):
	"""Run fn(*args, **kw) in a forked child whose real, effective and
	saved uid/gid are uid/gid (supplementary groups: groups) and return
	its result (which must pickle).  An OSError in the child is raised
	again here with the same errno; anything else becomes ChildError with
	the child's traceback.  Needs root.  The child never returns into
	pytest: it leaves with os._exit()."""
	if os.geteuid() != 0:
		pytest.skip('needs root to switch users')
	r, w = os.pipe()
	pid = os.fork()
	if pid == 0:
		os.close(r)
		try:
			try:
				os.setgroups(list(groups))
				os.setresgid(gid, gid, gid)
				os.setresuid(uid, uid, uid)
				res = ('ok', fn(*args, **kw))
			except OSError as e:
				res = ('oserror', (e.errno, e.strerror,
						   e.filename))
			except BaseException:
				res = ('error', traceback.format_exc())
			data = pickle.dumps(res)
		except BaseException:
			data = pickle.dumps(('error', traceback.format_exc()))
		try:
			os.write(w, struct.pack('<Q', len(data)))
			view = memoryview(data)
			while view:
				view = view[os.write(w, view):]
		finally:
			os._exit(0)
	os.close(w)
	with os.fdopen(r, 'rb') as f:
		data = f.read()
	_, status = os.waitpid(pid, 0)
	if len(data) < 8:
		raise ChildError('child died (status %#x) without a result'
				 % status)
	kind, val = pickle.loads(data[8:])
	if kind == 'ok':
		return val
	if kind == 'oserror':
		e, msg, fname = val
		raise OSError(e, msg, fname)
	raise ChildError(val)


# -- mounts -------------------------------------------------------------------

def _unescape(s):
	return s.encode().decode('unicode_escape')


def mount_entry(path):
	"""(mount point, fstype, options set) of the mount holding path, from
	/proc/self/mountinfo (longest matching mount point)."""
	path = os.path.realpath(path)
	best = None
	with open('/proc/self/mountinfo') as f:
		for line in f:
			a, b = line.split(' - ', 1)
			fa, fb = a.split(), b.split()
			mp = _unescape(fa[4])
			if path == mp or path.startswith(mp.rstrip('/') + '/'):
				if best is None or len(mp) >= len(best[0]):
					opts = set(fa[5].split(',')) | \
						set(fb[2].split(','))
					best = (mp, fb[0], opts)
	return best


def mount_options(path):
	return mount_entry(path)[2]


def is_mountpoint(path):
	path = os.path.realpath(path)
	with open('/proc/self/mountinfo') as f:
		for line in f:
			if _unescape(line.split()[4]) == path:
				return True
	return False


# -- whole-tree snapshots -----------------------------------------------------

def xattrs(path, follow=False):
	"""{name: value} of the user.* and trusted.* xattrs of path, or None
	when the filesystem does not support xattrs there."""
	try:
		names = os.listxattr(path, follow_symlinks=follow)
	except OSError as e:
		if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
			return None
		raise
	out = {}
	for n in names:
		if n.startswith(('user.', 'trusted.')):
			out[n] = os.getxattr(path, n, follow_symlinks=follow)
	return out


def file_digest(path):
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		while True:
			b = f.read(1 << 20)
			if not b:
				break
			h.update(b)
	return h.hexdigest()


def snapshot(root, times=False, inodes=False, use_xattrs=True,
	     skip_nlink=()):
	"""Describe the tree under root as {relpath: dict}: type, mode, uid,
	gid, size, nlink, symlink target, sorted listing, content digest,
	xattrs; optionally exact times and inode identity (as the group of
	paths sharing an inode).  Used to compare two trees (fsx) or one tree
	before and after a remount.

	Two passes: every lstat (and directory listing) first, then the
	reads (contents, link targets, xattrs), so that the times recorded
	are those from before this snapshot read anything - a read of one
	hard link may legitimately update the atime seen through another."""
	out = {}
	ino_paths = {}
	order = []

	def visit(rel):
		p = os.path.join(root, rel) if rel else root
		st = os.lstat(p)
		d = {'type': stat.S_IFMT(st.st_mode),
		     'mode': stat.S_IMODE(st.st_mode),
		     'uid': st.st_uid, 'gid': st.st_gid}
		if rel not in skip_nlink:
			d['nlink'] = st.st_nlink
		if times:
			d['atime'] = st.st_atime_ns
			d['mtime'] = st.st_mtime_ns
			d['ctime'] = st.st_ctime_ns
		if inodes:
			ino_paths.setdefault(st.st_ino, []).append(rel)
		if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
			d['size'] = st.st_size
		elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
			d['rdev'] = st.st_rdev
		out[rel or '.'] = d
		order.append((rel, p, st.st_mode))
		if stat.S_ISDIR(st.st_mode):
			names = sorted(os.listdir(p))
			d['listing'] = names
			for n in names:
				visit(os.path.join(rel, n) if rel else n)

	visit('')
	for rel, p, mode in order:
		d = out[rel or '.']
		if stat.S_ISREG(mode):
			d['digest'] = file_digest(p)
		elif stat.S_ISLNK(mode):
			d['target'] = os.readlink(p)
		if use_xattrs:
			d['xattrs'] = xattrs(p)
	if inodes:
		for paths in ino_paths.values():
			for p in paths:
				out[p or '.']['same_inode'] = sorted(paths)
	return out


def diff_snapshots(a, b, la='a', lb='b', limit=20):
	"""Human-readable differences between two snapshot() results, [] if
	equal."""
	diffs = []
	for k in sorted(set(a) | set(b)):
		if k not in a:
			diffs.append('%s: only in %s: %r' % (k, lb, b[k]))
		elif k not in b:
			diffs.append('%s: only in %s: %r' % (k, la, a[k]))
		elif a[k] != b[k]:
			for f in sorted(set(a[k]) | set(b[k])):
				va, vb = a[k].get(f), b[k].get(f)
				if va != vb:
					diffs.append('%s: %s: %s=%r %s=%r' % (
						k, f, la, va, lb, vb))
		if len(diffs) >= limit:
			diffs.append('...')
			break
	return diffs
