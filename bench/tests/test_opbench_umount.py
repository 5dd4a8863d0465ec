# bench/tests: opbench umount on a busy mountpoint: retried with short
# sleeps for up to --busy-wait seconds (a mount can stay busy for a moment
# after its last user, on a loaded host longer), the time measured from the
# attempt that succeeded; still busy at the end, it fails naming who holds
# the mount.  Needs root and the built opbench ($TWINFS_BUILD or build/);
# mounts a small tmpfs of its own, and undoes it.
import json
import os
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OPBENCH = os.path.join(os.environ.get('TWINFS_BUILD') or
		       os.path.join(ROOT, 'build'), 'bench', 'opbench')

pytestmark = [
	pytest.mark.skipif(os.geteuid() != 0, reason='mounts a tmpfs: root'),
	pytest.mark.skipif(not os.access(OPBENCH, os.X_OK),
			   reason='opbench is not built: %s' % OPBENCH),
]


def mounted(path):
	with open('/proc/self/mountinfo') as f:
		return any(l.split()[4] == path for l in f)


@pytest.fixture
def mnt(tmp_path):
	m = str(tmp_path / 'mnt')
	os.mkdir(m)
	r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'opbtest',
			    m], stderr=subprocess.PIPE, text=True)
	if r.returncode:
		pytest.skip('cannot mount a tmpfs: %s' % r.stderr.strip())
	yield m
	if mounted(m):
		subprocess.run(['umount', '-l', m])


class Holder:
	"""A process keeping MNT busy (its working directory there, or a
	file of it open as fd 3) for SECONDS."""

	def __init__(self, mnt, seconds, how='cwd'):
		if how == 'cwd':
			self.p = subprocess.Popen(['sleep', str(seconds)], cwd=mnt)
		else:
			with open(os.path.join(mnt, 'held'), 'w'):
				pass
			self.p = subprocess.Popen(
				['sh', '-c', 'exec 3<"$1"; exec sleep %s' % seconds,
				 'sh', os.path.join(mnt, 'held')])
		# wait until it really holds the mount (exec done)
		end = time.monotonic() + 10
		while time.monotonic() < end:
			try:
				with open('/proc/%d/comm' % self.p.pid) as f:
					comm = f.read().strip()
				if comm == 'sleep' and (how == 'cwd' or os.path.exists(
						'/proc/%d/fd/3' % self.p.pid)):
					return
			except OSError:
				pass
			time.sleep(0.01)
		raise AssertionError('the holder did not start')

	def stop(self):
		self.p.kill()
		self.p.wait()


def opbench_umount(mnt, *args):
	t0 = time.monotonic()
	r = subprocess.run([OPBENCH, 'umount', mnt] + list(args),
			   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   text=True, timeout=120)
	took = time.monotonic() - t0
	return r.returncode, json.loads(r.stdout.strip().splitlines()[-1]), took


def test_busy_for_a_moment_is_waited_for(mnt):
	h = Holder(mnt, 1.5)
	try:
		rc, d, took = opbench_umount(mnt, '--busy-wait', '30')
	finally:
		h.stop()
	assert rc == 0 and d['rc'] == 0, d
	assert 'error' not in d
	assert not mounted(mnt)
	assert d['tries'] > 1			# it was busy, then it was not
	assert d['busy_ns'] > 0.3e9, d		# ~1.5 s less the holder's start
	assert d['busy_ns'] < 30e9
	# the measured unmount is the attempt that succeeded, not the wait
	assert d['ns'] < d['busy_ns'], d
	assert took < 30


def test_still_busy_fails_naming_the_holders(mnt):
	by_cwd = Holder(mnt, 120)
	by_fd = Holder(mnt, 120, how='fd')
	try:
		rc, d, took = opbench_umount(mnt, '--busy-wait', '1')
		assert mounted(mnt)
	finally:
		by_cwd.stop()
		by_fd.stop()
	assert rc == 1 and d['rc'] == 16, d		# EBUSY
	assert d['tries'] >= 2, d
	assert 1 <= took < 20, took
	err = d['error']
	assert err.startswith('Device or resource busy: still busy after '), err
	assert '%d (sleep) cwd' % by_cwd.p.pid in err, err
	assert '%d (sleep) fd 3' % by_fd.p.pid in err, err
	# and once they are gone, it goes
	rc, d, _ = opbench_umount(mnt, '--busy-wait', '30')
	assert rc == 0 and d['rc'] == 0, d
	assert not mounted(mnt)


def test_other_errors_are_not_retried(tmp_path):
	d0 = str(tmp_path)			# not a mount point
	rc, d, took = opbench_umount(d0, '--busy-wait', '30')
	assert rc == 1 and d['rc'] == 22, d		# EINVAL
	assert d['tries'] == 1 and d['error'] == 'Invalid argument'
	assert took < 10
