# twinfs tests/kmod: several processes hammering one mounted filesystem.
# Layer: test helper (Python stdlib only); runs in the guest against the
# kernel module's mount (it works on any directory).
#
#   run(root, workers, seconds, seed) -> report dict
#
# Each worker process, for a bounded time, picks random operations:
#
# * in a directory all workers share, on a small pool of names so that they
#   collide: create, write, rename (over files and directories), unlink,
#   link, readdir, mkdir, rmdir, truncate, stat, fsync, sync.  Races make
#   ENOENT, EEXIST, ENOTEMPTY, EISDIR and ENOTDIR expected there (and EPERM
#   for link(2) of a directory); any other
#   error (EIO, EUCLEAN, EBADMSG, ENOSPC ...) is a finding.
# * one shared file of fixed size that every worker mmaps and writes its own
#   slots in, read back through read() and through the mapping.
# * in a private directory, against a model of what each file must contain:
#   pwrite, append, truncate (down and up), mmap write + msync, rename,
#   unlink, fsync, read-back, and readdir that must list exactly the model.
#   Any difference is data corruption.
#
# At the end every worker checks all its private files once more.
import errno
import mmap
import multiprocessing
import os
import random
import time
import traceback

SHARED_NAMES = ['f%d' % i for i in range(24)] + ['d%d' % i for i in range(6)]
RACE_ERRNOS = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR,
	       errno.ENOTDIR}
SLOT = 4096
SLOTS_PER_WORKER = 8
MAX_PRIVATE = 192 << 10	# bytes per private file
PRIVATE_FILES = 6


class Worker:
	def __init__(self, root, wid, seconds, seed):
		self.root = root
		self.wid = wid
		self.deadline = time.monotonic() + seconds
		self.rnd = random.Random(seed * 1000 + wid)
		self.shared = os.path.join(root, 'shared')
		self.priv = os.path.join(root, 'private-%d' % wid)
		self.model = {}		# private name -> bytearray
		self.ops = {}
		self.errors = []	# unexpected errors: findings
		self.corrupt = []	# model mismatches: findings
		self.mapfile = os.path.join(root, 'mmap-shared')

	# -- bookkeeping ----------------------------------------------------
	def count(self, op):
		self.ops[op] = self.ops.get(op, 0) + 1

	def unexpected(self, op, e):
		if len(self.errors) < 50:
			self.errors.append('worker %d %s: %s' % (self.wid, op, e))

	def bad(self, what):
		if len(self.corrupt) < 50:
			self.corrupt.append('worker %d: %s' % (self.wid, what))

	# -- shared directory -------------------------------------------------
	def sp(self, name=None):
		return os.path.join(self.shared,
				    name or self.rnd.choice(SHARED_NAMES))

	def shared_op(self):
		r = self.rnd
		op = r.choice(['create', 'write', 'rename', 'rename', 'unlink',
			       'readdir', 'mkdir', 'rmdir', 'truncate', 'link',
			       'stat', 'fsync', 'create'])
		try:
			if op == 'create':
				fd = os.open(self.sp(), os.O_WRONLY | os.O_CREAT,
					     0o644)
				os.write(fd, r.randbytes(r.randrange(1, 9000)))
				os.close(fd)
			elif op == 'write':
				fd = os.open(self.sp(), os.O_WRONLY)
				try:
					os.pwrite(fd, r.randbytes(
						r.randrange(1, 20000)),
						r.randrange(0, 300000))
				finally:
					os.close(fd)
			elif op == 'rename':
				os.rename(self.sp(), self.sp())
			elif op == 'unlink':
				os.unlink(self.sp())
			elif op == 'readdir':
				names = os.listdir(self.shared)
				stray = [n for n in names
					 if n not in SHARED_NAMES]
				if stray:
					self.bad('shared dir lists unknown '
						 'names %r' % stray[:5])
			elif op == 'mkdir':
				os.mkdir(self.sp())
				if r.random() < 0.5:
					os.mkdir(os.path.join(self.sp(), 'sub'))
			elif op == 'rmdir':
				os.rmdir(self.sp())
			elif op == 'truncate':
				os.truncate(self.sp(), r.randrange(0, 200000))
			elif op == 'link':
				os.link(self.sp(), self.sp())
			elif op == 'stat':
				os.lstat(self.sp())
			elif op == 'fsync':
				fd = os.open(self.sp(), os.O_RDONLY)
				try:
					os.fsync(fd)
				finally:
					os.close(fd)
			self.count('shared-' + op)
		except OSError as e:
			if e.errno in RACE_ERRNOS or \
			   (op == 'link' and e.errno == errno.EPERM):
				# (link(2) of a directory is EPERM)
				self.count('shared-' + op + '-raced')
			else:
				self.unexpected('shared ' + op, e)

	# -- the shared mmap file ----------------------------------------------
	def mmap_op(self):
		r = self.rnd
		slot = self.wid * SLOTS_PER_WORKER + r.randrange(SLOTS_PER_WORKER)
		data = bytes([r.randrange(1, 256)]) * SLOT
		try:
			fd = os.open(self.mapfile, os.O_RDWR)
			try:
				m = mmap.mmap(fd, 0)
				try:
					m[slot * SLOT:(slot + 1) * SLOT] = data
					if r.random() < 0.3:
						m.flush()
					back = os.pread(fd, SLOT, slot * SLOT)
					if back != data:
						self.bad('mmap slot %d: read() '
							 'sees other bytes than '
							 'the mapping wrote' % slot)
				finally:
					m.close()
				if r.random() < 0.2:
					os.fsync(fd)
			finally:
				os.close(fd)
			self.count('mmap-shared')
		except OSError as e:
			self.unexpected('mmap shared', e)

	# -- private directory, against the model --------------------------
	def pp(self, name):
		return os.path.join(self.priv, name)

	def check_file(self, name, why):
		try:
			with open(self.pp(name), 'rb') as f:
				got = f.read()
		except OSError as e:
			self.unexpected('read back %s' % name, e)
			return
		want = bytes(self.model[name])
		if got != want:
			at = next((i for i in range(min(len(got), len(want)))
				   if got[i] != want[i]), min(len(got),
							      len(want)))
			self.bad('%s: %s: %d bytes, want %d; first difference '
				 'at %d' % (name, why, len(got), len(want), at))
			self.model[name] = bytearray(got)	# report once

	def private_op(self):
		r = self.rnd
		names = list(self.model)
		op = r.choice(['pwrite', 'pwrite', 'append', 'truncate',
			       'mmap', 'rename', 'unlink', 'fsync', 'verify',
			       'readdir', 'create'])
		if op != 'create' and not names:
			op = 'create'
		if op == 'create' and len(names) >= PRIVATE_FILES:
			op = 'pwrite'
		name = r.choice(names) if names else None
		try:
			if op == 'create':
				name = 'p%d' % r.randrange(1000)
				if name in self.model:
					return
				data = r.randbytes(r.randrange(0, 30000))
				with open(self.pp(name), 'xb') as f:
					f.write(data)
				self.model[name] = bytearray(data)
			elif op == 'pwrite':
				m = self.model[name]
				off = r.randrange(0, MAX_PRIVATE - 20000)
				data = r.randbytes(r.randrange(1, 20000))
				fd = os.open(self.pp(name), os.O_WRONLY)
				try:
					os.pwrite(fd, data, off)
				finally:
					os.close(fd)
				if off > len(m):
					m.extend(bytes(off - len(m)))
				m[off:off + len(data)] = data
			elif op == 'append':
				m = self.model[name]
				if len(m) > MAX_PRIVATE - 10000:
					return
				data = r.randbytes(r.randrange(1, 10000))
				with open(self.pp(name), 'ab') as f:
					f.write(data)
				m.extend(data)
			elif op == 'truncate':
				m = self.model[name]
				n = r.randrange(0, MAX_PRIVATE)
				os.truncate(self.pp(name), n)
				if n < len(m):
					del m[n:]
				else:
					m.extend(bytes(n - len(m)))
			elif op == 'mmap':
				m = self.model[name]
				if not m:
					return
				off = r.randrange(len(m))
				data = r.randbytes(min(len(m) - off,
						       r.randrange(1, 9000)))
				fd = os.open(self.pp(name), os.O_RDWR)
				try:
					mm = mmap.mmap(fd, len(m))
					try:
						mm[off:off + len(data)] = data
						if r.random() < 0.5:
							mm.flush()
					finally:
						mm.close()
				finally:
					os.close(fd)
				m[off:off + len(data)] = data
			elif op == 'rename':
				new = 'p%d' % r.randrange(1000)
				os.rename(self.pp(name), self.pp(new))
				self.model[new] = self.model.pop(name)
			elif op == 'unlink':
				os.unlink(self.pp(name))
				del self.model[name]
			elif op == 'fsync':
				fd = os.open(self.pp(name), os.O_RDWR)
				try:
					if r.random() < 0.5:
						os.fsync(fd)
					else:
						os.fdatasync(fd)
				finally:
					os.close(fd)
			elif op == 'verify':
				self.check_file(name, 'read back')
			elif op == 'readdir':
				got = sorted(os.listdir(self.priv))
				if got != sorted(self.model):
					self.bad('private readdir lists %r, '
						 'model has %r' % (
							 got[:10],
							 sorted(self.model)[:10]))
			self.count('private-' + op)
		except OSError as e:
			self.unexpected('private %s %s' % (op, name), e)

	def run(self):
		os.mkdir(self.priv)
		r = self.rnd
		while time.monotonic() < self.deadline:
			x = r.random()
			if x < 0.45:
				self.shared_op()
			elif x < 0.55:
				self.mmap_op()
			elif x < 0.99:
				self.private_op()
			else:
				os.sync()
				self.count('sync')
		for name in sorted(self.model):
			self.check_file(name, 'at the end')


def _child(root, wid, seconds, seed, q):
	w = Worker(root, wid, seconds, seed)
	try:
		w.run()
	except Exception:
		w.errors.append('worker %d crashed:\n%s' % (
			wid, traceback.format_exc()))
	q.put({'wid': wid, 'ops': w.ops, 'errors': w.errors,
	       'corrupt': w.corrupt})


def run(root, workers=4, seconds=20, seed=1):
	"""Run the workers on root; returns {'ops': total per op, 'errors':
	[...], 'corrupt': [...], 'seconds': wall time}."""
	os.mkdir(os.path.join(root, 'shared'))
	with open(os.path.join(root, 'mmap-shared'), 'wb') as f:
		f.truncate(workers * SLOTS_PER_WORKER * SLOT)
	q = multiprocessing.Queue()
	t0 = time.monotonic()
	procs = [multiprocessing.Process(target=_child,
					 args=(root, i, seconds, seed, q))
		 for i in range(workers)]
	for p in procs:
		p.start()
	results = []
	for _ in procs:
		try:
			results.append(q.get(timeout=seconds + 300))
		except Exception:
			break
	for p in procs:
		p.join(30)
		if p.is_alive():
			p.kill()
	rep = {'ops': {}, 'errors': [], 'corrupt': [],
	       'seconds': round(time.monotonic() - t0, 1),
	       'workers': workers, 'finished': len(results)}
	for res in results:
		for k, v in res['ops'].items():
			rep['ops'][k] = rep['ops'].get(k, 0) + v
		rep['errors'] += res['errors']
		rep['corrupt'] += res['corrupt']
	for p in procs:
		if p.exitcode not in (0, None) and p.exitcode != 0:
			rep['errors'].append('worker pid %d exited with %s'
					     % (p.pid, p.exitcode))
	if len(results) < workers:
		rep['errors'].append('only %d of %d workers reported'
				     % (len(results), workers))
	# the whole tree once more: every entry stat()s and reads
	for dirpath, dirnames, filenames in os.walk(root):
		for n in filenames:
			p = os.path.join(dirpath, n)
			try:
				with open(p, 'rb') as f:
					while f.read(1 << 20):
						pass
			except OSError as e:
				rep['errors'].append('final read %s: %s' % (p, e))
	rep['total_ops'] = sum(rep['ops'].values())
	return rep
