# bench/tests: the workloads with several clients (issue 12, item 2):
# opbench --clients on a tmpfs of its own (root and the built opbench:
# $TWINFS_BUILD or build/), fio's numjobs=4 group from a stored real run
# and from a real fio run through the generated control script's hooks,
# and what the report makes of them (targets, the x4/x1 table).
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

from twb import fiojob, parse, profiles, report, runner

from conftest import DATA

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('TWINFS_BUILD') or os.path.join(ROOT, 'build')
OPBENCH = os.path.join(BUILD, 'bench', 'opbench')



def _usage():
	try:
		return subprocess.run([OPBENCH], stdout=subprocess.PIPE,
				      stderr=subprocess.STDOUT, text=True,
				      timeout=30).stdout
	except OSError:
		return None


_USAGE = _usage()
need_opbench = pytest.mark.skipif(
	_USAGE is None or '--clients' not in _USAGE,
	reason='opbench with --clients is not built: %s (%s)' % (
		OPBENCH, 'missing' if _USAGE is None else 'older: rebuild'))
need_root = pytest.mark.skipif(os.geteuid() != 0,
			       reason='mounts a tmpfs: root')


@pytest.fixture
def tmpfs(tmp_path):
	m = str(tmp_path / 'mnt')
	os.mkdir(m)
	r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=16m',
			    'opbclients', m], stderr=subprocess.PIPE, text=True)
	if r.returncode:
		pytest.skip('cannot mount a tmpfs: %s' % r.stderr.strip())
	yield m
	subprocess.run(['umount', '-l', m])


def opbench(*args):
	r = subprocess.run([OPBENCH] + [str(a) for a in args],
			   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   text=True, timeout=120)
	return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def sample_of(step, out, subject='x'):
	rec = {'type': 'raw', 'subject': subject, 'rep': 0, 'kind': 'opbench',
	       'step': step, 'data': json.dumps(out)}
	(s,) = parse.samples_from_raw(rec)
	return s


# -- opbench --clients ----------------------------------------------------

@need_root
@need_opbench
def test_create_and_stat_in_one_shared_directory(tmpfs):
	d = os.path.join(tmpfs, 'shared')
	# 1001 = 250 + 250 + 250 + 251: the shares cover every name once
	rc, out = opbench('create', d, 1001, '--clients', 4)
	assert rc == 0, out
	assert out['ops'] == 1001 and 'error' not in out
	assert out['clients'] == 4 and out['layout'] == 'shared'
	assert [c['ops'] for c in out['per_client']] == [250, 250, 250, 251]
	assert sorted(os.listdir(d)) == ['f%07d' % i for i in range(1001)]
	# the aggregate: all operations over the span of the group, which
	# is at least each client's own time
	assert out['ops_per_s'] == pytest.approx(
		out['ops'] * 1e9 / out['total_ns'], rel=1e-3)
	assert all(0 < c['ns'] <= out['total_ns'] for c in out['per_client'])
	lat = out['lat_ns']
	assert 0 < lat['min'] <= lat['p50'] <= lat['p99'] <= lat['max']
	assert lat['max'] <= out['total_ns']
	s = sample_of('create_x4_shared', out)
	assert s['metric'] == 'create_x4_shared' and s['unit'] == 'ops/s'
	assert s['value'] == pytest.approx(out['ops_per_s'])
	assert s['extra']['clients'] == 4 and s['extra']['ops'] == 1001
	assert len(s['extra']['client_ops_per_s']) == 4
	# the clients' CPU time is the children's
	assert s['cost']['client_user_s'] + s['cost']['client_sys_s'] > 0

	rc, out = opbench('stat', d, 1001, '--clients', 4)
	assert rc == 0 and out['ops'] == 1001, out
	assert sample_of('stat_cached_x4', out)['metric'] == 'stat_cached_x4'


@need_root
@need_opbench
def test_create_each_client_in_its_own_directory(tmpfs):
	d = os.path.join(tmpfs, 'dirs')
	rc, out = opbench('create', d, 300, '--clients', 4, '--dirs')
	assert rc == 0, out
	assert out['ops'] == 300 and out['layout'] == 'dirs'
	assert sorted(os.listdir(d)) == ['c0', 'c1', 'c2', 'c3']
	for c in range(4):
		names = sorted(os.listdir(os.path.join(d, 'c%d' % c)))
		assert names == ['f%07d' % i for i in range(75 * c, 75 * c + 75)]
	rc, out = opbench('stat', d, 300, '--clients', 4, '--dirs')
	assert rc == 0 and out['ops'] == 300, out


@need_root
@need_opbench
def test_a_failing_client_fails_the_run(tmpfs):
	d = os.path.join(tmpfs, 'again')
	assert opbench('create', d, 8, '--clients', 2)[0] == 0
	rc, out = opbench('create', d, 8, '--clients', 2)	# EEXIST
	assert rc == 1 and out['errno'] == 17
	assert 'File exists' in out['error']
	assert out['ops'] == 0
	assert parse.samples_from_raw({'type': 'raw', 'subject': 'x',
				       'kind': 'opbench', 'step': 'create_x4',
				       'data': json.dumps(out)}) == []
	# a client that cannot open its directory never starts
	rc, out = opbench('stat', os.path.join(tmpfs, 'none'), 8,
			  '--clients', 3)
	assert rc == 1 and 'client 0' in out['error'] and out['ops'] == 0


@need_opbench
def test_clients_only_for_create_and_stat(tmp_path):
	r = subprocess.run([OPBENCH, 'rename', str(tmp_path), '1',
			    '--clients', '2'], stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, text=True)
	assert r.returncode == 2 and 'create and stat' in r.stderr


# -- fio: numjobs=4, group_reporting -------------------------------------

def stored_x4():
	with open(os.path.join(DATA, 'host-x4-fio.json')) as f:
		return json.load(f)


def test_parse_a_stored_group_of_four():
	"""A real host run of twinfs-fuse-opt (quick profile, --only x4)."""
	rec = stored_x4()
	raw = json.loads(rec['data'])
	jobs = {j['jobname']: j for j in raw['jobs']}
	out = {j['name']: j for j in fiojob.parse(rec['data'], rec['snaps'])}
	assert sorted(out) == sorted(fiojob.JOBS_X4)
	for name, j in out.items():
		g = jobs[name]
		assert g['job options']['numjobs'] == '4'
		assert j['clients'] == 4
		side = g['write'] if g['write']['io_bytes'] else g['read']
		# the group's time is its longest client's (fio's runtime),
		# not job_runtime, which is the clients' times summed
		assert j['seconds'] == pytest.approx(side['runtime'] / 1000.0)
		assert g['job_runtime'] > side['runtime']
		# the client CPU: percentages of the summed job_runtime
		assert j['cost']['client_sys_s'] == pytest.approx(
			g['sys_cpu'] / 100.0 * g['job_runtime'] / 1000.0)
		assert j['cost']['wall_s'] > 0		# the hooks' snapshots
	# four clients of a quarter of the quick profile's 8 MiB each
	p = profiles.get('quick')
	sw = out['seqwrite_x4']
	assert sw['bytes'] == p['seq_mib'] << 20
	assert sw['value'] == pytest.approx(
		sw['bytes'] / (jobs['seqwrite_x4']['write']['runtime'] / 1000.0)
		/ 1e6)
	# fio's own bandwidth of the group says the same
	assert sw['value'] == pytest.approx(
		jobs['seqwrite_x4']['write']['bw_bytes'] / 1e6, rel=0.01)
	rr = out['randread_x4']
	assert rr['ios'] == (p['randread_mib'] << 20) // 4096
	assert rr['value'] == pytest.approx(
		jobs['randread_x4']['read']['iops'], rel=0.01)
	ss = parse.samples_from_raw(rec)
	assert {s['metric'] for s in ss} == set(parse.DATA_X4)
	assert all(s['extra']['clients'] == 4 for s in ss)


def all_x4(name='quick'):
	"""Profile @name with every x4 data job (as full has)."""
	p = profiles.get(name)
	p.pop('x4_data', None)
	return p


def test_jobfile_x4_jobs():
	p = all_x4()
	text = fiojob.jobfile(p, '/m', '/c', only=fiojob.JOBS_X4)
	jobs = text.split('\n[')[2:]	# after [global]
	assert [j.split(']')[0] for j in jobs] == fiojob.JOBS_X4
	for j in jobs:
		for opt in ('numjobs=4', 'thread', 'group_reporting',
			    'filename_format=x4.$jobnum', 'size=2048k'):
			assert opt + '\n' in j
	assert 'exec_prerun=/c pre seqread_x4 cold 4\n' in text
	assert 'exec_postrun=/c post seqread_x4 4\n' in text
	assert 'io_size=256k\n' in text
	# quick runs two of them, full all four
	q = fiojob.jobfile(profiles.get('quick'), '/m', '/c')
	assert '[seqwrite_x4]' in q and '[randread_x4]' in q
	assert '[seqread_x4]' not in q and '[randwrite_x4]' not in q
	f = fiojob.jobfile(profiles.get('full'), '/m', '/c')
	assert all('[%s]' % j in f for j in fiojob.JOBS_X4)
	# no clients in smoke: no x4 jobs, whatever is asked
	assert fiojob.clients(profiles.get('smoke')) == 0
	assert '_x4' not in fiojob.jobfile(profiles.get('smoke'), '/m', '/c')


def ctl_for(tmp_path, name='tmpfs'):
	plan = {'profile': profiles.get('quick'), 'where': 'host',
		'device': str(tmp_path / 'img'), 'build': BUILD,
		'workdir': str(tmp_path / 'w'),
		'out': str(tmp_path / 'raw.jsonl'), 'subjects': [], 'reps': 1}
	r = runner.Runner(plan)
	r.write_ctl(name)
	return r


@need_opbench
@pytest.mark.skipif(not shutil.which('flock'), reason='no flock(1)')
def test_hooks_of_four_clients_remount_once_and_wait(tmp_path):
	"""Four clones run "pre JOB cold 4" at once: one remounts (here a
	stand-in that takes 0.3 s) and snapshots, and every one returns
	only after that; the fourth "post" snapshots."""
	r = ctl_for(tmp_path)
	os.makedirs(r.hooks)
	text = open(r.ctl).read().replace(
		'remount() { :; }',
		'remount() { echo r >>"$HOOKS/remounts"; sleep 0.3; '
		'date +%s.%N >"$HOOKS/remounted"; }')
	with open(r.ctl, 'w') as f:
		f.write(text)
	ends = []

	def hook(*args):
		subprocess.run([r.ctl] + list(args), check=True, timeout=60)
		ends.append(time.time())
	ts = [threading.Thread(target=hook, args=('pre', 'job_x4', 'cold',
						 '4')) for _ in range(4)]
	for t in ts:
		t.start()
	for t in ts:
		t.join()
	with open(os.path.join(r.hooks, 'remounts')) as f:
		assert f.read() == 'r\n'
	with open(os.path.join(r.hooks, 'remounted')) as f:
		done = float(f.read())
	assert len(ends) == 4 and min(ends) >= done
	for _ in range(3):
		subprocess.run([r.ctl, 'post', 'job_x4', '4'], check=True)
	labels = [json.loads(l)['label'] for l in open(r.snaps)]
	assert labels == ['pre:job_x4']
	subprocess.run([r.ctl, 'post', 'job_x4', '4'], check=True)
	labels = [json.loads(l)['label'] for l in open(r.snaps)]
	assert labels == ['pre:job_x4', 'post:job_x4']


@need_opbench
@pytest.mark.skipif(not shutil.which('fio'), reason='fio not installed')
@pytest.mark.skipif(not shutil.which('flock'), reason='no flock(1)')
def test_fio_group_through_the_hooks(tmp_path):
	"""The quick profile's x4 jobs, run by fio in a plain directory with
	a tmpfs subject's control script: one snapshot pair per job, and
	the parsed aggregate."""
	r = ctl_for(tmp_path)
	d = tmp_path / 'dir'
	d.mkdir()
	os.makedirs(r.hooks)		# as the runner's data step does
	p = all_x4()
	job = tmp_path / 'x4.fio'
	job.write_text(fiojob.jobfile(p, str(d), r.ctl, persistent=False,
				      only=fiojob.JOBS_X4))
	cp = subprocess.run(['fio', '--output-format=json', str(job)],
			    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			    text=True, timeout=300, cwd=str(tmp_path))
	assert cp.returncode == 0, cp.stderr
	assert sorted(os.listdir(d)) == ['x4.%d' % i for i in range(4)]
	assert all(os.path.getsize(d / ('x4.%d' % i)) == 2 << 20
		   for i in range(4))
	snaps = [json.loads(l) for l in open(r.snaps)]
	want = []
	for j in fiojob.JOBS_X4:
		want += ['pre:' + j, 'post:' + j]
	assert [s['label'] for s in snaps] == want
	out = {j['name']: j for j in fiojob.parse(cp.stdout, snaps)}
	assert sorted(out) == sorted(fiojob.JOBS_X4)
	assert out['seqwrite_x4']['bytes'] == 8 << 20
	assert out['seqread_x4']['bytes'] == 8 << 20
	assert out['randwrite_x4']['ios'] == 256
	for j in out.values():
		assert j['value'] > 0 and j['clients'] == 4
		assert j['cost']['wall_s'] >= j['seconds'] * 0.9


# -- the report ------------------------------------------------------------

def sample(subject, metric, value):
	unit, better, _ = parse.METRICS[metric]
	return {'subject': subject, 'where': 'host', 'rep': 0,
		'metric': metric, 'value': value, 'unit': unit,
		'better': better}


def test_twins_and_names():
	assert parse.twin('create_x4_shared') == 'create'
	assert parse.twin('stat_uncached_x4') == 'stat_uncached'
	assert parse.twin('seqread_x4') == 'seqread'
	assert parse.twin('create') == 'create'
	for m in parse.X4:
		assert parse.twin(m) in parse.METRICS
		assert m in report.TITLE and 'x4' in report.TITLE[m]
		assert m in profiles.WORKLOADS
	assert profiles.only(['x4'])[-1] == 'x4'
	assert set(parse.X4) <= set(profiles.only(['x4']))
	assert profiles.only(['stat_cached_x4']) == [
		'create_x4_shared', 'stat_cached_x4']


def test_targets_count_x4_where_the_twin_counts():
	t = {x['id']: x for x in report.TARGETS}
	for m in ('seqwrite_x4', 'randread_x4'):
		assert m in t['T4']['metrics'] and m in t['T6']['metrics']
		assert m in t['T2']['metrics'] and m in t['T8']['metrics']
	assert 'create_x4_shared' in t['T5']['metrics']
	assert 'seqwrite_x4' not in t['T5']['metrics']
	assert t['T9']['metrics'] == parse.X4
	opt, base = 'twinfs-fuse-opt@host', 'twinfs-fuse-base@host'
	agg = report.aggregate([
		sample(opt, 'create', 100), sample(base, 'create', 200),
		sample(opt, 'create_x4_shared', 300),
		sample(base, 'create_x4_shared', 150),
		sample(opt, 'seqwrite_x4', 50), sample(base, 'seqwrite_x4', 100),
		sample('fuse-ceiling@host', 'seqwrite_x4', 50)])
	res = {x['id']: x for x in report.evaluate_targets(agg)}
	# T7 is one client only, T9 the x4 workloads
	assert [i['metric'] for i in res['T7']['items']] == ['create']
	assert res['T7']['missed'] == 1
	t9 = {i['metric']: i for i in res['T9']['items']}
	assert set(t9) == {'seqwrite_x4', 'create_x4_shared'}
	assert t9['create_x4_shared']['status'] == 'met'
	assert t9['seqwrite_x4']['status'] == 'missed'
	assert 'one thread' in t9['seqwrite_x4']['why']
	t4 = {i['metric']: i for i in res['T4']['items']}
	assert t4['seqwrite_x4']['ratio'] == pytest.approx(1.0)


def test_four_clients_against_one():
	opt = 'twinfs-fuse-opt@host'
	agg = report.aggregate([
		sample(opt, 'create', 100), sample(opt, 'create_x4', 250),
		sample(opt, 'create_x4_shared', 90),
		sample(opt, 'seqwrite_x4', 10),		# no twin: no cell
		sample('ext4@host', 'stat_cached', 1000),
		sample('ext4@host', 'stat_cached_x4', 1500),
		sample('twinfs-kmod', 'create', 10),
		sample('twinfs-kmod', 'create_x4', 30)])
	subs, rows = report.clients_table(agg, host=True)
	assert subs == [opt, 'ext4@host']
	got = {m: v for m, _, v in rows}
	assert got['create_x4'] == [pytest.approx(2.5), None]
	assert got['create_x4_shared'] == [pytest.approx(0.9), None]
	assert got['stat_cached_x4'] == [None, pytest.approx(1.5)]
	assert 'seqwrite_x4' not in got
	subs, rows = report.clients_table(agg, host=False)
	assert subs == ['twinfs-kmod'] and rows[0][2] == [pytest.approx(3.0)]


def test_report_with_x4_rows(rawdir):
	"""x4 samples in a real raw directory: their rows, the x4/x1 table
	and the CSV rows, tables well formed."""
	rec = stored_x4()
	rec['where'] = 'guest'
	with open(rawdir / 'guest.jsonl', 'a') as f:
		f.write(json.dumps(rec) + '\n')
	out = rawdir.parent / 'report'
	rep = report.build(str(rawdir), str(out))
	assert 'seqwrite_x4' in rep['agg']['twinfs-fuse-opt']
	table = rep['table']
	assert 'seq write 1M x4' in table
	assert 'Four clients against one' in table
	md = (out / 'report.md').read_text()
	assert '## Several clients' in md and '| seq write 1M x4 |' in md
	from test_report import md_tables_well_formed
	md_tables_well_formed(md)
	csv = (out / 'results.csv').read_text()
	assert ',seqwrite_x4,' in csv
