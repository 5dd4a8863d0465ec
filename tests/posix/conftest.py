# twinfs tests/posix: target selection and fixtures for the POSIX suite.
# Layer: test harness (Python stdlib + pytest; runs on the host and in the
# QEMU guest).  May call mount/umount, fusermount3, and the built
# $TWINFS_BUILD/tools/mkfs.twinfs, tools/fsck.twinfs and fusefs/twinfs-fuse;
# nothing else of the project.
#
# One suite, any mounted directory.  Targets (TWINFS_POSIX_TARGET, or
# --posix-target; comma-separated, default "tmpfs,fuse"):
#
#   tmpfs       a tmpfs the suite mounts (sanity check of the tests)
#   fuse        twinfs-fuse -o profile=optimized on a fresh image
#   fuse-base   twinfs-fuse -o profile=base on a fresh image
#   fuse-threads  twinfs-fuse -o profile=optimized,threads,clone_fd: the
#               multithreaded loop, which no profile has (docs/fuse.md)
#   dir:/path   an already mounted directory (the module in the VM); each
#               test gets a fresh subdirectory, removed afterwards
#
# With TWINFS_POSIX_MKFS=kernel (set in the guest by tests/kmod/kjobs.py),
# make_fs/small_fs on a dir: target make their filesystems too: an image
# in a temporary directory, mount -t twinfs -o loop (the module), and at
# teardown umount and fsck.twinfs -n, as for twinfs-fuse.
#
# `--mount DIR` is short for --posix-target dir:DIR.
#
# Fixtures:
#   fs          function scope: a FsHandle (fresh filesystem for tmpfs and
#               fuse, fresh directory for dir:); fs.path is the empty test
#               directory.  For twinfs the teardown unmounts, reaps the
#               daemon and runs `fsck.twinfs -n`: a dirty image fails the test.
#   fsroot      fs.path (a pathlib.Path)
#   small_fs    a small (16 MiB) filesystem of the same kind, for ENOSPC
#   make_fs     factory for filesystems of the same kind with given size and
#               inode count (skipped on dir: unless TWINFS_POSIX_MKFS=kernel)
#   ref_tmpfs   a tmpfs reference directory (for the differential fsx test)
#   record      record(name, value): a measurement in the JUnit properties
#
# Marker: @pytest.mark.fs_image(size='512M', inodes=131072) asks for a
# bigger main filesystem (tmpfs: size/nr_inodes; twinfs: mkfs -N).
#
# Nothing leaks: every mount and daemon is registered and undone in the
# fixture's teardown, at session end and at exit, even when a test fails.
import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import posixfs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_TARGETS = 'tmpfs,fuse'
# the twinfs-fuse targets and their -o profile=... options
FUSE_PROFILES = {'fuse': 'optimized', 'fuse-base': 'base',
		 'fuse-threads': 'optimized,threads,clone_fd'}
DEFAULT_SIZE = '256M'
MOUNT_TIMEOUT = 20	# s for the daemon to mount
EXIT_TIMEOUT = 30	# s for the daemon to exit after the unmount


def build_dir():
	return os.environ.get('TWINFS_BUILD') or os.path.join(ROOT, 'build')


def tool(rel):
	return os.path.join(build_dir(), rel)


# -- options and target selection ---------------------------------------------

def pytest_addoption(parser):
	g = parser.getgroup('twinfs-posix')
	g.addoption('--posix-target', default=None,
		    help='comma-separated targets: tmpfs, fuse, fuse-base, '
		    'fuse-threads, '
		    'dir:/path (default: $TWINFS_POSIX_TARGET or %s)'
		    % DEFAULT_TARGETS)
	g.addoption('--mount', default=None, metavar='DIR',
		    help='run against the filesystem mounted at DIR '
		    '(same as --posix-target dir:DIR)')


def pytest_configure(config):
	config.addinivalue_line(
		'markers', 'fs_image(size=..., inodes=..., journal=...): '
		'parameters of the main test filesystem (tmpfs and twinfs)')
	config.addinivalue_line('markers', 'slow: takes more than a minute')
	os.umask(0o022)


def _target_specs(config):
	if config.getoption('--mount'):
		return ['dir:' + config.getoption('--mount')]
	s = config.getoption('--posix-target') or \
		os.environ.get('TWINFS_POSIX_TARGET') or DEFAULT_TARGETS
	specs = []
	for t in s.split(','):
		t = t.strip()
		if not t:
			continue
		if t == 'fuse-optimized':
			t = 'fuse'
		if t not in FUSE_PROFILES and t != 'tmpfs' and \
		   not t.startswith('dir:'):
			raise pytest.UsageError(
				'TWINFS_POSIX_TARGET: unknown target %r (tmpfs, '
				'fuse, fuse-base, fuse-threads, dir:/path)' % t)
		specs.append(t)
	if not specs:
		raise pytest.UsageError('TWINFS_POSIX_TARGET: no target')
	return specs


def _target_id(spec):
	return 'dir' if spec.startswith('dir:') else spec


def pytest_generate_tests(metafunc):
	if 'target' in metafunc.fixturenames:
		specs = _target_specs(metafunc.config)
		metafunc.parametrize('target', specs, indirect=True,
				     scope='session',
				     ids=[_target_id(s) for s in specs])


# -- mounts the suite owns ------------------------------------------------------

_LIVE = set()		# Mounts not yet undone


def _run(cmd, **kw):
	return subprocess.run(cmd, stdout=subprocess.PIPE,
			      stderr=subprocess.STDOUT, text=True, **kw)


def _tail(path, n=40):
	try:
		with open(path, errors='replace') as f:
			return ''.join(f.readlines()[-n:])
	except OSError:
		return ''


def _close_fds_under(path):
	"""Close this process's descriptors that point into path (a failed
	test's traceback keeps its locals alive, and an open descriptor would
	keep the mount busy).  Returns their targets."""
	prefix = os.path.realpath(path).rstrip('/') + '/'
	out = []
	for fd in os.listdir('/proc/self/fd'):
		try:
			t = os.readlink('/proc/self/fd/' + fd)
		except OSError:
			continue
		if t.startswith(prefix) or t == prefix[:-1]:
			try:
				os.close(int(fd))
				out.append(t[len(prefix) - 1:] or '/')
			except OSError:
				pass
	return out


def _pdeathsig():
	# The daemon gets SIGTERM if pytest dies, so that it unmounts.
	try:
		libc = ctypes.CDLL(None)
		libc.prctl(1, signal.SIGTERM, 0, 0, 0)	# PR_SET_PDEATHSIG
	except Exception:
		pass


class Mount:
	"""One filesystem the suite mounted: a tmpfs, or twinfs-fuse on an
	image.  unmount() undoes it and returns a list of problems (empty when
	all went well): a busy mount, a daemon that had to be killed or exited
	non-zero, an image that fsck.twinfs -n does not call clean."""

	def __init__(self, kind, workdir, mnt, image=None, profile=None,
		     tmpfs_opts=None):
		self.kind = kind
		self.workdir = workdir
		self.mnt = mnt
		self.image = image
		self.profile = profile
		self.tmpfs_opts = tmpfs_opts
		self.proc = None
		self.log = os.path.join(workdir, 'daemon.log') if image else None
		self.mounted = False
		self.keep = False	# keep workdir (a bad image) for post mortem

	# tmpfs ------------------------------------------------------------

	def _mount_tmpfs(self):
		r = _run(['mount', '-t', 'tmpfs', '-o', self.tmpfs_opts,
			  'twinfs-posix', self.mnt])
		if r.returncode != 0:
			raise RuntimeError('mount -t tmpfs failed: ' + r.stdout)
		self.mounted = True

	# twinfs in the kernel (TWINFS_POSIX_MKFS=kernel) ---------------------

	def _mount_kernel(self):
		r = _run(['mount', '-t', 'twinfs', '-o', 'loop', self.image,
			  self.mnt])
		if r.returncode != 0:
			raise RuntimeError('mount -t twinfs -o loop failed: '
					   + r.stdout)
		self.mounted = True

	# twinfs-fuse --------------------------------------------------------

	def _mount_fuse(self):
		daemon = tool('fusefs/twinfs-fuse')
		opts = 'profile=%s,allow_other' % self.profile
		logf = open(self.log, 'a')
		try:
			self.proc = subprocess.Popen(
				[daemon, self.image, self.mnt, '-f', '-o', opts],
				stdin=subprocess.DEVNULL, stdout=logf,
				stderr=subprocess.STDOUT,
				preexec_fn=_pdeathsig)
		finally:
			logf.close()
		deadline = time.monotonic() + MOUNT_TIMEOUT
		while not posixfs.is_mountpoint(self.mnt):
			if self.proc.poll() is not None:
				raise RuntimeError(
					'twinfs-fuse exited with %s before mounting:\n%s'
					% (self.proc.returncode, _tail(self.log)))
			if time.monotonic() > deadline:
				self._kill()
				raise RuntimeError(
					'twinfs-fuse did not mount within %d s:\n%s'
					% (MOUNT_TIMEOUT, _tail(self.log)))
			time.sleep(0.01)
		self.mounted = True

	def _kill(self):
		if self.proc is None or self.proc.poll() is not None:
			return
		self.proc.terminate()
		try:
			self.proc.wait(5)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			self.proc.wait()

	def mount(self):
		_LIVE.add(self)
		if self.kind == 'kernel':
			self._mount_kernel()
		elif self.image:
			self._mount_fuse()
		else:
			self._mount_tmpfs()

	def unmount(self, check=True):
		"""Unmount, reap the daemon, fsck the image.  Problems as a
		list of strings."""
		problems = []
		leaked = _close_fds_under(self.mnt)
		if leaked:
			problems.append('the test left %d descriptor(s) open on '
					'the filesystem (closed now): %s'
					% (len(leaked), ', '.join(leaked[:5])))
		if self.mounted or posixfs.is_mountpoint(self.mnt):
			cmd = ['fusermount3', '-u', self.mnt] if self.image \
				and self.kind != 'kernel' else ['umount', self.mnt]
			r = _run(cmd)
			if r.returncode != 0:
				problems.append('%s failed (%s); lazy unmount'
						% (' '.join(cmd), r.stdout.strip()))
				_run(['umount', '-l', self.mnt])
			self.mounted = False
		if self.proc is not None:
			try:
				self.proc.wait(EXIT_TIMEOUT)
			except subprocess.TimeoutExpired:
				problems.append('twinfs-fuse still running %d s '
						'after the unmount: killed'
						% EXIT_TIMEOUT)
				self._kill()
			if self.proc.returncode != 0:
				problems.append('twinfs-fuse exited with %s:\n%s' % (
					self.proc.returncode, _tail(self.log)))
			self.proc = None
		if self.image and check:
			r = _run([tool('tools/fsck.twinfs'), '-n', self.image])
			if r.returncode != 0:
				self.keep = True
				problems.append(
					'fsck.twinfs -n %s: exit %d (image kept):\n%s'
					% (self.image, r.returncode, r.stdout[-8000:]))
		return problems

	def destroy(self):
		_LIVE.discard(self)
		if not self.keep:
			shutil.rmtree(self.workdir, ignore_errors=True)


def _emergency_cleanup():
	for m in list(_LIVE):
		try:
			m.unmount(check=False)
		except Exception:
			pass
		m.destroy()


atexit.register(_emergency_cleanup)


def pytest_sessionfinish(session, exitstatus):
	_emergency_cleanup()


# -- targets --------------------------------------------------------------------

def _size_bytes(s):
	s = str(s)
	mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
	if s[-1:].upper() in mult:
		return int(s[:-1]) * mult[s[-1:].upper()]
	return int(s)


class FsHandle:
	"""What a test gets: the test directory (path, a pathlib.Path), the
	filesystem's mount point (root), the target kind, and what the suite
	can do with it (can_remount, remount())."""

	def __init__(self, target, path, root, mount=None):
		self.target = target
		self.kind = target.kind
		self.path = Path(path)
		self.root = Path(root)
		self.mount = mount

	@property
	def is_twinfs(self):
		return self.kind in FUSE_PROFILES or self.kind == 'kernel'

	@property
	def attr_timeout(self):
		"""Seconds the kernel may serve attributes the daemon has
		since changed: the optimized profile's 1 s (docs/fuse.md),
		whatever its session loop; 0 for every other target."""
		profile = FUSE_PROFILES.get(self.kind, '')
		return 1.0 if profile.split(',')[0] == 'optimized' else 0.0

	@property
	def can_remount(self):
		"""True when the suite can unmount and mount the same
		filesystem again with its contents (twinfs images)."""
		return self.mount is not None and self.mount.image is not None

	def remount(self):
		"""Unmount (with the fsck check) and mount the same image
		again.  Fails the test if the unmount found problems."""
		if not self.can_remount:
			pytest.skip('%s: the suite cannot remount this target'
				    % self.kind)
		problems = self.mount.unmount()
		if problems:
			pytest.fail('at remount:\n' + '\n'.join(problems))
		self.mount.mount()

	def require_free(self, inodes=0, nbytes=0):
		"""Skip the test if the filesystem has fewer free inodes or
		bytes than asked (only happens on dir: targets)."""
		st = os.statvfs(self.path)
		if inodes and st.f_favail < inodes:
			pytest.skip('%s has %d free inodes, the test needs %d'
				    % (self.root, st.f_favail, inodes))
		if nbytes and st.f_bavail * st.f_frsize < nbytes:
			pytest.skip('%s has %d free bytes, the test needs %d'
				    % (self.root, st.f_bavail * st.f_frsize,
				       nbytes))


class Target:
	"""A kind of filesystem under test, able to make fresh instances."""

	def __init__(self, spec):
		self.spec = spec
		self.kind = _target_id(spec)
		self.dir = spec[4:] if spec.startswith('dir:') else None
		self.skip_reason = None
		self._seq = 0
		if self.dir is not None:
			if not os.path.isdir(self.dir):
				self.skip_reason = 'dir: %s is not a directory' \
					% self.dir
			return
		if os.geteuid() != 0:
			self.skip_reason = 'needs root to mount %s' % self.kind
		elif self.kind.startswith('fuse'):
			for rel, what in (('fusefs/twinfs-fuse', 'twinfs-fuse'),
					  ('tools/mkfs.twinfs', 'mkfs.twinfs'),
					  ('tools/fsck.twinfs', 'fsck.twinfs')):
				if not os.access(tool(rel), os.X_OK):
					self.skip_reason = '%s not built' % what
					break
			if not self.skip_reason and \
			   not os.path.exists('/dev/fuse'):
				self.skip_reason = 'no /dev/fuse'

	@property
	def can_mkfs(self):
		return self.dir is None or \
			os.environ.get('TWINFS_POSIX_MKFS') == 'kernel'

	def new_mount(self, size=DEFAULT_SIZE, inodes=None, journal=None):
		"""Make and mount a fresh filesystem; returns the Mount."""
		workdir = tempfile.mkdtemp(prefix='twinfs-posix-')
		os.chmod(workdir, 0o755)	# other users must reach the mount
		mnt = os.path.join(workdir, 'mnt')
		os.mkdir(mnt)
		try:
			if self.kind == 'tmpfs':
				opts = 'size=%d,mode=0755' % _size_bytes(size)
				if inodes:
					opts += ',nr_inodes=%d' % inodes
				m = Mount('tmpfs', workdir, mnt, tmpfs_opts=opts)
			else:
				image = os.path.join(workdir, 'twinfs.img')
				cmd = [tool('tools/mkfs.twinfs'), '-q']
				if inodes:
					cmd += ['-N', str(inodes)]
				if journal:
					cmd += ['-J', str(journal)]
				r = _run(cmd + [image, str(size)])
				if r.returncode != 0:
					raise RuntimeError('mkfs.twinfs failed: '
							   + r.stdout)
				profile = FUSE_PROFILES.get(self.kind)
				kind = 'kernel' if self.dir is not None \
					else self.kind
				m = Mount(kind, workdir, mnt, image=image,
					  profile=profile)
			m.mount()
		except BaseException:
			if posixfs.is_mountpoint(mnt):
				_run(['umount', '-l', mnt])
			shutil.rmtree(workdir, ignore_errors=True)
			_LIVE.discard(locals().get('m'))
			raise
		return m

	def new_dir(self, name):
		"""A fresh directory under a dir: target."""
		self._seq += 1
		safe = ''.join(c if c.isalnum() else '_' for c in name)[-80:]
		p = os.path.join(self.dir, 'posix-%d-%d-%s' % (
			os.getpid(), self._seq, safe))
		os.mkdir(p, 0o755)
		os.chmod(p, 0o755)
		return p


@pytest.fixture(scope='session')
def target(request):
	t = Target(request.param)
	if t.skip_reason:
		pytest.skip(t.skip_reason)
	return t


def _rmtree_strict(path):
	"""Remove a test directory; returns a list of problems (a removal
	that fails on the filesystem under test is itself a finding)."""
	errors = []

	def onerror(fn, p, exc):
		e = exc[1]
		# a test may leave a directory without w/x: fix and retry
		if isinstance(e, PermissionError):
			try:
				os.chmod(os.path.dirname(p), 0o755)
				fn(p)
				return
			except OSError:
				pass
		errors.append('%s(%s): %s' % (fn.__name__, p, e))

	for dirpath, dirnames, _ in os.walk(path):
		for d in dirnames:
			p = os.path.join(dirpath, d)
			if os.path.islink(p):	# (os.walk lists links to dirs)
				continue
			try:
				os.chmod(p, 0o755)
			except OSError:
				pass
	shutil.rmtree(path, onerror=onerror)
	return errors


def _finish(mount, test_dir=None):
	problems = []
	if test_dir is not None:
		problems += ['cleanup: ' + p for p in _rmtree_strict(test_dir)]
	if mount is not None:
		try:
			problems += mount.unmount()
		finally:
			mount.destroy()
	if problems:
		pytest.fail('teardown of the test filesystem:\n'
			    + '\n'.join(problems), pytrace=False)


@pytest.fixture
def fs(target, request):
	"""A fresh filesystem (tmpfs, fuse) or directory (dir:) for one test;
	see FsHandle.  For twinfs, teardown = unmount + daemon exit + fsck -n,
	and any problem fails the test."""
	m = request.node.get_closest_marker('fs_image')
	params = dict(m.kwargs) if m else {}
	if target.dir is not None:
		d = target.new_dir(request.node.name)
		yield FsHandle(target, d, target.dir)
		_finish(None, d)
		return
	mount = target.new_mount(**params)
	test_dir = os.path.join(mount.mnt, 'test')
	os.mkdir(test_dir, 0o755)
	os.chmod(test_dir, 0o755)
	yield FsHandle(target, test_dir, mount.mnt, mount)
	_finish(mount)


@pytest.fixture
def fsroot(fs):
	"""The fresh, empty test directory (pathlib.Path)."""
	return fs.path


@pytest.fixture
def make_fs(target):
	"""Factory: make_fs(size='16M', inodes=None, journal=None) returns an
	FsHandle on a new filesystem of the target's kind; undone (and
	fsck-checked) at teardown.  Skipped where the suite cannot make a
	filesystem (dir: targets)."""
	if not target.can_mkfs:
		pytest.skip('%s: the suite cannot create a filesystem on this '
			    'target (needs tmpfs or twinfs-fuse)' % target.spec)
	made = []

	def make(size='16M', inodes=None, journal=None):
		if target.kind != 'tmpfs' and journal is None and \
		   _size_bytes(size) <= (64 << 20):
			journal = 128	# small images: the smallest journal
		m = target.new_mount(size=size, inodes=inodes, journal=journal)
		made.append(m)
		d = os.path.join(m.mnt, 'test')
		os.mkdir(d, 0o755)
		h = FsHandle(target, d, m.mnt, m)
		h.kind = m.kind		# 'kernel' for a dir: target's
		return h

	yield make
	problems = []
	for m in made:
		try:
			problems += m.unmount()
		finally:
			m.destroy()
	if problems:
		pytest.fail('teardown of a test filesystem:\n'
			    + '\n'.join(problems), pytrace=False)


@pytest.fixture
def small_fs(make_fs):
	"""A small (16 MiB) filesystem of the target's kind, for ENOSPC."""
	return make_fs('16M')


@pytest.fixture
def record(request):
	"""record(name, value): a measurement for the test's report (JUnit
	XML properties), like pytest's record_property but without its
	warning under junit_family=xunit2."""
	def rec(name, value):
		request.node.user_properties.append((name, value))
	return rec


@pytest.fixture
def ref_tmpfs():
	"""A fresh tmpfs directory used as the reference of the differential
	test (needs root, like the tmpfs target)."""
	if os.geteuid() != 0:
		pytest.skip('needs root to mount the tmpfs reference')
	t = Target('tmpfs')
	m = t.new_mount(size='2G')
	d = os.path.join(m.mnt, 'ref')
	os.mkdir(d, 0o755)
	yield Path(d)
	_finish(m)
