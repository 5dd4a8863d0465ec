# twinfs tests/kmod: several processes hammering one mounted filesystem.
# Layer: test helper (Python stdlib only); runs in the guest against the
# kernel module's mount and on the host against a twinfs-fuse mount
# (tests/fuse/test_stress.py): it works on any directory.
#
#   run(root, workers, seconds, seed, stuck=, pressure=, watch=) -> report
#   verify(root, report)          after an unmount and a mount: everything
#   verify_durable(root, report)  after a crash: what was fsync'd
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
# * truncate against readers: one shared file whose every byte, wherever
#   it is written, is a function of its offset (PAT); workers write ranges,
#   truncate it down and up and read it, and every byte a read returns must
#   be PAT's or zero (a hole, or the tail a truncate cut off).  Anything
#   else is stale or foreign data.
# * readdir during create: one shared directory that grows to hundreds of
#   entries (several directory blocks) while every worker creates and
#   unlinks its own names in it and lists it; a listing must hold each of
#   the lister's own names exactly once (they do not change while it
#   lists), no name twice, and no name nobody made.
# * in a private directory, against a model of what each file must contain:
#   pwrite, append, truncate (down and up), mmap write + msync, rename,
#   unlink, fsync, read-back, and readdir that must list exactly the model.
#   Any difference is data corruption.
#
# At the end every worker checks all its private files once more, fsyncs
# half of them and its directory, and reports its model: the content of
# every private file (size, sha256), and of those not changed since their
# last fsync (file and directory), which must survive even a crash.
#
# The watchdog: every worker stamps the time and the operation it starts;
# one that has not moved on for `stuck` seconds fails the run, with the
# process's state, wchan and kernel stack (/proc/PID/stack, as root) in
# the report, and those of the `watch` pids (the FUSE daemon).
#
# Memory pressure (pressure=True, for the guest): one more process keeps
# allocating and touching most of MemAvailable, writing 3 to
# /proc/sys/vm/drop_caches on the way and after freeing it, so that the
# page cache, dentries and inodes of the filesystem are reclaimed under
# the workers' feet.
import errno
import hashlib
import mmap
import multiprocessing
import os
import random
import re
import signal
import time
import traceback

SHARED_NAMES = ['f%d' % i for i in range(24)] + ['d%d' % i for i in range(6)]
RACE_ERRNOS = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR,
	       errno.ENOTDIR}
SLOT = 4096
SLOTS_PER_WORKER = 8
MAX_PRIVATE = 192 << 10	# bytes per private file
PRIVATE_FILES = 6
TRUNC_MAX = 256 << 10	# the truncate-against-readers file
PAT = bytes(((i * 131 + (i >> 12) * 7) % 255) + 1 for i in range(TRUNC_MAX))
CHUNK = 512
ZERO_CHUNK = bytes(CHUNK)
GROW_PER_WORKER = 300	# own names at most in the growing directory
GROW_NAME = re.compile(r'w\d+-\d+$')
OP_LEN = 48		# bytes of an operation's name in the heartbeat


def digest(data):
	return [len(data), hashlib.sha256(data).hexdigest()]


class Worker:
	def __init__(self, root, wid, seconds, seed, beat=None, what=None):
		self.root = root
		self.wid = wid
		self.deadline = time.monotonic() + seconds
		self.rnd = random.Random(seed * 1000 + wid)
		self.shared = os.path.join(root, 'shared')
		self.priv = os.path.join(root, 'private-%d' % wid)
		self.grow = os.path.join(root, 'growing')
		self.truncfile = os.path.join(root, 'trunc-shared')
		self.model = {}		# private name -> bytearray
		self.synced = {}	# private name -> digest at its fsync
		self.mine = set()	# own names in the growing directory
		self.seq = 0
		self.ops = {}
		self.errors = []	# unexpected errors: findings
		self.corrupt = []	# model mismatches: findings
		self.mapfile = os.path.join(root, 'mmap-shared')
		self._beat = beat
		self._what = what

	# -- bookkeeping ----------------------------------------------------
	def beat(self, op):
		"""Tell the watchdog which operation starts now."""
		if self._beat is None:
			return
		self._beat[self.wid] = time.monotonic()
		b = op.encode()[:OP_LEN].ljust(OP_LEN, b'\0')
		self._what[self.wid * OP_LEN:(self.wid + 1) * OP_LEN] = b

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
		self.beat('shared ' + op)
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
		self.beat('mmap shared')
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

	# -- truncate against readers -----------------------------------------
	def check_pattern(self, got, off):
		"""Every byte of got (read at off) must be PAT's or zero."""
		for c in range(0, len(got), CHUNK):
			piece = got[c:c + CHUNK]
			want = PAT[off + c:off + c + len(piece)]
			if piece == want or piece == ZERO_CHUNK[:len(piece)]:
				continue
			for i, b in enumerate(piece):
				if b and b != want[i]:
					self.bad('trunc-shared: byte %d is %#x, '
						 'want %#x or 0 (read of %d at '
						 '%d)' % (off + c + i, b, want[i],
							  len(got), off))
					return

	def trunc_op(self):
		r = self.rnd
		op = r.choice(['write', 'write', 'truncate', 'read', 'read',
			       'read'])
		self.beat('trunc-shared ' + op)
		try:
			if op == 'write':
				off = r.randrange(0, TRUNC_MAX - 1)
				n = min(r.randrange(1, 40000), TRUNC_MAX - off)
				fd = os.open(self.truncfile, os.O_WRONLY)
				try:
					os.pwrite(fd, PAT[off:off + n], off)
				finally:
					os.close(fd)
			elif op == 'truncate':
				os.truncate(self.truncfile,
					    r.randrange(0, TRUNC_MAX))
			else:
				off = r.randrange(0, TRUNC_MAX - 1)
				n = r.randrange(1, 65536)
				fd = os.open(self.truncfile, os.O_RDONLY)
				try:
					got = os.pread(fd, n, off)
				finally:
					os.close(fd)
				self.check_pattern(got, off)
			self.count('trunc-' + op)
		except OSError as e:
			self.unexpected('trunc-shared ' + op, e)

	# -- readdir during create --------------------------------------------
	def grow_op(self):
		r = self.rnd
		op = r.choice(['create', 'create', 'create', 'unlink', 'readdir'])
		if op == 'create' and len(self.mine) >= GROW_PER_WORKER:
			op = 'unlink'
		if op == 'unlink' and not self.mine:
			op = 'create'
		self.beat('growing ' + op)
		try:
			if op == 'create':
				self.seq += 1
				name = 'w%d-%d' % (self.wid, self.seq)
				fd = os.open(os.path.join(self.grow, name),
					     os.O_WRONLY | os.O_CREAT | os.O_EXCL,
					     0o644)
				os.close(fd)
				self.mine.add(name)
			elif op == 'unlink':
				name = r.choice(sorted(self.mine))
				os.unlink(os.path.join(self.grow, name))
				self.mine.discard(name)
			else:
				names = os.listdir(self.grow)
				seen = set(names)
				if len(seen) != len(names):
					dup = sorted(n for n in seen
						     if names.count(n) > 1)
					self.bad('growing dir lists %d names '
						 'twice: %r' % (len(dup), dup[:5]))
				lost = self.mine - seen
				if lost:
					self.bad('growing dir: readdir misses '
						 '%d of my %d names: %r' % (
							 len(lost), len(self.mine),
							 sorted(lost)[:5]))
				stray = [n for n in seen
					 if not GROW_NAME.match(n)]
				if stray:
					self.bad('growing dir lists unknown '
						 'names %r' % stray[:5])
			self.count('growing-' + op)
		except OSError as e:
			self.unexpected('growing %s' % op, e)

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

	def fsync_private(self, name, data_only=False):
		fd = os.open(self.pp(name), os.O_RDWR)
		try:
			if data_only:
				os.fdatasync(fd)
			else:
				os.fsync(fd)
		finally:
			os.close(fd)
		# and the name: the directory entry
		fd = os.open(self.priv, os.O_RDONLY | os.O_DIRECTORY)
		try:
			os.fsync(fd)
		finally:
			os.close(fd)
		self.synced[name] = digest(bytes(self.model[name]))

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
		if op not in ('fsync', 'verify', 'readdir'):
			# the file (or its name) changes: not durable until
			# the next fsync
			self.synced.pop(name, None)
		self.beat('private %s %s' % (op, name))
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
				self.synced.pop(new, None)
			elif op == 'unlink':
				os.unlink(self.pp(name))
				del self.model[name]
			elif op == 'fsync':
				self.fsync_private(name, r.random() < 0.5)
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
			if x < 0.30:
				self.shared_op()
			elif x < 0.37:
				self.mmap_op()
			elif x < 0.50:
				self.trunc_op()
			elif x < 0.62:
				self.grow_op()
			elif x < 0.99:
				self.private_op()
			else:
				self.beat('sync')
				os.sync()
				self.count('sync')
		for name in sorted(self.model):
			self.beat('final check ' + name)
			self.check_file(name, 'at the end')
		# half of the files are made durable now, for verify_durable
		for name in sorted(self.model)[::2]:
			self.beat('final fsync ' + name)
			try:
				self.fsync_private(name)
			except OSError as e:
				self.unexpected('final fsync %s' % name, e)
		self.beat('done')

	def report(self):
		return {'wid': self.wid, 'ops': self.ops, 'errors': self.errors,
			'corrupt': self.corrupt,
			'model': {n: digest(bytes(m))
				  for n, m in self.model.items()},
			'synced': dict(self.synced)}


def _child(root, wid, seconds, seed, q, beat, what):
	w = Worker(root, wid, seconds, seed, beat, what)
	try:
		w.run()
	except Exception:
		w.errors.append('worker %d crashed:\n%s' % (
			wid, traceback.format_exc()))
	q.put(w.report())


# -- the watchdog ----------------------------------------------------------

def _read(path):
	try:
		with open(path, errors='replace') as f:
			return f.read().strip()
	except OSError as e:
		return '(%s)' % (e.strerror or e)


def describe(pid):
	"""A stuck process as the kernel sees it: state, wchan and the kernel
	stack of each of its threads."""
	lines = []
	status = _read('/proc/%d/status' % pid)
	state = [ln for ln in status.splitlines() if ln.startswith('State:')]
	lines.append('pid %d %s, wchan %s' % (
		pid, state[0] if state else status[:80],
		_read('/proc/%d/wchan' % pid) or '0'))
	try:
		tids = sorted(int(t) for t in os.listdir('/proc/%d/task' % pid))
	except OSError:
		tids = [pid]
	for tid in tids[:16]:
		base = '/proc/%d/task/%d/' % (pid, tid)
		lines.append('  thread %d wchan %s:\n    %s' % (
			tid, _read(base + 'wchan') or '0',
			_read(base + 'stack').replace('\n', '\n    ')))
	return '\n'.join(lines)


def _stop_all(procs):
	for p in procs:
		if p.is_alive():
			p.kill()
	for p in procs:
		p.join(10)


# -- memory pressure (the guest) ----------------------------------------

def _meminfo(key):
	with open('/proc/meminfo') as f:
		for ln in f:
			if ln.startswith(key + ':'):
				return int(ln.split()[1]) << 10
	return 0


def _drop_caches(drops):
	try:
		with open('/proc/sys/vm/drop_caches', 'w') as f:
			f.write('3')
	except OSError:
		return
	with drops.get_lock():
		drops.value += 1


def _pressure(stop, cycles, drops, fraction):
	"""Allocate and touch @fraction of MemAvailable in 16 MiB pieces,
	dropping the caches every 64 MiB on the way, hold it a moment, free
	it, drop the caches; again until @stop."""
	hold = []
	while not stop.is_set():
		want = int(_meminfo('MemAvailable') * fraction)
		got = 0
		while got < want and not stop.is_set():
			n = min(16 << 20, want - got)
			hold.append(b'\x5a' * n)	# written, so really used
			got += n
			if len(hold) % 4 == 0:
				_drop_caches(drops)
		time.sleep(0.3)
		hold.clear()
		_drop_caches(drops)
		with cycles.get_lock():
			cycles.value += 1
		time.sleep(0.2)


def run(root, workers=4, seconds=20, seed=1, stuck=90, pressure=False,
	watch=(), pressure_fraction=0.7):
	"""Run the workers on root; returns {'ops': total per op, 'errors':
	[...], 'corrupt': [...], 'stuck': [...], 'seconds': wall time,
	'models'/'synced': per worker, {name: [size, sha256]}}.  A worker
	that makes no progress for @stuck seconds is reported with its kernel
	stack (and those of the @watch pids) and the run is stopped."""
	os.mkdir(os.path.join(root, 'shared'))
	os.mkdir(os.path.join(root, 'growing'))
	with open(os.path.join(root, 'mmap-shared'), 'wb') as f:
		f.truncate(workers * SLOTS_PER_WORKER * SLOT)
	with open(os.path.join(root, 'trunc-shared'), 'wb') as f:
		f.write(PAT[:TRUNC_MAX // 2])
	q = multiprocessing.Queue()
	beat = multiprocessing.Array('d', workers, lock=False)
	what = multiprocessing.Array('c', workers * OP_LEN, lock=False)
	t0 = time.monotonic()
	for i in range(workers):
		beat[i] = t0
	procs = [multiprocessing.Process(target=_child,
					 args=(root, i, seconds, seed, q, beat,
					       what))
		 for i in range(workers)]
	stop = multiprocessing.Event()
	cycles = multiprocessing.Value('i', 0)
	drops = multiprocessing.Value('i', 0)
	presser = None
	if pressure:
		presser = multiprocessing.Process(
			target=_pressure,
			args=(stop, cycles, drops, pressure_fraction))
		presser.start()
	for p in procs:
		p.start()
	results, stuck_reports = [], []
	hard_end = t0 + seconds + stuck + 300
	while len(results) < workers:
		try:
			results.append(q.get(timeout=1))
			continue
		except Exception:
			pass
		now = time.monotonic()
		done = {res['wid'] for res in results}
		for i, p in enumerate(procs):
			if i in done or not p.is_alive():
				continue
			if now - beat[i] > stuck:
				op = bytes(what[i * OP_LEN:(i + 1) * OP_LEN])
				stuck_reports.append(
					'worker %d stuck for %.0f s in %s:\n%s' % (
						i, now - beat[i],
						op.rstrip(b'\0').decode(
							errors='replace'),
						describe(p.pid)))
		if stuck_reports:
			for pid in watch:
				stuck_reports.append('watched process:\n'
						     + describe(pid))
			break
		if all(not p.is_alive() for i, p in enumerate(procs)
		       if i not in done) and q.empty():
			break		# a worker died without a report
		if now > hard_end:
			stuck_reports.append('workers still running after '
					     '%.0f s' % (now - t0))
			break
	stop.set()
	if presser is not None:
		presser.join(30)
		if presser.is_alive():
			presser.kill()
			presser.join(10)
	if stuck_reports:
		_stop_all(procs)
	for p in procs:
		p.join(30)
		if p.is_alive():
			p.kill()
	rep = {'ops': {}, 'errors': [], 'corrupt': [], 'stuck': stuck_reports,
	       'seconds': round(time.monotonic() - t0, 1),
	       'workers': workers, 'finished': len(results),
	       'pressure_cycles': cycles.value, 'cache_drops': drops.value,
	       'models': {}, 'synced': {}}
	for res in results:
		for k, v in res['ops'].items():
			rep['ops'][k] = rep['ops'].get(k, 0) + v
		rep['errors'] += res['errors']
		rep['corrupt'] += res['corrupt']
		rep['models'][str(res['wid'])] = res['model']
		rep['synced'][str(res['wid'])] = res['synced']
	for p in procs:
		if p.exitcode not in (0, None):
			rep['errors'].append('worker pid %d exited with %s'
					     % (p.pid, p.exitcode))
	if len(results) < workers:
		rep['errors'].append('only %d of %d workers reported'
				     % (len(results), workers))
	if not stuck_reports:
		_final_walk(root, rep, stuck, watch)
	rep['total_ops'] = sum(rep['ops'].values())
	return rep


def _walk_child(root, q):
	errors = []
	for dirpath, dirnames, filenames in os.walk(root):
		for n in filenames:
			p = os.path.join(dirpath, n)
			try:
				with open(p, 'rb') as f:
					while f.read(1 << 20):
						pass
			except OSError as e:
				errors.append('final read %s: %s' % (p, e))
	q.put(errors)


def _final_walk(root, rep, stuck, watch):
	"""The whole tree once more, every file read, in a child process
	under the same watchdog."""
	q = multiprocessing.Queue()
	p = multiprocessing.Process(target=_walk_child, args=(root, q))
	p.start()
	try:
		rep['errors'] += q.get(timeout=stuck)
	except Exception:
		rep['stuck'].append('the final read of the tree is stuck after '
				    '%d s:\n%s' % (stuck, describe(p.pid)) +
				    ''.join('\nwatched process:\n' + describe(w)
					    for w in watch))
		_stop_all([p])
	p.join(10)


# -- after the run ------------------------------------------------------

def _hash(path):
	with open(path, 'rb') as f:
		return digest(f.read())


def verify(root, rep):
	"""After an unmount and a mount: every private file has exactly the
	content of the model, and each private directory lists exactly the
	model's names.  Returns a list of problems."""
	problems = []
	for wid, model in sorted(rep['models'].items()):
		d = os.path.join(root, 'private-%s' % wid)
		try:
			got = sorted(os.listdir(d))
		except OSError as e:
			problems.append('%s: %s' % (d, e))
			continue
		if got != sorted(model):
			problems.append('%s lists %r, the model has %r' % (
				d, got, sorted(model)))
		for name, want in sorted(model.items()):
			try:
				have = _hash(os.path.join(d, name))
			except OSError as e:
				problems.append('%s/%s: %s' % (d, name, e))
				continue
			if have != want:
				problems.append('%s/%s: %d bytes %s, the model '
						'has %d bytes %s' % (
							d, name, have[0],
							have[1][:12], want[0],
							want[1][:12]))
	return problems


def verify_durable(root, rep):
	"""After a crash: every file fsync'd (with its directory) and not
	changed since has that content.  Returns (checked, problems)."""
	problems, checked = [], 0
	for wid, synced in sorted(rep['synced'].items()):
		d = os.path.join(root, 'private-%s' % wid)
		for name, want in sorted(synced.items()):
			checked += 1
			try:
				have = _hash(os.path.join(d, name))
			except OSError as e:
				problems.append('fsync\'d %s/%s: %s' % (d, name, e))
				continue
			if have != want:
				problems.append('fsync\'d %s/%s: %d bytes %s, '
						'fsync\'d were %d bytes %s' % (
							d, name, have[0],
							have[1][:12], want[0],
							want[1][:12]))
	return checked, problems


if __name__ == '__main__':
	# a quick run on any directory: python3 stress.py DIR [SECONDS]
	import json
	import sys
	signal.signal(signal.SIGINT, signal.default_int_handler)
	out = run(sys.argv[1], seconds=int(sys.argv[2]) if len(sys.argv) > 2
		  else 10)
	print(json.dumps({k: v for k, v in out.items()
			  if k not in ('models', 'synced')}, indent=1))
