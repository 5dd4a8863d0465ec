# twinfs tests/kmod: the golden corrupted images (tests/images/mkimages.py
# CASES) against the kernel module.  Each image is attached to a loop
# device and mounted as twinfs:
#   - an image whose case expects a mount errno must be refused with that
#     errno by mount(2), read-only and read-write, and mount(8) must print
#     its message ("Structure needs cleaning"; for EBADMSG libmount says
#     "cannot mount; probably corrupted filesystem on DEV");
#   - the others must mount read-only (the golden table's mount column is
#     twinfs-ctl's read-only mount); the case's 'access' path must fail
#     with its errno; the whole tree is walked and read (errors there may
#     only be the core's EUCLEAN/EBADMSG, or what the damage explains);
#     then read-write: the access path again, and files written, renamed
#     and removed;
#   - after each image the kernel log must show no oops, WARNING, BUG,
#     general protection fault (the vm harness watches for oopses and
#     panics as well), and every step has a time bound.
# Layer: tests that run in the guest (in_vm, one boot with
# test_lifecycle.py); use tests/images/mkimages.py and twimg.py to make the
# images, and call mount(8).
import errno
import os
import shutil
import signal
import sys

import pytest

import kmodutil
from kmodutil import run

sys.path.insert(0, os.path.join(kmodutil.ROOT, 'tests', 'images'))
import mkimages  # noqa: E402
import twimg  # noqa: E402

# All in_vm tests of tests/kmod share these arguments: one boot.
pytestmark = pytest.mark.in_vm(timeout=900)

PER_IMAGE = 60		# seconds any one step may take
MS_RDONLY = 1

# Reading everything on a corrupted image may fail only with the core's own
# errors (EUCLEAN: a corrupted structure, EBADMSG: a bad checksum), plus
# what a case's damage explains; writing may also find the filesystem full.
CORE_ERRNOS = {errno.EUCLEAN, errno.EBADMSG}
EXTRA_ERRNOS = {
	# (/dir1/sub naming the root directory is the core's EUCLEAN since
	# ced64aa: before, the VFS's d_splice_alias() refused it with ELOOP)
	# a bucket's hash altered: the index no longer finds a name that
	# readdir (which walks the entry blocks) still lists
	'dir-index-hash': {errno.ENOENT},
}

# Cases the golden table lets mount (read-only, as twinfs-ctl ls does) but
# the core refuses read-write, and why: at a read-write mount the core
# frees the inodes of its orphan table, and refuses to free one that is
# still linked.
RW_REFUSED = {'orphan-stale': errno.EUCLEAN}


def mount8_message(name):
	"""What mount(8) says for a mount(2) errno.  libmount (util-linux
	2.38, context_mount.c) has its own sentence for EBADMSG (a bad CRC,
	for ext4 and XFS); for the others it prints strerror."""
	if name == 'EBADMSG':
		return 'cannot mount; probably corrupted filesystem on'
	return os.strerror(getattr(errno, name))


def ename(err):
	return errno.errorcode.get(err, str(err))


@pytest.fixture(scope='module')
def base(tmp_path_factory):
	d = tmp_path_factory.mktemp('hostile')
	path = mkimages.make_base(kmodutil.build_dir(), str(d / 'base.img'))
	yield path
	shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def loop_image(base, tmp_path):
	"""make(case) -> a loop device with that case's image; detached and
	removed at the end, whatever happened."""
	made = []
	img = str(tmp_path / 'case.img')

	def make(fn):
		shutil.copyfile(base, img)
		im = twimg.Image(img)
		fn(im)
		im.save()
		dev = kmodutil.loop_attach(img)
		made.append(dev)
		return dev

	yield make
	for dev in made:
		kmodutil.loop_detach(dev)
	# /tmp is the guest's RAM: 36 images of 16 MiB would not fit
	if os.path.exists(img):
		os.unlink(img)


class Timeout(Exception):
	pass


class deadline:
	"""Bound a step's time: SIGALRM interrupts a syscall that sleeps
	interruptibly; one stuck for good is the guest timeout's to catch."""

	def __init__(self, what, seconds=PER_IMAGE):
		self.what, self.seconds = what, seconds

	def _fire(self, *_):
		raise Timeout('%s took more than %d s' % (self.what,
							  self.seconds))

	def __enter__(self):
		self.old = signal.signal(signal.SIGALRM, self._fire)
		signal.alarm(self.seconds)

	def __exit__(self, *exc):
		signal.alarm(0)
		signal.signal(signal.SIGALRM, self.old)
		return False


def access_errno(path):
	"""Read path as the golden test does with twinfs-ctl cat: the errno
	(0 when it worked)."""
	try:
		if os.path.islink(path):
			os.readlink(path)
		else:
			with open(path, 'rb') as f:
				while f.read(1 << 20):
					pass
	except OSError as e:
		return e.errno
	return 0


def check_access(name, mnt, access, how):
	if access:
		path, want = access
		got = access_errno(mnt + path)
		assert got == getattr(errno, want), \
			'%s: reading %s (%s) gave %s, want %s' % (
				name, path, how, ename(got), want)


def walk(name, mnt):
	"""Read everything; fails on errors that the image's damage does not
	explain."""
	allowed = CORE_ERRNOS | EXTRA_ERRNOS.get(name, set())
	bad = []

	def note(op, p, e):
		if e.errno not in allowed:
			bad.append('%s %s: %s' % (op, p, e))

	for dirpath, dirnames, filenames in os.walk(
			mnt, onerror=lambda e: note('readdir', e.filename, e)):
		for n in dirnames + filenames:
			p = os.path.join(dirpath, n)
			try:
				st = os.lstat(p)
				os.listxattr(p, follow_symlinks=False)
				if os.path.islink(p):
					os.readlink(p)
				elif os.path.isfile(p):
					with open(p, 'rb') as f:
						if st.st_size < (64 << 20):
							while f.read(1 << 20):
								pass
						else:
							f.read(1 << 16)
							f.seek(st.st_size - 100)
							f.read()
			except OSError as e:
				note('read', p, e)
	assert bad == [], '%s: reading the tree:\n%s' % (name, '\n'.join(bad))


def write_some(name, mnt):
	"""Create, write, sync, rename, remove: works, or fails with the
	core's errors (or ENOSPC), never worse."""
	allowed = CORE_ERRNOS | EXTRA_ERRNOS.get(name, set()) | {errno.ENOSPC}
	d = os.path.join(mnt, 'written-in-the-guest')
	try:
		os.mkdir(d)
		with open(os.path.join(d, 'f'), 'wb') as f:
			f.write(b'x' * 100000)
			os.fsync(f.fileno())
		os.listdir(mnt)
		os.rename(os.path.join(d, 'f'), os.path.join(mnt, 'f-moved'))
		os.unlink(os.path.join(mnt, 'f-moved'))
		os.rmdir(d)
	except OSError as e:
		assert e.errno in allowed, '%s: writing: %s' % (name, e)


def mounted_checks(name, dev, mnt, flags, access):
	how = 'ro' if flags & MS_RDONLY else 'rw'
	with deadline('%s mount' % how):
		err = kmodutil.sys_mount(dev, mnt, 'twinfs', flags)
	if not flags & MS_RDONLY and name in RW_REFUSED:
		assert err == RW_REFUSED[name], ename(err)
		return
	assert err == 0, '%s: %s mount: %s' % (name, how, ename(err))
	try:
		with deadline('reading (%s)' % how):
			check_access(name, mnt, access, how)
			if how == 'ro':
				walk(name, mnt)
			else:	# read once is enough: write
				write_some(name, mnt)
	finally:
		with deadline('umount'):
			err = kmodutil.sys_umount(mnt)
	assert err == 0, ename(err)


@pytest.mark.parametrize('case', mkimages.CASES,
			 ids=[c[0] for c in mkimages.CASES])
def test_hostile_image(case, loop_image, tmp_path, kmsg):
	name, fn, desc, _fsck_n, mount_err, access, _fsck_y = case
	dev = loop_image(fn)
	mnt = str(tmp_path / 'mnt')
	os.mkdir(mnt)

	if mount_err is None:
		mounted_checks(name, dev, mnt, MS_RDONLY, access)
		mounted_checks(name, dev, mnt, 0, access)
		return

	for flags in (MS_RDONLY, 0):
		with deadline('mount'):
			err = kmodutil.sys_mount(dev, mnt, 'twinfs', flags)
		if err == 0:
			kmodutil.sys_umount(mnt)
		assert err == getattr(errno, mount_err), \
			'%s (%s): mount(2)%s gave %s, want %s' % (
				name, desc, ' ro' if flags else '', ename(err),
				mount_err)
	r = run(['mount', '-t', 'twinfs', dev, mnt], timeout=PER_IMAGE)
	assert r.returncode != 0
	assert mount8_message(mount_err) in r.stderr, r.stderr
	assert not kmodutil.is_mountpoint(mnt)
	# the kernel log says what is wrong, not just the errno
	assert any('twinfs' in line for line in kmsg.read()), kmsg.lines
