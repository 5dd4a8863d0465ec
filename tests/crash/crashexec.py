# twinfs tests/crash: running a workload on a mounted filesystem (FUSE on
# the host, the kernel module in the guest) and comparing the live tree
# with the model.
#
# Layer: test harness (Python stdlib only; ctypes for the calls os has
# not).  Talks to the mount through system calls; crashlib.py gives the
# data pattern, the ACL values and the model.
import os
import stat

from crashlib import acl_parse, acl_value, final_model, pat, xattr_bytes


# ---------------------------------------------------------------------------
# Running a workload on a mounted directory (FUSE on the host, the kernel
# module in the guest)
# ---------------------------------------------------------------------------

_handles = {}
_libc = None
AT_FDCWD = -100
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
RENAME_WHITEOUT = 1 << 2


def _c(name, *args):
	"""The C library's @name(*args); OSError on a failure."""
	global _libc
	import ctypes
	if _libc is None:
		_libc = ctypes.CDLL(None, use_errno=True)
		_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int,
					    ctypes.c_int64, ctypes.c_int64]
		_libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p,
					 ctypes.c_int, ctypes.c_char_p,
					 ctypes.c_int]
		_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p,
					    ctypes.c_int, ctypes.c_char_p,
					    ctypes.c_uint]
	if getattr(_libc, name)(*args) != 0:
		e = ctypes.get_errno()
		raise OSError(e, '%s: %s' % (name, os.strerror(e)))


def _fallocate(fd, mode, off, length):
	_c('fallocate', fd, mode, off, length)


def run_op(mnt, op):
	"""Perform @op on the filesystem mounted at @mnt (not umount)."""
	k = op[0]
	P = lambda p: os.path.join(mnt, p)
	if k == 'mkdir':
		os.mkdir(P(op[1]), op[2])
	elif k == 'create':
		os.close(os.open(P(op[1]), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
				 op[2]))
	elif k == 'write':
		fd = os.open(P(op[1]), os.O_WRONLY)
		try:
			data = pat(op[4], op[2], op[3])
			done = 0
			while done < len(data):
				done += os.pwrite(fd, data[done:], op[2] + done)
		finally:
			os.close(fd)
	elif k == 'truncate':
		os.truncate(P(op[1]), op[2])
	elif k == 'fallocate':
		fd = os.open(P(op[1]), os.O_WRONLY)
		try:
			_fallocate(fd, op[2], op[3], op[4])
		finally:
			os.close(fd)
	elif k == 'link':
		os.link(P(op[1]), P(op[2]))
	elif k == 'unlink':
		os.unlink(P(op[1]))
	elif k == 'rename' and len(op) > 3:
		_c('renameat2', AT_FDCWD, os.fsencode(P(op[1])), AT_FDCWD,
		   os.fsencode(P(op[2])), RENAME_WHITEOUT)
	elif k == 'rename':
		os.rename(P(op[1]), P(op[2]))
	elif k == 'rmdir':
		os.rmdir(P(op[1]))
	elif k == 'symlink':
		os.symlink(op[1], P(op[2]))
	elif k == 'setxattr':
		os.setxattr(P(op[1]), op[2], pat(op[4], 0, op[3]))
	elif k == 'removexattr':
		os.removexattr(P(op[1]), op[2])
	elif k == 'setacl':
		os.setxattr(P(op[1]), 'system.posix_acl_' + op[2],
			    acl_value(acl_parse(op[3])))
	elif k == 'rmacl':
		os.removexattr(P(op[1]), 'system.posix_acl_' + op[2])
	elif k in ('fsync', 'fdatasync'):
		fd = os.open(P(op[1]), os.O_RDONLY)
		try:
			(os.fsync if k == 'fsync' else os.fdatasync)(fd)
		finally:
			os.close(fd)
	elif k == 'sync':
		os.sync()
	elif k == 'hold':
		_handles[op[2]] = os.open(P(op[1]), os.O_RDWR)
	elif k == 'tmpfile':
		_handles[op[3]] = os.open(P(op[1]), os.O_TMPFILE | os.O_RDWR,
					  op[2])
	elif k == 'hlink' and op[3] == 'fd':
		_c('linkat', _handles[op[1]], b'', AT_FDCWD,
		   os.fsencode(P(op[2])), AT_EMPTY_PATH)
	elif k == 'hlink':
		_c('linkat', AT_FDCWD, b'/proc/self/fd/%d' % _handles[op[1]],
		   AT_FDCWD, os.fsencode(P(op[2])), AT_SYMLINK_FOLLOW)
	elif k == 'hwrite':
		data = pat(op[4], op[2], op[3])
		done = 0
		while done < len(data):
			done += os.pwrite(_handles[op[1]], data[done:],
					  op[2] + done)
	elif k == 'hfsync':
		os.fsync(_handles[op[1]])
	elif k == 'release':
		os.close(_handles.pop(op[1]))
	else:
		raise ValueError('cannot run %r' % (op,))


def verify_tree(mnt, ops):
	"""Compare the live tree at @mnt with the model after @ops (all but a
	final umount): names, types, permission bits, contents, symlink
	targets, device numbers, user. xattrs and ACLs.  Returns a list of
	differences (empty: equal)."""
	m = final_model([o for o in ops if o[0] != 'umount'])
	bad = []
	seen = set()
	for root, dirs, files in os.walk(mnt):
		for n in dirs + files:
			full = os.path.join(root, n)
			rel = os.path.relpath(full, mnt)
			if rel == 'lost+found':
				continue
			seen.add(rel)
			o = m.get(rel)
			st = os.lstat(full)
			if o is None:
				bad.append('unexpected %s' % rel)
				continue
			t = 'd' if stat.S_ISDIR(st.st_mode) else \
				'l' if stat.S_ISLNK(st.st_mode) else \
				'c' if stat.S_ISCHR(st.st_mode) else 'f'
			if t != o.type:
				bad.append('%s: type %s, want %s' % (rel, t, o.type))
				continue
			if t != 'l' and st.st_mode & 0o7777 != o.mode:
				bad.append('%s: mode %o, want %o' % (
					rel, st.st_mode & 0o7777, o.mode))
			if t == 'f':
				with open(full, 'rb') as f:
					if f.read() != o.content():
						bad.append('%s: contents differ' % rel)
			elif t == 'l' and os.readlink(full) != o.target:
				bad.append('%s: target differs' % rel)
			elif t == 'c' and st.st_rdev != 0:
				bad.append('%s: device %d, want 0' % (
					rel, st.st_rdev))
			if t != 'l':
				xs = {x: os.getxattr(full, x, follow_symlinks=False)
				      for x in os.listxattr(full,
							    follow_symlinks=False)
				      if x.startswith(('user.',
						       'system.posix_acl_'))}
				want = {n: xattr_bytes(v)
					for n, v in o.xattrs.items()}
				if xs != want:
					bad.append('%s: xattrs differ: %s' % (
						rel, ', '.join(
							'%s=%s want %s' % (
								n, xs.get(n, b'').hex()[:48],
								want.get(n, b'').hex()[:48])
							for n in sorted(set(xs) | set(want))
							if xs.get(n) != want.get(n))))
	for p in m.paths:
		if p and p not in seen:
			bad.append('missing %s' % p)
	return bad
