# twinfs tests/crash: the workloads -- ACE-style bounded ones and seeded
# random ones (docs/crash.md, "Workloads").
#
# Layer: test harness (Python stdlib only).  Builds op lists that
# crashlib.py's model accepts (crashlib.write_workload() writes them out);
# runs nothing.
import random

from crashlib import (BIGX_MANY, BIGX_NAMES, FALLOC_MODES, NEW_KINDS, Model,
		      op_kind, parent, workload_kinds)


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
	and directories (A, B; new names C, A/C); then (from instance 31)
	those of NEW_KINDS.  An instance that is a list runs as one
	operation: an O_TMPFILE file is opened, written, maybe fsync'd, then
	linked or closed."""
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
	# 31-33: O_TMPFILE, linked by fd or through /proc, or never
	ops.append([('tmpfile', 'A', 0o644, 'h0'),
		    ('hwrite', 'h0', 0, 5000, 'SEED'), ('hfsync', 'h0'),
		    ('hlink', 'h0', 'A/bar', 'fd'), ('release', 'h0')])
	ops.append([('tmpfile', '', 0o600, 'h0'),
		    ('hwrite', 'h0', 0, 9000, 'SEED'),
		    ('hlink', 'h0', 'bar', 'proc'), ('release', 'h0')])
	ops.append([('tmpfile', '', 0o644, 'h0'),
		    ('hwrite', 'h0', 0, 3000, 'SEED'), ('hfsync', 'h0'),
		    ('release', 'h0')])
	# 34-36: RENAME_WHITEOUT: to a new name, over a file, a directory
	for src, dst in (('foo', 'bar'), ('A/foo', 'foo'), ('A', 'C')):
		ops.append(('rename', src, dst, 'whiteout'))
	# 37-42: POSIX ACLs: an access ACL with a named user (kept; the
	# group bits become the mask's), one the mode says all of (not kept;
	# the mode changes), a directory's default and access ACLs, removals
	ops.append(('setacl', 'foo', 'access',
		    'u::rw-,u:1000:r--,g::r--,m::rw-,o::---'))
	ops.append(('setacl', 'A/foo', 'access', 'u::rw-,g::---,o::r--'))
	ops.append(('setacl', 'A', 'default',
		    'u::rwx,g::r-x,g:1000:rwx,m::rwx,o::---'))
	ops.append(('setacl', 'B', 'access',
		    'u::rwx,g::r-x,g:1000:r-x,m::r-x,o::r-x'))
	ops.append(('rmacl', 'foo', 'access'))
	ops.append(('rmacl', 'A', 'default'))
	# 43-45: xattrs beyond one block: a 64 KiB value (an xattr index
	# and value blocks), 220 small ones (an index of entry blocks),
	# the removal of the large one (valid after 43 only)
	ops.append(('setxattr', 'foo', BIGX_NAMES[0], 65536))
	ops.append([('setxattr', 'A/foo', '%s%03d' % (BIGX_MANY, i), 8)
		    for i in range(220)])
	ops.append(('removexattr', 'foo', BIGX_NAMES[0]))
	return ops


def _instantiate(m, op, seed):
	"""A concrete op from a template in model @m (None if invalid); a list
	for a list."""
	if isinstance(op, list):
		return [_instantiate(m, o, seed) for o in op]
	if op[0] == 'hwrite':
		return op[:4] + (seed,)
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
	if isinstance(op, list):
		# O_TMPFILE: the name it got, else its directory
		names = [o[2] for o in op if o[0] == 'hlink']
		return names[-1] if names else op[0][1]
	k = op[0]
	if k in ('create', 'write', 'truncate', 'setxattr', 'removexattr',
		 'mkdir', 'setacl', 'rmacl'):
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


def ace_workloads(length, kinds=NEW_KINDS):
	"""Every sequence of @length (1 or 2) core ops, each followed by one of
	fsync/fdatasync/sync, that is valid from the setup; of NEW_KINDS only
	@kinds.  Yields (name, ops); a name says which instances
	(ace_core_ops() indices) and durability calls it has.  With
	@kinds=() the space is what it was before NEW_KINDS, in the same
	order."""
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
			if op_kind(tmpl) not in (None,) + tuple(kinds):
				continue
			op = _instantiate(m, tmpl, 100 + len(prefix))
			seq = op if isinstance(op, list) else [op]
			if seq[0] is None or not m.valid(seq[0]):
				continue
			m2 = m.copy()
			ok = True
			for o in seq:
				ok = o is not None and m2.valid(o)
				if not ok:
					break
				m2.apply(o)
			if not ok:
				continue
			for p in PERSIST:
				if p == 'sync':
					pop = ('sync',)
				else:
					t = _persist_target(m2, op)
					pop = (p, t)
					if not m2.valid(pop):
						continue
				yield from rec(m2, prefix + seq + [pop],
					       names + ['%d%s' % (ci, p[:2]
						       if p != 'fdatasync'
						       else 'fd')],
					       depth + 1)

	yield from rec(base, [], [], 0)


_ace_cache = {}


def ace_space(length, kinds=NEW_KINDS):
	"""list(ace_workloads(@length, @kinds)), from one enumeration of the
	whole space, kept: the workloads whose NEW_KINDS are among @kinds, in
	the same order (ace_workloads() only skips the instances of the
	others).  The lists are shared: do not change them."""
	if length not in _ace_cache:
		_ace_cache[length] = [(n, o, workload_kinds(o))
				      for n, o in ace_workloads(length)]
	ks = set(kinds)
	return [(n, o) for n, o, k in _ace_cache[length] if k <= ks]


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


NEW_RATE = 0.12


def random_acl(xrnd, default=False):
	"""A valid ACL in text form: sometimes just the three entries of the
	mode bits (an access ACL the mode says all of), else named users or
	groups and a mask."""
	def perm():
		return ''.join(c if xrnd.random() < 0.6 else '-' for c in 'rwx')
	ents = ['u::' + perm()]
	r = xrnd.random()
	named = r < 0.7
	if named:
		for i in sorted(xrnd.sample((1000, 1001, 1002),
					    xrnd.randint(0, 2))):
			ents.append('u:%d:%s' % (i, perm()))
	ents.append('g::' + perm())
	if named:
		for i in sorted(xrnd.sample((100, 2000), xrnd.randint(0, 2))):
			ents.append('g:%d:%s' % (i, perm()))
		ents.append('m::' + perm())
	ents.append('o::' + perm())
	return ','.join(ents)


def random_workload(seed, nops=40, profile=None, kinds=NEW_KINDS,
		    new_rate=NEW_RATE):
	"""A valid random sequence of about @nops operations with durability
	points in between.  @profile (default: by seed) picks the namespace
	and file sizes: a few files in a few directories, many names in two
	directories, or a few large sparse files.  Files are sometimes held
	open while they are unlinked (orphans).  Of NEW_KINDS only @kinds
	come, at about @new_rate of the steps; with @kinds=() a seed gives the
	workload it gave before NEW_KINDS, and with them the same up to the
	first op of NEW_KINDS."""
	rnd = random.Random(seed)
	# fallocate's choices come from a stream of their own, so that the
	# workload of a seed stays what it was up to its first fallocate
	frnd = random.Random(seed * 7919 + 17)
	# and so do NEW_KINDS': a step that takes one draws nothing from rnd
	xrnd = random.Random(seed * 104729 + 31)
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

	def new_op():
		"""An op of NEW_KINDS, from xrnd alone (None: none fits)."""
		def pick(kinds_):
			ps = sorted(p for p, i in m.paths.items()
				    if p and m.objs[i].type in kinds_)
			return xrnd.choice(ps) if ps else None

		def fresh():
			d = xrnd.choice(sorted(x for x in dnames
					       if x == '' or m.isdir(x)))
			n = xrnd.choice(fnames + ['e0', 'e1'])
			return (d + '/' + n) if d else n

		kind = xrnd.choice(sorted(kinds))
		r2 = xrnd.random()
		if kind == 'tmpfile':
			free = [h for h in handles if h not in m.held]
			linkable = [h for h in sorted(m.held)
				    if m.objs[m.held[h]].linkable]
			if linkable and (r2 < 0.5 or not free):
				return ('hlink', xrnd.choice(linkable), fresh(),
					xrnd.choice(('fd', 'proc')))
			if free:
				d = xrnd.choice(sorted(
					x for x in dnames if x == '' or m.isdir(x)))
				return ('tmpfile', d, xrnd.choice((0o644, 0o600)),
					xrnd.choice(free))
			return None
		if kind == 'whiteout':
			if r2 < 0.15:
				# whiteouts go as other names do
				p = pick('c')
				if p:
					return ('unlink', p) if xrnd.random() < 0.5 \
						else ('rename', p, fresh())
				return None
			p = pick('fdlc')
			if not p:
				return None
			q = fresh() if r2 < 0.75 else pick('fdlc')
			return ('rename', p, q, 'whiteout') if q else None
		if kind == 'bigxattr':
			p = pick('fd')
			if not p:
				return None
			have = sorted(n for n in m.get(p).xattrs
				      if n in BIGX_NAMES)
			if have and r2 < 0.25:
				return ('removexattr', p, xrnd.choice(have))
			if r2 < 0.4:
				# a run of small names, set one by one
				return [('setxattr', p, '%s%03d' % (BIGX_MANY, i),
					 8, xrnd.randint(1, 1 << 30))
					for i in range(xrnd.randint(150, 300))]
			return ('setxattr', p, xrnd.choice(BIGX_NAMES),
				xrnd.choice((4000, 20000, 65536,
					     xrnd.randint(3501, 65536))),
				xrnd.randint(1, 1 << 30))
		# acl
		if r2 < 0.15:
			p = pick('fd')
			if p:
				have = sorted(n for n in m.get(p).xattrs
					      if n.startswith('system.posix_acl_'))
				if have:
					return ('rmacl', p, xrnd.choice(have)[17:])
			return None
		p = pick('d') if r2 < 0.45 else pick('fd')
		if not p:
			return None
		typ = 'default' if m.get(p).type == 'd' and \
			xrnd.random() < 0.6 else 'access'
		return ('setacl', p, typ, random_acl(xrnd))

	tries = 0
	while len(ops) < nops and tries < nops * 50:
		tries += 1
		if kinds and xrnd.random() < new_rate:
			op = new_op()
			if isinstance(op, list):
				# a run of ops (bigxattr's many names): as far
				# as they are valid
				run = []
				for o in op:
					if not m.valid(o):
						break
					m.apply(o)
					run.append(o)
				if not run:
					continue
				ops.extend(run)
				op = run[-1]
			elif op is None or not m.valid(op):
				continue
			else:
				m.apply(op)
				ops.append(op)
			if xrnd.random() < 0.3:
				t = sorted(p for p, i in m.paths.items()
					   if m.objs[i].type in 'fd')
				k = xrnd.choice(PERSIST)
				pop = ('sync',) if k == 'sync' or not t else \
					(k, xrnd.choice(t))
				m.apply(pop)
				ops.append(pop)
			continue
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
