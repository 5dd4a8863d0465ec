# twinfs tests/kmod: a directory at its link limit, for the kernel module.
# Layer: test helper (Python stdlib only).  Host side: prepare() makes the
# image with mkfs.twinfs and twinfs-ctl (the core in one process, 65000
# mkdirs in seconds; under TCG the guest would need a minute for them).
# Guest side: guest() runs on the kernel mount (kjobs job 'exhaust').
#
# The image: /full with TW_LINK_MAX - 2 = 64998 subdirectories (so 65000
# links) and a file, /mover (a directory) and /other.  In the guest:
# mkdir in /full and a rename or exchange that would move one more
# directory into it are EMLINK and change nothing; a hard link to a file
# in it, a rename within it, and a directory moved in after one moved
# out are fine.  The image is fsck.twinfs -n clean afterwards (host).
import errno
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import kmodutil  # noqa: E402

LINK_MAX = 65000	# common/twinfs.h TW_LINK_MAX


def prepare(image):
	kmodutil.mkfs(image, '400M', '-N', '66000')
	lines = ['mkdir /full', 'mkdir /mover', 'mkdir /other',
		 'put /dev/null /full/file']
	lines += ['mkdir /full/s%d' % i for i in range(LINK_MAX - 2)]
	r = subprocess.run([kmodutil.tool(kmodutil.CTL), image, '-'],
			   input='\n'.join(lines) + '\n', text=True,
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			   timeout=300)
	assert r.returncode == 0, 'twinfs-ctl: ' + r.stdout[-4000:]
	kmodutil.assert_fsck_clean(image)


def _errno_of(fn, *args):
	try:
		fn(*args)
	except OSError as e:
		return errno.errorcode.get(e.errno, e.errno)
	return 'ok'


def _exchange(a, b):
	"""renameat2(a, b, RENAME_EXCHANGE)."""
	import ctypes
	libc = ctypes.CDLL(None, use_errno=True)
	AT_FDCWD, RENAME_EXCHANGE = -100, 2
	if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(),
			  RENAME_EXCHANGE) != 0:
		e = ctypes.get_errno()
		raise OSError(e, os.strerror(e))


def guest(m):
	"""The checks on the kernel mount at m; returns what each step gave
	(the host-side test compares with what it must be)."""
	full = os.path.join(m, 'full')
	mover = os.path.join(m, 'mover')
	out = {}
	out['nlink_before'] = os.stat(full).st_nlink
	out['mkdir'] = _errno_of(os.mkdir, os.path.join(full, 'x'))
	out['rename_in'] = _errno_of(os.rename, mover,
				     os.path.join(full, 'mover'))
	out['exchange_dir_in'] = _errno_of(_exchange, mover,
					   os.path.join(full, 'file'))
	out['exchange_file_out'] = _errno_of(_exchange,
					     os.path.join(full, 'file'), mover)
	out['mover_still_there'] = os.path.isdir(mover)
	out['nlink_refused'] = os.stat(full).st_nlink
	out['hard_link'] = _errno_of(os.link, os.path.join(full, 'file'),
				     os.path.join(full, 'file2'))
	out['rename_within'] = _errno_of(os.rename, os.path.join(full, 's0'),
					 os.path.join(full, 's0-renamed'))
	out['move_out'] = _errno_of(os.rename, os.path.join(full, 's1'),
				    os.path.join(m, 'other', 's1'))
	out['nlink_after_out'] = os.stat(full).st_nlink
	out['rename_in_again'] = _errno_of(os.rename, mover,
					   os.path.join(full, 'mover'))
	out['mkdir_when_full_again'] = _errno_of(os.mkdir,
						 os.path.join(full, 'y'))
	out['rmdir'] = _errno_of(os.rmdir, os.path.join(full, 's2'))
	out['mkdir_after_rmdir'] = _errno_of(os.mkdir,
					     os.path.join(full, 'z'))
	out['nlink_end'] = os.stat(full).st_nlink
	return out


EXPECTED = {
	'nlink_before': LINK_MAX, 'mkdir': 'EMLINK', 'rename_in': 'EMLINK',
	'exchange_dir_in': 'EMLINK', 'exchange_file_out': 'EMLINK',
	'mover_still_there': True, 'nlink_refused': LINK_MAX,
	'hard_link': 'ok', 'rename_within': 'ok', 'move_out': 'ok',
	'nlink_after_out': LINK_MAX - 1, 'rename_in_again': 'ok',
	'mkdir_when_full_again': 'EMLINK', 'rmdir': 'ok',
	'mkdir_after_rmdir': 'ok', 'nlink_end': LINK_MAX,
}
