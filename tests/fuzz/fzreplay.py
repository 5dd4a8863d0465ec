# twinfs tests/fuzz: replay fuzz inputs in a home (docs/fuzzing.md, "Replay
# in both homes").  The inputs are the regression images of
# tests/images/fuzz/*.fz and the corpus sample of tests/images/fuzz/corpus/;
# the homes are the kernel module in the vm/ guest
# (tests/kmod/test_fuzzimages.py) and twinfs-fuse on the host
# (tests/fuzz/test_replay_fuse.py).  Both use what is here:
#
#   cases()          every input with the verdict its LIST records (the
#                    read-write mount of the core in user space, made by
#                    `fzimg verdict`)
#   decode()         the fuzz input format (tests/fuzz/fz.h) to a raw image,
#                    byte for byte what fz_input.c and `fzimg decode` make
#                    (the FUSE replay checks that against fzimg); pure
#                    Python, so the guest needs no clang build
#   core_verdict()   what twinfs-ctl (the core in one process) makes of a
#                    mount of the image, read-only or read-write
#   walk(), write_some(), problems()
#                    the exercise on a mounted tree, whatever the home:
#                    errors may only be the ones the damage explains
#   bounded()        run a step in a child process with a time bound: a
#                    step that does not finish is a hang, reported with the
#                    kernel stack of the stuck task
#
# Layer: test helper (Python stdlib only; Debian's python3 on the host and
# in the guest).  May run the project's twinfs-ctl ($TWINFS_BUILD) and read
# /proc.
import errno
import json
import os
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import time
import traceback

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IMGDIR = os.path.join(ROOT, 'tests', 'images', 'fuzz')
CORPUS = os.path.join(IMGDIR, 'corpus')


def build_dir():
	return os.path.abspath(os.environ.get('TWINFS_BUILD') or
			       os.path.join(ROOT, 'build'))


CTL = os.path.join(build_dir(), 'tools', 'twinfs-ctl')

# -- the input format (fz.h, fz_input.c) -------------------------------------

FZ_BS = 4096
FZ_MIN_BLOCKS = 8
FZ_MAX_BLOCKS = 4096
FZ_DEFAULT_BLOCKS = 512
FZ_HDR = 4
FZ_REC_HDR = 6
FZ_FILL = 0x8000
FZ_LEN_MASK = 0x7fff


def dev_blocks(data):
	n = struct.unpack_from('<H', data)[0] if len(data) >= 2 else 0
	if not n:
		return FZ_DEFAULT_BLOCKS
	return min(max(n, FZ_MIN_BLOCKS), FZ_MAX_BLOCKS)


def decode(data):
	"""A fuzz input -> the raw image (bytes of dev_blocks * 4096), as
	fz_decode_into() makes it: records applied in order, clipped to the
	device.  The operation script is not needed by a mount."""
	blocks = dev_blocks(data)
	size, dev = len(data), blocks * FZ_BS
	mem = bytearray(dev)
	if size < FZ_HDR:
		return bytes(mem)
	olen = min(struct.unpack_from('<H', data, 2)[0], size - FZ_HDR)
	i = FZ_HDR + olen
	while i + FZ_REC_HDR <= size:
		pos, lk = struct.unpack_from('<IH', data, i)
		fill = lk & FZ_FILL
		n = lk & FZ_LEN_MASK
		i += FZ_REC_HDR
		if not fill and n > size - i:
			n = size - i
		if fill and i >= size:
			break
		if pos < dev and n:
			n = min(n, dev - pos)
			if fill:
				mem[pos:pos + n] = bytes([data[i]]) * n
			else:
				mem[pos:pos + n] = data[i:i + n]
		i += 1 if fill else n
	return bytes(mem)


def decode_file(fz, out):
	"""Decode the input file fz into the raw image file out; returns its
	size in blocks."""
	with open(fz, 'rb') as f:
		raw = decode(f.read())
	with open(out, 'wb') as f:
		f.write(raw)
	return len(raw) // FZ_BS


# -- the inputs and their verdicts -------------------------------------------

class Case:
	"""One input: name (relative to tests/images/fuzz), path, the fuzz
	target that found it, and the verdict its LIST line records: mount
	('ok' or an errno name: the core's read-write mount in user space),
	fsck_n, fsck_y, after (None without a LIST line)."""

	def __init__(self, name, path, target=None, mount=None, fsck=None,
		     found=''):
		self.name, self.path, self.target = name, path, target
		self.mount, self.fsck, self.found = mount, fsck, found

	def __repr__(self):
		return 'Case(%s, mount=%s)' % (self.name, self.mount)


def parse_list(path):
	"""name -> (target, mount, (fsck_n, fsck_y, after), found) from a
	LIST file (# comments; NAME TARGET MOUNT FSCK_N FSCK_Y AFTER TEXT)."""
	out = {}
	if not os.path.exists(path):
		return out
	with open(path) as f:
		for line in f:
			if not line.strip() or line.startswith('#'):
				continue
			w = line.split(None, 6)
			out[w[0]] = (w[1], w[2], tuple(w[3:6]),
				     w[6].strip() if len(w) > 6 else '')
	return out


def cases():
	"""The regression images, then the corpus sample, sorted by name.
	An input without a LIST line is replayed all the same, with no
	recorded verdict to agree with.  TWINFS_REPLAY_EXTRA=DIR adds the
	inputs of DIR and of its subdirectories (a campaign's whole corpus,
	build/fuzz/corpus: their verdict is then twinfs-ctl's)."""
	res = []
	dirs = [(IMGDIR, ''), (CORPUS, 'corpus/')]
	extra = os.environ.get('TWINFS_REPLAY_EXTRA')
	if extra:
		for sub in sorted(os.listdir(extra)):
			if os.path.isdir(os.path.join(extra, sub)):
				dirs.append((os.path.join(extra, sub),
					     'extra/%s/' % sub))
		dirs.append((extra, 'extra/'))
	for d, prefix in dirs:
		if not os.path.isdir(d):
			continue
		listed = parse_list(os.path.join(d, 'LIST'))
		for n in sorted(os.listdir(d)):
			if not n.endswith('.fz') and not (
					prefix.startswith('extra/') and
					os.path.isfile(os.path.join(d, n))):
				continue
			t, m, fsck, found = listed.get(n, (None, None, None, ''))
			res.append(Case(prefix + n, os.path.join(d, n), t, m,
					fsck, found))
	return res


# -- errno names -------------------------------------------------------------

def ename(err):
	if err == 0:
		return 'ok'
	return errno.errorcode.get(err, str(err))


_STRERROR = {os.strerror(e): n for e, n in errno.errorcode.items()}


def errno_of_message(text):
	"""The errno name in a tool's 'PATH: strerror (cannot mount)' or
	twinfs-fuse's 'cannot mount IMAGE: strerror' line; None if none."""
	for line in text.splitlines():
		m = re.search(r': ([^:]+) \(cannot mount\)\s*$', line) or \
		    re.search(r'cannot mount .*: ([^:]+?)\s*$', line)
		if m and m.group(1) in _STRERROR:
			return _STRERROR[m.group(1)]
	return None


def core_verdict(image, ro, scratch=None):
	"""What the core in one process (twinfs-ctl) makes of mounting the
	raw image: 'ok' or the errno name.  Read-only: `twinfs-ctl IMAGE
	df`.  Read-write (which replays the journal to disk and recovers
	orphans): an empty batch on a copy of the image in scratch."""
	if ro:
		cmd, target = [CTL, image, 'df'], image
	else:
		target = os.path.join(scratch, 'core-rw.img')
		shutil.copyfile(image, target)
		cmd = [CTL, target, '-']
	try:
		r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
				   stdout=subprocess.PIPE,
				   stderr=subprocess.PIPE, text=True, timeout=60)
	finally:
		if not ro:
			os.unlink(target)
	if r.returncode == 0:
		return 'ok'
	e = errno_of_message(r.stderr)
	assert e, 'twinfs-ctl %s: exit %d, %s' % (image, r.returncode,
						  r.stderr[-2000:])
	return e


# -- the exercise on a mounted tree ------------------------------------------

# The core's own errors: a corrupted structure, a bad checksum.
CORE_ERRNOS = {'EUCLEAN', 'EBADMSG'}
# What a damaged image may also explain while reading:
#   ENOENT  readdir (which walks the entry blocks) lists a name that lookup
#           (through the hash index) does not find: an index that disagrees
#           with its entry blocks;
#   ELOOP   (kernel) a directory linked where it is its own ancestor, or
#           linked twice: d_splice_alias() refuses the second alias.
READ_ERRNOS = CORE_ERRNOS | {'ENOENT', 'ELOOP'}
# and while writing:
#   ENOSPC  a full (or fully "used" by a bad bitmap) filesystem or inode table;
#   EMLINK  a link count at its limit;
#   EEXIST  a name the damage made appear twice;
#   ENOTEMPTY  rmdir of our directory when a lookup failed to remove a name;
#   ESTALE  (kernel) an inode freed underneath by orphan recovery or a
#           second name of a freed inode;
#   EROFS   after the core aborted the journal: an operation met damage
#           half-way through a transaction, and the filesystem went
#           read-only rather than commit half of it (like ext4's
#           errors=remount-ro);
#   EACCES, EPERM  only where an owner or group is (u32)-1 (unmapped_owner()).
WRITE_ERRNOS = READ_ERRNOS | {'ENOSPC', 'EMLINK', 'EEXIST', 'ENOTEMPTY',
			      'ESTALE', 'EROFS'}

MAX_ENTRIES = 4000	# objects visited per walk
MAX_READ = 1 << 20	# bytes read from the start of a file (and 64 KiB
			# at the end of a bigger one)


class Tally:
	"""Operations done and errors met, by errno name; the errors not in
	the allowed set are problems."""

	def __init__(self, allowed):
		self.allowed = allowed
		self.ops = 0
		self.errors = {}
		self.problems = []
		self.eio = []
		self.bytes = 0

	def op(self, what, path, fn, *args):
		self.ops += 1
		try:
			return fn(*args)
		except OSError as e:
			n = ename(e.errno)
			self.errors[n] = self.errors.get(n, 0) + 1
			if n == 'EIO' and 'EROFS' in self.allowed:
				self.eio.append('%s %s: %s' % (what, path, e))
			elif n not in self.allowed:
				self.problems.append('%s %s: %s' % (
					what, path, e))
			return None

	def result(self):
		return {'ops': self.ops, 'errors': self.errors,
			'problems': self.problems, 'eio': self.eio,
			'bytes': self.bytes}


def problems(tally, aborted):
	"""What a tally shows that the damage does not explain.  EIO is
	explained only once the journal aborted: a write cached in the page
	cache (FUSE's writeback cache, the kernel's page cache) that the
	now read-only filesystem refuses at writeback is reported by the
	kernel as EIO (mapping_set_error() keeps only ENOSPC and EIO)."""
	return tally['problems'] + ([] if aborted else tally['eio'])


def _read_file(path, size, t):
	with open(path, 'rb') as f:
		left = min(size, MAX_READ) if size else MAX_READ
		while left > 0:
			b = f.read(min(left, 1 << 18))
			if not b:
				break
			t.bytes += len(b)
			left -= len(b)
		if size > MAX_READ:
			f.seek(size - 65536)
			t.bytes += len(f.read())


def _listxattr(p):
	return os.listxattr(p, follow_symlinks=False)


def _getxattr(p, name, st):
	try:
		return os.getxattr(p, name, follow_symlinks=False)
	except OSError as e:
		# the VFS keeps user.* off anything but files and directories
		# (xattr_permission(): ENODATA on reading), yet listxattr
		# lists what the image holds: names set by the core directly
		# (twinfs-ctl), or a file whose type the damage changed
		if e.errno == errno.ENODATA and name.startswith('user.') and \
		   not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
			return None
		raise


def walk(mnt):
	"""Read the tree: statfs, readdir, lstat, xattrs, readlink, file
	contents (only regular files are opened: a FIFO would block).  A
	directory seen twice (a hard-linked directory) is entered once.
	Returns (Tally.result(), list of (path, type) of what it met)."""
	t = Tally(READ_ERRNOS)
	t.op('statfs', mnt, os.statvfs, mnt)
	seen = set()
	found = []
	stack = [mnt]
	while stack and len(found) < MAX_ENTRIES:
		d = stack.pop()
		st = t.op('lstat', d, os.lstat, d)
		if st is None or (st.st_dev, st.st_ino) in seen:
			continue
		seen.add((st.st_dev, st.st_ino))
		names = t.op('readdir', d, os.listdir, d)
		for name in sorted(names or ())[:MAX_ENTRIES]:
			p = os.path.join(d, name)
			st = t.op('lstat', p, os.lstat, p)
			if st is None:
				continue
			found.append((p, stat.S_IFMT(st.st_mode)))
			xs = t.op('listxattr', p, _listxattr, p)
			for x in (xs or ())[:16]:
				t.op('getxattr', p, _getxattr, p, x, st)
			if stat.S_ISDIR(st.st_mode):
				stack.append(p)
			elif stat.S_ISLNK(st.st_mode):
				t.op('readlink', p, os.readlink, p)
			elif stat.S_ISREG(st.st_mode):
				t.op('read', p, _read_file, p, st.st_size, t)
	return t.result(), found


def _write_new(path, size):
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
	try:
		os.write(fd, b'twinfs' * (size // 6))
		os.fsync(fd)
	finally:
		os.close(fd)


def _overwrite(path):
	fd = os.open(path, os.O_WRONLY)
	try:
		os.pwrite(fd, b'w' * 4096, 0)
		os.fsync(fd)
	finally:
		os.close(fd)


def _append(path):
	fd = os.open(path, os.O_WRONLY | os.O_APPEND)
	try:
		os.write(fd, b'appended\n')
	finally:
		os.close(fd)


def _overflow_ids():
	ids = {0xffffffff}
	for n in ('uid', 'gid'):
		try:
			with open('/proc/sys/fs/overflow' + n) as f:
				ids.add(int(f.read()))
		except (OSError, ValueError):
			ids.add(65534)
	return ids


def unmapped_owner(paths):
	"""Whether one of paths has an unmapped owner or group: on disk
	(u32)-1, the "no id" no chown can set, which the VFS turns into
	INVALID_UID (stat shows the overflow id, 65534).  Even root has no
	CAP_DAC_OVERRIDE/CAP_FOWNER on such an inode
	(privileged_wrt_inode_uidgid()), in the kernel and through FUSE
	alike: EACCES and EPERM are then the damage's.  (The images are
	made with ids 0 and 1000; 65534 comes only from damage.)"""
	bad = _overflow_ids()
	for p in paths:
		try:
			st = os.lstat(p)
		except OSError:
			continue
		if st.st_uid in bad or st.st_gid in bad:
			return True
	return False


def write_some(mnt, found):
	"""Change the tree: new files and a directory (written, fsync'ed,
	renamed, removed), and some of what walk() found: a few regular files
	overwritten, appended to, renamed, unlinked; a file made and renamed
	in an existing directory.  Returns Tally.result()."""
	allowed = set(WRITE_ERRNOS)
	if unmapped_owner([mnt] + [p for p, _ in found]):
		allowed |= {'EACCES', 'EPERM'}
	t = Tally(allowed)
	d = os.path.join(mnt, 'fz-replay')
	t.op('mkdir', d, os.mkdir, d)
	f = os.path.join(d, 'new')
	t.op('write', f, _write_new, f, 100000)
	g = os.path.join(mnt, 'fz-moved')
	t.op('rename', f, os.rename, f, g)
	t.op('readdir', mnt, os.listdir, mnt)
	t.op('symlink', d, os.symlink, 'fz-moved', os.path.join(d, 'ln'))
	files = [p for p, ty in found if ty == stat.S_IFREG][:4]
	dirs = [p for p, ty in found if ty == stat.S_IFDIR][:2]
	for i, p in enumerate(files):
		t.op('overwrite', p, _overwrite, p)
		t.op('append', p, _append, p)
		t.op('truncate', p, os.truncate, p, 5000 * i)
		if i % 2:
			t.op('unlink', p, os.unlink, p)
		else:
			t.op('rename', p, os.rename, p, p + '.renamed')
	for p in dirs:
		n = os.path.join(p, 'fz-new')
		t.op('write', n, _write_new, n, 6000)
		t.op('rename', n, os.rename, n, n + '2')
		t.op('unlink', n + '2', os.unlink, n + '2')
	t.op('unlink', g, os.unlink, g)
	t.op('unlink', d + '/ln', os.unlink, d + '/ln')
	t.op('rmdir', d, os.rmdir, d)
	t.op('sync', mnt, os.sync)
	return t.result()


def merge(*results):
	"""One tally out of several (ops, errors, problems, bytes added)."""
	out = {'ops': 0, 'errors': {}, 'problems': [], 'eio': [], 'bytes': 0}
	for r in results:
		out['ops'] += r['ops']
		out['bytes'] += r['bytes']
		out['problems'] += r['problems']
		out['eio'] += r['eio']
		for k, v in r['errors'].items():
			out['errors'][k] = out['errors'].get(k, 0) + v
	return out


def log_result(home, case, res, seconds):
	"""With TWINFS_REPLAY_LOG=FILE (a path the guest can write: in the
	project directory), append one JSON line per input: the home, the
	input, each mount's verdict, operations and errors, seconds (a dict:
	what -> seconds).
	docs/fuzzing.md's numbers come from there."""
	path = os.environ.get('TWINFS_REPLAY_LOG')
	if not path:
		return
	rec = {'home': home, 'name': case.name,
	       'seconds': {k: round(v, 3) for k, v in seconds.items()}}
	for how, r in res.items():
		t = r.get('tally') or {}
		rec[how] = {'mount': r['mount'], 'ops': t.get('ops'),
			    'errors': t.get('errors'),
			    'aborted': t.get('aborted')}
	with open(path, 'a') as f:
		f.write(json.dumps(rec) + '\n')


# -- time bounds ---------------------------------------------------------------

class Hang(AssertionError):
	pass


def task_stacks(pid):
	"""The kernel stacks of a process's tasks (root only), for a report
	of where it is stuck."""
	out = []
	try:
		tids = os.listdir('/proc/%d/task' % pid)
	except OSError:
		return '(gone)'
	for tid in tids:
		try:
			with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
				state = f.read().rsplit(')', 1)[1].split()[0]
			with open('/proc/%d/task/%s/stack' % (pid, tid)) as f:
				out.append('task %s state %s:\n%s' % (
					tid, state, f.read()))
		except OSError as e:
			out.append('task %s: %s' % (tid, e))
	return '\n'.join(out)


def bounded(fn, seconds, what):
	"""fn() in a child process, its JSON-able result returned here; an
	exception in it is raised again here as an AssertionError with its
	traceback.  If it takes longer than seconds: Hang, with the kernel
	stacks of the child (SIGKILL'ed; a task stuck in the kernel for good
	stays, and is for the guest's timeout)."""
	r, w = os.pipe()
	pid = os.fork()
	if pid == 0:
		code = 0
		try:
			os.close(r)
			try:
				res = {'value': fn()}
			except BaseException:
				res = {'error': traceback.format_exc()}
			data = json.dumps(res).encode()
			while data:
				data = data[os.write(w, data):]
		except BaseException:
			code = 1
		finally:
			os._exit(code)
	os.close(w)
	chunks = []
	end = time.monotonic() + seconds
	try:
		while True:
			left = end - time.monotonic()
			if left <= 0:
				stacks = task_stacks(pid)
				os.kill(pid, signal.SIGKILL)
				for _ in range(100):
					if os.waitpid(pid, os.WNOHANG)[0]:
						break
					time.sleep(0.1)
				raise Hang('%s: no result after %d s (hang); '
					   'where it was:\n%s' % (what, seconds,
								 stacks))
			if select.select([r], [], [], left)[0]:
				b = os.read(r, 1 << 16)
				if not b:
					break
				chunks.append(b)
	finally:
		os.close(r)
	_, status = os.waitpid(pid, 0)
	if not chunks:
		raise AssertionError('%s: the child died (status %#x)' % (
			what, status))
	res = json.loads(b''.join(chunks))
	if 'error' in res:
		raise AssertionError('%s:\n%s' % (what, res['error']))
	return res['value']
