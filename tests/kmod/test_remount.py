# twinfs tests/kmod: mount -o remount,ro and remount,rw of a kernel mount
# (kmod/super.c twinfs_reconfigure -> tw_remount), the same promises the
# FUSE home keeps (tests/fuse/test_remount.py):
#   - read-only after remount,ro: every change fails with EROFS, reads work,
#     the image on the device is clean (fsck.twinfs -n while still mounted);
#   - remount,rw: changes work again, and nothing written before is lost;
#   - the VFS refuses remount,ro (EBUSY) while a file is open for writing
#     or a deleted file is still open, and the mount stays read-write;
#   - a filesystem mounted ro from the start goes rw and back;
#   - fsck clean after the final unmount.
# Layer: tests that run in the guest (in_vm, one boot with the other in_vm
# tests of tests/kmod); call mount, umount, mkfs.twinfs and fsck.twinfs.
import errno
import os

import pytest

import kmodutil
from kmodutil import run

pytestmark = pytest.mark.in_vm(timeout=600)


@pytest.fixture
def mounted(tmp_path, kmsg):  # kmsg: no oops or WARNING meanwhile
	"""A fresh image on a loop device: (image, dev, mnt).  fsck reads
	the image file (the loop device writes through it), not the device,
	whose page cache may hold what mount's probing read."""
	img = str(tmp_path / 'remount.img')
	kmodutil.mkfs(img, '32M')
	mnt = tmp_path / 'mnt'
	mnt.mkdir()
	dev = kmodutil.loop_attach(img)
	try:
		yield img, dev, str(mnt)
	finally:
		if kmodutil.is_mountpoint(str(mnt)):
			run(['umount', str(mnt)])
		kmodutil.loop_detach(dev)
	kmodutil.assert_fsck_clean(img)


def mount(dev, mnt, opts=None):
	cmd = ['mount', '-t', 'twinfs'] + (['-o', opts] if opts else []) + \
		[dev, mnt]
	run(cmd, check=True)


def remount(mnt, opts):
	return run(['mount', '-o', 'remount,' + opts, mnt])


def is_ro(mnt):
	return bool(os.statvfs(mnt).f_flag & os.ST_RDONLY)


def write(path, data):
	with open(path, 'wb') as f:
		f.write(data)


def read(path):
	with open(path, 'rb') as f:
		return f.read()


def expect_erofs(fn, *args):
	with pytest.raises(OSError) as e:
		fn(*args)
	assert e.value.errno == errno.EROFS, e.value


def test_remount_ro_refuses_changes_and_is_clean_then_rw(mounted):
	img, dev, mnt = mounted
	mount(dev, mnt)
	f = os.path.join(mnt, 'f')
	write(f, b'before' * 1000)
	os.mkdir(os.path.join(mnt, 'd'))
	r = remount(mnt, 'ro')
	assert r.returncode == 0, r.stderr
	assert is_ro(mnt)
	# the image is consistent and clean on the device right now
	rc, out = kmodutil.fsck_n(img)
	assert rc == 0 and out.rstrip().endswith('clean'), out
	assert read(f) == b'before' * 1000
	expect_erofs(write, os.path.join(mnt, 'g'), b'x')
	expect_erofs(os.open, f, os.O_WRONLY)
	expect_erofs(os.mkdir, os.path.join(mnt, 'e'))
	expect_erofs(os.unlink, f)
	expect_erofs(os.rename, f, os.path.join(mnt, 'f2'))
	expect_erofs(os.chmod, f, 0o600)
	expect_erofs(os.setxattr, f, 'user.a', b'1')
	r = remount(mnt, 'rw')
	assert r.returncode == 0, r.stderr
	assert not is_ro(mnt)
	write(os.path.join(mnt, 'g'), b'after')
	os.rename(f, os.path.join(mnt, 'f2'))
	run(['umount', mnt], check=True)
	mount(dev, mnt)
	assert read(os.path.join(mnt, 'f2')) == b'before' * 1000
	assert read(os.path.join(mnt, 'g')) == b'after'
	assert os.path.isdir(os.path.join(mnt, 'd'))
	run(['umount', mnt], check=True)


def test_remount_ro_busy_while_open_for_writing(mounted):
	img, dev, mnt = mounted
	mount(dev, mnt)
	f = os.path.join(mnt, 'w')
	fd = os.open(f, os.O_WRONLY | os.O_CREAT, 0o644)
	try:
		os.write(fd, b'open')
		r = remount(mnt, 'ro')
		assert r.returncode != 0
		assert not is_ro(mnt)
	finally:
		os.close(fd)
	# a deleted file still open holds the mount read-write too
	fd = os.open(f, os.O_RDONLY)
	try:
		os.unlink(f)
		r = remount(mnt, 'ro')
		assert r.returncode != 0
		assert not is_ro(mnt)
	finally:
		os.close(fd)
	r = remount(mnt, 'ro')
	assert r.returncode == 0, r.stderr
	assert is_ro(mnt)
	run(['umount', mnt], check=True)


def test_ro_mount_goes_rw_and_back(mounted):
	img, dev, mnt = mounted
	mount(dev, mnt, 'ro')
	assert is_ro(mnt)
	expect_erofs(write, os.path.join(mnt, 'x'), b'x')
	r = remount(mnt, 'rw')
	assert r.returncode == 0, r.stderr
	write(os.path.join(mnt, 'x'), b'x' * 5000)
	os.sync()
	r = remount(mnt, 'ro')
	assert r.returncode == 0, r.stderr
	rc, out = kmodutil.fsck_n(img)
	assert rc == 0 and out.rstrip().endswith('clean'), out
	assert read(os.path.join(mnt, 'x')) == b'x' * 5000
	run(['umount', mnt], check=True)
