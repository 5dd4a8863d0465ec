# twinfs tests/fuse: remount ro/rw of twinfs-fuse (the helper that
# mount -o remount runs, a remount made without it, the daemon's own
# refusal of changes), every option --help advertises, and a quiet stderr.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools, mount.fuse3, mount(8), fusermount3, unshare(1).
import errno
import os
import subprocess

import pytest

import twfuse

PROFILES = ['base', 'optimized']


@pytest.mark.parametrize('profile', PROFILES)
def test_remount_ro_then_rw(tracker, image, mnt, profile):
	"""remount,ro: every change fails with EROFS, the data are there and
	the image is clean while still mounted; remount,rw: changes work."""
	d = tracker.daemon(image, mnt).start('profile=' + profile)
	data = twfuse.prepare_tree(mnt)
	twfuse.helper_remount(image, mnt, 'ro')
	assert 'ro' in twfuse.mount_of(mnt)[3].split(',')
	# committed and marked clean at the transition, as a kernel fs does
	twfuse.assert_clean(image)
	with open(os.path.join(mnt, 'dir', 'file'), 'rb') as f:
		assert f.read() == data
	twfuse.assert_all_writes_fail(mnt)
	twfuse.assert_clean(image)

	twfuse.helper_remount(image, mnt, 'rw')
	assert 'rw' in twfuse.mount_of(mnt)[3].split(',')
	with open(os.path.join(mnt, 'after'), 'w') as f:
		f.write('rw again')
	os.rename(os.path.join(mnt, 'dir', 'file'), os.path.join(mnt, 'moved'))
	d.unmount()
	twfuse.assert_clean(image)
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'moved'), 'rb') as f:
		assert f.read() == data
	with open(os.path.join(mnt, 'after')) as f:
		assert f.read() == 'rw again'
	d.unmount()
	twfuse.assert_clean(image)


def test_remount_ro_refused_while_open_for_writing(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start()
	fd = os.open(os.path.join(mnt, 'busy'), os.O_WRONLY | os.O_CREAT, 0o644)
	try:
		r = twfuse.helper_remount(image, mnt, 'ro', check=False)
		assert r.returncode == 1
		assert 'Device or resource busy' in r.stderr, r.stderr
		assert 'rw' in twfuse.mount_of(mnt)[3].split(',')
		os.write(fd, b'still writable')
	finally:
		os.close(fd)
	twfuse.helper_remount(image, mnt, 'ro')
	d.unmount()
	twfuse.assert_clean(image)


@pytest.mark.parametrize('profile', PROFILES)
def test_daemon_refuses_changes_when_read_only(tracker, image, mnt, profile):
	"""The daemon, not only the VFS: made read-only by the helper's ioctl
	while the kernel's mount stays read-write, it answers every change
	with EROFS (a descriptor opened before included) and leaves the image
	clean; read-write again, it takes them."""
	d = tracker.daemon(image, mnt).start('profile=' + profile)
	data = twfuse.prepare_tree(mnt)
	fd = os.open(os.path.join(mnt, 'dir', 'file'), os.O_WRONLY)
	twfuse.daemon_set_ro(mnt, True)
	assert 'rw' in twfuse.mount_of(mnt)[3].split(',')
	twfuse.assert_clean(image)
	try:
		with pytest.raises(OSError) as e:
			os.pwrite(fd, b'x', 0)
			os.fsync(fd)
		assert e.value.errno == errno.EROFS
		twfuse.assert_all_writes_fail(mnt)
	finally:
		os.close(fd)
	with open(os.path.join(mnt, 'dir', 'file'), 'rb') as f:
		assert f.read() == data
	twfuse.assert_clean(image)
	twfuse.daemon_set_ro(mnt, False)
	os.mkdir(os.path.join(mnt, 'works'))
	d.unmount()
	twfuse.assert_clean(image)


def test_remount_ioctl_needs_root(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start('allow_other')
	# the directory opened by root (nobody may not walk the test's tmp)
	fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
	try:
		r = subprocess.run(
			['setpriv', '--reuid=nobody', '--regid=nogroup',
			 '--clear-groups', '/usr/bin/python3', '-c',
			 'import fcntl, struct; fcntl.ioctl(%d, %d, '
			 'struct.pack("I", 1))' % (fd, twfuse.TF_IOC_REMOUNT)],
			pass_fds=(fd,), capture_output=True, text=True,
			timeout=30)
	finally:
		os.close(fd)
	assert r.returncode != 0 and 'Operation not permitted' in r.stderr, \
		r.stderr
	os.mkdir(os.path.join(mnt, 'still-rw'))
	d.unmount()


def test_remount_without_the_helper_is_followed(tracker, image, mnt):
	"""mount -i (no helper) remounts the kernel's side only: the daemon
	sees it in the mount table, commits and marks the image clean."""
	d = tracker.daemon(image, mnt).start()
	twfuse.prepare_tree(mnt)
	subprocess.run(['mount', '-i', '-o', 'remount,ro', mnt], check=True,
		       timeout=30)
	assert twfuse.wait_until(lambda: twfuse.fsck(image)[0] == 0, 10), \
		twfuse.fsck(image)[1]
	twfuse.assert_all_writes_fail(mnt)
	subprocess.run(['mount', '-i', '-o', 'remount,rw', mnt], check=True,
		       timeout=30)

	def writable():
		try:
			os.mkdir(os.path.join(mnt, 'rw-again'))
			return True
		except OSError as e:
			assert e.errno == errno.EROFS
			return False
	assert twfuse.wait_until(writable, 10)
	d.unmount()
	twfuse.assert_clean(image)


def test_read_only_mount_remounted_rw(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start()
	twfuse.prepare_tree(mnt)
	d.unmount()
	before = twfuse.dump_json(image)['superblock']['mount_count']
	d = tracker.daemon(image, mnt).start('ro')
	twfuse.assert_all_writes_fail(mnt)
	assert twfuse.dump_json(image)['superblock']['mount_count'] == before
	twfuse.helper_remount(image, mnt, 'rw')
	with open(os.path.join(mnt, 'new'), 'w') as f:
		f.write('written after remount,rw')
	twfuse.helper_remount(image, mnt, 'ro')
	twfuse.assert_clean(image)
	d.unmount()
	twfuse.assert_clean(image)
	d = tracker.daemon(image, mnt).start()
	with open(os.path.join(mnt, 'new')) as f:
		assert f.read() == 'written after remount,rw'
	d.unmount()


def test_read_only_image_cannot_be_remounted_rw(tracker, image, mnt):
	"""An image that may not be written is served read-only for good:
	remount,rw says so, and the mount stays read-only."""
	d = tracker.daemon(image, mnt).start()
	twfuse.prepare_tree(mnt)
	d.unmount()
	# root ignores file modes: a read-only bind mount of the image's dir
	ro = os.path.join(os.path.dirname(image), 'ro')
	os.mkdir(ro)
	subprocess.run(['mount', '--bind', '-o', 'ro', os.path.dirname(image),
			ro], check=True, timeout=30)
	try:
		rimage = os.path.join(ro, os.path.basename(image))
		d = tracker.daemon(rimage, mnt).start('ro')
		r = twfuse.helper_remount(rimage, mnt, 'rw', check=False)
		assert r.returncode == 1, r.stderr
		assert 'ro' in twfuse.mount_of(mnt)[3].split(',')
		twfuse.assert_all_writes_fail(mnt)
		d.unmount()
	finally:
		subprocess.run(['umount', '-l', ro], timeout=30)


def test_mount_o_remount_through_mount8(tracker, image, mnt, tmp_path):
	"""The real `mount -o remount,ro` and `remount,rw` (mount(8) runs
	mount.fuse3, which runs `twinfs ... -o remount,...` from the default
	PATH): in a private mount namespace with the build's fusefs/ bound
	onto /usr/local/sbin, as test_mount_t_fuse_twinfs_and_fstab does."""
	script = r'''
set -e
mount --bind "$FUSEFS" /usr/local/sbin
mount -t fuse.twinfs "$IMG" "$MNT" -o profile=base
echo data > "$MNT/f"
mount -o remount,ro "$MNT"
grep " $MNT fuse.twinfs ro," /proc/self/mounts >/dev/null
"$FSCK" -n "$IMG" | tail -n 1
if (echo x > "$MNT/g") 2>/dev/null; then echo "wrote on ro"; exit 1; fi
cat "$MNT/f"
mount -o remount,rw "$MNT"
grep " $MNT fuse.twinfs rw," /proc/self/mounts >/dev/null
echo more > "$MNT/g"
umount "$MNT"
while pgrep -f "^twinfs $IMG" >/dev/null; do sleep 0.05; done
echo done
'''
	tracker.mnts.append(mnt)
	env = dict(os.environ, FUSEFS=os.path.dirname(twfuse.HELPER_NAME),
		   IMG=image, MNT=mnt, FSCK=twfuse.FSCK)
	r = subprocess.run(['unshare', '--mount', '--propagation', 'private',
			    'sh', '-c', script], env=env, capture_output=True,
			   text=True, timeout=120)
	assert r.returncode == 0, r.stdout + r.stderr
	lines = r.stdout.splitlines()
	assert lines[0].endswith(', clean'), r.stdout
	assert lines[1:] == ['data', 'done'], r.stdout
	assert r.stderr == '', r.stderr
	twfuse.assert_clean(image)


# Every option --help lists, as the daemon takes it (one mount each).
ADVERTISED = [
	'profile=base', 'profile=optimized', 'threads', 'threads=4',
	'single_thread', 'clone_fd', 'no_clone_fd', 'writeback_cache',
	'no_writeback_cache', 'max_write=256K', 'max_read=256K',
	'entry_timeout=2', 'attr_timeout=0.5', 'negative_timeout=2',
	'keep_cache', 'no_keep_cache', 'splice', 'no_splice', 'cache_mb=16',
	'image_cache=page', 'image_cache=drop', 'image_cache=direct',
	'commit_interval=1', 'ro', 'rw', 'noatime', 'relatime', 'strictatime',
	'nodiratime', 'diratime', 'acl', 'noacl', 'allow_other', 'allow_root', 'auto_unmount',
	'fsname=tw-test', 'fault=write:100000:eio', 'record=REC',
	'default_permissions', 'nosuid', 'nodev', 'noexec', 'suid', 'dev',
	'exec', 'sync', 'async', 'dirsync',
]


def help_text():
	r = subprocess.run([twfuse.DAEMON, '--help'], capture_output=True,
			   text=True, timeout=30)
	assert r.returncode == 0
	return r.stdout


def test_advertised_list_matches_help():
	text = help_text()
	for opt in ADVERTISED:
		assert opt.split('=')[0] in text, opt


@pytest.mark.parametrize('opt', ADVERTISED)
def test_every_advertised_option_mounts(tracker, image, mnt, tmp_path, opt):
	opt = opt.replace('REC', str(tmp_path / 'rec'))
	# clone_fd needs threads, which no profile has
	extra = ['threads'] if opt == 'clone_fd' else []
	d = tracker.daemon(image, mnt).start(*extra, opt)
	assert d.rc == 0
	assert d.stderr == '', d.stderr
	os.listdir(mnt)
	if opt != 'ro':
		with open(os.path.join(mnt, 'f'), 'w') as f:
			f.write(opt)
	d.unmount()
	twfuse.assert_clean(image)


@pytest.mark.parametrize('args', [['-f'], ['-s'], ['-v'], ['-d']])
def test_every_advertised_flag_mounts(tracker, image, mnt, args):
	d = tracker.daemon(image, mnt).start(
		foreground=args != ['-s'] and args != ['-v'], args=args)
	assert d.rc in (0, None)
	os.mkdir(os.path.join(mnt, 'd'))
	d.unmount()
	twfuse.assert_clean(image)


def test_nodiratime(tracker, image, mnt):
	"""Listing a directory moves its atime (strictatime), except with
	nodiratime; reading a file still does."""
	for opts, moves in ((['strictatime'], True),
			    (['strictatime', 'nodiratime'], False)):
		d = tracker.daemon(image, mnt).start('profile=base', *opts)
		sub = os.path.join(mnt, 'sub')
		os.makedirs(sub, exist_ok=True)
		with open(os.path.join(sub, 'f'), 'w') as f:
			f.write('x')
		os.utime(sub, (1, 1))
		os.utime(os.path.join(sub, 'f'), (1, 1))
		os.listdir(sub)
		with open(os.path.join(sub, 'f')) as f:
			f.read()
		assert (os.stat(sub).st_atime != 1) == moves, opts
		assert os.stat(os.path.join(sub, 'f')).st_atime != 1
		d.unmount()


def test_lazytime_refused_clearly(tracker, image, mnt):
	d = tracker.daemon(image, mnt).start('lazytime', check=False)
	assert d.rc == 2
	assert "'lazytime' is not supported" in d.stderr, d.stderr
	assert not d.mounted()


@pytest.mark.parametrize('profile', PROFILES)
def test_quiet_stderr(tracker, image, mnt, profile):
	"""No banner, and no "waiting for the previous daemon" when mounted
	right after an unmount: stderr stays empty unless -v."""
	for fg in (False, True):
		d = tracker.daemon(image, mnt).start('profile=' + profile,
						     foreground=fg)
		with open(os.path.join(mnt, 'f%d' % fg), 'wb') as f:
			f.write(b'x' * 300000)
		subprocess.run(['fusermount3', '-u', mnt], check=True,
			       timeout=30)
		# mount again at once: the previous daemon may still write
		d2 = tracker.daemon(image, mnt).start('profile=' + profile)
		assert d.stderr == '', d.stderr
		d.wait_exit()
		assert d.stderr == '', d.stderr
		d2.unmount()
		assert d2.stderr == '', d2.stderr
	twfuse.assert_clean(image)
	d = tracker.daemon(image, mnt).start('profile=' + profile, args=['-v'])
	assert 'profile ' + profile in d.stderr
	d.unmount()
