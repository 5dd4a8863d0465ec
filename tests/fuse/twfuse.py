# twinfs tests/fuse: helpers for the daemon-specific tests of twinfs-fuse.
# Layer: test harness (Python stdlib only).  Runs the built programs of
# $TWINFS_BUILD (fusefs/twinfs-fuse, tools/mkfs.twinfs, tools/fsck.twinfs,
# tools/twinfs-dump) and the system's fusermount3, mount, umount.
#
# Every daemon and mount a test makes is registered with a Tracker, whose
# cleanup() unmounts (fusermount3 -u, falling back to a lazy unmount) and
# kills what is left, whatever the test did.
import errno
import json
import os
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(os.environ.get('TWINFS_BUILD') or
			os.path.join(ROOT, 'build'))
DAEMON = os.path.join(BUILD, 'fusefs', 'twinfs-fuse')
HELPER_NAME = os.path.join(BUILD, 'fusefs', 'twinfs')
MKFS = os.path.join(BUILD, 'tools', 'mkfs.twinfs')
FSCK = os.path.join(BUILD, 'tools', 'fsck.twinfs')
DUMP = os.path.join(BUILD, 'tools', 'twinfs-dump')
DAEMON_NAMES = ('twinfs-fuse', 'twinfs')

# The two profiles, and the multithreaded session loop, which is in
# neither (docs/fuse.md, "Why one thread") but stays an option: the tests
# that race requests against each other run it as well.
PROFILES = ['base', 'optimized']
THREADS = 'optimized,threads,clone_fd'

MOUNT_TIMEOUT = 15	# s for a mount to appear
EXIT_TIMEOUT = 20	# s for a daemon to finish after its unmount


def mkfs(image, size='64M', *args):
	subprocess.run([MKFS, '-q', *args, str(image), size], check=True,
		       timeout=60)
	return str(image)


def fsck(image):
	"""fsck.twinfs -n: (exit code, output)."""
	r = subprocess.run([FSCK, '-n', str(image)], capture_output=True,
			   text=True, timeout=120)
	return r.returncode, r.stdout + r.stderr


def assert_clean(image):
	rc, out = fsck(image)
	assert rc == 0 and 'clean' in out.splitlines()[-1], out


def dump_json(image, *cmd):
	r = subprocess.run([DUMP, '--json', str(image), *map(str, cmd)],
			   capture_output=True, text=True, timeout=60)
	assert r.returncode == 0, r.stderr
	return json.loads(r.stdout)


def unescape_mount(s):
	out, i = [], 0
	while i < len(s):
		if s[i] == '\\' and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
			out.append(chr(int(s[i + 1:i + 4], 8)))
			i += 4
		else:
			out.append(s[i])
			i += 1
	return ''.join(out)


def mounts(pid='self'):
	"""The mount table of a process: list of (source, target, type, opts)."""
	res = []
	with open('/proc/%s/mounts' % pid) as f:
		for line in f:
			src, tgt, typ, opts = line.split()[:4]
			res.append((unescape_mount(src), unescape_mount(tgt), typ,
				    opts))
	return res


def mount_of(mnt, pid='self'):
	"""The mount entry on @mnt (the topmost), or None."""
	mnt = os.path.realpath(str(mnt)) if pid == 'self' else str(mnt)
	found = None
	for m in mounts(pid):
		if m[1] == mnt:
			found = m
	return found


def alive(pid):
	"""Whether @pid runs (a zombie does not)."""
	try:
		with open('/proc/%d/stat' % pid) as f:
			state = f.read().rsplit(')', 1)[1].split()[0]
	except (FileNotFoundError, ProcessLookupError, IndexError):
		return False
	return state not in ('Z', 'X')


def cmdline(pid):
	try:
		with open('/proc/%d/cmdline' % pid, 'rb') as f:
			return [a.decode(errors='replace')
				for a in f.read().split(b'\0') if a]
	except OSError:
		return []


def daemon_pids(needle):
	"""Running twinfs-fuse/twinfs processes whose arguments mention
	@needle (an image or mountpoint path, or a directory above them)."""
	pids = []
	for d in os.listdir('/proc'):
		if not d.isdigit() or int(d) == os.getpid():
			continue
		argv = cmdline(int(d))
		if not argv or os.path.basename(argv[0]) not in DAEMON_NAMES:
			continue
		if any(needle in a for a in argv[1:]) and alive(int(d)):
			pids.append(int(d))
	return pids


def wait_until(pred, timeout, step=0.05):
	end = time.monotonic() + timeout
	while True:
		v = pred()
		if v or time.monotonic() > end:
			return v
		time.sleep(step)


def errname(e):
	return errno.errorcode.get(e, str(e))


class Daemon:
	"""One twinfs-fuse on one image and mountpoint."""

	def __init__(self, tracker, image, mnt, prog=DAEMON):
		self.tracker = tracker
		self.image = os.path.realpath(str(image))
		self.mnt = os.path.realpath(str(mnt))
		self.prog = prog
		self.proc = None	# foreground: the Popen
		self.pid = None
		self.rc = None		# background launcher's exit code
		self.errfile = None

	def start(self, *opts, foreground=False, args=(), check=True):
		"""Run the daemon; with @check, require a mount.  Returns self;
		self.rc / self.stderr tell how the launch went."""
		cmd = [self.prog, self.image, self.mnt, *args]
		if foreground:
			cmd.append('-f')
		if opts:
			cmd += ['-o', ','.join(opts)]
		self.errfile = os.path.join(self.tracker.tmp,
					    'daemon-%d.err' % len(self.tracker.daemons))
		self.tracker.daemons.append(self)
		self.tracker.mnts.append(self.mnt)
		with open(self.errfile, 'w') as err:
			if foreground:
				self.proc = subprocess.Popen(
					cmd, stdin=subprocess.DEVNULL,
					stdout=subprocess.DEVNULL, stderr=err)
				self.pid = self.proc.pid
				wait_until(lambda: self.mounted() or
					   self.proc.poll() is not None,
					   MOUNT_TIMEOUT)
				self.rc = self.proc.poll()
			else:
				r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
						   stdout=subprocess.DEVNULL,
						   stderr=err, timeout=60)
				self.rc = r.returncode
				pids = daemon_pids(self.mnt)
				self.pid = pids[0] if len(pids) == 1 else None
		if check:
			assert self.mounted(), 'not mounted (rc %s): %s' % (
				self.rc, self.stderr)
		return self

	@property
	def stderr(self):
		with open(self.errfile) as f:
			return f.read()

	def mounted(self):
		m = mount_of(self.mnt)
		return m is not None and m[2] == 'fuse.twinfs'

	def running(self):
		if self.proc is not None:
			return self.proc.poll() is None
		return self.pid is not None and alive(self.pid)

	def wait_exit(self, timeout=EXIT_TIMEOUT):
		"""Wait for the daemon to finish; its exit code if known."""
		if self.proc is not None:
			try:
				return self.proc.wait(timeout)
			except subprocess.TimeoutExpired:
				raise AssertionError('daemon did not exit')
		assert wait_until(lambda: not self.running(), timeout), \
			'daemon %s did not exit' % self.pid
		return None

	def unmount(self):
		"""fusermount3 -u, then wait until the daemon has written
		everything back and exited (umount returns before that)."""
		r = subprocess.run(['fusermount3', '-u', self.mnt],
				   capture_output=True, text=True, timeout=30)
		assert r.returncode == 0, r.stderr
		return self.wait_exit()

	def kill9(self):
		os.kill(self.pid, signal.SIGKILL)
		if self.proc is not None:
			self.proc.wait(10)
		else:
			assert wait_until(lambda: not alive(self.pid), 10)

	def stats(self):
		"""Ask a foreground daemon for its counters (SIGUSR1)."""
		before = self.stderr.count('stats:')
		os.kill(self.pid, signal.SIGUSR1)
		assert wait_until(lambda: self.stderr.count('stats:') > before, 5)
		return [ln for ln in self.stderr.splitlines() if 'stats:' in ln][-1]

	def held_inodes(self):
		line = self.stats()
		return int(line.split('stats: ')[1].split()[0])


def lazy_unmount(mnt):
	r = subprocess.run(['fusermount3', '-uz', str(mnt)],
			   capture_output=True, timeout=30)
	if r.returncode:
		subprocess.run(['umount', '-l', str(mnt)], capture_output=True,
			       timeout=30)


class Tracker:
	"""Everything one test mounted or started, undone in cleanup()."""

	def __init__(self, tmp):
		self.tmp = str(tmp)
		self.daemons = []
		self.mnts = []

	def daemon(self, image, mnt, prog=DAEMON):
		return Daemon(self, image, mnt, prog)

	def cleanup(self):
		problems = []
		for mnt in dict.fromkeys(self.mnts):
			if mount_of(mnt) is None:
				continue
			r = subprocess.run(['fusermount3', '-u', mnt],
					   capture_output=True, timeout=30)
			if r.returncode:
				lazy_unmount(mnt)
		pids = {d.pid for d in self.daemons if d.pid}
		pids.update(daemon_pids(self.tmp))
		for pid in pids:
			if not wait_until(lambda: not alive(pid), EXIT_TIMEOUT):
				problems.append('daemon %d had to be killed' % pid)
				try:
					os.kill(pid, signal.SIGKILL)
				except ProcessLookupError:
					pass
				wait_until(lambda: not alive(pid), 10)
		for d in self.daemons:
			if d.proc is not None and d.proc.poll() is None:
				d.proc.kill()
				d.proc.wait(10)
		for mnt in dict.fromkeys(self.mnts):
			if mount_of(mnt) is not None:	# a dead mount is left
				lazy_unmount(mnt)
		return problems


# ---- remount (fusefs/remount.c) ----

# TF_IOC_REMOUNT: _IOW('w', 0x52, uint32_t), on the mount's root directory
TF_IOC_REMOUNT = (1 << 30) | (4 << 16) | (ord('w') << 8) | 0x52
TW_MNT_RDONLY = 1


def daemon_set_ro(mnt, ro):
	"""Tell the daemon itself to go read-only or read-write (the ioctl
	the remount helper sends), whatever the kernel's mount says."""
	import fcntl
	import struct
	fd = os.open(str(mnt), os.O_RDONLY | os.O_DIRECTORY)
	try:
		fcntl.ioctl(fd, TF_IOC_REMOUNT,
			    struct.pack('I', TW_MNT_RDONLY if ro else 0))
	finally:
		os.close(fd)


def helper_remount(image, mnt, mode, check=True):
	"""What `mount -o remount,MODE MNT` runs: mount.fuse3 with the
	mount's current options and the new ones (mount(8) merges them), which
	runs `twinfs IMAGE MNT -o ...` from PATH."""
	cur = mount_of(mnt)[3]
	env = dict(os.environ, PATH=os.path.dirname(HELPER_NAME) + ':' +
		   os.environ.get('PATH', '/usr/bin:/bin'))
	r = subprocess.run(['mount.fuse3', str(image), str(mnt), '-t', 'twinfs',
			    '-o', '%s,remount,%s' % (cur, mode)], env=env,
			   capture_output=True, text=True, timeout=60)
	if check:
		assert r.returncode == 0, r.stderr
	return r


def write_attempts(root):
	"""Every kind of change, as (name, callable); each leaves the tree
	as it was if it fails.  Expects root/dir/file to exist."""
	f = os.path.join(root, 'dir', 'file')
	return [
		('create', lambda: os.close(os.open(os.path.join(root, 'new'),
						os.O_WRONLY | os.O_CREAT,
						0o644))),
		('open for writing', lambda: os.close(os.open(f, os.O_WRONLY))),
		('mkdir', lambda: os.mkdir(os.path.join(root, 'newdir'))),
		('mknod', lambda: os.mkfifo(os.path.join(root, 'fifo'))),
		('symlink', lambda: os.symlink('x', os.path.join(root, 'sl'))),
		('link', lambda: os.link(f, os.path.join(root, 'hard'))),
		('unlink', lambda: os.unlink(f)),
		('rmdir', lambda: os.rmdir(os.path.join(root, 'emptydir'))),
		('rename', lambda: os.rename(f, os.path.join(root, 'moved'))),
		('chmod', lambda: os.chmod(f, 0o600)),
		('chown', lambda: os.chown(f, 1, 1)),
		('truncate', lambda: os.truncate(f, 1)),
		('utime', lambda: os.utime(f, (1, 1))),
		('setxattr', lambda: os.setxattr(f, 'user.new', b'1')),
		('removexattr', lambda: os.removexattr(f, 'user.old')),
	]


def prepare_tree(root):
	"""The tree write_attempts() works on; returns the file's data."""
	data = os.urandom(100000)
	os.mkdir(os.path.join(root, 'dir'))
	os.mkdir(os.path.join(root, 'emptydir'))
	with open(os.path.join(root, 'dir', 'file'), 'wb') as f:
		f.write(data)
	os.setxattr(os.path.join(root, 'dir', 'file'), 'user.old', b'0')
	return data


def assert_all_writes_fail(root, err=errno.EROFS):
	"""Every change fails with @err, and changes nothing."""
	before = sorted(os.listdir(root))
	for name, fn in write_attempts(root):
		try:
			fn()
		except OSError as e:
			assert e.errno == err, '%s: %s, not %s' % (
				name, errname(e.errno), errname(err))
		else:
			raise AssertionError('%s succeeded on a read-only mount'
					     % name)
	assert sorted(os.listdir(root)) == before
