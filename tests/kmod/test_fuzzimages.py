# twinfs tests/kmod: the fuzz regression images and the corpus sample
# (tests/images/fuzz/*.fz, tests/images/fuzz/corpus/*.fz) mounted by the
# kernel module, the kernel half of "replay in both homes"
# (docs/fuzzing.md; twinfs-fuse's half is tests/fuzz/test_replay_fuse.py).
#
# For each input, decoded (tests/fuzz/fzreplay.py, byte for byte what
# `fzimg decode` makes) into a file on the guest's tmpfs and attached to a
# loop device:
#   - mount -t twinfs read-only: refused with EUCLEAN/EBADMSG, the errno
#     the core gives in user space (twinfs-ctl's read-only mount of the
#     same image), and the kernel log says why; or mounted, the tree walked
#     and read (readdir, stat, xattrs, readlink, contents), unmounted, and
#     the image not changed by a single byte;
#   - on a fresh copy, read-write: refused with the errno LIST records
#     (`fzimg verdict`: the core's read-write mount in user space), or
#     mounted, walked, files written, renamed, truncated and unlinked,
#     synced, unmounted;
#   - errors met on the way may only be what the damage explains
#     (fzreplay.READ_ERRNOS/WRITE_ERRNOS; EIO only after the core aborted
#     the journal, which the kernel log then says);
#   - each step (mount, exercise, umount) runs in a child process with a
#     time bound: one that does not finish is a hang, reported with the
#     stuck task's kernel stack;
#   - the kernel log shows no oops, WARNING, BUG, lockdep or list
#     corruption report (the kmsg fixture; the vm harness watches for
#     oopses and panics as well).
# Layer: tests that run in the guest (in_vm, the one boot of
# test_lifecycle.py and test_hostile.py); use tests/fuzz/fzreplay.py,
# kmodutil, twinfs-ctl, mount(2) and the loop driver.
import hashlib
import os
import shutil
import sys
import time

import pytest

import kmodutil

sys.path.insert(0, os.path.join(kmodutil.ROOT, 'tests', 'fuzz'))
import fzreplay  # noqa: E402

# All in_vm tests of tests/kmod share these arguments: one boot.
pytestmark = pytest.mark.in_vm(timeout=900)

STEP = 60		# seconds any one step may take
MS_RDONLY = 1
MNT_DETACH = 2
CASES = fzreplay.cases()


def sha1(path):
	with open(path, 'rb') as f:
		return hashlib.sha1(f.read()).hexdigest()


@pytest.fixture
def loops(tmp_path):
	"""attach(image) -> a loop device; at the end (whatever happened)
	every mount under tmp_path is detached, the loop devices cleared and
	the images removed (/tmp is the guest's RAM)."""
	devs = []

	def attach(image):
		dev = kmodutil.loop_attach(image)
		devs.append(dev)
		return dev

	yield attach
	for mp in kmodutil.mounts_of('twinfs'):
		if mp.startswith(str(tmp_path)):
			fzreplay.bounded(lambda: kmodutil.sys_umount(
				mp, MNT_DETACH), 20, 'umount -l ' + mp)
	for dev in devs:
		try:
			kmodutil.loop_detach(dev)
		except OSError:
			pass	# already cleared
	for n in os.listdir(tmp_path):
		if n.endswith('.img'):
			os.unlink(os.path.join(tmp_path, n))


def mount_and(dev, mnt, ro, exercise):
	"""In a child, with a time bound: mount, exercise, umount.  Returns
	{'mount': verdict, 'tally': ..., 'umount': errno name}."""
	def step():
		err = kmodutil.sys_mount(dev, mnt, 'twinfs',
					 MS_RDONLY if ro else 0)
		if err:
			return {'mount': fzreplay.ename(err)}
		try:
			tally = exercise(mnt)
		finally:
			uerr = kmodutil.sys_umount(mnt)
		return {'mount': 'ok', 'tally': tally,
			'umount': fzreplay.ename(uerr)}
	return fzreplay.bounded(step, STEP, 'kernel %s mount of %s' % (
		'ro' if ro else 'rw', dev))


def read_only(mnt):
	return fzreplay.walk(mnt)[0]


def read_write(mnt):
	r, found = fzreplay.walk(mnt)
	return fzreplay.merge(r, fzreplay.write_some(mnt, found))


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_kernel_replay(case, loops, tmp_path, kmsg):
	t0 = time.monotonic()
	raw = str(tmp_path / 'raw.img')
	fzreplay.decode_file(case.path, raw)
	want = {True: fzreplay.core_verdict(raw, ro=True),
		False: case.mount or fzreplay.core_verdict(
			raw, ro=False, scratch=str(tmp_path))}
	digest = sha1(raw)
	out = {}
	times = {'prepare': time.monotonic() - t0}
	for ro in (True, False):
		how = 'ro' if ro else 'rw'
		img = str(tmp_path / ('%s.img' % how))
		if ro:
			shutil.copyfile(raw, img)
		else:
			os.rename(raw, img)
		mnt = str(tmp_path / how)
		os.mkdir(mnt)
		kmsg.read()
		n0 = len(kmsg.lines)
		t1 = time.monotonic()
		res = mount_and(loops(img), mnt, ro,
				read_only if ro else read_write)
		times[how] = time.monotonic() - t1
		kmsg.read()
		log = kmsg.lines[n0:]
		out[how] = res
		v = res['mount']
		assert v in ('ok',) + tuple(sorted(fzreplay.CORE_ERRNOS)), \
			'%s: %s mount refused with %s' % (case.name, how, v)
		assert v == want[ro], \
			'%s: kernel %s mount: %s, the core (%s) says %s' % (
				case.name, how, v, 'twinfs-ctl' if ro else
				'LIST' if case.mount else 'twinfs-ctl', want[ro])
		if v != 'ok':
			# the kernel log says what is wrong, not just the errno
			assert any('twinfs' in line for line in log), log
			continue
		aborted = any('journal aborted' in line for line in log)
		res['tally']['aborted'] = aborted
		bad = fzreplay.problems(res['tally'], aborted)
		assert not bad, '%s (%s): errors the damage does not ' \
			'explain:\n%s' % (case.name, how, '\n'.join(bad))
		assert res['umount'] == 'ok', '%s: umount (%s): %s' % (
			case.name, how, res['umount'])
		assert not kmodutil.is_mountpoint(mnt)
		if ro:
			assert sha1(img) == digest, \
				'%s: the read-only mount changed the image' % \
				case.name
	times['all'] = time.monotonic() - t0
	fzreplay.log_result('kernel', case, out, times)
