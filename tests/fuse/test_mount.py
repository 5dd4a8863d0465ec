# twinfs tests/fuse: mounting and unmounting twinfs-fuse: both profiles,
# foreground and background, the mount.fuse3 helper convention (mount -t
# fuse.twinfs, fstab), auto_unmount, signals, option overrides, the commit
# thread, and the kernel's lookup counts.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools, fusermount3, mount(8), unshare(1).
import errno
import os
import signal
import subprocess
import time

import pytest

import twfuse

PROFILES = {
	'base': {
		'banner': 'profile base: single_thread, no_writeback_cache, '
			  'max_write=128K, max_read=128K, max_pages=32, '
			  'entry_timeout=0s, attr_timeout=0s, '
			  'negative_timeout=0s, no_keep_cache, no_splice',
		'max_read': 131072,
	},
	'optimized': {
		'banner': 'profile optimized: single_thread, '
			  'no_writeback_cache, max_write=1M, max_read=1M, '
			  'max_pages=256, entry_timeout=1s, attr_timeout=1s, '
			  'negative_timeout=1s, keep_cache, no_splice',
		'max_read': 1048576,
	},
}


def exercise(root):
	"""Some I/O through the mount; returns what must be found again."""
	data = os.urandom(3 * 1024 * 1024 + 123)
	os.mkdir(os.path.join(root, 'dir'))
	with open(os.path.join(root, 'dir', 'file'), 'wb') as f:
		f.write(data)
		f.flush()
		os.fsync(f.fileno())	# commits every change so far
	os.symlink('dir/file', os.path.join(root, 'link'))
	with open(os.path.join(root, 'link'), 'rb') as f:
		assert f.read() == data
	return data


@pytest.mark.parametrize('profile', ['base', 'optimized'])
def test_profile_mount_unmount_clean(tracker, image, mnt, profile):
	d = tracker.daemon(image, mnt).start('profile=' + profile, args=['-v'])
	assert d.rc == 0
	# with -v, one banner line on stderr naming the profile and its
	# settings (without it stderr stays empty: test_remount.py)
	banner = [ln for ln in d.stderr.splitlines() if 'profile' in ln]
	assert len(banner) == 1, d.stderr
	assert PROFILES[profile]['banner'] in banner[0]
	src, tgt, typ, opts = twfuse.mount_of(mnt)
	assert (src, tgt, typ) == (image, mnt, 'fuse.twinfs')
	opts = opts.split(',')
	assert 'default_permissions' in opts
	assert 'max_read=%d' % PROFILES[profile]['max_read'] in opts
	data = exercise(mnt)
	d.unmount()
	assert twfuse.mount_of(mnt) is None
	twfuse.assert_clean(image)
	# and it is all there on the next mount
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'dir', 'file'), 'rb') as f:
		assert f.read() == data
	d.unmount()
	twfuse.assert_clean(image)


def test_default_profile_is_optimized(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start(args=['--verbose'])
	assert PROFILES['optimized']['banner'] in d.stderr
	d.unmount()


def test_background_detaches_after_mount(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start()
	# the launcher has exited 0 and the mount was up when it returned
	assert d.rc == 0
	assert d.pid and d.pid != os.getpid()
	# a daemon: own session, cwd /, not our child
	assert os.getsid(d.pid) == d.pid
	assert os.readlink('/proc/%d/cwd' % d.pid) == '/'
	with open('/proc/%d/stat' % d.pid) as f:
		ppid = int(f.read().rsplit(')', 1)[1].split()[1])
	assert ppid != os.getpid()
	exercise(mnt)
	d.unmount()
	twfuse.assert_clean(image)


def test_foreground_and_sigterm(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start(foreground=True)
	assert d.proc.poll() is None	# the same process serves
	exercise(mnt)
	# SIGTERM: unmount, flush, exit 0
	d.proc.send_signal(signal.SIGTERM)
	assert d.wait_exit() == 0
	assert twfuse.mount_of(mnt) is None
	twfuse.assert_clean(image)


def test_mount_fuse3_helper_convention(tracker, image, mnt):
	"""mount.fuse3 IMAGE MNT -t twinfs -o ... runs `twinfs IMAGE MNT -o
	...` from PATH: the second name of the daemon."""
	env = dict(os.environ, PATH=os.path.dirname(twfuse.HELPER_NAME) +
		   ':' + os.environ.get('PATH', '/usr/bin:/bin'))
	d = tracker.daemon(image, mnt, prog=twfuse.HELPER_NAME)
	tracker.daemons.append(d)
	tracker.mnts.append(d.mnt)
	r = subprocess.run(['mount.fuse3', image, mnt, '-t', 'twinfs', '-o',
			    'profile=base,noatime'], env=env,
			   capture_output=True, text=True, timeout=60)
	assert r.returncode == 0, r.stderr
	assert r.stderr == ''		# quiet without -v
	assert d.mounted()
	pids = twfuse.daemon_pids(mnt)
	assert len(pids) == 1
	d.pid = pids[0]
	argv = twfuse.cmdline(d.pid)
	assert os.path.basename(argv[0]) == 'twinfs'
	assert argv[1:3] == [image, mnt] and argv[3] == '-o'
	exercise(mnt)
	d.unmount()
	twfuse.assert_clean(image)


def test_mount_t_fuse_twinfs_and_fstab(tracker, image, mnt, tmp_path):
	"""The real thing: mount(8) -t fuse.twinfs and an fstab line.

	mount(8) clears PATH before it runs /sbin/mount.fuse, whose /bin/sh
	then searches its default PATH for `twinfs`.  So the test runs in a
	private mount namespace where the build's fusefs/ directory is bound
	onto /usr/local/sbin (first in that default PATH); the host is left
	alone, and the namespace (with its mounts) dies with its last
	process, the daemon."""
	fusefs = os.path.dirname(twfuse.HELPER_NAME)
	fstab = tmp_path / 'fstab'
	fstab.write_text('%s %s fuse.twinfs profile=base,noauto,nofail 0 0\n'
			 % (image, mnt))
	out = tmp_path / 'out'
	script = r'''
set -e
mount --bind "$FUSEFS" /usr/local/sbin
mount -t fuse.twinfs "$IMG" "$MNT" -o profile=base
grep " $MNT fuse.twinfs " /proc/self/mounts
echo hello > "$MNT/via-mount-t"
umount "$MNT"
while pgrep -f "^twinfs $IMG" >/dev/null; do sleep 0.05; done
mount -T "$FSTAB" "$MNT"
grep " $MNT fuse.twinfs " /proc/self/mounts
cat "$MNT/via-mount-t"
echo fstab > "$MNT/via-fstab"
umount "$MNT"
while pgrep -f "^twinfs $IMG" >/dev/null; do sleep 0.05; done
echo done
'''
	tracker.mnts.append(mnt)
	env = dict(os.environ, FUSEFS=fusefs, IMG=image, MNT=mnt,
		   FSTAB=str(fstab))
	r = subprocess.run(['unshare', '--mount', '--propagation', 'private',
			    'sh', '-c', script], env=env, capture_output=True,
			   text=True, timeout=120)
	out.write_text(r.stdout + r.stderr)
	assert r.returncode == 0, r.stdout + r.stderr
	lines = r.stdout.splitlines()
	assert lines[0].startswith('%s %s fuse.twinfs ' % (image, mnt))
	assert lines[1].startswith('%s %s fuse.twinfs ' % (image, mnt))
	assert lines[2:] == ['hello', 'done']
	assert r.stderr == '', r.stderr	# quiet without -v
	twfuse.assert_clean(image)
	# what the namespace wrote is in the image
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'via-fstab')) as f:
		assert f.read() == 'fstab\n'
	d.unmount()


def test_auto_unmount(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start('auto_unmount')
	exercise(mnt)
	d.kill9()
	# fusermount3's watcher unmounts the dead filesystem
	assert twfuse.wait_until(lambda: twfuse.mount_of(mnt) is None, 10)
	# the journal is replayed on the next mount
	d = tracker.daemon(image, mnt).start()
	assert os.path.isfile(os.path.join(mnt, 'dir', 'file'))
	d.unmount()
	twfuse.assert_clean(image)


def test_options_override_profile(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start(
		'profile=base', 'writeback_cache', 'max_write=256K',
		'threads=4', 'attr_timeout=2.5', 'cache_mb=16', args=['-v'])
	line = [ln for ln in d.stderr.splitlines() if 'profile' in ln][0]
	assert 'profile base (overridden: ' in line
	for s in ('threads=4,', 'writeback_cache', 'max_write=256K',
		  'max_read=128K', 'attr_timeout=2.5s', 'entry_timeout=0s',
		  'cache=16M'):
		assert s in line, line
	exercise(mnt)
	d.unmount()
	# threads alone allows 10 workers; clone_fd needs them
	d = tracker.daemon(image, mnt).start('threads', 'clone_fd',
					     foreground=True, args=['-v'])
	line = [ln for ln in d.stderr.splitlines() if 'profile' in ln][0]
	assert 'profile optimized (overridden: ' in line
	assert 'threads=10,clone_fd, no_writeback_cache' in line
	exercise(os.path.join(mnt, 'dir'))
	d.unmount()
	# -s is the profile's own loop: nothing overridden
	d = tracker.daemon(image, mnt).start(foreground=True, args=['-s', '-v'])
	line = [ln for ln in d.stderr.splitlines() if 'profile' in ln][0]
	assert 'profile optimized: single_thread, no_writeback_cache' in line
	assert 'clone_fd' not in line.split(':', 3)[3]
	exercise(os.path.join(mnt, 'dir', 'dir'))
	d.unmount()
	twfuse.assert_clean(image)


def test_commit_thread_makes_writes_durable(tracker, image, mnt):
	"""Without fsync, data reaches the disk by the periodic commit; a
	kill -9 after the interval loses nothing."""
	d = tracker.daemon(image, mnt).start('profile=base',
					     'commit_interval=1',
					     foreground=True, args=['-v'])
	assert 'commit_interval=1s' in d.stderr
	with open(os.path.join(mnt, 'nosync'), 'wb') as f:
		f.write(b'periodic' * 1000)
	time.sleep(2.5)
	d.kill9()
	twfuse.lazy_unmount(mnt)
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'nosync'), 'rb') as f:
		assert f.read() == b'periodic' * 1000
	d.unmount()
	twfuse.assert_clean(image)


@pytest.mark.parametrize('profile', ['base', 'optimized'])
def test_lookup_counts_and_eviction(tracker, image, mnt, profile):
	"""The kernel's lookups are counted (lookup, create, readdirplus) and
	given back by FORGET; an unlinked inode is freed when the last one
	goes, not before."""
	d = tracker.daemon(image, mnt).start('profile=' + profile,
					     foreground=True)
	sub = os.path.join(mnt, 'sub')
	os.mkdir(sub)
	for i in range(300):
		with open(os.path.join(sub, 'f%03d' % i), 'w') as f:
			f.write('x' * i)
	with open('/proc/sys/vm/drop_caches', 'w') as f:
		f.write('2')
	assert twfuse.wait_until(lambda: d.held_inodes() == 0, 5)
	# readdirplus hands out the entries (and never "." or "..")
	assert len(os.listdir(sub)) == 300
	for e in os.scandir(sub):
		e.stat(follow_symlinks=False)
	held = d.held_inodes()
	assert 300 <= held <= 301, held	# the entries and maybe sub
	with open('/proc/sys/vm/drop_caches', 'w') as f:
		f.write('2')
	assert twfuse.wait_until(lambda: d.held_inodes() == 0, 5)

	# open, unlinked: allocated until closed, then freed
	before = os.statvfs(mnt)
	path = os.path.join(mnt, 'big')
	fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
	os.write(fd, b'b' * (4 << 20))
	os.fsync(fd)
	os.unlink(path)
	os.fsync(fd)
	mid = os.statvfs(mnt)
	assert mid.f_bfree < before.f_bfree - 1000
	assert mid.f_ffree == before.f_ffree - 1
	os.lseek(fd, 0, os.SEEK_SET)
	assert os.read(fd, 1 << 20) == b'b' * (1 << 20)
	os.close(fd)
	assert twfuse.wait_until(
		lambda: os.statvfs(mnt).f_ffree == before.f_ffree, 5)
	assert twfuse.wait_until(
		lambda: os.statvfs(mnt).f_bfree >= before.f_bfree, 5)

	# a rename victim that is open survives until closed
	a, b = os.path.join(mnt, 'a'), os.path.join(mnt, 'b')
	with open(a, 'w') as f:
		f.write('new')
	with open(b, 'w') as f:
		f.write('old' * 10000)
	before = os.statvfs(mnt)
	fd = os.open(b, os.O_RDONLY)
	os.rename(a, b)
	assert os.read(fd, 3) == b'old'
	with open(b) as f:
		assert f.read() == 'new'
	os.close(fd)
	assert twfuse.wait_until(
		lambda: os.statvfs(mnt).f_ffree == before.f_ffree + 1, 5)
	d.unmount()
	twfuse.assert_clean(image)
	assert twfuse.dump_json(image, 'orphans').get('orphans', []) == []


def test_unlinked_open_file_at_lazy_unmount(tracker, image, mnt):
	"""The kernel sends no FORGET at unmount: an inode unlinked while
	still open is freed by the daemon's destroy, so the image is clean and
	its orphan table empty."""
	d = tracker.daemon(image, mnt).start()
	path = os.path.join(mnt, 'victim')
	fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
	os.write(fd, b'v' * 100000)
	os.unlink(path)
	subprocess.run(['umount', '-l', mnt], check=True, timeout=30)
	assert d.running()	# the file still holds the filesystem
	os.close(fd)
	d.wait_exit()
	twfuse.assert_clean(image)
	info = twfuse.dump_json(image)
	assert info['superblock']['free_inodes'] == \
		info['superblock']['inodes_count'] - 2, info['superblock']


def test_profiles_mount_fast(tracker, image, mnt):
	"""Mount to unmount takes well under a second here; a regression
	that makes it slow (a sleeping thread, a lost wakeup) shows."""
	t0 = time.monotonic()
	d = tracker.daemon(image, mnt).start()
	d.unmount()
	assert time.monotonic() - t0 < 5


def test_read_only_mount(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start()
	exercise(mnt)
	d.unmount()
	before = twfuse.dump_json(image)['superblock']
	d = tracker.daemon(image, mnt).start('ro')
	assert 'ro' in twfuse.mount_of(mnt)[3].split(',')
	assert os.path.getsize(os.path.join(mnt, 'dir', 'file')) > 0
	for fn in (lambda: open(os.path.join(mnt, 'new'), 'w'),
		   lambda: os.mkdir(os.path.join(mnt, 'newdir')),
		   lambda: os.setxattr(mnt, 'user.x', b'1')):
		with pytest.raises(OSError) as e:
			fn()
		assert e.value.errno == errno.EROFS
	d.unmount()
	after = twfuse.dump_json(image)['superblock']
	assert after['mount_count'] == before['mount_count']
	twfuse.assert_clean(image)


def test_fault_points(tracker, image, mnt):
	"""fault=SPEC arms the core's fault points once mounted: an injected
	EIO reaches the application and the daemon carries on; an injected
	crash kills the daemon only, like kill -9."""
	d = tracker.daemon(image, mnt).start('profile=base',
					     'fault=write:1:eio-once',
					     foreground=True)
	path = os.path.join(mnt, 'f')
	fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
	os.write(fd, b'first')
	with pytest.raises(OSError) as e:
		os.write(fd, b'second')
	assert e.value.errno == errno.EIO
	os.write(fd, b'third')
	os.fsync(fd)
	os.close(fd)
	with open(path, 'rb') as f:
		assert f.read() == b'firstthird'
	d.unmount()
	twfuse.assert_clean(image)

	d = tracker.daemon(image, mnt).start('profile=base',
					     'fault=commit:0:crash',
					     foreground=True)
	fd = os.open(os.path.join(mnt, 'g'), os.O_WRONLY | os.O_CREAT, 0o644)
	os.write(fd, b'lost')
	with pytest.raises(OSError) as e:
		os.fsync(fd)		# the commit crashes the daemon
	assert e.value.errno == errno.ECONNABORTED
	assert d.proc.wait(10) == -signal.SIGSEGV
	with pytest.raises(OSError):
		os.close(fd)
	twfuse.lazy_unmount(mnt)
	d = tracker.daemon(image, mnt).start()
	with open(path, 'rb') as f:
		assert f.read() == b'firstthird'
	assert not os.path.exists(os.path.join(mnt, 'g'))
	d.unmount()
	twfuse.assert_clean(image)


def test_block_device(tracker, image, mnt, tmp_path):
	"""A block device (a loop device over the image) mounts the same way,
	and is refused while it is in use."""
	r = subprocess.run(['losetup', '-f', '--show', image],
			   capture_output=True, text=True, timeout=30)
	if r.returncode:
		pytest.skip('no loop devices here: ' + r.stderr.strip())
	loop = r.stdout.strip()
	try:
		d = tracker.daemon(loop, mnt).start('profile=base')
		assert twfuse.mount_of(mnt)[0] == loop
		data = exercise(mnt)
		other = tmp_path / 'other'
		other.mkdir()
		r2 = subprocess.run([twfuse.DAEMON, loop, str(other)],
				    capture_output=True, text=True, timeout=60)
		assert r2.returncode == 1
		assert 'is in use: mounted on %s' % mnt in r2.stderr, r2.stderr
		d.unmount()
		twfuse.assert_clean(loop)
	finally:
		# detaches now, or (autoclear) when a failed test's mount goes
		subprocess.run(['losetup', '-d', loop], timeout=30)
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'dir', 'file'), 'rb') as f:
		assert f.read() == data
	d.unmount()
