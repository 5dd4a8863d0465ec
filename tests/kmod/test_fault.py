# twinfs tests/kmod: the module's fault points (twinfs_core's parameter
# fault), in the vocabulary twinfs-fuse's -o fault= uses too:
# POINT:N:eio|hang|crash[-once], comma-separated.
#   - good specs are accepted and read back as written ("oops", the old
#     name of crash, too); bad ones are refused with EINVAL and leave the
#     armed spec alone; "" disarms;
#   - eio-once fires once and is then spent, for good (across a remount),
#     while a plain eio fires again; "write" is not reached by the module
#     (file data go through the page cache and tw_bmap, not tw_write).
# hang and crash cannot run here (they would take the shared guest down):
# docs/crash.md's fault-isolation experiment (tests/crash/fault_isolation.py)
# runs them.
# Layer: tests that run in the guest (in_vm, one boot with the other in_vm
# tests of tests/kmod); call modprobe, mount, umount, mkfs.twinfs and
# fsck.twinfs, and write /sys/module/twinfs_core/parameters/fault.
import errno
import os

import pytest

import kmodutil
from kmodutil import run

pytestmark = pytest.mark.in_vm(timeout=900)

PARAM = '/sys/module/twinfs_core/parameters/fault'


def arm(spec):
	"""Write SPEC to the parameter as `echo SPEC >` does; 0 or the
	errno."""
	fd = os.open(PARAM, os.O_WRONLY)
	try:
		os.write(fd, (spec + '\n').encode())
		return 0
	except OSError as e:
		return e.errno
	finally:
		os.close(fd)


def armed():
	with open(PARAM) as f:
		return f.read()


@pytest.fixture
def core(kmsg):
	"""twinfs loaded, nothing armed after; unloaded again if it was not
	loaded before."""
	was = os.path.exists('/sys/module/twinfs')
	run(['modprobe', 'twinfs'], check=True)
	try:
		yield kmsg
	finally:
		arm('')
		if not was:
			run(['modprobe', '-r', 'twinfs'], check=True)


@pytest.fixture
def image(tmp_path):
	img = str(tmp_path / 'fault.img')
	kmodutil.mkfs(img, '16M')
	mnt = tmp_path / 'mnt'
	mnt.mkdir()
	return img, str(mnt)


GOOD = ['write:0:crash-once', 'alloc_block:40:crash', 'alloc_block:40:hang',
	'commit:3:eio-once', 'commit-block:0:hang-once',
	'alloc_block:1:eio,commit:2:crash-once', 'alloc_block:40:oops']

BAD = ['bogus', 'write:0', 'write:0:', 'write::eio', 'write:x:eio',
       'write:-1:eio', ':0:eio', 'write:0:crash-twice', 'write:0:-once',
       'write:0:once', 'write:0:eio:1', 'write:0:EIO',
       'a_point_name_of_24_chars:0:eio',
       ','.join('p%d:0:eio' % i for i in range(9))]


def test_specs_accepted_read_back_or_refused(core):
	assert armed() == '\n'
	for spec in GOOD:
		assert arm(spec) == 0, spec
		assert armed() == spec + '\n'
	for spec in BAD:
		assert arm(spec) == errno.EINVAL, spec
		assert armed() == GOOD[-1] + '\n', spec	# left alone
	assert arm('') == 0
	assert armed() == '\n'


def write_file(path):
	"""Create PATH with 4 KiB and fsync it: 0 or the errno."""
	try:
		fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
		try:
			os.write(fd, b'x' * 4096)
			os.fsync(fd)
		finally:
			os.close(fd)
	except OSError as e:
		return e.errno
	return 0


def mounted_write(img, mnt, name):
	"""Mount, write NAME (one block allocation), unmount: 0 or the
	errno of the write."""
	run(['mount', '-t', 'twinfs', '-o', 'loop', img, mnt], check=True)
	try:
		return write_file(os.path.join(mnt, name))
	finally:
		run(['umount', mnt], check=True)


def test_eio_once_fires_once_eio_every_time(core, image):
	img, mnt = image
	# the module never calls tw_write: an armed "write" changes nothing
	assert arm('write:0:eio') == 0
	assert mounted_write(img, mnt, 'a') == 0
	# the first allocation fails; that aborts the journal (the core's
	# rule for an error inside a transaction), hence the remounts
	assert arm('alloc_block:0:eio-once') == 0
	assert mounted_write(img, mnt, 'b') == errno.EIO
	assert mounted_write(img, mnt, 'c') == 0	# spent
	assert armed() == 'alloc_block:0:eio-once\n'
	assert arm('alloc_block:0:eio') == 0
	assert mounted_write(img, mnt, 'd') == errno.EIO
	assert mounted_write(img, mnt, 'e') == errno.EIO
	assert arm('') == 0
	assert mounted_write(img, mnt, 'f') == 0
	core.read()
	assert any('journal aborted' in l for l in core.lines), core.lines
	kmodutil.assert_fsck_clean(img)
