# twinfs tests/fuse: the daemon dies (kill -9) under a writer.
#
# What the kernel does (Linux fs/fuse, checked on this host): when the
# daemon's /dev/fuse descriptor closes, the connection is aborted.  A
# request in flight fails with ECONNABORTED; every later request fails
# with ENOTCONN, including close() (FLUSH) and a stat of the mountpoint,
# except what the kernel answers from its caches without asking (the
# optimized profile's attributes, for attr_timeout).
# With the writeback cache a write() only dirties the page cache and may
# still succeed; the data reach the daemon at fsync() (or writeback), so
# there the request in flight is the fsync.  A writeback that failed in
# the background leaves an error on the file that fsync() reports as EIO.
#
# Then: the dead mount must be lazily unmounted (fusermount3 -uz); a new
# daemon on the same image replays the journal; everything fsync'd before
# the kill is there, byte for byte; fsck.twinfs -n finds the image clean.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools, fusermount3, and writer.py.
import errno
import os
import subprocess
import sys
import time

import pytest

import twfuse

WRITER = os.path.join(os.path.dirname(os.path.realpath(__file__)),
		      'writer.py')
CHUNK = 65536


class Writer:
	def __init__(self, path, every, limit=None):
		args = [sys.executable, WRITER, path, str(CHUNK), str(every)]
		if limit:
			args.append(str(limit))
		self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
					     text=True)
		self.lines = []
		self.synced = 0
		assert self.readline() == 'ready'

	def readline(self):
		ln = self.proc.stdout.readline().strip()
		if ln:
			self.lines.append(ln)
		if ln.startswith('synced '):
			self.synced = int(ln.split()[1])
		return ln

	def wait_synced(self, n, timeout=30):
		end = time.monotonic() + timeout
		while self.synced < n:
			assert time.monotonic() < end, self.lines
			assert self.readline(), self.lines

	def finish(self, timeout=30):
		out, _ = self.proc.communicate(timeout=timeout)
		for ln in out.splitlines():
			self.lines.append(ln)
			if ln.startswith('synced '):
				self.synced = int(ln.split()[1])
		assert self.proc.returncode == 0, self.lines
		errors = [ln.split()[1:] for ln in self.lines
			  if ln.startswith('error ')]
		after = dict(ln.split()[1:] for ln in self.lines
			     if ln.startswith('after '))
		return errors, after


def expected(size):
	out = bytearray()
	i = 0
	while len(out) < size:
		out += bytes([i % 251]) * CHUNK
		i += 1
	return bytes(out[:size])


def stat_errno(path):
	try:
		os.stat(path)
		return 0
	except OSError as e:
		return e.errno


def dead_mount_behaviour(tracker, image, mnt):
	"""The mount is dead: ENOTCONN (once cached attributes, if any, have
	timed out), and a new daemon on it is refused."""
	assert twfuse.wait_until(lambda: stat_errno(mnt) == errno.ENOTCONN, 3)
	r = subprocess.run([twfuse.DAEMON, image, mnt], capture_output=True,
			   text=True, timeout=60)
	assert r.returncode == 1
	assert 'Transport endpoint is not connected' in r.stderr, r.stderr
	assert 'fusermount3 -uz' in r.stderr, r.stderr


def restart_and_check(tracker, image, mnt, path, synced):
	twfuse.lazy_unmount(mnt)
	assert twfuse.mount_of(mnt) is None
	d = tracker.daemon(image, mnt).start(foreground=True)
	with open(path, 'rb') as f:
		data = f.read()
	# fsync'd data exactly; anything committed later is the writer's too
	assert len(data) >= synced
	assert data[:synced] == expected(synced)
	assert data == expected(len(data))
	d.unmount()
	twfuse.assert_clean(image)
	return len(data)


def test_crash_in_flight_write_base(tracker, image, mnt):
	"""base (no writeback cache): the write() in flight gets
	ECONNABORTED, everything after ENOTCONN."""
	d = tracker.daemon(image, mnt).start('profile=base',
					     'fault=write:6:hang-once',
					     foreground=True)
	path = os.path.join(mnt, 'f')
	w = Writer(path, every=2)
	# the 7th WRITE hangs in the daemon: the writer waits in write()
	assert twfuse.wait_until(lambda: 'hanging forever' in d.stderr, 20), \
		d.stderr
	time.sleep(0.2)
	d.kill9()
	errors, after = w.finish()
	assert errors == [['write', 'ECONNABORTED']], w.lines
	assert after == {'write': 'ENOTCONN', 'fsync': 'ENOTCONN',
			 'close': 'ENOTCONN', 'stat': 'ENOTCONN'}, w.lines
	assert w.synced == 6 * CHUNK
	dead_mount_behaviour(tracker, image, mnt)
	restart_and_check(tracker, image, mnt, path, w.synced)


def test_crash_in_flight_fsync_writeback_cache(tracker, image, mnt):
	"""optimized with the writeback cache and threads (in no profile):
	the data go to the daemon at fsync, so the fsync() in flight gets
	ECONNABORTED; later fsync and close get ENOTCONN, while a write()
	into the page cache may still succeed.  Threads, so that the mount
	answers while one worker hangs."""
	d = tracker.daemon(image, mnt).start('profile=optimized',
					     'writeback_cache', 'threads',
					     'fault=write:2:hang-once',
					     foreground=True)
	path = os.path.join(mnt, 'f')
	w = Writer(path, every=2)
	assert twfuse.wait_until(lambda: 'hanging forever' in d.stderr, 20), \
		d.stderr
	# the daemon still serves other requests on its other threads
	assert os.path.isdir(mnt)
	time.sleep(0.2)
	d.kill9()
	errors, after = w.finish()
	assert errors == [['fsync', 'ECONNABORTED']], w.lines
	assert after['write'] in ('ok', 'ENOTCONN'), w.lines
	assert after['fsync'] == 'ENOTCONN', w.lines
	assert after['close'] == 'ENOTCONN', w.lines
	# attributes cached for attr_timeout (1 s) need no request
	assert after['stat'] in ('ok', 'ENOTCONN'), w.lines
	assert w.synced == 4 * CHUNK
	dead_mount_behaviour(tracker, image, mnt)
	restart_and_check(tracker, image, mnt, path, w.synced)


@pytest.mark.parametrize('profile', twfuse.PROFILES + [twfuse.THREADS])
def test_crash_kill9_under_writer(tracker, image, mnt, profile):
	"""kill -9 at an arbitrary moment while a writer appends and fsyncs."""
	d = tracker.daemon(image, mnt).start('profile=' + profile,
					     foreground=True)
	path = os.path.join(mnt, 'f')
	w = Writer(path, every=3)
	w.wait_synced(30 * CHUNK)
	d.kill9()
	errors, after = w.finish()
	assert len(errors) == 1, w.lines
	op, err = errors[0]
	if profile == 'base':
		# the write or fsync in flight, or the next request
		assert err in ('ECONNABORTED', 'ENOTCONN'), w.lines
		assert after['write'] == 'ENOTCONN', w.lines
	else:
		# writes dirty the page cache; fsync meets the dead daemon,
		# or the error a failed background writeback left (EIO)
		assert op == 'fsync' or err in ('ECONNABORTED', 'ENOTCONN'), \
			w.lines
		assert err in ('ECONNABORTED', 'ENOTCONN', 'EIO'), w.lines
		assert after['write'] in ('ok', 'ENOTCONN'), w.lines
	assert after['fsync'] in ('ENOTCONN', 'EIO'), w.lines
	assert after['close'] == 'ENOTCONN', w.lines
	assert after['stat'] == ('ENOTCONN' if profile == 'base' else
				 after['stat']), w.lines
	assert after['stat'] in ('ok', 'ENOTCONN'), w.lines
	dead_mount_behaviour(tracker, image, mnt)
	restart_and_check(tracker, image, mnt, path, w.synced)


def test_crash_metadata_replayed(tracker, image, mnt):
	"""Namespace changes fsync'd before the kill are all replayed; the
	orphan of an unlinked-but-open file is finished by the next mount."""
	d = tracker.daemon(image, mnt).start(foreground=True)
	names = []
	for i in range(50):
		p = os.path.join(mnt, 'd%02d' % (i % 5), 'n%03d' % i)
		os.makedirs(os.path.dirname(p), exist_ok=True)
		with open(p, 'w') as f:
			f.write(str(i))
		names.append(p)
	os.rename(names[0], os.path.join(mnt, 'moved'))
	os.symlink('moved', os.path.join(mnt, 'sym'))
	os.link(names[1], os.path.join(mnt, 'hard'))
	fd = os.open(names[2], os.O_RDWR)
	os.unlink(names[2])
	os.fsync(fd)	# commits everything, the orphan included
	d.kill9()
	twfuse.lazy_unmount(mnt)
	with pytest.raises(OSError) as e:
		os.close(fd)	# its FLUSH meets the dead connection
	assert e.value.errno == errno.ENOTCONN
	assert twfuse.dump_json(image, 'orphans')['orphan_count'] == 1
	d = tracker.daemon(image, mnt).start(foreground=True)
	assert os.readlink(os.path.join(mnt, 'sym')) == 'moved'
	with open(os.path.join(mnt, 'moved')) as f:
		assert f.read() == '0'
	assert os.stat(os.path.join(mnt, 'hard')).st_nlink == 2
	assert not os.path.exists(names[2])
	assert sorted(os.listdir(os.path.join(mnt, 'd02'))) == \
		['n%03d' % i for i in range(7, 50, 5)]
	d.unmount()
	twfuse.assert_clean(image)
	assert twfuse.dump_json(image, 'orphans')['orphan_count'] == 0
