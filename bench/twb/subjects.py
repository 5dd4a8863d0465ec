"""The subjects: each filesystem in each home, and how to make, mount,
unmount and cold-start it.

Every subject of a run uses the same device (the guest's one virtio disk,
or one image file on the host), made afresh with its own mkfs before each
repetition.  On the host a kernel filesystem mounts a loop device over
that image file ('blockdev'; the runner attaches it).  Commands are argv
lists with {dev}, {mnt}, {build}, {lower} placeholders.

Pairs (same on-disk format in both homes):
  twinfs  twinfs-kmod      vs twinfs-fuse-base, twinfs-fuse-opt
  ext4    ext4             vs fuse2fs, fuse-ceiling
  exfat   exfat            vs exfat-fuse
and tmpfs, the in-memory ceiling (no device, no cold cache).

fuse-ceiling is the FUSE ceiling: libfuse's passthrough_ll example
(bench/twb/ceiling.py compiles it at bench time) over kernel ext4 on the
same device.  Its 'lower' command mounts that ext4 first (on {lower});
it is unmounted after the FUSE mount, and the device's cache dropped then.

The ablation's variants (twinfs-fuse-opt-threads ...) are
twinfs-fuse-opt with one setting toggled, generated from the table
ABLATION below; they run only in the ablation phase (bench/twb/ablation.py).
"""

import os
import shutil

from . import ceiling

# mkfs options: the same for both homes of a pair.  ext4 initialises its
# inode tables and journal at mkfs time, so no ext4lazyinit thread writes
# in the background of the kernel's measurements (fuse2fs has none).
MKFS_TWINFS = ['{build}/tools/mkfs.twinfs', '-q', '-F', '{dev}']
MKFS_EXT4 = ['mkfs.ext4', '-q', '-F', '-E',
	     'lazy_itable_init=0,lazy_journal_init=0,nodiscard', '{dev}']
MKFS_EXFAT = ['mkfs.exfat', '{dev}']

TWINFS_FUSE = '{build}/fusefs/twinfs-fuse'
PASSTHROUGH_LL = '{build}/' + ceiling.BINARY

SUBJECTS = {
	'tmpfs': {
		'label': 'tmpfs',
		'family': 'tmpfs',
		'home': 'kernel',
		'mkfs': None,
		'modules': [],
		'mount': ['mount', '-t', 'tmpfs', '-o', 'size={disk_mib}m',
			  'twbench', '{mnt}'],
		'daemon': None,
		'persistent': False,
		'note': 'in-memory ceiling: no device, so no cold cache '
			'(a remount would lose the data)',
	},
	'ext4': {
		'label': 'ext4 (kernel)',
		'family': 'ext4',
		'home': 'kernel',
		'mkfs': MKFS_EXT4,
		'modules': ['ext4'],
		'mount': ['mount', '-t', 'ext4', '{dev}', '{mnt}'],
		'daemon': None,
		'persistent': True,
		'blockdev': True,
	},
	'fuse2fs': {
		'label': 'fuse2fs (ext4 over FUSE)',
		'family': 'ext4',
		'home': 'fuse',
		'mkfs': MKFS_EXT4,
		'modules': [],
		'mount': ['fuse2fs', '{dev}', '{mnt}'],
		'daemon': 'fuse2fs',
		'needs': ['fuse2fs'],
		'persistent': True,
		'note': 'fuse2fs 1.47 does not write the ext4 journal ("Writing '
			'to the journal is not supported"): it updates metadata '
			'in place, less work per operation than the kernel\'s '
			'journaled ext4',
	},
	'fuse-ceiling': {
		'label': 'FUSE ceiling: passthrough_ll over kernel ext4',
		'family': 'ext4',
		'home': 'fuse',
		'mkfs': MKFS_EXT4,
		'modules': ['ext4'],
		'lower': ['mount', '-t', 'ext4', '{dev}', '{lower}'],
		# open files up to the hard limit: it holds a descriptor per
		# inode (bench/twb/ceiling.py)
		'mount': ['sh', '-c', ceiling.RAISE_NOFILE, PASSTHROUGH_LL, '-o',
			  'source={lower},' + ceiling.OPTIONS, '{mnt}'],
		'daemon': 'passthrough_ll',
		'persistent': True,
		'blockdev': True,
		# its inodes are a linked list: 100,000 creates would take
		# hours and measure the list, not FUSE
		'skip': ['bigdir'],
		'note': 'libfuse\'s passthrough_ll example (libfuse3-dev), '
			'compiled at bench time, with -o %s, over kernel ext4 on '
			'the same device (bench/twb/ceiling.py says why these '
			'options): no format, allocation or journal of its own, '
			'so the fastest FUSE can be here for file data.  Not '
			'for metadata: it finds its inodes by walking a linked '
			'list (lo_find), so each lookup or create costs in '
			'proportion to the inodes it knows (no big directory '
			'for it).  Its mount times '
			'include mounting the ext4 below (and, cold in the '
			'guest, loading ext4.ko); its unmount time is the FUSE '
			'unmount (the ext4 below is unmounted after it, '
			'untimed)' % ceiling.OPTIONS,
	},
	'exfat': {
		'label': 'exFAT (kernel)',
		'family': 'exfat',
		'home': 'kernel',
		'mkfs': MKFS_EXFAT,
		'modules': ['exfat'],
		'mount': ['mount', '-t', 'exfat', '{dev}', '{mnt}'],
		'daemon': None,
		'persistent': True,
		'blockdev': True,
	},
	'exfat-fuse': {
		'label': 'exfat-fuse',
		'family': 'exfat',
		'home': 'fuse',
		'mkfs': MKFS_EXFAT,
		'modules': [],
		'mount': ['mount.exfat-fuse', '{dev}', '{mnt}'],
		'daemon': 'mount.exfat-fuse',
		'needs': ['mount.exfat-fuse'],
		'persistent': True,
	},
	'twinfs-kmod': {
		'label': 'twinfs kernel module',
		'family': 'twinfs',
		'home': 'kernel',
		'mkfs': MKFS_TWINFS,
		'modules': ['twinfs'],
		'unload': ['twinfs', 'twinfs_core'],
		'mount': ['mount', '-t', 'twinfs', '{dev}', '{mnt}'],
		'daemon': None,
		'persistent': True,
		'blockdev': True,
	},
	'twinfs-fuse-base': {
		'label': 'twinfs-fuse, profile base',
		'family': 'twinfs',
		'home': 'fuse',
		'mkfs': MKFS_TWINFS,
		'modules': [],
		'mount': [TWINFS_FUSE, '{dev}', '{mnt}', '-o', 'profile=base'],
		'daemon': 'twinfs-fuse',
		'persistent': True,
	},
	'twinfs-fuse-opt': {
		'label': 'twinfs-fuse, profile optimized',
		'family': 'twinfs',
		'home': 'fuse',
		'mkfs': MKFS_TWINFS,
		'modules': [],
		'mount': [TWINFS_FUSE, '{dev}', '{mnt}', '-o',
			  'profile=optimized'],
		'daemon': 'twinfs-fuse',
		'persistent': True,
	},
}

# The ablation of the optimized profile (issue 12, item 3): each of its
# settings toggled alone, everything else as in profile=optimized
# (fusefs/options.c, apply_profile; an option given besides a profile
# overrides it).  One subject per row, made from this table:
#   (setting, subject suffix, -o options added to profile=optimized,
#    whether the optimized profile has the setting on, what the variant
#    does, the names of the daemon's settings that differ from
#    optimized's in its -v banner).
# "threads" off also turns clone_fd off: clone_fd needs the
# multithreaded loop (twinfs-fuse refuses it with single_thread).
ABLATION = [
	('threads', 'threads', 'threads', False,
	 'libfuse\'s multithreaded loop, up to 10 worker threads, instead '
	 'of one thread',
	 ('threads', 'single_thread')),
	('threads with clone_fd', 'threads-clone-fd', 'threads,clone_fd', False,
	 'up to 10 worker threads, each with a /dev/fuse descriptor of its '
	 'own: the optimized profile until issue 12 chose one thread',
	 ('threads', 'clone_fd', 'single_thread')),
	('writeback_cache', 'wbcache', 'writeback_cache', False,
	 'the kernel\'s writeback cache on (in no profile: it cannot report '
	 'a full disk at write(), docs/fuse.md)',
	 ('writeback_cache',)),
	('max_write/max_read', '128k', 'max_write=128K,max_read=128K', True,
	 '128 KiB requests instead of 1 MiB',
	 ('max_write', 'max_read', 'max_pages')),
	('timeouts', 'no-timeouts',
	 'entry_timeout=0,attr_timeout=0,negative_timeout=0', True,
	 'entry, attribute and negative timeouts 0 s instead of 1 s',
	 ('entry_timeout', 'attr_timeout', 'negative_timeout')),
	('keep_cache', 'no-keep-cache', 'no_keep_cache', True,
	 'a file\'s page cache dropped when it is opened again',
	 ('keep_cache',)),
	('splice', 'splice', 'splice', False,
	 'request data moved with splice(2)',
	 ('splice',)),
]

# The ablation's subjects: the two profiles, then a variant per setting.
ABLATION_OPT = 'twinfs-fuse-opt'
ABLATION_BASE = 'twinfs-fuse-base'


def ablation_variants():
	"""[{'name', 'setting', 'options', 'on_in_opt', 'what', 'changes'}]
	in the order of ABLATION."""
	return [{'name': 'twinfs-fuse-opt-' + sfx, 'setting': setting,
		 'options': opts, 'on_in_opt': on, 'what': what,
		 'changes': list(changes)}
		for setting, sfx, opts, on, what, changes in ABLATION]


ABLATION_SUBJECTS = [ABLATION_OPT, ABLATION_BASE] + [
	v['name'] for v in ablation_variants()]

for _v in ablation_variants():
	SUBJECTS[_v['name']] = {
		'label': 'twinfs-fuse, profile optimized with %s' % _v['options'],
		'family': 'twinfs',
		'home': 'fuse',
		'mkfs': MKFS_TWINFS,
		'modules': [],
		'mount': [TWINFS_FUSE, '{dev}', '{mnt}', '-o',
			  'profile=optimized,' + _v['options']],
		'daemon': 'twinfs-fuse',
		'persistent': True,
		'ablation': _v['setting'],
		'note': 'ablation of the optimized profile: %s' % _v['what'],
	}

# Reading order of tables and plots.
ORDER = ['twinfs-kmod', 'twinfs-fuse-opt', 'twinfs-fuse-base', 'ext4',
	 'fuse2fs', 'fuse-ceiling', 'exfat', 'exfat-fuse', 'tmpfs'] + \
	ABLATION_SUBJECTS[2:]

# FUSE/kernel pairs: (fuse subject, kernel subject, column title)
PAIRS = [
	('twinfs-fuse-opt', 'twinfs-kmod', 'opt/kmod'),
	('twinfs-fuse-base', 'twinfs-kmod', 'base/kmod'),
	('fuse2fs', 'ext4', 'fuse2fs/ext4'),
	('exfat-fuse', 'exfat', 'exfat-fuse/exfat'),
]

# The abbreviations of the column titles, for the legend.
LEGEND = ('kmod: the twinfs kernel module; opt, base: twinfs-fuse in its '
	  'optimized and base profiles')

SHORT = {
	'twinfs-kmod': 'tw-kmod',
	'twinfs-fuse-opt': 'tw-fuse-opt',
	'twinfs-fuse-base': 'tw-fuse-base',
	'ext4': 'ext4',
	'fuse2fs': 'fuse2fs',
	'fuse-ceiling': 'ceiling',
	'exfat': 'exfat',
	'exfat-fuse': 'exfat-fuse',
	'tmpfs': 'tmpfs',
}
# the ablation's variants: opt-SUFFIX
SHORT.update({v['name']: v['name'][len('twinfs-fuse-'):]
	      for v in ablation_variants()})


def order_key(name):
	base = name.split('@')[0]
	host = name.endswith('@host')
	return (host, ORDER.index(base) if base in ORDER else 99, name)


def expand(argv, **kw):
	return [a.format(**kw) for a in argv]


def host_filesystems(path='/proc/filesystems'):
	"""The filesystem types the running kernel knows (the host has no
	module support: what is not built in is not there)."""
	try:
		with open(path) as f:
			return {l.split()[-1] for l in f if l.strip()}
	except OSError:
		return set()


def missing(name, build, where='guest', filesystems=None):
	"""Why subject @name cannot run here, or None if it can."""
	s = SUBJECTS[name]
	for prog in s.get('needs', []):
		if not shutil.which(prog) and not os.path.exists(
				'/sbin/' + prog):
			return '%s is not installed' % prog
	if s['family'] == 'twinfs':
		need = ['tools/mkfs.twinfs']
		if s['home'] == 'fuse':
			need.append('fusefs/twinfs-fuse')
		for rel in need:
			if not os.path.exists(os.path.join(build, rel)):
				return '%s is not built' % rel
	if name == 'fuse-ceiling' and not os.path.exists(
			os.path.join(build, ceiling.BINARY)):
		return 'not measured: passthrough_ll was not built ' \
			'(bench/twb/ceiling.py)'
	if where == 'host':
		fs = host_filesystems() if filesystems is None else filesystems
		kfs = s['family'] if s['home'] == 'kernel' else \
			('ext4' if s.get('lower') else None)
		if kfs and kfs not in fs:
			return 'the host kernel has no %s (it loads no ' \
				'modules): guest only' % kfs
		if s.get('blockdev') and not (
				shutil.which('losetup') and
				os.path.exists('/dev/loop-control')):
			return 'no loop devices on the host (losetup, ' \
				'/dev/loop-control)'
	return None
