# twinfs tests/crash: workloads, their model and oracle, and running them on
# a mounted filesystem.
#
# Layer: test harness (Python stdlib only; runs on the host and, for the
# kernel home, inside the test guest).  Knows nothing of the core: it talks
# to a mount through system calls, and writes the files that crashcheck
# (tests/crash/crashcheck.c) reads.
#
# A workload is a list of operations (an "op script", ops.txt).  The model
# here applies them to an in-memory tree and writes the oracle (oracle.txt):
# the tree after every operation, and which operations are durability
# points.  An executor runs the same script on one home -- the core in
# process (crashrec.c), the FUSE daemon (run_posix() on the host) or the
# kernel module (guest.py in the VM) -- while a recorder logs every block
# write and flush, and it writes where each operation began and ended in
# that log (pos.txt).  crashcheck then builds the crash states from the log
# and checks each against the oracle.
#
# File data is always a pattern: byte x of a write with seed s is
# pat(s, x), a function of the absolute file offset, so a file's contents
# are described by a short list of extents (off, len, seed) and the checker
# regenerates any byte of any version (crashcheck.c has the same pat()).
#
# Formats (text, one record per line, fields separated by one space):
#
# ops.txt:   twinfs-crash-ops 1
#            mkdir P MODE | create P MODE | write P OFF LEN SEED |
#            truncate P SIZE | fallocate P MODE OFF LEN |
#            link P NEWP | unlink P | rename P NEWP |
#            rmdir P | symlink TARGET P | setxattr P NAME LEN SEED |
#            removexattr P NAME | fsync P | fdatasync P | sync |
#            hold P H | hwrite H OFF LEN SEED | hfsync H | release H |
#            umount
#            (hold opens P as handle H and keeps it open: a file unlinked
#            while held is an orphan until release; fallocate's MODE is
#            fallocate(2)'s, in decimal: 0, 1 KEEP_SIZE, 3 PUNCH_HOLE|
#            KEEP_SIZE, 16 ZERO_RANGE, 17 ZERO_RANGE|KEEP_SIZE)
# oracle.txt (see crashcheck.c for how it is used):
#            twinfs-crash-oracle 1
#            workload NAME
#            nops N
#            op I KIND OBJ EXT TEXT...    OBJ: the file whose data op I
#                                         changes (-1: none); EXT: 1 if it
#                                         extends that file (a crash may
#                                         keep part of it)
#            dur I KIND OBJ               op I is fsync/fdatasync (OBJ) or
#                                         sync/umount (OBJ -1)
#            state I NENT                 the tree after op I, then NENT
#            T OBJ MODE PATH SIZE EXTENTS TARGET XATTRS
#                                         T: f d l; EXTENTS off:len:seed,..
#                                         XATTRS name=len:seed,.. ('-': none)
# pos.txt:   twinfs-crash-pos 1
#            p I START END                byte offsets in the write log
#                                         before op I began and after it
#                                         returned
import os
import random
import stat

# ---------------------------------------------------------------------------
# The data pattern (crashcheck.c: pat_fill())
# ---------------------------------------------------------------------------

PAT_PRIME = 65521


def _make_table():
	x = 0x2545F491
	out = bytearray(PAT_PRIME)
	for i in range(PAT_PRIME):
		x ^= (x << 13) & 0xffffffff
		x ^= x >> 17
		x ^= (x << 5) & 0xffffffff
		out[i] = (x >> 11) & 0xff
	return bytes(out)


_TABLE = None
_XOR = {}


def pat(seed, off, length):
	"""Bytes [off, off+length) of pattern @seed."""
	global _TABLE
	if _TABLE is None:
		_TABLE = _make_table() * 2
	k = seed & 0xff
	if k not in _XOR:
		_XOR[k] = bytes((i ^ k) for i in range(256))
	out = bytearray()
	pos = off
	while len(out) < length:
		start = (pos + seed * 7919) % PAT_PRIME
		n = min(length - len(out), PAT_PRIME)
		out += _TABLE[start:start + n]
		pos += n
	return bytes(out).translate(_XOR[k])


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

FALLOC_KEEP_SIZE = 0x01
FALLOC_PUNCH_HOLE = 0x02
FALLOC_ZERO_RANGE = 0x10
FALLOC_MODES = (0, FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE,
		FALLOC_ZERO_RANGE, FALLOC_ZERO_RANGE | FALLOC_KEEP_SIZE)


class Obj:
	__slots__ = ('id', 'type', 'mode', 'size', 'ext', 'target', 'xattrs',
		     'nlink')

	def __init__(self, oid, typ, mode):
		self.id = oid
		self.type = typ		# 'f', 'd', 'l'
		self.mode = mode
		self.size = 0
		self.ext = []		# sorted, disjoint (off, len, seed)
		self.target = None
		self.xattrs = {}	# name -> (len, seed)
		self.nlink = 1

	def write(self, off, length, seed):
		if length == 0:
			return
		self.zero(off, length)
		self.ext.append((off, length, seed))
		self.ext.sort()
		self.size = max(self.size, off + length)

	def truncate(self, size):
		if size < self.size:
			new = []
			for (o, n, s) in self.ext:
				if o >= size:
					continue
				new.append((o, min(n, size - o), s))
			self.ext = new
		self.size = size

	def zero(self, off, length):
		"""Bytes [off, off+length) read as zeros: no extent there."""
		end = off + length
		new = []
		for (o, n, s) in self.ext:
			e = o + n
			if e <= off or o >= end:
				new.append((o, n, s))
				continue
			if o < off:
				new.append((o, off - o, s))
			if e > end:
				new.append((end, e - end, s))
		self.ext = new

	def fallocate(self, mode, off, length):
		"""fallocate(2): preallocated blocks read as zeros and change
		no content; PUNCH_HOLE and ZERO_RANGE zero the range inside
		the size; without KEEP_SIZE the size grows to the end."""
		if mode & (FALLOC_PUNCH_HOLE | FALLOC_ZERO_RANGE):
			self.zero(off, length)
		if not mode & FALLOC_KEEP_SIZE:
			self.size = max(self.size, off + length)

	def content(self):
		buf = bytearray(self.size)
		for (o, n, s) in self.ext:
			buf[o:o + n] = pat(s, o, n)
		return bytes(buf)


def parent(path):
	return path.rsplit('/', 1)[0] if '/' in path else ''


class Model:
	"""The tree a workload makes, op by op.  Paths are relative to the
	mount, '' is the root."""

	def __init__(self):
		self.objs = {0: Obj(0, 'd', 0o755)}
		self.paths = {'': 0}
		self.next_id = 1
		self.held = {}		# handle -> object id

	def copy(self):
		import copy
		return copy.deepcopy(self)

	def get(self, path):
		oid = self.paths.get(path)
		return None if oid is None else self.objs[oid]

	def isdir(self, path):
		o = self.get(path)
		return o is not None and o.type == 'd'

	def children(self, path):
		pre = path + '/' if path else ''
		return [p for p in self.paths
			if p and p.startswith(pre) and '/' not in p[len(pre):]]

	def _new(self, path, typ, mode):
		o = Obj(self.next_id, typ, mode)
		self.next_id += 1
		self.objs[o.id] = o
		self.paths[path] = o.id
		if typ == 'd':
			o.nlink = 2
			self.objs[self.paths[parent(path)]].nlink += 1
		return o

	def _drop_link(self, path):
		o = self.get(path)
		del self.paths[path]
		if o.type == 'd':
			self.objs[self.paths[parent(path)]].nlink -= 1
			o.nlink = 0
		else:
			o.nlink -= 1
		if o.nlink == 0 and o.id not in self.held.values():
			del self.objs[o.id]

	def valid(self, op):
		"""Whether @op (a tuple) can run here without an error."""
		k = op[0]
		if k in ('sync', 'umount'):
			return k == 'sync' or not self.held
		if k in ('hwrite', 'hfsync', 'release'):
			return op[1] in self.held
		if k == 'hold':
			o = self.get(op[1])
			return o is not None and o.type == 'f' and \
				op[2] not in self.held
		if k == 'symlink':
			p = op[2]
		else:
			p = op[1]
		o = self.get(p)
		if k in ('mkdir', 'create', 'symlink'):
			return o is None and self.isdir(parent(p))
		if o is None:
			return False
		if k in ('write', 'truncate', 'fallocate'):
			return o.type == 'f'
		if k == 'link':
			q = op[2]
			return o.type == 'f' and self.get(q) is None and \
				self.isdir(parent(q))
		if k == 'unlink':
			return o.type != 'd'
		if k == 'rmdir':
			return o.type == 'd' and p != '' and not self.children(p)
		if k == 'rename':
			q = op[2]
			if p == q or not self.isdir(parent(q)):
				return False
			t = self.get(q)
			if o.type == 'd':
				if q.startswith(p + '/'):
					return False
				if t is not None and (t.type != 'd' or
						      self.children(q)):
					return False
			elif t is not None and t.type == 'd':
				return False
			if t is not None and t.id == o.id:
				return False
			return True
		if k in ('setxattr', 'removexattr'):
			if o.type == 'l':
				return False
			if k == 'removexattr':
				return op[2] in o.xattrs
			# an inode's xattrs share one 4 KiB block (4056 bytes
			# of entries); stay well inside it
			x = dict(o.xattrs)
			x[op[2]] = (op[3], 0)
			return sum(len(n) + l + 16 for n, (l, _) in
				   x.items()) <= 3500
		if k in ('fsync', 'fdatasync'):
			return o.type in ('f', 'd')
		raise ValueError('unknown op %r' % (op,))

	def apply(self, op):
		k = op[0]
		if k == 'mkdir':
			self._new(op[1], 'd', op[2])
		elif k == 'create':
			self._new(op[1], 'f', op[2])
		elif k == 'write':
			self.get(op[1]).write(op[2], op[3], op[4])
		elif k == 'truncate':
			self.get(op[1]).truncate(op[2])
		elif k == 'fallocate':
			self.get(op[1]).fallocate(op[2], op[3], op[4])
		elif k == 'link':
			o = self.get(op[1])
			o.nlink += 1
			self.paths[op[2]] = o.id
		elif k in ('unlink', 'rmdir'):
			self._drop_link(op[1])
		elif k == 'rename':
			p, q = op[1], op[2]
			o = self.get(p)
			if self.get(q) is not None:
				self._drop_link(q)
			if o.type == 'd':
				self.objs[self.paths[parent(p)]].nlink -= 1
				self.objs[self.paths[parent(q)]].nlink += 1
				moved = {}
				for path in list(self.paths):
					if path == p or path.startswith(p + '/'):
						moved[q + path[len(p):]] = \
							self.paths.pop(path)
				self.paths.update(moved)
			else:
				del self.paths[p]
				self.paths[q] = o.id
		elif k == 'symlink':
			o = self._new(op[2], 'l', 0o777)
			o.target = op[1]
			o.size = len(op[1])
		elif k == 'setxattr':
			self.get(op[1]).xattrs[op[2]] = (op[3], op[4])
		elif k == 'removexattr':
			del self.get(op[1]).xattrs[op[2]]
		elif k == 'hold':
			self.held[op[2]] = self.paths[op[1]]
		elif k == 'hwrite':
			self.objs[self.held[op[1]]].write(op[2], op[3], op[4])
		elif k == 'release':
			oid = self.held.pop(op[1])
			if self.objs[oid].nlink == 0 and \
			   oid not in self.held.values():
				del self.objs[oid]
		elif k in ('fsync', 'fdatasync', 'sync', 'umount', 'hfsync'):
			pass
		else:
			raise ValueError('unknown op %r' % (op,))

	def dump(self):
		"""Oracle entry lines for the tree, sorted by path."""
		out = []
		for path in sorted(self.paths):
			if not path:
				continue
			o = self.objs[self.paths[path]]
			ext = ','.join('%d:%d:%d' % e for e in o.ext) or '-'
			xat = ','.join('%s=%d:%d' % (n, l, s) for n, (l, s)
				       in sorted(o.xattrs.items())) or '-'
			out.append('%s %d %o %s %d %s %s %s' % (
				o.type, o.id, o.mode, path, o.size,
				ext if o.type == 'f' else '-',
				o.target if o.type == 'l' else '-', xat))
		return out


def format_op(op):
	"""The op script line of @op (the root directory is written '.')."""
	k = op[0]
	if k in ('mkdir', 'create'):
		return '%s %s %o' % (k, op[1], op[2])
	if k in ('fsync', 'fdatasync') and op[1] == '':
		return '%s .' % k
	return ' '.join(str(x) for x in op)


def parse_op(line):
	f = line.split()
	k = f[0]
	if k in ('fsync', 'fdatasync') and f[1] == '.':
		return (k, '')
	if k in ('mkdir', 'create'):
		return (k, f[1], int(f[2], 8))
	if k == 'write':
		return (k, f[1], int(f[2]), int(f[3]), int(f[4]))
	if k == 'truncate':
		return (k, f[1], int(f[2]))
	if k == 'fallocate':
		return (k, f[1], int(f[2]), int(f[3]), int(f[4]))
	if k == 'setxattr':
		return (k, f[1], f[2], int(f[3]), int(f[4]))
	if k == 'hwrite':
		return (k, f[1], int(f[2]), int(f[3]), int(f[4]))
	return tuple([k] + f[1:])


# ---------------------------------------------------------------------------
# Workloads: files on disk
# ---------------------------------------------------------------------------

DURABLE = ('fsync', 'fdatasync', 'sync', 'umount')


def write_workload(wdir, name, ops):
	"""Write ops.txt and oracle.txt for @ops (which must end with umount)
	into @wdir.  Returns the number of operations."""
	assert ops[-1] == ('umount',)
	os.makedirs(wdir, exist_ok=True)
	m = Model()
	olines = ['twinfs-crash-oracle 1', 'workload %s' % name,
		  'nops %d' % len(ops), 'state 0 0']
	for i, op in enumerate(ops, 1):
		assert m.valid(op), (name, i, op)
		k = op[0]
		obj, ext = -1, 0
		if k in ('write', 'truncate', 'hwrite'):
			o = m.get(op[1]) if k != 'hwrite' else \
				m.objs[m.held[op[1]]]
			obj = o.id
			new = op[2] + op[3] if k != 'truncate' else op[2]
			ext = 1 if k != 'truncate' and new > o.size else 0
		elif k == 'fallocate':
			o = m.get(op[1])
			obj = o.id
			ext = 1 if not op[2] & FALLOC_KEEP_SIZE and \
				op[3] + op[4] > o.size else 0
		elif k in ('fsync', 'fdatasync'):
			obj = m.get(op[1]).id
		elif k == 'hfsync':
			obj = m.held[op[1]]
		m.apply(op)
		olines.append('op %d %s %d %d %s' % (i, k, obj, ext,
						     format_op(op)))
		if k in DURABLE:
			olines.append('dur %d %s %d' % (i, k, obj))
		elif k == 'hfsync':
			olines.append('dur %d fsync %d' % (i, obj))
		ents = m.dump()
		olines.append('state %d %d' % (i, len(ents)))
		olines.extend(ents)
	with open(os.path.join(wdir, 'ops.txt'), 'w') as f:
		f.write('twinfs-crash-ops 1\n')
		for op in ops:
			f.write(format_op(op) + '\n')
	with open(os.path.join(wdir, 'oracle.txt'), 'w') as f:
		f.write('\n'.join(olines) + '\n')
	return len(ops)


def read_ops(wdir):
	with open(os.path.join(wdir, 'ops.txt')) as f:
		lines = f.read().split('\n')
	assert lines[0] == 'twinfs-crash-ops 1', lines[0]
	return [parse_op(l) for l in lines[1:] if l.strip()]


def final_model(ops):
	m = Model()
	for op in ops:
		m.apply(op)
	return m


# ---------------------------------------------------------------------------
# ACE-style bounded workloads
# ---------------------------------------------------------------------------

# The setup every ACE workload starts from (made durable by fsyncs, which
# every home honours): two directories, two files with data, an xattr.
ACE_SETUP = [
	('mkdir', 'A', 0o755),
	('mkdir', 'B', 0o755),
	('create', 'foo', 0o644),
	('write', 'foo', 0, 9000, 1),
	('create', 'A/foo', 0o644),
	('write', 'A/foo', 0, 5000, 2),
	('setxattr', 'A/foo', 'user.a', 24, 3),
	('fsync', 'foo'),
	('fsync', 'A/foo'),
]


def ace_core_ops():
	"""The operation instances of the bounded space: each of the eleven
	kinds over a small set of files (foo, A/foo; new names bar, A/bar)
	and directories (A, B; new names C, A/C)."""
	ops = []
	for f in ('bar', 'A/bar'):
		ops.append(('create', f, 0o644))
	for f in ('foo', 'A/foo'):
		ops.append(('write', f, 'APPEND', 5000))	# append
		ops.append(('write', f, 1000, 6000))		# overwrite
		ops.append(('write', f, 3, 100))		# small overwrite
		ops.append(('truncate', f, 2000))
		ops.append(('truncate', f, 20000))
	for src, dst in (('foo', 'bar'), ('foo', 'A/bar'), ('A/foo', 'bar')):
		ops.append(('link', src, dst))
	for f in ('foo', 'A/foo'):
		ops.append(('unlink', f))
	for src, dst in (('foo', 'bar'), ('foo', 'A/bar'), ('A/foo', 'foo'),
			 ('A/foo', 'B/foo'), ('A', 'C'), ('B', 'A/C')):
		ops.append(('rename', src, dst))
	for d in ('C', 'A/C'):
		ops.append(('mkdir', d, 0o755))
	ops.append(('rmdir', 'B'))
	ops.append(('symlink', 'foo', 'sym'))
	ops.append(('symlink', '../foo', 'A/sym'))
	ops.append(('setxattr', 'foo', 'user.x', 100))
	ops.append(('setxattr', 'A', 'user.x', 2000))
	ops.append(('removexattr', 'A/foo', 'user.a'))
	return ops


def _instantiate(m, op, seed):
	"""A concrete op from a template in model @m (None if invalid)."""
	if op[0] == 'write':
		o = m.get(op[1])
		if o is None or o.type != 'f':
			return None
		off = o.size if op[2] == 'APPEND' else op[2]
		return ('write', op[1], off, op[3], seed)
	if op[0] == 'setxattr':
		return ('setxattr', op[1], op[2], op[3], seed)
	return op


def _persist_target(m, op):
	"""What fsync/fdatasync after @op is applied to (as ACE does: the file
	the op changed, else the directory it changed)."""
	k = op[0]
	if k in ('create', 'write', 'truncate', 'setxattr', 'removexattr',
		 'mkdir'):
		return op[1]
	if k in ('link', 'rename'):
		t = op[2]
		return t if m.get(t) is not None and m.get(t).type != 'l' \
			else parent(t)
	if k in ('unlink', 'rmdir'):
		return parent(op[1])
	if k == 'symlink':
		return parent(op[2])
	raise ValueError(k)


PERSIST = ('fsync', 'fdatasync', 'sync')


def ace_workloads(length):
	"""Every sequence of @length (1 or 2) core ops, each followed by one of
	fsync/fdatasync/sync, that is valid from the setup.  Yields
	(name, ops)."""
	base = Model()
	for op in ACE_SETUP:
		base.apply(op)
	core = ace_core_ops()

	def rec(m, prefix, names, depth):
		if depth == length:
			yield ('ace%d-' % length + '+'.join(names),
			       list(ACE_SETUP) + prefix + [('umount',)])
			return
		for ci, tmpl in enumerate(core):
			op = _instantiate(m, tmpl, 100 + len(prefix))
			if op is None or not m.valid(op):
				continue
			m2 = m.copy()
			m2.apply(op)
			for p in PERSIST:
				if p == 'sync':
					pop = ('sync',)
				else:
					t = _persist_target(m2, op)
					pop = (p, t)
					if not m2.valid(pop):
						continue
				yield from rec(m2, prefix + [op, pop],
					       names + ['%d%s' % (ci, p[:2]
						       if p != 'fdatasync'
						       else 'fd')],
					       depth + 1)

	yield from rec(base, [], [], 0)


# ---------------------------------------------------------------------------
# Seeded random workloads
# ---------------------------------------------------------------------------

PROFILES = {
	# name: (files, dirs, maxwrite, far) -- far: writes up to this
	# offset (sparse files through the indirect blocks)
	'mixed': (8, 3, 24000, 0),
	'dir': (160, 2, 3000, 0),	# a directory past one entry block
	'big': (4, 1, 60000, 6 << 20),	# double indirect blocks
}


def random_workload(seed, nops=40, profile=None):
	"""A valid random sequence of about @nops operations with durability
	points in between.  @profile (default: by seed) picks the namespace
	and file sizes: a few files in a few directories, many names in two
	directories, or a few large sparse files.  Files are sometimes held
	open while they are unlinked (orphans)."""
	rnd = random.Random(seed)
	# fallocate's choices come from a stream of their own, so that the
	# workload of a seed stays what it was up to its first fallocate
	frnd = random.Random(seed * 7919 + 17)
	if profile is None:
		profile = ('mixed', 'mixed', 'dir', 'big')[seed % 4]
	files, dirs, maxwrite, far = PROFILES[profile]
	m = Model()
	ops = []
	dnames = [''] + ['d%d' % i for i in range(dirs)]
	fnames = ['f%d' % i for i in range(files)]
	if profile == 'dir':
		# long names: more entry blocks, the hash index
		fnames = ['%d-a-rather-long-name-%s' % (i, 'x' * 80)
			  for i in range(files)]
		nops = max(nops, 200)
	xnames = ['user.x', 'user.y', 'user.long']
	handles = ['h0', 'h1']

	def anyfile():
		fs = [p for p, i in m.paths.items() if m.objs[i].type == 'f']
		return rnd.choice(fs) if fs else None

	def anypath(kinds):
		ps = [p for p, i in m.paths.items()
		      if p and m.objs[i].type in kinds]
		return rnd.choice(ps) if ps else None

	def newpath(allow_dir_names=False):
		d = rnd.choice([x for x in dnames if x == '' or m.isdir(x)])
		n = rnd.choice(fnames + (['e0', 'e1'] if allow_dir_names
					 else []))
		return (d + '/' + n) if d else n

	def write_args(o):
		n = rnd.randint(1, maxwrite)
		choices = [o.size, rnd.randint(0, o.size),
			   rnd.randint(0, o.size + 8192)]
		if far:
			choices.append(rnd.randint(0, far))
		return rnd.choice(choices), n

	tries = 0
	while len(ops) < nops and tries < nops * 50:
		tries += 1
		r = rnd.random()
		op = None
		if profile == 'dir' and r < 0.75:
			# mostly names: create, rename, unlink in two dirs
			r2 = rnd.random()
			if r2 < 0.7:
				op = ('create', newpath(), 0o644)
			elif r2 < 0.8:
				p = anypath('f')
				q = newpath()
				if p:
					op = ('rename', p, q)
			else:
				p = anypath('f')
				if p:
					op = ('unlink', p)
		elif r < 0.08:
			d = rnd.choice(dnames[1:]) if rnd.random() < 0.7 else \
				newpath(True)
			op = ('mkdir', d, 0o755)
		elif r < 0.20:
			op = ('create', newpath(), rnd.choice((0o644, 0o600)))
		elif r < 0.40:
			f = anyfile()
			if f:
				off, n = write_args(m.get(f))
				op = ('write', f, off, n, rnd.randint(1, 10 ** 6))
			if f and frnd.random() < 0.2:
				sz = m.get(f).size
				op = ('fallocate', f, frnd.choice(FALLOC_MODES),
				      frnd.choice((0, frnd.randint(0, sz + 1),
						   sz + frnd.randint(0, 20000))),
				      frnd.randint(1, 3 * 4096 + 100))
		elif r < 0.48:
			f = anyfile()
			if f:
				sz = m.get(f).size
				op = ('truncate', f, rnd.choice(
					(0, rnd.randint(0, sz + 1),
					 sz + rnd.randint(1, 20000),
					 rnd.randint(0, far or 1))))
		elif r < 0.52:
			f = anyfile()
			if f:
				op = ('link', f, newpath())
		elif r < 0.60:
			f = anypath('fl')
			if f:
				op = ('unlink', f)
		elif r < 0.69:
			p = anypath('fdl')
			if p:
				q = newpath(m.get(p).type == 'd') \
					if rnd.random() < 0.6 else anypath('fdl')
				if q:
					op = ('rename', p, q)
		elif r < 0.72:
			d = anypath('d')
			if d:
				op = ('rmdir', d)
		elif r < 0.76:
			op = ('symlink', rnd.choice(('f0', '../f1', 'd0/f2',
						     'x' * 200)), newpath())
		elif r < 0.82:
			p = anypath('fd')
			if p:
				op = ('setxattr', p, rnd.choice(xnames),
				      rnd.choice((8, 100, 1500)),
				      rnd.randint(1, 10 ** 6))
		elif r < 0.84:
			p = anypath('fd')
			if p and m.get(p).xattrs:
				op = ('removexattr', p,
				      rnd.choice(sorted(m.get(p).xattrs)))
		elif r < 0.90:
			# a held file: open, written, maybe unlinked meanwhile
			free = [h for h in handles if h not in m.held]
			busy = [h for h in handles if h in m.held]
			r2 = rnd.random()
			if free and r2 < 0.35:
				f = anyfile()
				if f:
					op = ('hold', f, rnd.choice(free))
			elif busy and r2 < 0.7:
				h = rnd.choice(busy)
				off, n = write_args(m.objs[m.held[h]])
				op = ('hwrite', h, off, n, rnd.randint(1, 10 ** 6))
			elif busy and r2 < 0.8:
				op = ('hfsync', rnd.choice(busy))
			elif busy:
				op = ('release', rnd.choice(busy))
		else:
			p = anypath('fd')
			k = rnd.choice(PERSIST)
			op = ('sync',) if k == 'sync' or not p else (k, p)
		if op is None or not m.valid(op):
			continue
		m.apply(op)
		ops.append(op)
		# a durability point after about a third of the ops
		if op[0] not in PERSIST and rnd.random() < 0.3:
			k = rnd.choice(PERSIST)
			t = anypath('fd')
			pop = ('sync',) if k == 'sync' or not t else (k, t)
			m.apply(pop)
			ops.append(pop)
	for h in sorted(m.held):
		ops.append(('release', h))
	ops.append(('umount',))
	return ops


# ---------------------------------------------------------------------------
# Running a workload on a mounted directory (FUSE on the host, the kernel
# module in the guest)
# ---------------------------------------------------------------------------

_handles = {}
_libc = None


def _fallocate(fd, mode, off, length):
	global _libc
	import ctypes
	if _libc is None:
		_libc = ctypes.CDLL(None, use_errno=True)
		_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int,
					    ctypes.c_int64, ctypes.c_int64]
	if _libc.fallocate(fd, mode, off, length) != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e))


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
	final umount).  Returns a list of differences (empty: equal)."""
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
				'l' if stat.S_ISLNK(st.st_mode) else 'f'
			if t != o.type:
				bad.append('%s: type %s, want %s' % (rel, t, o.type))
				continue
			if t == 'f':
				with open(full, 'rb') as f:
					if f.read() != o.content():
						bad.append('%s: contents differ' % rel)
			elif t == 'l' and os.readlink(full) != o.target:
				bad.append('%s: target differs' % rel)
			if t != 'l':
				xs = {x: os.getxattr(full, x)
				      for x in os.listxattr(full)
				      if x.startswith('user.')}
				want = {n: pat(s, 0, l)
					for n, (l, s) in o.xattrs.items()}
				if xs != want:
					bad.append('%s: xattrs differ' % rel)
	for p in m.paths:
		if p and p not in seen:
			bad.append('missing %s' % p)
	return bad
