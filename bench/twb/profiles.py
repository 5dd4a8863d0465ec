"""Profiles: how big, how often, which subjects.

quick  `make demo`: every subject in one guest boot, small sizes, within
       five minutes on a 2-core machine under TCG; on the host the FUSE
       subjects, the FUSE ceiling and the kernel references (ext4 on a
       loop device, tmpfs).
full   `make bench`: the sizes the issue asks for (readdir of 10,000 and
       100,000 entries, 256 MiB files), three repetitions.
smoke  `make check`: tiny sizes, one repetition, three guest subjects,
       and on the host twinfs-fuse, the FUSE ceiling and ext4 (a loop
       device); it checks that the harness works end to end, not the
       numbers.

The guest has one virtual CPU.  Under TCG each virtual CPU is a host
thread, and a FUSE round trip between two of them waits for the host to
schedule the other thread: on this 2-core machine with other work running
that took milliseconds per request and made every FUSE figure measure the
host's scheduler (80 creates/s through twinfs-fuse with 2 vCPUs, 309/s
with 1, at a host load of 10).  With one vCPU a round trip is two context
switches inside the guest, as on a uniprocessor.  --cpus overrides it.

fio_runtime_s is a safety net, not a duration: a job that hits it leaves
a shorter file, which the next job would have to lay out again.  The
large directory (bigdir_files) is made in the first bigdir_reps
repetitions only: 100,000 creates through FUSE take many minutes under
TCG.

clients: the workloads with several concurrent clients ("x4" in the
report: sequential and random data, creates in separate directories and
in one shared directory, stat cached and uncached) run with this many
clients, which share the work of their one-client twin (the same total
bytes, I/Os or files), so an aggregate speed above the twin's is what
the extra clients bought.  A profile without it (smoke) leaves them out.

ablation: the ablation of twinfs-fuse's optimized profile (issue 12, item
3; bench/twb/ablation.py): on the host only, the optimized and base
profiles and one variant per setting (subjects.ABLATION), with the
profile's sizes but its own repetitions ('reps', interleaved, in an order
that changes each time: runner.orders), workloads ('only', ABLATION_ONLY
by default: every one-client workload but the journal replay, kill -9
and the big directory, and every x4 one, all four x4 data jobs even where
the profile keeps fewer) and, in smoke, subjects.  'run': whether the
profile runs it by default (full and smoke; quick with --ablation only,
which runs it alone).

Sizes are in MiB unless the name says otherwise.  Every value ends up in
results.json, so a report always says what it measured.  A run limited
with --only carries the list as the profile's "only" (absent: every
workload).
"""

ALL_GUEST = ['tmpfs', 'ext4', 'fuse2fs', 'fuse-ceiling', 'exfat',
	     'exfat-fuse', 'twinfs-kmod', 'twinfs-fuse-base',
	     'twinfs-fuse-opt']

# On the host: the FUSE subjects, the FUSE ceiling, and the kernel
# references the host kernel has built in (it loads no modules, so no
# twinfs module or exFAT there).
ALL_HOST = ['twinfs-fuse-base', 'twinfs-fuse-opt', 'fuse2fs',
	    'fuse-ceiling', 'ext4', 'tmpfs']

# The workloads of the ablation (names of WORKLOADS).
ABLATION_ONLY = ['mount', 'seqwrite', 'seqread', 'randread', 'randwrite',
		 'fsyncwrite', 'getattr', 'create', 'stat_cached', 'readdir',
		 'stat_uncached', 'rename', 'unlink', 'x4']

PROFILES = {
	'quick': {
		'description': 'every subject, small sizes, one repetition '
			       '(make demo)',
		'reps': 1,
		'disk_mib': 512,
		'vm_memory': '1G',
		'vm_cpus': 1,
		'seq_mib': 8,
		'randread_mib': 1,
		'randwrite_mib': 1,
		'fsync_writes': 32,
		'meta_files': 300,
		'bigdir_files': 0,
		'getattr_ops': 1000,
		'read_ops': 200,
		'replay_mib': [4],
		'replay_reps': 1,
		'recovery_reps': 1,
		'op_deadline_s': 6,
		'fio_runtime_s': 60,
		'clients': 4,
		# of the data workloads with several clients, only these
		# two (one sequential, one random): each costs seconds per
		# subject under TCG, most of it fio's and the hooks' start-up
		'x4_data': ['seqwrite_x4', 'randread_x4'],
		'guest_subjects': ALL_GUEST,
		'host_subjects': ALL_HOST,
		'host_reps': 2,
		'vm_timeout_s': 600,
		# 5 minutes on the build host at load 10 (docs/results.md)
		'ablation': {'run': False, 'reps': 3},
	},
	'full': {
		'description': 'every subject, the sizes of the issue, three '
			       'repetitions (make bench)',
		'reps': 3,
		'disk_mib': 2048,
		'vm_memory': '1G',
		'vm_cpus': 1,
		'seq_mib': 256,
		'randread_mib': 16,
		'randwrite_mib': 16,
		'fsync_writes': 256,
		'meta_files': 10000,
		'bigdir_files': 100000,
		'bigdir_reps': 1,
		'getattr_ops': 20000,
		'read_ops': 2000,
		'replay_mib': [4, 16, 48],
		'replay_reps': 3,
		'recovery_reps': 3,
		'op_deadline_s': 300,
		'fio_runtime_s': 900,
		'clients': 4,
		'guest_subjects': ALL_GUEST,
		'host_subjects': ALL_HOST,
		'host_reps': 5,
		'fault_isolation': True,
		'vm_timeout_s': 6 * 3600,
		'ablation': {'run': True, 'reps': 5},
	},
	'smoke': {
		'description': 'tiny sizes, three guest subjects, one '
			       'repetition (make check)',
		'reps': 1,
		'disk_mib': 128,
		'vm_memory': '1G',
		'vm_cpus': 1,
		'seq_mib': 4,
		'randread_mib': 1,
		'randwrite_mib': 1,
		'fsync_writes': 16,
		'meta_files': 200,
		'bigdir_files': 0,
		'getattr_ops': 200,
		'read_ops': 100,
		'replay_mib': [1],
		'replay_reps': 1,
		'recovery_reps': 1,
		'op_deadline_s': 20,
		'fio_runtime_s': 20,
		'guest_subjects': ['ext4', 'twinfs-kmod', 'twinfs-fuse-opt'],
		'host_subjects': ['twinfs-fuse-opt', 'fuse-ceiling', 'ext4'],
		'host_reps': 1,
		'vm_timeout_s': 300,
		# the plumbing, end to end: two repetitions (reordered), the two
		# profiles and one variant, two cheap workloads
		'ablation': {'run': True, 'reps': 2,
			     'only': ['create', 'stat_cached'],
			     'subjects': ['twinfs-fuse-opt', 'twinfs-fuse-base',
					  'twinfs-fuse-opt-threads']},
	},
}


# --only: the workloads a run can be limited to, each with the workloads
# that must run before it on the same mount (they make its files), which
# then run and are reported too.  The names are the report's metrics
# (results.json), except: mount (mount_cold, mount_warm, umount), getattr
# and read4k (lat_getattr, lat_read4k), bigdir (create_big, readdir_big;
# profiles with bigdir_files only), replay and kill9 (the recovery steps).
# create brings lat_create, stat_uncached lat_lookup.  NAME_x4: the
# same with several clients (profiles with 'clients' only); x4 names
# them all.
WORKLOADS = {
	'mount': [],
	'seqwrite': [],
	'seqread': ['seqwrite'],
	'randread': ['seqwrite'],
	'randwrite': ['seqwrite'],
	'fsyncwrite': [],
	'getattr': ['seqwrite'],
	'read4k': ['seqwrite'],
	'create': [],
	'stat_cached': ['create'],
	'readdir': ['create'],
	'stat_uncached': ['create'],
	'rename': ['create'],
	'unlink': ['rename'],
	'seqwrite_x4': [],
	'seqread_x4': ['seqwrite_x4'],
	'randread_x4': ['seqwrite_x4'],
	'randwrite_x4': ['seqwrite_x4'],
	'create_x4': [],
	'create_x4_shared': [],
	'stat_cached_x4': ['create_x4_shared'],
	'stat_uncached_x4': ['create_x4_shared'],
	'x4': ['seqwrite_x4', 'seqread_x4', 'randread_x4', 'randwrite_x4',
	       'create_x4', 'create_x4_shared', 'stat_cached_x4',
	       'stat_uncached_x4'],
	'bigdir': [],
	'replay': [],
	'kill9': [],
}


def only(names):
	"""The workloads to run for --only @names: @names and what they
	need (WORKLOADS), in WORKLOADS order.  ValueError for an unknown
	name or an empty list."""
	want = set()

	def add(n):
		if n not in WORKLOADS:
			raise ValueError('unknown workload %r (known: %s)' % (
				n, ', '.join(WORKLOADS)))
		if n not in want:
			want.add(n)
			for m in WORKLOADS[n]:
				add(m)
	for n in names:
		add(n)
	if not want:
		raise ValueError('no workload named')
	return [n for n in WORKLOADS if n in want]


def get(name, **overrides):
	"""A copy of profile @name with @overrides applied (None: kept)."""
	if name not in PROFILES:
		raise KeyError('unknown profile %r (known: %s)' % (
			name, ', '.join(sorted(PROFILES))))
	p = dict(PROFILES[name])
	p['name'] = name
	for k, v in overrides.items():
		if v is not None:
			p[k] = v
	return p


def ablation(p, reps=None, workloads=None):
	"""The profile of the ablation phase of profile @p (a dict from
	get()): @p's sizes with the ablation's workloads (@workloads, a list
	already expanded by only(), else the ablation's own) and every x4
	data job; its repetitions (@reps, else the ablation's) as
	'host_reps'.  None if @p has no ablation."""
	a = p.get('ablation')
	if not a:
		return None
	q = dict(p)
	q['only'] = workloads or only(a.get('only') or ABLATION_ONLY)
	q.pop('x4_data', None)
	q['host_reps'] = reps or a['reps']
	q['phase'] = 'ablation'
	return q
