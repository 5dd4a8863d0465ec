# twinfs tests/crash: the workload formats, the model of a workload and the
# oracle it writes.
#
# Layer: test harness (Python stdlib only; runs on the host and, for the
# kernel home, inside the test guest).  Knows nothing of the core: it
# writes the files that crashcheck (tests/crash/crashcheck.c) reads.
# crashgen.py generates the workloads, crashexec.py runs them on a mount.
#
# A workload is a list of operations (an "op script", ops.txt).  The model
# here applies them to an in-memory tree and writes the oracle (oracle.txt):
# the tree after every operation, and which operations are durability
# points.  An executor runs the same script on one home -- the core in
# process (crashrec.c), the FUSE daemon (crashexec.py on the host) or the
# kernel module (crashexec.py from guest.py in the VM) -- while a recorder
# logs every block write and flush, and it writes where each operation
# began and ended in that log (pos.txt).  crashcheck then builds the crash
# states from the log and checks each against the oracle.
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
#            link P NEWP | unlink P | rename P NEWP [whiteout] |
#            rmdir P | symlink TARGET P | setxattr P NAME LEN SEED |
#            removexattr P NAME | setacl P TYPE ACL | rmacl P TYPE |
#            fsync P | fdatasync P | sync |
#            hold P H | tmpfile DIR MODE H | hwrite H OFF LEN SEED |
#            hfsync H | hlink H NEWP HOW | release H |
#            umount
#            (hold opens P as handle H and keeps it open: a file unlinked
#            while held is an orphan until release; fallocate's MODE is
#            fallocate(2)'s, in decimal: 0, 1 KEEP_SIZE, 3 PUNCH_HOLE|
#            KEEP_SIZE, 16 ZERO_RANGE, 17 ZERO_RANGE|KEEP_SIZE.
#            rename ... whiteout is renameat2(RENAME_WHITEOUT): a whiteout
#            (character device 0/0, permission bits 0) takes the old name.
#            tmpfile opens an unnamed file in DIR ('.': the root) with
#            open(O_TMPFILE|O_RDWR, MODE) as handle H; hlink gives the file
#            held as H a name with linkat(): HOW is 'fd' (linkat(fd, "",
#            AT_EMPTY_PATH)) or 'proc' (linkat of /proc/self/fd/N with
#            AT_SYMLINK_FOLLOW); one never linked vanishes at release, or
#            at the mount after a crash.  The FUSE home has no O_TMPFILE
#            (libfuse 3.14 has no tmpfile operation): its workloads have
#            none.  setacl sets system.posix_acl_TYPE (TYPE access or
#            default) to ACL, in setfacl's short text form with numeric
#            ids, entries in the canonical order, e.g.
#            u::rw-,u:1000:r--,g::r--,m::rw-,o::--- (the value is Linux's
#            posix_acl_xattr format, acl_value()); rmacl removes it)
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
#                                         T: f d l c (c: a character
#                                         device, TARGET its rdev);
#                                         EXTENTS off:len:seed,..; XATTRS
#                                         name=len:seed,.. or, for a value
#                                         that is no pattern (an ACL),
#                                         name=len:xHEX ('-': none).
#                                         PATH ':H' is a file without a
#                                         name held open as H (O_TMPFILE,
#                                         or unlinked while held): not in
#                                         the tree, but its data versions
#                                         count once linkat() names it
# pos.txt:   twinfs-crash-pos 1
#            p I START END                byte offsets in the write log
#                                         before op I began and after it
#                                         returned
import os

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


# POSIX ACLs: Linux's posix_acl_xattr format (docs/format.md "POSIX
# ACLs"), and what the core does with them (common/acl.c, as Linux's
# fs/posix_acl.c): an access ACL sets the permission bits and is kept only
# if it says more than they do; a directory's default ACL is inherited at
# create time.
ACL_ACCESS = 'system.posix_acl_access'
ACL_DEFAULT = 'system.posix_acl_default'
ACL_VERSION = 2
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = \
	0x01, 0x02, 0x04, 0x08, 0x10, 0x20
ACL_UNDEFINED_ID = 0xffffffff
_ACL_TAGS = {'u': (ACL_USER_OBJ, ACL_USER), 'g': (ACL_GROUP_OBJ, ACL_GROUP),
	     'm': (ACL_MASK, None), 'o': (ACL_OTHER, None)}


def acl_parse(text):
	"""'u::rw-,u:1000:r--,g::r--,m::rw-,o::---' -> [(tag, perm, id)]."""
	out = []
	for e in text.split(','):
		t, i, p = e.split(':')
		perm = sum(b for c, b in zip(p, (4, 2, 1)) if c != '-')
		tag = _ACL_TAGS[t][1 if i else 0]
		out.append((tag, perm, int(i) if i else ACL_UNDEFINED_ID))
	return out


def acl_text(ents):
	inv = {ACL_USER_OBJ: 'u', ACL_USER: 'u', ACL_GROUP_OBJ: 'g',
	       ACL_GROUP: 'g', ACL_MASK: 'm', ACL_OTHER: 'o'}
	return ','.join('%s:%s:%s' % (
		inv[t], '' if i == ACL_UNDEFINED_ID else i,
		''.join(c if p & b else '-' for c, b in zip('rwx', (4, 2, 1))))
		for t, p, i in ents)


def acl_value(ents):
	"""The xattr value: a le32 version, then per entry le16 tag, le16
	permissions, le32 id (ACL_UNDEFINED_ID for the unnamed entries, as
	the kernel's posix_acl_to_xattr() writes them)."""
	b = ACL_VERSION.to_bytes(4, 'little')
	for t, p, i in ents:
		b += t.to_bytes(2, 'little') + p.to_bytes(2, 'little') + \
			i.to_bytes(4, 'little')
	return b


def acl_entries(value):
	return [(int.from_bytes(value[o:o + 2], 'little'),
		 int.from_bytes(value[o + 2:o + 4], 'little'),
		 int.from_bytes(value[o + 4:o + 8], 'little'))
		for o in range(4, len(value), 8)]


def acl_to_mode(ents, mode):
	"""posix_acl_equiv_mode(): (the permission bits @ents give, whether
	they say more than those bits)."""
	bits, more = 0, False
	for t, p, _ in ents:
		if t == ACL_USER_OBJ:
			bits |= p << 6
		elif t == ACL_GROUP_OBJ:
			bits |= p << 3
		elif t == ACL_MASK:
			bits = (bits & ~0o70) | p << 3
			more = True
		elif t == ACL_OTHER:
			bits |= p
		else:
			more = True
	return (mode & ~0o777) | bits, more


def acl_masq(ents, mode):
	"""posix_acl_create_masq(): an inherited default ACL meets the mode
	of a create.  Returns (the access ACL, the mode, whether the ACL says
	more than the mode)."""
	m = mode & 0o777
	out = list(ents)
	more = False
	gi = mi = None
	for k, (t, p, i) in enumerate(out):
		if t == ACL_USER_OBJ:
			p &= m >> 6
			m = (m & ~0o700) | p << 6
			out[k] = (t, p, i)
		elif t == ACL_GROUP_OBJ:
			gi = k
		elif t == ACL_MASK:
			mi = k
			more = True
		elif t == ACL_OTHER:
			p &= m & 7
			m = (m & ~0o7) | p
			out[k] = (t, p, i)
		else:
			more = True
	k = mi if mi is not None else gi
	t, p, i = out[k]
	p &= m >> 3
	m = (m & ~0o70) | p << 3
	out[k] = (t, p, i)
	return out, (mode & ~0o777) | m, more


def xattr_len(v):
	return len(v) if isinstance(v, bytes) else v[0]


def xattr_bytes(v):
	return v if isinstance(v, bytes) else pat(v[1], 0, v[0])


class Obj:
	__slots__ = ('id', 'type', 'mode', 'size', 'ext', 'target', 'xattrs',
		     'nlink', 'linkable')

	def __init__(self, oid, typ, mode):
		self.id = oid
		self.type = typ		# 'f', 'd', 'l', 'c' (a whiteout)
		self.mode = mode
		self.size = 0
		self.ext = []		# sorted, disjoint (off, len, seed)
		self.target = None
		# name -> (len, seed), or the value's bytes (ACLs)
		self.xattrs = {}
		self.nlink = 1
		# an O_TMPFILE file not linked yet (the VFS's I_LINKABLE)
		self.linkable = False

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

	def _new(self, path, typ, mode, dirpath=None):
		"""A new object named @path (None: unnamed, in @dirpath).
		Files and directories inherit their directory's default ACL
		(tw_mknod(), common/acl.c); the umask is 0 in every home."""
		o = Obj(self.next_id, typ, mode)
		self.next_id += 1
		self.objs[o.id] = o
		d = self.get(parent(path) if path is not None else dirpath)
		dacl = d.xattrs.get(ACL_DEFAULT)
		if dacl is not None and typ in ('f', 'd'):
			ents, o.mode, more = acl_masq(acl_entries(dacl), mode)
			if more:
				o.xattrs[ACL_ACCESS] = acl_value(ents)
			if typ == 'd':
				o.xattrs[ACL_DEFAULT] = dacl
		if path is None:
			o.nlink = 0
			o.linkable = True
			return o
		self.paths[path] = o.id
		if typ == 'd':
			o.nlink = 2
			d.nlink += 1
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
		if k == 'tmpfile':
			return self.isdir(op[1]) and op[3] not in self.held
		if k == 'hlink':
			if op[1] not in self.held or op[3] not in ('fd', 'proc'):
				return False
			o = self.objs[self.held[op[1]]]
			# linkat() names a file with links, or an O_TMPFILE one
			# never linked (I_LINKABLE); not one that lost its names
			return (o.nlink > 0 or o.linkable) and \
				self.get(op[2]) is None and \
				self.isdir(parent(op[2]))
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
			if len(op) > 3 and op[3] != 'whiteout':
				return False
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
		if k in ('setxattr', 'removexattr', 'setacl', 'rmacl'):
			if o.type not in ('f', 'd'):
				return False
			if k in ('setacl', 'rmacl'):
				if op[2] not in ('access', 'default') or \
				   (op[2] == 'default' and o.type != 'd'):
					return False
				name = 'system.posix_acl_' + op[2]
				if k == 'rmacl':
					return name in o.xattrs
				val = acl_value(acl_parse(op[3]))
			else:
				name = op[2]
				if name.startswith('system.'):
					return False
				if k == 'removexattr':
					return name in o.xattrs
				val = (op[3], 0)
			x = dict(o.xattrs)
			x[name] = val
			if k == 'setxattr' and is_bigxattr(op):
				# the limits of docs/format.md 11.6: a value of
				# at most 64 KiB, names that one listxattr()
				# can return (64 KiB)
				return op[3] <= 65536 and \
					sum(len(n) + 1 for n in x) <= 65536
			# the older ops keep an inode's xattrs in one 4 KiB
			# block (4056 bytes of entries), well inside it
			return sum(len(n) + xattr_len(v) + 16 for n, v in
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
		elif k == 'hlink':
			o = self.objs[self.held[op[1]]]
			o.nlink += 1
			o.linkable = False
			self.paths[op[2]] = o.id
		elif k == 'tmpfile':
			o = self._new(None, 'f', op[2], dirpath=op[1])
			self.held[op[3]] = o.id
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
			if len(op) > 3:
				# RENAME_WHITEOUT: a character device 0/0 with
				# permission bits 0, no ACL inherited
				self._new(p, 'c', 0)
		elif k == 'symlink':
			o = self._new(op[2], 'l', 0o777)
			o.target = op[1]
			o.size = len(op[1])
		elif k == 'setxattr':
			self.get(op[1]).xattrs[op[2]] = (op[3], op[4])
		elif k == 'removexattr':
			del self.get(op[1]).xattrs[op[2]]
		elif k == 'setacl':
			o = self.get(op[1])
			ents = acl_parse(op[3])
			if op[2] == 'default':
				o.xattrs[ACL_DEFAULT] = acl_value(ents)
			else:
				# the mode follows the ACL, which is kept only
				# if it says more than the mode
				o.mode, more = acl_to_mode(ents, o.mode)
				if more:
					o.xattrs[ACL_ACCESS] = acl_value(ents)
				else:
					o.xattrs.pop(ACL_ACCESS, None)
		elif k == 'rmacl':
			del self.get(op[1]).xattrs['system.posix_acl_' + op[2]]
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

	def _ent(self, o, path):
		ext = ','.join('%d:%d:%d' % e for e in o.ext) or '-'
		xat = ','.join(
			'%s=%d:x%s' % (n, len(v), v.hex()) if isinstance(v, bytes)
			else '%s=%d:%d' % (n, v[0], v[1])
			for n, v in sorted(o.xattrs.items())) or '-'
		target = o.target if o.type == 'l' else \
			'0' if o.type == 'c' else '-'
		return '%s %d %o %s %d %s %s %s' % (
			o.type, o.id, o.mode, path, o.size,
			ext if o.type == 'f' else '-', target, xat)

	def dump(self):
		"""Oracle entry lines for the tree, sorted by path; then the
		files held open without a name (path ':H'), whose data versions
		count if linkat() names them later."""
		out = [self._ent(self.objs[self.paths[p]], p)
		       for p in sorted(self.paths) if p]
		seen = set()
		for h in sorted(self.held):
			o = self.objs[self.held[h]]
			if o.nlink == 0 and o.id not in seen:
				seen.add(o.id)
				out.append(self._ent(o, ':' + h))
		return out


def format_op(op):
	"""The op script line of @op (the root directory is written '.')."""
	k = op[0]
	if k in ('mkdir', 'create'):
		return '%s %s %o' % (k, op[1], op[2])
	if k == 'tmpfile':
		return 'tmpfile %s %o %s' % (op[1] or '.', op[2], op[3])
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
	if k == 'tmpfile':
		return (k, '' if f[1] == '.' else f[1], int(f[2], 8), f[3])
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
# Operations that came later, and the homes that have them
# ---------------------------------------------------------------------------

# The kinds of operation that came with O_TMPFILE, RENAME_WHITEOUT and
# POSIX ACLs, and the homes that have them: the FUSE home has no O_TMPFILE
# (libfuse 3.14 has no tmpfile operation; the daemon answers EOPNOTSUPP).
NEW_KINDS = ('tmpfile', 'whiteout', 'acl', 'bigxattr')
HOME_KINDS = {'core': NEW_KINDS, 'kernel': NEW_KINDS,
	      'fuse': ('whiteout', 'acl', 'bigxattr')}

# bigxattr: attributes beyond one 4 KiB block (docs/format.md 11.6): a
# value longer than BIGX_MIN bytes, or any name under BIGX_MANY (many
# small ones, so that an inode's entries outgrow one block).  The older
# setxattr ops stay inside one block (Model.valid), so that the old
# workloads are what they were.
BIGX_MIN = 3500
BIGX_MANY = 'user.many.'
BIGX_NAMES = ('user.big0', 'user.big1')


def is_bigxattr(op):
	if op[0] == 'setxattr':
		return op[3] > BIGX_MIN or op[2].startswith(BIGX_MANY) or \
			op[2] in BIGX_NAMES
	if op[0] == 'removexattr':
		return op[2].startswith(BIGX_MANY) or op[2] in BIGX_NAMES
	return False


def op_kind(op):
	"""Which of NEW_KINDS @op (an op, or a list of them run as one ACE
	operation) is; None for the others."""
	if isinstance(op, list):
		ks = [op_kind(o) for o in op if op_kind(o)]
		return ks[0] if ks else None
	k = op[0]
	if k in ('tmpfile', 'hlink'):
		return 'tmpfile'
	if k == 'rename' and len(op) > 3:
		return 'whiteout'
	if k in ('setacl', 'rmacl'):
		return 'acl'
	if is_bigxattr(op):
		return 'bigxattr'
	return None


def workload_kinds(ops):
	"""The NEW_KINDS a workload uses."""
	return {op_kind(o) for o in ops} - {None}
