# twinfs tests/fuse: bad input to twinfs-fuse: corrupted images, unknown
# and contradictory options, missing, non-directory and busy mountpoints,
# an image already in use.  Each must fail with a clear message and the
# right exit code (1: the mount failed, 2: bad usage), mount nothing and
# leave no daemon behind.
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools.
import os
import subprocess

import pytest

import twfuse

SB_MAGIC_OFF = 0	# tw_super.s_magic
SB_CRC_OFF = 4		# tw_super.s_crc


def run(*args, timeout=60):
	return subprocess.run([twfuse.DAEMON, *map(str, args)],
			      stdin=subprocess.DEVNULL, capture_output=True,
			      text=True, timeout=timeout)


def poke(path, off, data):
	with open(path, 'r+b') as f:
		f.seek(off)
		f.write(data)


def assert_nothing_left(tmp_path, mnt):
	assert twfuse.mount_of(mnt) is None
	assert twfuse.daemon_pids(str(tmp_path)) == []


@pytest.mark.parametrize('damage, message', [
	('magic', 'invalid superblock: bad magic: not a twinfs filesystem'),
	('crc', 'invalid superblock: superblock checksum mismatch'),
	('truncated', 'invalid superblock: filesystem is larger than the '
		      'device'),
	('zeros', 'invalid superblock: bad magic'),
])
def test_corrupted_image_refused(tmp_path, image, mnt, damage, message):
	if damage == 'magic':
		poke(image, SB_MAGIC_OFF, b'XXXX')
	elif damage == 'crc':
		with open(image, 'rb') as f:
			b = f.read(4096)
		poke(image, 200, bytes([b[200] ^ 0xff]))	# a field, not crc
	elif damage == 'truncated':
		os.truncate(image, 32 << 20)
	else:
		poke(image, 0, bytes(4096))
	for profile in ('base', 'optimized'):
		for fg in ([], ['-f']):
			r = run(image, mnt, *fg, '-o', 'profile=' + profile)
			assert r.returncode == 1, r.stderr
			# the validator's message, through tw_log, on stderr
			assert message in r.stderr, r.stderr
			assert 'cannot mount' in r.stderr
			assert_nothing_left(tmp_path, mnt)


def test_corrupted_root_directory_refused(tmp_path, image, mnt):
	"""Damage past the superblock (the root's inode block) is found by the
	core at mount, with a message."""
	sb = twfuse.dump_json(image, 'superblock')['superblock']
	itable = sb['itable_start']
	poke(image, itable * 4096 + 256, os.urandom(256))	# inode 1
	r = run(image, mnt)
	assert r.returncode == 1, r.stderr
	assert 'corrupted filesystem: bad inode checksum (at 1); run ' \
		'fsck.twinfs' in r.stderr, r.stderr
	assert 'cannot mount' in r.stderr
	assert_nothing_left(tmp_path, mnt)


@pytest.mark.parametrize('args, message', [
	(['-o', 'profile=foo'], "unknown profile 'foo'"),
	(['-o', 'max_write=0'], 'bad value for max_write'),
	(['-o', 'max_write=4M'], 'bad value for max_write'),
	(['-o', 'max_read=abc'], 'bad value for max_read'),
	(['-s', '-o', 'threads=4'], 'contradictory options'),
	(['-o', 'threads=4,single_thread'], 'contradictory options'),
	(['-o', 'threads=0'], 'bad value for threads'),
	(['-o', 'writeback_cache,no_writeback_cache'], 'contradictory'),
	(['-o', 'profile=base,profile=optimized'], 'contradictory'),
	(['-o', 'profile=base,clone_fd'], "'clone_fd' needs"),
	(['-o', 'entry_timeout=-1'], 'bad value for entry_timeout'),
	(['-o', 'attr_timeout=nan'], 'bad value for attr_timeout'),
	(['-o', 'cache_mb=lots'], 'bad value for cache_mb'),
	(['-o', 'commit_interval=-5'], 'bad value for commit_interval'),
	(['-o', 'fault=nowhere'], 'bad fault spec'),
	(['-o', 'bogus'], "unknown option 'bogus'"),
	(['-o', 'subtype=ext4'], 'subtype=ext4'),
	(['--frobnicate'], "unknown option '--frobnicate'"),
	(['-o'], "'-o' needs a value"),
	(['extra'], 'too many arguments'),
])
def test_bad_options(tmp_path, image, mnt, args, message):
	r = run(image, mnt, *args)
	assert r.returncode == 2, r.stderr
	assert message in r.stderr, r.stderr
	assert '--help' in r.stderr
	assert_nothing_left(tmp_path, mnt)


def test_missing_arguments(tmp_path, image, mnt):
	for args in ([], [image]):
		r = run(*args)
		assert r.returncode == 2 and 'missing' in r.stderr, r.stderr


def test_help_and_version():
	r = run('--help')
	assert r.returncode == 0 and 'profile=NAME' in r.stdout
	for word in ('base', 'optimized', 'writeback_cache', 'max_write',
		     'entry_timeout', 'keep_cache', 'cache_mb', 'fault=',
		     'commit_interval'):
		assert word in r.stdout
	# the fault spec, in the words of the module's parameter too
	assert 'POINT:N:eio|hang|crash[-once]' in r.stdout
	r = run('-V')
	assert r.returncode == 0 and 'libfuse' in r.stdout


def test_missing_mountpoint(tmp_path, image):
	r = run(image, tmp_path / 'nowhere')
	assert r.returncode == 1
	assert 'nowhere: No such file or directory' in r.stderr, r.stderr


def test_mountpoint_not_a_directory(tmp_path, image):
	f = tmp_path / 'file'
	f.write_text('x')
	r = run(image, f)
	assert r.returncode == 1
	assert 'file: Not a directory' in r.stderr, r.stderr


def test_missing_image(tmp_path, mnt):
	r = run(tmp_path / 'no.img', mnt)
	assert r.returncode == 1
	assert 'no.img: No such file or directory' in r.stderr, r.stderr
	assert_nothing_left(tmp_path, mnt)


def test_busy_mountpoint(tracker, tmp_path, image, mnt):
	# something else mounted there
	subprocess.run(['mount', '-t', 'tmpfs', 'twtest', mnt], check=True)
	try:
		r = run(image, mnt)
	finally:
		subprocess.run(['umount', mnt], check=True)
	assert r.returncode == 1
	assert 'is busy: a tmpfs filesystem is mounted there' in r.stderr, \
		r.stderr
	# our own mount there
	other = twfuse.mkfs(tmp_path / 'other.img', '16M')
	d = tracker.daemon(other, mnt).start()
	r = run(image, mnt)
	assert r.returncode == 1
	assert 'is busy: a fuse.twinfs filesystem is mounted there' in \
		r.stderr, r.stderr
	d.unmount()


def test_image_in_use(tracker, tmp_path, image, mnt):
	d = tracker.daemon(image, mnt).start()
	mnt2 = tmp_path / 'mnt2'
	mnt2.mkdir()
	r = run(image, mnt2)
	assert r.returncode == 1
	assert 'is in use: mounted on %s' % mnt in r.stderr, r.stderr
	assert twfuse.mount_of(mnt2) is None
	d.unmount()
	twfuse.assert_clean(image)


def test_not_an_image(tmp_path, mnt):
	img = tmp_path / 'tiny'
	img.write_bytes(b'\0' * 1000)
	r = run(img, mnt)
	assert r.returncode == 1, r.stderr
	assert 'cannot mount' in r.stderr or 'tiny:' in r.stderr
	assert_nothing_left(tmp_path, mnt)
