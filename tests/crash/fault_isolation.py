#!/usr/bin/python3
# twinfs tests/crash: the fault-isolation experiment -- the monolithic-
# versus-microkernel lesson, measured (docs/crash.md).
#
# Layer: test harness (Python stdlib).  Runs mkfs.twinfs, mkfs.ext4 and
# vm/run with tests/crash/fault_guest.py; both homes run in the same test
# guest, so they are compared on the same kernel and the same (emulated)
# machine.
#
#   tests/crash/fault_isolation.py [--after N] [--json FILE] [--only NAME]
#   make fault-isolation
#
# The same fault -- a NULL dereference, and separately a hang, in the
# core's block allocator (tw_alloc_block, fault point alloc_block) after N
# calls -- is injected in the kernel module (module parameter
# twinfs_core.fault) and in the FUSE daemon (-o fault=), with the same spec
# (alloc_block:N:crash or alloc_block:N:hang).  Meanwhile a victim
# writes and fsyncs files on twinfs, another user lists, stats and writes
# there too, and an unrelated process writes to ext4 on another disk.  For
# each home it records what the three saw, whether the rest of the system
# kept working, the time until twinfs served again (kernel: reboot, module
# load, mount with journal replay; FUSE: daemon restart with replay), and
# whether every fsync'd file survived.  Results: JSON and a table.
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VMRUN = os.path.join(ROOT, 'vm', 'run')
GUEST = os.path.join(HERE, 'fault_guest.py')

SCENARIOS = [
	# name, home, fault, panic_on_oops
	('kernel-crash', 'kernel', 'crash', False),
	('kernel-crash-panic', 'kernel', 'crash', True),
	('kernel-hang', 'kernel', 'hang', False),
	('fuse-crash', 'fuse', 'crash', False),
	('fuse-hang', 'fuse', 'hang', False),
]


def build_dir(a):
	return os.path.abspath(a.build or os.environ.get('TWINFS_BUILD') or
			       os.path.join(ROOT, 'build'))


def vm(args, tmp, build, timeout=300, panic=False):
	"""Run vm/run; returns (events, result dict, host seconds).  Events
	are the guest's JSON lines, each with the host time it arrived."""
	rj = os.path.join(tmp, 'vm-result.json')
	# --oops-grace 0: after the oops the guest goes on observing for
	# seconds, then reboots itself; -t bounds it
	cmd = [VMRUN, '-t', str(timeout), '--oops-grace', '0', '--rw', tmp,
	       '--result-json', rj, '-e', 'TWINFS_BUILD=' + build]
	if not build.startswith(ROOT + '/'):
		cmd += ['--rw', build]	# the guest sees it where we do
	if panic:
		cmd.append('--panic-on-oops')
	cmd += args
	t0 = time.monotonic()
	p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
			     stderr=subprocess.PIPE, text=True)
	events = []
	for line in p.stdout:
		if line.startswith('{'):
			try:
				ev = json.loads(line)
			except ValueError:
				continue
			ev['host_t'] = round(time.monotonic() - t0, 3)
			events.append(ev)
	err = p.stderr.read()
	p.wait()
	secs = time.monotonic() - t0
	try:
		with open(rj) as f:
			res = json.load(f)
	except (OSError, ValueError):
		res = {'returncode': p.returncode}
	res['stderr_tail'] = err.splitlines()[-3:]
	return events, res, secs


def first(events, kind):
	for e in events:
		if e['kind'] == kind:
			return e
	return None


def images(tmp, build):
	tw = os.path.join(tmp, 'twinfs.img')
	ext = os.path.join(tmp, 'ext4.img')
	subprocess.run([os.path.join(build, 'tools', 'mkfs.twinfs'), '-q', tw,
			'64M'], check=True, stdout=subprocess.DEVNULL)
	with open(ext, 'wb') as f:
		f.truncate(32 << 20)
	subprocess.run(['mkfs.ext4', '-q', '-F', ext], check=True)
	return tw, ext


def describe_proc(p, home):
	"""One phrase for what a process saw after the fault."""
	if p is None:
		return 'gone with the machine'
	if 'exit' in p:
		return 'killed (%s)' % p['exit'].replace('signal ', '')
	if p['errors']:
		return 'errors: %s' % ', '.join(
			[p['first_error']] + [e for e in p['errors']
					      if e != p['first_error']])
	if p['state'] == 'D' or p.get('stalled', 0) > 2:
		return 'hung (%s state, no progress for %.0f s)' % (
			p['state'], p.get('stalled', p['max_gap']))
	return 'kept working (%d ok)' % p['ok']


def run_one(name, home, fault, panic, a, build):
	tmp = tempfile.mkdtemp(prefix='twinfs-fi-%s-' % name)
	tw, ext = images(tmp, build)
	out = {'name': name, 'home': home, 'fault': fault,
	       'panic_on_oops': panic, 'fault_point': 'alloc_block',
	       'after_calls': a.after}
	ev, res, secs = vm(['-d', tw, '-d', ext, '--', '/usr/bin/python3',
			    GUEST, 'run', '--home', home, '--fault', fault,
			    '--after', str(a.after), '--observe',
			    str(a.observe)], tmp, build, panic=panic)
	out['vm'] = {k: res.get(k) for k in ('returncode', 'panic', 'timed_out',
					    'boot_seconds', 'seconds')}
	out['vm']['oops_reports'] = len(res.get('oops') or [])
	synced = sorted({e['i'] for e in ev if e['kind'] == 'synced'})
	out['synced'] = len(synced)
	fault_ev = first(ev, 'fault')
	obs = first(ev, 'observed')
	ticks = [e for e in ev if e['kind'] == 'tick']
	if panic:
		# the machine died at the oops: the last word from the guest
		last = ev[-1] if ev else None
		out['users'] = {'victim': 'gone with the machine (panic)',
				'other': 'gone with the machine (panic)'}
		out['unrelated'] = 'gone with the machine (panic)'
		out['system'] = 'panicked%s' % (
			' (vm/run exit %s)' % res.get('returncode'))
		if ticks:
			out['unrelated_beats_before'] = ticks[-1]['ok']['unrelated']
		out['fault_seen_by_host'] = last['host_t'] if last else None
		out['detect_seconds'] = 0.0
	elif obs is None:
		out['error'] = 'no observation: %s' % res.get('stderr_tail')
		return out, tmp
	else:
		pr = obs['procs']
		out['users'] = {'victim': describe_proc(pr['victim'], home),
				'other': describe_proc(pr['other'], home)}
		if pr['other'].get('reads') and not pr['other']['ok']:
			out['users']['other'] += ', reads still answered'
		u = pr['unrelated']
		out['unrelated'] = ('kept working (%d writes+fsyncs in %.0f s, '
				    'longest gap %.2f s)' % (
					    u['ok'], obs['window'][1] -
					    obs['window'][0], u['max_gap'])
				    if u['ok'] else describe_proc(u, home))
		sysw = ['new programs start (%.2f s)' % obs['new_process_seconds']
			if obs['new_process_seconds'] is not None else
			'cannot start programs']
		if home == 'kernel':
			sysw.append('kernel tainted %#x' % obs['tainted'])
			if any('Oops' in m or 'BUG' in m for m in obs['messages']):
				sysw.append('oops in the log')
		else:
			sysw.append('daemon %s' % obs['daemon'])
		out['system'] = ', '.join(sysw)
		out['detect_seconds'] = round(fault_ev['detected'] -
					      fault_ev['at'], 3)
		out['observed'] = obs
	if home == 'fuse':
		rec = first(ev, 'recovered')
		fs = first(ev, 'fsck')
		if rec:
			out['recovery'] = 'restart daemon + replay'
			out['serve_again_seconds'] = round(
				rec['serve_again_seconds'] + out['detect_seconds'],
				3)
			out['serve_again_parts'] = {
				'detect': out['detect_seconds'],
				'kill_unmount': rec['cleanup_seconds'],
				'restart_mount_replay': rec['restart_seconds']}
			out['fsynced_survived'] = '%d/%d' % (rec['verified'],
							     len(synced))
			out['lost'] = rec['lost']
		if fs:
			out['fsck'] = fs['exit']
		return out, tmp
	# kernel: a fresh boot with the same disk, then load, mount, check
	with open(os.path.join(tmp, 'ledger.txt'), 'w') as f:
		f.write(' '.join(map(str, synced)) + '\n')
	ev2, res2, secs2 = vm(['-d', tw, '--', '/usr/bin/python3', GUEST,
			       'verify', '--ledger',
			       os.path.join(tmp, 'ledger.txt')], tmp, build)
	rec = first(ev2, 'recovered')
	fs = first(ev2, 'fsck')
	out['recovery'] = 'reboot + module load + mount (replay)'
	if rec:
		boot = res2.get('boot_seconds') or 0
		out['serve_again_seconds'] = round(
			out['detect_seconds'] + boot + rec['load_seconds'] +
			rec['mount_seconds'], 3)
		out['serve_again_parts'] = {
			'detect': out['detect_seconds'],
			'reboot': round(boot, 3),
			'module_load': rec['load_seconds'],
			'mount_replay': rec['mount_seconds']}
		out['fsynced_survived'] = '%d/%d' % (rec['verified'],
						     len(synced))
		out['lost'] = rec['lost']
	else:
		out['error'] = 'recovery boot failed: %s' % res2.get('stderr_tail')
	if fs:
		out['fsck'] = fs['exit']
	return out, tmp


def table(results):
	rows = [('scenario', 'victim (its fs call)', 'other user of the fs',
		 'unrelated process (ext4)', 'rest of the system',
		 'serve again', 'fsync\'d data', 'fsck')]
	for r in results:
		parts = r.get('serve_again_parts') or {}
		serve = ('%.1f s (%s)' % (r['serve_again_seconds'], ' + '.join(
			'%s %.1f' % (k.replace('_', ' '), v)
			for k, v in parts.items()))
			 if 'serve_again_seconds' in r else r.get('error', '?'))
		rows.append((r['name'], r.get('users', {}).get('victim', '?'),
			     r.get('users', {}).get('other', '?'),
			     r.get('unrelated', '?'), r.get('system', '?'),
			     serve, r.get('fsynced_survived', '?'),
			     str(r.get('fsck', '?'))))
	lines = []
	for row in rows:
		lines.append(' | '.join(row))
		if row is rows[0]:
			lines.append(' | '.join('-' * len(c) for c in row))
	return '\n'.join('| %s |' % l for l in lines)


def main():
	ap = argparse.ArgumentParser(description='The fault-isolation experiment (docs/crash.md).')
	ap.add_argument('--after', type=int, default=40,
			help='the fault fires at alloc_block call N+1 '
			'(default 40)')
	ap.add_argument('--observe', type=float, default=8,
			help='seconds to watch after the fault (default 8)')
	ap.add_argument('--only', action='append',
			help='run only this scenario (repeatable): ' +
			', '.join(s[0] for s in SCENARIOS))
	ap.add_argument('--json', help='write the results here (default: '
			'BUILD/crash/fault-isolation.json)')
	ap.add_argument('--build', help='build directory (default '
			'$TWINFS_BUILD or build/)')
	a = ap.parse_args()
	build = build_dir(a)
	results = []
	for name, home, fault, panic in SCENARIOS:
		if a.only and name not in a.only:
			continue
		print('fault-isolation: %s ...' % name, flush=True)
		r, tmp = run_one(name, home, fault, panic, a, build)
		results.append(r)
		print('fault-isolation: %s: %s; serve again %s; fsync\'d %s' % (
			name, r.get('system', r.get('error')),
			r.get('serve_again_seconds'), r.get('fsynced_survived')),
		      flush=True)
		if 'error' not in r:
			subprocess.run(['rm', '-rf', tmp])
		else:
			print('fault-isolation: kept %s' % tmp)
	jf = a.json or os.path.join(build, 'crash', 'fault-isolation.json')
	os.makedirs(os.path.dirname(jf), exist_ok=True)
	with open(jf, 'w') as f:
		json.dump(results, f, indent=1)
	print()
	print(table(results))
	print('\n(JSON: %s)' % jf)
	return 0 if all('error' not in r for r in results) else 1


if __name__ == '__main__':
	sys.exit(main())
