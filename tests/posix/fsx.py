# twinfs tests/posix: fsx-style differential random-operation tester.
# Layer: test helper (Python stdlib; runs on the host and in the guest).
# Calls system calls on two directory trees and nothing of twinfs; used by
# test_fsx.py and runnable on its own:
#
#   python3 tests/posix/fsx.py [--seed N] [--ops N] [--clients N]
#                              [--check-every N] TARGET REF
#
# The same seeded random operations run on the target tree and on a
# reference tree (a tmpfs), one after the other, and everything observable
# is compared: each call's result or errno at once, then the metadata of
# the paths it touched (type, size, mode, owner, nlink, symlink target,
# directory listing, xattrs) and the bytes around a write; every
# CHECK_EVERY operations and at the end the client's whole subtree with
# content digests.
#
# Concurrency: several clients (threads) run at once.  Client i owns the
# subtree c<i>/ and the entries named s<i>_* of the shared directory
# shared/ (and everything under them), so the result of each of its
# operations does not depend on how the clients interleave, while the
# shared directory still sees concurrent creates, renames and removals.
# Operations are chosen from the reference tree's state with a per-client
# random.Random(seed * 1000 + i): a run is reproducible from its seed and
# client count.
#
# Operations: write (in place, appending, sparse and far), O_APPEND, mmap
# MAP_SHARED writes + msync, truncate up and down, read-back, create
# (O_EXCL), mkdir, rmdir, unlink, rename (over files and dirs, across
# directories, into the shared dir), renameat2 NOREPLACE/EXCHANGE, link,
# symlink, mkfifo, chmod, chown (root), xattr set/remove (when both trees
# support user xattrs), utimensat with explicit times, fsync, and
# unlink-while-open.
import argparse
import errno
import mmap
import os
import random
import stat
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import posixfs  # noqa: E402

SHARED = 'shared'
CHECK_EVERY = 100	# per client: whole-subtree comparison
MAX_OFF = 4 << 20	# files stay below this size
NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
MODES = [0o644, 0o600, 0o755, 0o700, 0o4755, 0o2755, 0o1777, 0o640,
	 0o444, 0o777]
XNAMES = ['user.a', 'user.b', 'user.c']
# Every open: never block on a FIFO, never follow a symlink out of the
# client's part of the tree (both only matter once the trees differ).
OPEN = os.O_NONBLOCK | os.O_NOFOLLOW


class Mismatch(AssertionError):
	pass


def _outcome(fn):
	"""('ok', value) or ('err', errno name) of calling fn()."""
	try:
		return ('ok', fn())
	except OSError as e:
		return ('err', errno.errorcode.get(e.errno, e.errno))


def describe(root, rel, prefix=None, shared=False, use_xattrs=True):
	"""Observable metadata of root/rel (without timestamps), or None if
	it does not exist.  In the shared directory only names with the
	client's prefix are listed and nlink (other clients' subdirs) is
	left out."""
	p = os.path.join(root, rel)
	try:
		st = os.lstat(p)
	except FileNotFoundError:
		return None
	d = {'type': stat.S_IFMT(st.st_mode), 'mode': stat.S_IMODE(st.st_mode),
	     'uid': st.st_uid, 'gid': st.st_gid}
	if not shared:
		d['nlink'] = st.st_nlink
	if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
		d['size'] = st.st_size
	if stat.S_ISLNK(st.st_mode):
		d['target'] = os.readlink(p)
	elif stat.S_ISDIR(st.st_mode):
		names = os.listdir(p)
		if shared:
			names = [n for n in names if n.startswith(prefix)]
		d['listing'] = sorted(names)
	if use_xattrs and (stat.S_ISREG(st.st_mode) or
			   stat.S_ISDIR(st.st_mode)):
		d['xattrs'] = posixfs.xattrs(p)
	return d


class Client:
	"""One stream of random operations on its own part of both trees."""

	def __init__(self, run, cid, nops):
		self.run = run
		self.cid = cid
		self.nops = nops
		self.rng = random.Random(run.seed * 1000 + cid)
		self.home = 'c%d' % cid
		self.prefix = 's%d_' % cid
		self.log = []
		self.done = 0

	# -- the reference tree's state, from which operations are chosen --

	def entries(self):
		"""[(rel, lstat mode)] of everything this client owns, in a
		deterministic order."""
		ref = self.run.ref
		out = []

		def walk(rel):
			for n in sorted(os.listdir(os.path.join(ref, rel))):
				r = os.path.join(rel, n)
				m = os.lstat(os.path.join(ref, r)).st_mode
				out.append((r, m))
				if stat.S_ISDIR(m):
					walk(r)

		walk(self.home)
		for n in sorted(os.listdir(os.path.join(ref, SHARED))):
			if n.startswith(self.prefix):
				r = os.path.join(SHARED, n)
				m = os.lstat(os.path.join(ref, r)).st_mode
				out.append((r, m))
				if stat.S_ISDIR(m):
					walk(r)
		return out

	def pick(self, ents, test=None):
		c = [r for r, m in ents if test is None or test(m)]
		return self.rng.choice(c) if c else None

	def new_path(self, ents, depth_max=4):
		"""A path for a new entry: an owned directory (or the client's
		home or the shared directory) and a pooled name, which may
		well exist already."""
		dirs = [self.home, SHARED] + [r for r, m in ents
					      if stat.S_ISDIR(m) and
					      r.count('/') < depth_max]
		parent = self.rng.choice(dirs)
		name = self.rng.choice(NAMES)
		if parent == SHARED:
			name = self.prefix + name
		return os.path.join(parent, name)

	def lmode(self, rel):
		try:
			return os.lstat(os.path.join(self.run.ref, rel)).st_mode
		except FileNotFoundError:
			return None

	def data(self, n):
		r = self.rng.random()
		if r < 0.1:
			return bytes(n)		# zeros: not the same as a hole
		return self.rng.randbytes(n)

	def length(self):
		r = self.rng.random()
		if r < 0.5:
			return self.rng.randint(1, 600)
		if r < 0.9:
			return self.rng.randint(1, 9000)
		return self.rng.randint(1, 70000)

	def offset(self, size):
		r = self.rng.random()
		if r < 0.35 or size == 0:
			return self.rng.randint(0, max(size, 1))
		if r < 0.6:
			return size
		if r < 0.95:
			return self.rng.randint(0, size + 65536)
		return self.rng.randint(0, MAX_OFF - 70000)

	# -- choosing one operation ---------------------------------------------

	def choose(self):
		"""(description, fn(root) -> result, affected paths, extra
		check or None)."""
		ents = self.entries()
		rng = self.rng
		is_reg = stat.S_ISREG
		w = [('write', 16), ('append', 4), ('mmap', 6), ('truncate', 8),
		     ('read', 6), ('create', 6), ('mkdir', 6), ('rmdir', 4),
		     ('unlink', 6), ('rename', 10), ('renameat2', 4),
		     ('link', 5), ('symlink', 5), ('mkfifo', 1), ('chmod', 4),
		     ('utime', 3), ('fsync', 2), ('unlink_open', 2),
		     ('stat', 2)]
		if self.run.root_ok:
			w.append(('chown', 3))
		if self.run.use_xattrs:
			w += [('setxattr', 5), ('removexattr', 2)]
		total = sum(x for _, x in w)
		k = rng.randrange(total)
		for op, x in w:
			if k < x:
				break
			k -= x
		return getattr(self, 'op_' + op)(ents)

	def _size(self, rel):
		return os.lstat(os.path.join(self.run.ref, rel)).st_size

	def op_write(self, ents):
		rel = self.pick(ents, stat.S_ISREG) if self.rng.random() < 0.8 \
			else self.new_path(ents)
		if rel is None:
			rel = self.new_path(ents)
		m = self.lmode(rel)
		size = self._size(rel) if m is not None and stat.S_ISREG(m) else 0
		off, data = self.offset(size), self.data(self.length())
		flags = os.O_WRONLY | os.O_CREAT | OPEN

		def fn(root):
			fd = os.open(os.path.join(root, rel), flags, 0o644)
			try:
				return os.pwrite(fd, data, off)
			finally:
				os.close(fd)
		return ('write %s off=%d len=%d' % (rel, off, len(data)), fn,
			[rel], ('range', rel, off, len(data)))

	def op_append(self, ents):
		rel = self.pick(ents, stat.S_ISREG) or self.new_path(ents)
		data = self.data(self.length())
		flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | OPEN

		def fn(root):
			fd = os.open(os.path.join(root, rel), flags, 0o644)
			try:
				n = os.write(fd, data)
				return n, os.lseek(fd, 0, os.SEEK_CUR)
			finally:
				os.close(fd)
		size = self._size(rel) if self.lmode(rel) and \
			stat.S_ISREG(self.lmode(rel)) else 0
		return ('append %s len=%d' % (rel, len(data)), fn, [rel],
			('range', rel, size, len(data)))

	def op_mmap(self, ents):
		rel = self.pick(ents, stat.S_ISREG)
		if rel is None or self._size(rel) == 0:
			return self.op_write(ents)
		size = self._size(rel)
		off = self.rng.randrange(size)
		n = min(self.length(), size - off)
		data = self.data(n)

		def fn(root):
			fd = os.open(os.path.join(root, rel), os.O_RDWR | OPEN)
			try:
				# never map past the target's own EOF (SIGBUS):
				# a size mismatch is reported instead
				if os.fstat(fd).st_size != size:
					return ('size', os.fstat(fd).st_size)
				mm = mmap.mmap(fd, size, mmap.MAP_SHARED)
				try:
					mm[off:off + n] = data
					mm.flush()
				finally:
					mm.close()
				return 'mapped'
			finally:
				os.close(fd)
		return ('mmap-write %s off=%d len=%d (size %d)' % (rel, off, n, size),
			fn, [rel], ('range', rel, off, n))

	def op_truncate(self, ents):
		rel = self.pick(ents, stat.S_ISREG)
		if rel is None:
			return self.op_write(ents)
		size = self._size(rel)
		r = self.rng.random()
		if r < 0.4:
			new = self.rng.randint(0, size)
		elif r < 0.9:
			new = self.rng.randint(size, size + 20000)
		else:
			new = self.rng.randint(0, MAX_OFF)

		def fn(root):
			os.truncate(os.path.join(root, rel), new)
		return ('truncate %s %d -> %d' % (rel, size, new), fn, [rel],
			('range', rel, max(0, min(size, new) - 5000), 10000))

	def op_read(self, ents):
		rel = self.pick(ents, stat.S_ISREG)
		if rel is None:
			return self.op_stat(ents)
		size = self._size(rel)
		off = self.rng.randint(0, size + 10)
		n = self.length()

		def fn(root):
			fd = os.open(os.path.join(root, rel), os.O_RDONLY | OPEN)
			try:
				return posixfs.pread_all(fd, n, off)
			finally:
				os.close(fd)
		return ('read %s off=%d len=%d' % (rel, off, n), fn, [rel], None)

	def op_create(self, ents):
		rel = self.new_path(ents)
		mode = self.rng.choice([0o644, 0o600, 0o755])
		excl = self.rng.random() < 0.5
		flags = os.O_WRONLY | os.O_CREAT | OPEN
		if excl:
			flags |= os.O_EXCL
		trunc = self.rng.random() < 0.3
		if trunc:
			flags |= os.O_TRUNC

		def fn(root):
			os.close(os.open(os.path.join(root, rel), flags, mode))
		return ('create %s mode=%o%s%s' % (rel, mode, ' excl' * excl,
						   ' trunc' * trunc),
			fn, [rel, os.path.dirname(rel)], None)

	def op_mkdir(self, ents):
		rel = self.new_path(ents)
		mode = self.rng.choice([0o755, 0o700, 0o2775, 0o1777])

		def fn(root):
			os.mkdir(os.path.join(root, rel), mode)
		return ('mkdir %s %o' % (rel, mode), fn,
			[rel, os.path.dirname(rel)], None)

	def op_rmdir(self, ents):
		rel = self.pick(ents, stat.S_ISDIR) or self.new_path(ents)

		def fn(root):
			os.rmdir(os.path.join(root, rel))
		return ('rmdir %s' % rel, fn, [rel, os.path.dirname(rel)], None)

	def op_unlink(self, ents):
		rel = self.pick(ents) if self.rng.random() < 0.9 else \
			self.new_path(ents)
		if rel is None:
			rel = self.new_path(ents)

		def fn(root):
			os.unlink(os.path.join(root, rel))
		return ('unlink %s' % rel, fn, [rel, os.path.dirname(rel)], None)

	def _two(self, ents):
		src = self.pick(ents) or self.new_path(ents)
		r = self.rng.random()
		if r < 0.4:
			dst = self.pick(ents) or self.new_path(ents)
		else:
			dst = self.new_path(ents)
		return src, dst

	def op_rename(self, ents):
		src, dst = self._two(ents)

		def fn(root):
			os.rename(os.path.join(root, src), os.path.join(root, dst))
		return ('rename %s -> %s' % (src, dst), fn,
			[src, dst, os.path.dirname(src), os.path.dirname(dst)],
			None)

	def op_renameat2(self, ents):
		src, dst = self._two(ents)
		flags = self.rng.choice([posixfs.RENAME_NOREPLACE,
					 posixfs.RENAME_EXCHANGE])

		def fn(root):
			posixfs.renameat2(os.path.join(root, src),
					  os.path.join(root, dst), flags)
		name = 'NOREPLACE' if flags == posixfs.RENAME_NOREPLACE \
			else 'EXCHANGE'
		return ('renameat2 %s -> %s %s' % (src, dst, name), fn,
			[src, dst, os.path.dirname(src), os.path.dirname(dst)],
			None)

	def op_link(self, ents):
		src = self.pick(ents, lambda m: not stat.S_ISDIR(m)) or \
			self.new_path(ents)
		dst = self.new_path(ents)

		def fn(root):
			os.link(os.path.join(root, src), os.path.join(root, dst),
				follow_symlinks=False)
		return ('link %s -> %s' % (src, dst), fn,
			[src, dst, os.path.dirname(dst)], None)

	def op_symlink(self, ents):
		dst = self.new_path(ents)
		r = self.rng.random()
		if r < 0.6:
			target = self.rng.choice(NAMES + ['../a', 'd/e', '.', '..'])
		elif r < 0.9:
			target = 'x' * self.rng.randint(1, 300)
		else:
			target = 'long/' * self.rng.randint(20, 800)

		def fn(root):
			os.symlink(target, os.path.join(root, dst))
		return ('symlink %s (%d bytes)' % (dst, len(target)), fn,
			[dst, os.path.dirname(dst)], None)

	def op_mkfifo(self, ents):
		rel = self.new_path(ents)

		def fn(root):
			os.mkfifo(os.path.join(root, rel), 0o644)
		return ('mkfifo %s' % rel, fn, [rel, os.path.dirname(rel)], None)

	def _no_link(self, ents):
		return self.pick(ents, lambda m: not stat.S_ISLNK(m))

	def op_chmod(self, ents):
		rel = self._no_link(ents)
		if rel is None:
			return self.op_stat(ents)
		mode = self.rng.choice(MODES)
		if stat.S_ISDIR(self.lmode(rel)) and not self.run.root_ok:
			mode |= 0o700

		def fn(root):
			os.chmod(os.path.join(root, rel), mode)
		return ('chmod %s %o' % (rel, mode), fn, [rel], None)

	def op_chown(self, ents):
		rel = self.pick(ents)
		if rel is None:
			return self.op_stat(ents)
		uid = self.rng.choice([-1, 0, 1000, 65534, 123456])
		gid = self.rng.choice([-1, 0, 1000, 65534, 654321])

		def fn(root):
			os.chown(os.path.join(root, rel), uid, gid,
				 follow_symlinks=False)
		return ('lchown %s %d:%d' % (rel, uid, gid), fn, [rel], None)

	def op_setxattr(self, ents):
		rel = self.pick(ents, lambda m: stat.S_ISREG(m) or
				stat.S_ISDIR(m))
		if rel is None:
			return self.op_stat(ents)
		name = self.rng.choice(XNAMES)
		val = self.rng.randbytes(self.rng.choice([0, 1, 10, 200, 900]))
		flags = self.rng.choice([0, 0, os.XATTR_CREATE,
					 os.XATTR_REPLACE])

		def fn(root):
			os.setxattr(os.path.join(root, rel), name, val, flags)
		return ('setxattr %s %s len=%d flags=%d' % (rel, name, len(val),
							    flags),
			fn, [rel], None)

	def op_removexattr(self, ents):
		rel = self.pick(ents, lambda m: stat.S_ISREG(m) or
				stat.S_ISDIR(m))
		if rel is None:
			return self.op_stat(ents)
		name = self.rng.choice(XNAMES)

		def fn(root):
			os.removexattr(os.path.join(root, rel), name)
		return ('removexattr %s %s' % (rel, name), fn, [rel], None)

	def op_utime(self, ents):
		rel = self.pick(ents)
		if rel is None:
			return self.op_stat(ents)
		a = self.rng.randint(0, 4 * 10**18)
		m = self.rng.randint(0, 4 * 10**18)

		def fn(root):
			os.utime(os.path.join(root, rel), ns=(a, m),
				 follow_symlinks=False)
		return ('utime %s %d %d' % (rel, a, m), fn, [rel],
			('times', rel, a, m))

	def op_fsync(self, ents):
		rel = self.pick(ents, lambda m: stat.S_ISREG(m) or
				stat.S_ISDIR(m))
		if rel is None:
			return self.op_stat(ents)

		def fn(root):
			fd = os.open(os.path.join(root, rel), os.O_RDONLY | OPEN)
			try:
				os.fsync(fd)
			finally:
				os.close(fd)
		return ('fsync %s' % rel, fn, [rel], None)

	def op_unlink_open(self, ents):
		rel = self.pick(ents, stat.S_ISREG)
		if rel is None:
			return self.op_write(ents)
		off = self.rng.randint(0, 20000)
		data = self.data(self.length())

		def fn(root):
			p = os.path.join(root, rel)
			fd = os.open(p, os.O_RDWR | OPEN)
			try:
				os.unlink(p)
				posixfs.pwrite_all(fd, data, off)
				st = os.fstat(fd)
				back = posixfs.pread_all(fd, st.st_size, 0)
				return st.st_size, st.st_nlink, back
			finally:
				os.close(fd)
		return ('unlink-while-open %s write off=%d len=%d'
			% (rel, off, len(data)), fn,
			[rel, os.path.dirname(rel)], None)

	def op_stat(self, ents):
		rel = self.pick(ents) or self.home
		return ('stat %s' % rel, lambda root: None,
			[rel, os.path.dirname(rel)], None)

	# -- running and comparing ----------------------------------------------

	def fail(self, what):
		tail = '\n'.join('  ' + x for x in self.log[-25:])
		raise Mismatch(
			'fsx: %s\n  seed=%d clients=%d client=%d op #%d\n'
			'  reproduce: TWINFS_FSX_SEED=%d TWINFS_FSX_OPS=%d '
			'TWINFS_FSX_CLIENTS=%d\n'
			'last operations of this client:\n%s' % (
				what, self.run.seed, self.run.nclients, self.cid,
				self.done, self.run.seed, self.run.nops,
				self.run.nclients, tail))

	def compare_paths(self, paths):
		seen = set()
		for rel in paths:
			if not rel or rel in seen:
				continue
			seen.add(rel)
			shared = rel == SHARED
			a = describe(self.run.target, rel, self.prefix, shared,
				     self.run.use_xattrs)
			b = describe(self.run.ref, rel, self.prefix, shared,
				     self.run.use_xattrs)
			if a != b and self.run.attr_cache:
				# FUSE may serve attributes it cached up to
				# attr_timeout ago (a READDIRPLUS reply racing a
				# change made by another client can refresh the
				# cache with older ones): only what is still
				# wrong once that time has passed is an error
				time.sleep(self.run.attr_cache + 0.2)
				a = describe(self.run.target, rel, self.prefix,
					     shared, self.run.use_xattrs)
				if a == b:
					self.run.stale_attrs += 1
			if a != b:
				self.fail('metadata of %s differs:\n  target: %r\n'
					  '  ref:    %r' % (rel, a, b))

	def compare_range(self, rel, off, n):
		m = self.lmode(rel)
		if m is None or not stat.S_ISREG(m):
			return
		lo, hi = max(0, off - 4096), off + n + 4096
		got = []
		for root in (self.run.target, self.run.ref):
			fd = os.open(os.path.join(root, rel), os.O_RDONLY | OPEN)
			try:
				got.append(posixfs.pread_all(fd, hi - lo, lo))
			finally:
				os.close(fd)
		if got[0] != got[1]:
			i = next(k for k in range(min(map(len, got)) + 1)
				 if k >= min(map(len, got)) or
				 got[0][k] != got[1][k])
			self.fail('data of %s differs at byte %d (lengths %d/%d)'
				  % (rel, lo + i, len(got[0]), len(got[1])))

	def compare_times(self, rel, a, m):
		for root, name in ((self.run.target, 'target'),
				   (self.run.ref, 'ref')):
			try:
				st = os.lstat(os.path.join(root, rel))
			except FileNotFoundError:
				continue
			if (st.st_atime_ns, st.st_mtime_ns) != (a, m):
				self.fail('%s: times of %s are %d %d, set %d %d' % (
					name, rel, st.st_atime_ns,
					st.st_mtime_ns, a, m))

	def compare_all(self):
		"""The client's whole subtree, contents included."""
		t = self.run.target
		r = self.run.ref
		for top in [self.home] + sorted(
				os.path.join(SHARED, n)
				for n in os.listdir(os.path.join(r, SHARED))
				if n.startswith(self.prefix)):
			if not os.path.lexists(os.path.join(t, top)):
				self.fail('%s missing on the target' % top)
			a = posixfs.snapshot(os.path.join(t, top),
					     use_xattrs=self.run.use_xattrs)
			b = posixfs.snapshot(os.path.join(r, top),
					     use_xattrs=self.run.use_xattrs)
			d = posixfs.diff_snapshots(a, b, 'target', 'ref')
			if d:
				self.fail('subtree %s differs:\n  ' % top +
					  '\n  '.join(d))
		self.compare_paths([SHARED])

	def step(self):
		desc, fn, paths, extra = self.choose()
		self.log.append('#%d %s' % (self.done, desc))
		a = _outcome(lambda: fn(self.run.target))
		b = _outcome(lambda: fn(self.run.ref))
		if a != b:
			sa, sb = repr(a), repr(b)
			self.fail('%s: target returned %s, reference %s' % (
				desc, sa[:300], sb[:300]))
		if extra and extra[0] == 'times' and a[0] == 'ok':
			self.compare_times(*extra[1:])
		self.compare_paths(paths)
		if extra and extra[0] == 'range' and a[0] == 'ok':
			self.compare_range(*extra[1:])
		self.done += 1

	def main(self):
		for p in (self.run.target, self.run.ref):
			os.mkdir(os.path.join(p, self.home))
		while self.done < self.nops and not self.run.stop.is_set():
			self.step()
			if self.done % self.run.check_every == 0:
				self.compare_all()
		self.compare_all()


class Run:
	"""One differential run over two trees."""

	def __init__(self, target, ref, seed, nops, nclients, root_ok=None,
		     check_every=CHECK_EVERY, attr_cache=0.0):
		self.target = str(target)
		# seconds the target's kernel may cache attributes (FUSE's
		# attr_timeout), and how often a difference went away after it
		self.attr_cache = attr_cache
		self.stale_attrs = 0
		self.check_every = check_every
		self.ref = str(ref)
		self.seed = seed
		self.nops = nops
		self.nclients = nclients
		self.root_ok = os.geteuid() == 0 if root_ok is None else root_ok
		self.stop = threading.Event()
		self.errors = []
		self.use_xattrs = self._xattrs_work()
		self.notes = []
		if not self.use_xattrs:
			self.notes.append('xattr operations off: user.* xattrs '
					  'do not work on both trees')

	def _xattrs_work(self):
		for root in (self.target, self.ref):
			p = os.path.join(root, '.fsx-probe')
			posixfs.write_file(p, b'')
			try:
				os.setxattr(p, 'user.probe', b'1')
			except OSError:
				return False
			finally:
				os.unlink(p)
		return True

	def _client(self, c):
		try:
			c.main()
		except BaseException as e:
			self.errors.append(e)
			self.stop.set()

	def run(self):
		"""Run all clients; raise the first Mismatch (or other error),
		then compare the two whole trees."""
		for p in (self.target, self.ref):
			os.mkdir(os.path.join(p, SHARED))
		per = max(1, self.nops // self.nclients)
		clients = [Client(self, i, per) for i in range(self.nclients)]
		self.clients = clients
		threads = [threading.Thread(target=self._client, args=(c,),
					    name='fsx-client-%d' % i)
			   for i, c in enumerate(clients)]
		t0 = time.monotonic()
		for t in threads:
			t.start()
		for t in threads:
			t.join()
		self.seconds = time.monotonic() - t0
		self.ops_done = sum(c.done for c in clients)
		mismatches = [e for e in self.errors if isinstance(e, Mismatch)]
		if mismatches:
			raise mismatches[0]
		if self.errors:
			raise self.errors[0]
		self.compare_trees()

	def compare_trees(self):
		a = posixfs.snapshot(self.target, use_xattrs=self.use_xattrs)
		b = posixfs.snapshot(self.ref, use_xattrs=self.use_xattrs)
		# the two top directories were made by the caller: compare
		# only what is in them
		a['.'] = {'listing': a['.']['listing']}
		b['.'] = {'listing': b['.']['listing']}
		d = posixfs.diff_snapshots(a, b, 'target', 'ref')
		if d:
			raise Mismatch('fsx: the trees differ at the end (seed=%d '
				       'clients=%d):\n  %s' % (
					       self.seed, self.nclients,
					       '\n  '.join(d)))


def main(argv=None):
	ap = argparse.ArgumentParser(
		description='differential random-operation test of TARGET '
		'against REF (two empty directories)')
	ap.add_argument('--seed', type=int, default=None)
	ap.add_argument('--ops', type=int, default=4000)
	ap.add_argument('--clients', type=int, default=4)
	ap.add_argument('--check-every', type=int, default=CHECK_EVERY,
			help='compare whole subtrees every N operations of a '
			'client (1: after each, to find the first bad one)')
	ap.add_argument('target')
	ap.add_argument('ref')
	a = ap.parse_args(argv)
	seed = a.seed if a.seed is not None else random.randrange(1 << 32)
	print('fsx: seed=%d ops=%d clients=%d' % (seed, a.ops, a.clients))
	r = Run(a.target, a.ref, seed, a.ops, a.clients,
		check_every=a.check_every)
	for n in r.notes:
		print('fsx: ' + n)
	try:
		r.run()
	except Mismatch as e:
		print(e)
		return 1
	print('fsx: %d operations in %.1f s, trees equal' % (r.ops_done,
							      r.seconds))
	return 0


if __name__ == '__main__':
	sys.exit(main())
