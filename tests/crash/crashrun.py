#!/usr/bin/python3
# twinfs tests/crash: record workloads in the homes and check every crash
# state (docs/crash.md).
#
# Layer: test harness (Python stdlib).  Runs the built tools (mkfs.twinfs,
# tests/crash/crashrec*, crashcheck, twinfs-fuse -o record=FILE),
# fusermount3, and vm/run with tests/crash/guest.py for the kernel module.
#
#   crashrun.py [--homes core,fuse,kernel] [--ace1] [--ace2 N]
#               [--ace2-new N] [--random N] [--kinds LIST] [--new-rate P]
#               [--out DIR] [--json FILE] [--early]
#
# Homes:
#   core    the core in this process on the write recorder (crashrec)
#   fuse    twinfs-fuse on the host with -o record=FILE (the user-space
#           environment's recorder under the daemon's block cache)
#   kernel  twinfs.ko in the test guest on dm-log-writes; the guest converts
#           its log to the same format (tests/crash/dmlog.py)
# --early records with the test builds whose commit is broken on purpose and
# expects crashcheck to fail (the proof that it can).
#
# The operations that came with O_TMPFILE, RENAME_WHITEOUT and POSIX ACLs
# (crashlib.NEW_KINDS) go to the homes that have them (crashlib.HOME_KINDS:
# the FUSE home has no O_TMPFILE); --kinds narrows them, e.g. a long run of
# one: --kinds acl --ace2-new 300 --random 20 --new-rate 0.4.
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import crashexec  # noqa: E402
import crashgen  # noqa: E402
import crashlib  # noqa: E402


def build_dir():
	return os.path.abspath(os.environ.get('TWINFS_BUILD') or
			       os.path.join(ROOT, 'build'))


def tool(*parts):
	p = os.path.join(build_dir(), *parts)
	if not os.path.exists(p):
		sys.exit('crashrun: %s is not built (ninja -C %s)' %
			 (p, build_dir()))
	return p


def log(msg):
	print('crashrun: %s' % msg, flush=True)


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------

SIZES = {'ace': '2M', 'rnd': '4M', 'rnd-small': '2M'}


def base_image(cache, size):
	path = os.path.join(cache, 'base-%s.img' % size)
	if not os.path.exists(path):
		subprocess.run([tool('tools', 'mkfs.twinfs'), '-q', '-L', 'crash',
				'-U', '6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b',
				path + '.tmp', size], check=True,
			       stdout=subprocess.DEVNULL)
		os.rename(path + '.tmp', path)
	return path


def ace1_rotated(rot, kinds=crashlib.NEW_KINDS):
	"""One 1-op ACE workload per operation instance, the durability call
	after it rotating through fsync, fdatasync and sync: every operation,
	a third of the space."""
	per = {}
	for n, o in crashgen.ace_space(1, kinds):
		ci = int(n.split('-')[1][:-2])
		per.setdefault(ci, []).append((n, o))
	out = []
	for ci, lst in sorted(per.items()):
		n, o = lst[(ci + rot) % len(lst)]
		out.append((n, o, 'ace'))
	return out


def ace1_new_rotated(rot, kinds):
	"""ace1_rotated() of the instances of NEW_KINDS only."""
	return [w for w in ace1_rotated(rot, kinds)
		if crashlib.workload_kinds(w[1])]


def ace2_sample(n, seed):
	"""@n seeded 2-op ACE workloads of the operations before NEW_KINDS
	(the same sample as before they came)."""
	all2 = crashgen.ace_space(2, ())
	rnd = random.Random(seed)
	return [(name, o, 'ace') for name, o in
		sorted(rnd.sample(all2, min(n, len(all2))))]


def ace2_new(n, seed, kinds):
	"""@n seeded 2-op ACE workloads with at least one operation of
	@kinds (of NEW_KINDS)."""
	if not kinds:
		return []
	pool = [(name, o) for name, o in crashgen.ace_space(2, kinds)
		if crashlib.workload_kinds(o)]
	rnd = random.Random(seed * 31 + 7)
	return [(name, o, 'ace') for name, o in
		sorted(rnd.sample(pool, min(n, len(pool))))]


def ace2_inherit(kinds, rot=0):
	"""A directory's default ACL, then a file, a directory and (where the
	home has O_TMPFILE) an unnamed file made in it: what they inherit.
	The durability calls rotate with @rot."""
	if 'acl' not in kinds:
		return []
	core = crashgen.ace_core_ops()
	dflt = [i for i, t in enumerate(core) if not isinstance(t, list) and
		t[0] == 'setacl' and t[2] == 'default']
	makes = [i for i, t in enumerate(core) if
		 (isinstance(t, list) and t[0][0] == 'tmpfile' and
		  t[0][1] == 'A' and 'tmpfile' in kinds) or
		 (not isinstance(t, list) and t[0] in ('create', 'mkdir') and
		  t[1].startswith('A/'))]
	want = {}
	for k, i in enumerate(makes):
		d = ('fs', 'fd', 'sy')[(k + rot) % 3]
		want['ace2-%d%s+%d%s' % (dflt[0], d, i, ('sy', 'fs', 'fd')[
			(k + rot) % 3])] = True
	out = [(name, o, 'ace') for name, o in crashgen.ace_space(2, kinds)
	       if name in want]
	assert len(out) == len(want), (sorted(want), [w[0] for w in out])
	return out


def randoms(n, seed, nops=40, kinds=crashlib.NEW_KINDS,
	    new_rate=crashgen.NEW_RATE):
	"""@n random workloads; every other one on the smallest filesystem
	(a 128-block journal: many commits, the log wraps often)."""
	return [('rnd%d' % (seed * 1000 + i),
		 crashgen.random_workload(seed * 1000 + i, nops=nops,
					  kinds=kinds, new_rate=new_rate),
		 'rnd-small' if i % 2 else 'rnd')
		for i in range(n)]


def tail_regressions():
	"""A file shrunk into the middle of a block, made durable, then grown
	again (truncate, fallocate, a write past the end) and another file's
	fsync: the kernel home zeroes the old last block's tail in its page
	cache, and that page must reach the disk before the commit of the new
	size (docs/crash.md, Findings).  The kernel failed the first two."""
	a = [('create', 'g', 0o644), ('create', 'f', 0o644),
	     ('write', 'f', 0, 8000, 7), ('fsync', 'f'), ('truncate', 'f', 1),
	     ('sync',)]
	end = [('fsync', 'g'), ('umount',)]
	return [('tail-truncate', a + [('truncate', 'f', 5000)] + end, 'ace'),
		('tail-falloc', a + [('fallocate', 'f', 0, 0, 5000)] + end,
		 'ace'),
		('tail-write', a + [('write', 'f', 6000, 100, 9)] + end,
		 'ace')]


def ace1_all(kinds=crashlib.NEW_KINDS):
	return [(n, o, 'ace') for n, o in crashgen.ace_space(1, kinds)]


# What `make check` runs (scripts/check.d/60-crash.sh): every 1-op ACE
# workload of the older operations in the core, every operation in every
# home (the newer ones with the durability call rotating, a different one
# in each home), samples of the 2-op space and random workloads
# everywhere, and the broken test builds.  Each takes the NEW_KINDS its
# home has (K).
SUITES = {
	'check': {
		'core': lambda K: ace1_all(()) + ace1_new_rotated(0, K) +
			ace2_sample(12, 1) + ace2_new(4, 1, K) +
			ace2_inherit(K, 0) + randoms(2, 1, kinds=K),
		'fuse': lambda K: ace1_rotated(1, K) + ace2_sample(6, 2) +
			ace2_new(2, 2, K) + ace2_inherit(K, 1) +
			randoms(2, 2, kinds=K),
		'kernel': lambda K: ace1_rotated(2, K) + ace2_sample(6, 3) +
			ace2_new(2, 3, K) + ace2_inherit(K, 2) +
			randoms(2, 3, kinds=K) + tail_regressions(),
		'early1': lambda K: ace1_rotated(0, ())[:10],
		'early2': lambda K: ace1_rotated(0, ())[:10],
	},
	'full': {
		'core': lambda K: ace1_all(K) + ace2_sample(10 ** 6, 1) +
			ace2_new(10 ** 6, 1, K) + randoms(100, 1, 60, K),
		'fuse': lambda K: ace1_all(K) + ace2_sample(400, 2) +
			ace2_new(200, 2, K) + ace2_inherit(K) +
			randoms(20, 2, 60, K),
		'kernel': lambda K: ace1_all(K) + ace2_sample(200, 3) +
			ace2_new(100, 3, K) + ace2_inherit(K) +
			randoms(10, 3, 60, K) + tail_regressions(),
		'early1': lambda K: ace1_all(()),
		'early2': lambda K: ace1_all(()),
	},
}


def home_kinds(home, wanted):
	"""The NEW_KINDS a home's workloads take: those it has, of @wanted."""
	have = crashlib.HOME_KINDS.get(home, crashlib.NEW_KINDS)
	return tuple(k for k in crashlib.NEW_KINDS if k in have and
		     k in wanted)


def select(args, kinds):
	"""The workloads the options ask for, with the NEW_KINDS @kinds:
	[(name, ops, kind)]."""
	out = []
	if args.ace1:
		out += ace1_all(kinds)
	if args.ace2:
		out += ace2_sample(args.ace2, args.seed)
	if args.ace2_new:
		out += ace2_new(args.ace2_new, args.seed, kinds) + \
			ace2_inherit(kinds)
	out += randoms(args.random, args.seed, args.random_ops, kinds,
		       args.new_rate)
	return out


def prepare(wls, root, cache):
	"""One directory per workload under @root: ops.txt, oracle.txt,
	base.img.  Returns the directories."""
	dirs = []
	for name, ops, kind in wls:
		d = os.path.join(root, name)
		crashlib.write_workload(d, name, ops)
		shutil.copyfile(base_image(cache, SIZES[kind]),
				os.path.join(d, 'base.img'))
		dirs.append(d)
	return dirs


# ---------------------------------------------------------------------------
# Recording: the core in process
# ---------------------------------------------------------------------------

def record_core(dirs, prog='crashrec'):
	exe = tool('tests', 'crash', prog)
	t0 = time.monotonic()
	for i, d in enumerate(dirs):
		# vary the cache: some workloads write back under pressure,
		# evicting dirty blocks between commits
		cache = (4, 16, 64, 1024)[i % 4]
		subprocess.run([exe, '--cache', str(cache), d], check=True)
	return time.monotonic() - t0


# ---------------------------------------------------------------------------
# Recording: twinfs-fuse on the host
# ---------------------------------------------------------------------------

def mounted(mnt):
	with open('/proc/self/mounts') as f:
		return any(l.split()[1] == mnt for l in f)


def record_fuse_one(d, mnt, profile):
	ops = crashlib.read_ops(d)
	# libfuse 3.14 has no tmpfile operation: the generators leave
	# O_TMPFILE out of FUSE workloads (crashlib.HOME_KINDS)
	extra = crashlib.workload_kinds(ops) - set(crashlib.HOME_KINDS['fuse'])
	if extra:
		raise RuntimeError('%s: a FUSE workload with %s' % (
			d, ', '.join(sorted(extra))))
	img = os.path.join(d, 'work.img')
	logp = os.path.join(d, 'log.twwlog')
	shutil.copyfile(os.path.join(d, 'base.img'), img)
	errf = open(os.path.join(d, 'daemon.err'), 'w+')
	proc = subprocess.Popen([tool('fusefs', 'twinfs-fuse'), img, mnt, '-f',
				 '-o', 'profile=%s,record=%s' % (profile, logp)],
				stdout=errf, stderr=errf)
	try:
		end = time.monotonic() + 15
		while not mounted(mnt):
			if proc.poll() is not None or time.monotonic() > end:
				errf.seek(0)
				raise RuntimeError('twinfs-fuse did not mount: %s'
						   % errf.read())
			time.sleep(0.01)
		pos = ['twinfs-crash-pos 1']
		size = lambda: os.stat(logp).st_size
		for i, op in enumerate(ops, 1):
			start = size()
			if op[0] == 'umount':
				bad = crashexec.verify_tree(mnt, ops)
				if bad:
					raise RuntimeError('%s: the mount differs from the model: %s' % (d, bad[:5]))
				subprocess.run(['fusermount3', '-u', mnt],
					       check=True)
				proc.wait(timeout=30)
				if proc.returncode:
					errf.seek(0)
					raise RuntimeError('twinfs-fuse exited %d: %s'
							   % (proc.returncode,
							      errf.read()))
			else:
				crashexec.run_op(mnt, op)
			pos.append('p %d %d %d' % (i, start, size()))
	finally:
		if proc.poll() is None:
			subprocess.run(['fusermount3', '-uz', mnt],
				       stderr=subprocess.DEVNULL)
			proc.kill()
			proc.wait()
		errf.close()
		if os.path.exists(img):
			os.unlink(img)
	with open(os.path.join(d, 'pos.txt'), 'w') as f:
		f.write('\n'.join(pos) + '\n')
	with open(os.path.join(d, 'home'), 'w') as f:
		f.write('fuse\n')


def record_fuse(dirs):
	old = os.umask(0)
	mnt = tempfile.mkdtemp(prefix='twinfs-crash-mnt-')
	t0 = time.monotonic()
	try:
		for i, d in enumerate(dirs):
			record_fuse_one(d, mnt, ('base', 'optimized')[i % 2])
	finally:
		os.umask(old)
		if mounted(mnt):
			subprocess.run(['fusermount3', '-uz', mnt])
		os.rmdir(mnt)
	return time.monotonic() - t0


# ---------------------------------------------------------------------------
# Recording: the kernel module in the guest
# ---------------------------------------------------------------------------

def record_kernel(dirs, root):
	listf = os.path.join(root, 'kernel-dirs.txt')
	with open(listf, 'w') as f:
		f.write('\n'.join(dirs) + '\n')
	t0 = time.monotonic()
	r = subprocess.run([os.path.join(ROOT, 'vm', 'run'), '-t', '900',
			    '--rw', root, '--',
			    '/usr/bin/python3', os.path.join(HERE, 'guest.py'),
			    'record', listf], stdout=subprocess.PIPE,
			   stderr=subprocess.STDOUT, text=True)
	if r.returncode:
		sys.stdout.write(r.stdout)
		raise RuntimeError('recording in the guest failed: vm/run exit %d'
				   % r.returncode)
	return time.monotonic() - t0


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------

WHAT = {
	'core': 'the core in process (crashrec)',
	'fuse': 'twinfs-fuse on the host (-o record=FILE)',
	'kernel': 'twinfs.ko in the guest (dm-log-writes)',
	'early1': 'commit block not preceded by a flush (test build)',
	'early2': 'commit block flushed neither before nor after (test build)',
	'garbage': 'core recordings, one data block overwritten with '
		   'garbage',
	'fsync-lies': 'core recordings, fsync returning before it wrote',
	'fuse-sync': 'FUSE recordings judged as if sync(2) reached the daemon',
}


def copy_workload(src, dst):
	os.makedirs(dst, exist_ok=True)
	for n in ('base.img', 'log.twwlog', 'oracle.txt', 'pos.txt', 'home',
		  'ops.txt'):
		shutil.copyfile(os.path.join(src, n), os.path.join(dst, n))


def mutate_garbage(src, dst):
	"""The last write of a file data block in the log gets other data:
	no fsck can tell, the oracle must."""
	with open(os.path.join(src, 'base.img'), 'rb') as f:
		sb = f.read(4096)
	data_start = int.from_bytes(sb[104:112], 'little')
	with open(os.path.join(src, 'log.twwlog'), 'rb') as f:
		log = bytearray(f.read())
	pos, last = 32, None
	while pos < len(log):
		typ = int.from_bytes(log[pos:pos + 4], 'little')
		blk = int.from_bytes(log[pos + 8:pos + 16], 'little')
		pos += 16
		if typ == 1:
			d = log[pos:pos + 4096]
			if blk >= data_start and d[:2] != b'TW' and any(d):
				last = pos
			pos += 4096
	if last is None:
		return None
	log[last:last + 4096] = crashlib.pat(987654321, 0, 4096)
	copy_workload(src, dst)
	with open(os.path.join(dst, 'log.twwlog'), 'wb') as f:
		f.write(log)
	return dst


def mutate_fsync_lies(src, dst):
	"""Every fsync and fdatasync "returns" as soon as it is called."""
	ops = crashlib.read_ops(src)
	copy_workload(src, dst)
	lines = []
	with open(os.path.join(src, 'pos.txt')) as f:
		for l in f:
			w = l.split()
			if w and w[0] == 'p' and \
			   ops[int(w[1]) - 1][0] in ('fsync', 'fdatasync'):
				w[3] = w[2]
			lines.append(' '.join(w))
	with open(os.path.join(dst, 'pos.txt'), 'w') as f:
		f.write('\n'.join(lines) + '\n')
	return dst


def check(dirs, jsonf, extra=()):
	r = subprocess.run([tool('tests', 'crash', 'crashcheck'), '--json',
			    jsonf, *extra, *dirs], stdout=subprocess.PIPE,
			   text=True)
	with open(jsonf) as f:
		res = json.load(f)
	res['output'] = r.stdout
	res['exit'] = r.returncode
	return res


def main():
	ap = argparse.ArgumentParser(description='Record workloads in the homes and check every crash state (docs/crash.md).')
	ap.add_argument('--homes', default='core,fuse,kernel',
			help='comma-separated: core, fuse, kernel')
	ap.add_argument('--suite', choices=sorted(SUITES),
			help='a predefined set of workloads per home (check: '
			'what make check runs; full: the whole 2-op space in '
			'the core, hours)')
	ap.add_argument('--ace1', action='store_true',
			help='every 1-op ACE workload')
	ap.add_argument('--ace2', type=int, default=0, metavar='N',
			help='N seeded 2-op ACE workloads of the older '
			'operations (the same as before the newer ones came)')
	ap.add_argument('--random', type=int, default=0, metavar='N',
			help='N seeded random workloads')
	ap.add_argument('--random-ops', type=int, default=40)
	ap.add_argument('--seed', type=int, default=1)
	ap.add_argument('--kinds', default=','.join(crashlib.NEW_KINDS),
			help='which of the newer operations (%s) the workloads '
			'may have, each where its home has it (fuse: no '
			'tmpfile); "none": the workloads from before them '
			'(default: all)' % ', '.join(crashlib.NEW_KINDS))
	ap.add_argument('--ace2-new', type=int, default=0, metavar='N',
			help='N seeded 2-op ACE workloads with at least one '
			'of those operations, and the default-ACL inheritance '
			'ones')
	ap.add_argument('--new-rate', type=float, default=crashgen.NEW_RATE,
			metavar='P', help='the share of the random workloads\' '
			'steps that take one of those operations (default '
			'%(default)s)')
	ap.add_argument('--out', help='keep recordings here (default: a '
			'temporary directory, removed when all pass)')
	ap.add_argument('--json', help='write the results here')
	ap.add_argument('--early', action='store_true',
			help='also record with the test builds whose commit is '
			'broken: early1 (no flush before the commit block) '
			'must pass, early2 (nor after it) must fail')
	ap.add_argument('--crashcheck-args', default='')
	args = ap.parse_args()
	homes = [h for h in args.homes.split(',') if h]
	if args.early:
		homes += ['early1', 'early2']
	wanted = () if args.kinds == 'none' else \
		tuple(k for k in args.kinds.split(',') if k)
	for k in wanted:
		if k not in crashlib.NEW_KINDS:
			ap.error('--kinds: no %s (%s)' % (
				k, ', '.join(crashlib.NEW_KINDS)))
	if args.suite == 'check':
		# the model and the generators first (a second)
		import test_crashlib
		test_crashlib.run_all()
	plan = []
	for h in homes:
		kinds = home_kinds(h, wanted)
		if set(wanted) - set(kinds):
			log('%s: no %s here' % (h, ', '.join(
				sorted(set(wanted) - set(kinds)))))
		wls = SUITES[args.suite][h](kinds) if args.suite else \
			select(args, kinds)
		if wls:
			plan.append((h, wls))
		else:
			log('%s: no workloads, left out' % h)
	if not plan:
		ap.error('no workloads (--suite, --ace1, --ace2 N, '
			 '--ace2-new N, --random N)')
	root = args.out or tempfile.mkdtemp(prefix='twinfs-crash-')
	os.makedirs(root, exist_ok=True)
	cache = os.path.join(root, 'cache')
	os.makedirs(cache, exist_ok=True)
	results = {'suite': args.suite, 'homes': {}}
	ok = True
	extra = args.crashcheck_args.split()
	recorded = {}

	def verdict(name, dirs, want_fail, rt, nwl, cargs=(), what=''):
		nonlocal ok
		res = check(dirs, os.path.join(root, name + '.json'),
			    list(extra) + list(cargs))
		res['record_seconds'] = rt
		res['nworkloads'] = nwl
		res['what'] = what
		failed = res['failed'] > 0 or res['exit'] not in (0, 1)
		res['expected'] = 'failures' if want_fail else 'no failures'
		res['as_expected'] = failed == want_fail
		ok &= res['as_expected']
		out = res.pop('output')
		if failed and not want_fail:
			sys.stdout.write(out)
		elif want_fail:
			# the evidence: the first failure found
			lines = out.splitlines()
			first = [l for l in lines[:-1] if l.startswith('FAIL')]
			if first:
				i = lines.index(first[0])
				j = i + 1
				while j < len(lines) and lines[j].startswith(' '):
					j += 1
				sys.stdout.write('\n'.join(lines[i:min(j, i + 14)]) +
						 '\n')
			sys.stdout.write(lines[-1] + '\n')
		else:
			sys.stdout.write(out.splitlines()[-1] + '\n')
		log('%s: %d states, %d failed (%s expected)%s' % (
			name, res['states'], res['failed'], res['expected'],
			'' if res['as_expected'] else ': UNEXPECTED'))
		results['homes'][name] = {k: v for k, v in res.items()
					  if k != 'workloads'}

	for name, wls in plan:
		dirs = prepare(wls, os.path.join(root, name), cache)
		log('%s: recording %d workloads' % (name, len(dirs)))
		try:
			if name == 'core':
				rt = record_core(dirs)
			elif name.startswith('early'):
				rt = record_core(dirs, 'crashrec-' + name)
			elif name == 'fuse':
				rt = record_fuse(dirs)
			elif name == 'kernel':
				rt = record_kernel(dirs, os.path.join(root, name))
			else:
				sys.exit('crashrun: unknown home %s' % name)
		except (RuntimeError, subprocess.CalledProcessError,
			OSError) as e:
			log('%s: RECORDING FAILED: %s' % (name, e))
			results['homes'][name] = {'error': str(e)}
			ok = False
			continue
		recorded[name] = dirs
		log('%s: recorded in %.1f s; checking' % (name, rt))
		verdict(name, dirs, name == 'early2', rt, len(dirs),
			what=WHAT.get(name, ''))
	if args.early:
		# the oracle itself must catch what fsck cannot see
		base = recorded.get('core', [])[:10]
		for name, fn in (('garbage', mutate_garbage),
				 ('fsync-lies', mutate_fsync_lies)):
			if not base:
				break
			dirs = [fn(d, os.path.join(root, name,
						   os.path.basename(d)))
				for d in base]
			dirs = [d for d in dirs if d]
			log('%s: %d recordings altered; checking' % (name,
								     len(dirs)))
			verdict(name, dirs, True, 0, len(dirs), what=WHAT[name])
		synced = [d for d in recorded.get('fuse', [])
			  if ('sync',) in crashlib.read_ops(d)][:8]
		if synced:
			log('fuse-sync: the FUSE recordings with a sync(2), '
			    'judged as if it reached the daemon; checking')
			verdict('fuse-sync', synced, True, 0, len(synced),
				('--home', 'core'), WHAT['fuse-sync'])
	results['ok'] = ok
	if args.json:
		with open(args.json, 'w') as f:
			json.dump(results, f, indent=1)
	print('%-10s %9s %8s %8s %9s %8s %9s %9s  %s' % (
		'recording', 'workloads', 'states', 'failed', 'record s',
		'check s', 'states/s', 'per CPU-s', 'expected'))
	for name, r in results['homes'].items():
		if 'error' in r:
			print('%-10s recording failed: %s' % (name, r['error']))
			continue
		print('%-10s %9d %8d %8d %9.1f %8.1f %9.0f %9.0f  %s%s' % (
			name, r['nworkloads'], r['states'], r['failed'],
			r['record_seconds'], r['seconds'], r['states_per_second'],
			r['states_per_cpu_second'], r['expected'],
			'' if r['as_expected'] else ' (UNEXPECTED)'))
	if ok and not args.out:
		shutil.rmtree(root)
	elif not ok:
		log('recordings kept in %s' % root)
	return 0 if ok else 1


if __name__ == '__main__':
	sys.exit(main())
