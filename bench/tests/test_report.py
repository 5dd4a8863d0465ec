import csv
import json
import os
import shutil

import pytest

from twb import parse, report


def sample(subject, metric, value, rep=0, **kw):
	unit, better, _ = parse.METRICS[metric]
	s = {'subject': subject, 'where': 'guest', 'rep': rep,
	     'metric': metric, 'value': value, 'unit': unit, 'better': better}
	s.update(kw)
	return s


def test_aggregate_median_spread_and_params():
	ss = [sample('a', 'seqwrite', v, rep=i) for i, v in
	      enumerate([10, 30, 20])]
	ss += [sample('a', 'replay_mount', 1.0, param=4),
	       sample('a', 'replay_mount', 3.0, param=16)]
	agg = report.aggregate(ss)
	s = agg['a']['seqwrite']
	assert (s['n'], s['median'], s['min'], s['max']) == (3, 20, 10, 30)
	assert agg['a']['replay_mount@4']['median'] == 1.0
	assert agg['a']['replay_mount@16']['param'] == 16


def test_speed_ratio_orientation():
	agg = report.aggregate([
		sample('f', 'seqwrite', 50), sample('k', 'seqwrite', 100),
		sample('f', 'mount_cold', 2.0), sample('k', 'mount_cold', 1.0),
		sample('f', 'lat_lookup', 40.0), sample('k', 'lat_lookup', 10.0)])
	assert report.speed_ratio(agg, 'f', 'k', 'seqwrite') == 0.5
	# times and latencies: b/a, so below 1 still means "f is slower"
	assert report.speed_ratio(agg, 'f', 'k', 'mount_cold') == 0.5
	assert report.speed_ratio(agg, 'f', 'k', 'lat_lookup') == 0.25
	assert report.speed_ratio(agg, 'f', 'k', 'create') is None
	assert report.speed_ratio(agg, 'f', 'zz', 'seqwrite') is None


def test_targets_met_missed_unmeasured():
	cost = {'fusereq': 300.0, 'ctxt': 900, 'daemon_cpu_s': 0.5,
		'sys_busy_s': 1.0, 'client_user_s': 0.1, 'client_sys_s': 0.2}
	agg = report.aggregate([
		sample('twinfs-kmod', 'seqwrite', 100, cost=cost,
		       extra={'bytes': 100 << 20}),
		sample('ext4', 'seqwrite', 90),
		sample('twinfs-kmod', 'create', 50),
		sample('ext4', 'create', 100),
		sample('twinfs-fuse-opt', 'seqwrite', 70, cost=cost,
		       extra={'bytes': 100 << 20}),
		sample('twinfs-fuse-opt', 'seqread', 70),
	])
	t = {x['id']: x for x in report.evaluate_targets(agg)}
	t1 = {i['metric']: i for i in t['T1']['items']}
	assert t1['seqwrite']['status'] == 'met'
	assert t1['create']['status'] == 'missed'
	assert 'why' in t1['create']
	assert (t['T1']['met'], t['T1']['missed']) == (1, 1)
	t2 = {i['metric']: i for i in t['T2']['items']}
	assert t2['seqwrite']['status'] == 'missed'	# 0.7 < 0.8
	assert t2['seqwrite']['ratio'] == pytest.approx(0.7)
	assert '3.00 FUSE requests' in t2['seqwrite']['why']
	assert t2['seqread']['status'] == 'not measured'
	assert t['T2']['unmeasured'] == 1
	assert t['T3']['met'] == 0 and t['T3']['missed'] == 0


def test_per_unit_costs():
	s = report.aggregate([sample('x', 'randread', 1000, cost={
		'client_user_s': 0.1, 'client_sys_s': 0.1, 'daemon_cpu_s': 0.4,
		'sys_busy_s': 1.0, 'ctxt': 4000, 'fusereq': 2000},
		extra={'ios': 2000})])['x']['randread']
	c = report.per_unit_costs(s)
	assert c['per'] == 'op'
	assert c['client_cpu_ms'] == pytest.approx(0.1)
	assert c['daemon_cpu_ms'] == pytest.approx(0.2)
	assert c['ctx'] == pytest.approx(2.0)
	assert c['fusereq'] == pytest.approx(1.0)


def test_formatting_never_invents():
	assert report.fnum(None) == '-'
	assert report.fratio(None) == '-'
	assert report.fnum(0.0123, 's') == '12 ms'
	assert report.fnum(2.5, 's') == '2.50 s'
	assert report.fratio(0.035) == '0.035'
	assert report.fratio(1.234) == '1.23'


def md_tables_well_formed(md):
	"""Every Markdown table has the same number of cells in each row."""
	cur = None
	for line in md.splitlines():
		if line.startswith('|'):
			n = len(line.replace('\\|', '').split('|'))
			if cur is None:
				cur = n
			assert n == cur, line
		else:
			cur = None


def test_build_from_real_raw(rawdir):
	out = rawdir.parent / 'report'
	rep = report.build(str(rawdir), str(out))
	for name in ('report.md', 'results.json', 'results.csv', 'table.txt'):
		assert (out / name).exists(), name
	res = json.loads((out / 'results.json').read_text())
	assert res['environment']['guest_vm']['accel'] == 'tcg'
	assert res['environment']['host']['profile']['name'] == 'smoke'
	assert 'twinfs-kmod' in res['summary']
	assert any(r['metric'] == 'seqwrite' for r in res['ratios']['rows'])
	# the CSV has one row per subject and metric, medians included
	rows = list(csv.DictReader(open(out / 'results.csv')))
	keys = {(r['subject'], r['metric'], r['param']) for r in rows}
	assert ('twinfs-fuse-opt', 'seqwrite', '') in keys
	assert ('twinfs-kmod', 'replay_mount', '1') in keys
	assert all(float(r['median']) > 0 for r in rows)
	assert {r['accel'] for r in rows} == {'tcg'}
	assert {r['profile'] for r in rows} == {'smoke'}
	md = (out / 'report.md').read_text()
	md_tables_well_formed(md)
	assert '## Targets' in md and 'T2' in md
	assert 'TCG' in md
	# the terminal table: ratio columns, and "-" where a pair is missing
	table = rep['table']
	assert 'opt/kmod' in table and 'kmod/ext4' in table
	line = [l for l in table.splitlines() if l.startswith('seq write 1M')][0]
	cells = line.split()
	assert '-' in cells	# fuse2fs/ext4 was not run
	# the ratio printed is the one computed from the medians
	agg = rep['agg']
	r = agg['twinfs-fuse-opt']['seqwrite']['median'] / \
		agg['twinfs-kmod']['seqwrite']['median']
	assert report.fratio(r) == cells[3]


def test_plots_when_gnuplot_is_there(rawdir):
	if not shutil.which('gnuplot'):
		pytest.skip('gnuplot not installed')
	out = rawdir.parent / 'report'
	rep = report.build(str(rawdir), str(out))
	assert 'error' not in rep['plots'], rep['plots']
	for key in ('ratios', 'latency', 'mount', 'throughput'):
		base = rep['plots'][key].rsplit('.', 1)[0]
		for ext in ('png', 'svg'):
			f = out / (base + '.' + ext)
			assert f.exists() and f.stat().st_size > 1000, f
	assert (out / 'ratios.png').read_bytes()[:4] == b'\x89PNG'
	assert b'<svg' in (out / 'ratios.svg').read_bytes()[:400]


def test_missing_subjects_and_errors_are_reported(rawdir):
	with open(rawdir / 'guest.jsonl', 'a') as f:
		f.write(json.dumps({'type': 'missing', 'subject': 'exfat-fuse',
				    'reason': 'mount.exfat-fuse is not installed',
				    'where': 'guest'}) + '\n')
		f.write(json.dumps({'type': 'error', 'subject': 'twinfs-kmod',
				    'rep': 0, 'step': 'data',
				    'message': 'fio failed (exit 1)',
				    'info': {'cmd': ['fio', 'x.fio'],
					     'stderr': 'boom'},
				    'where': 'guest'}) + '\n')
	out = rawdir.parent / 'report'
	rep = report.build(str(rawdir), str(out))
	md = (out / 'report.md').read_text()
	assert 'exfat-fuse: mount.exfat-fuse is not installed' in md
	assert 'fio failed (exit 1)' in md and 'boom' in md
	assert 'Left out' in rep['table']
	assert '1 step failed' in rep['table']


def test_unparsable_raw_becomes_an_error(rawdir):
	with open(rawdir / 'guest.jsonl', 'a') as f:
		f.write(json.dumps({'type': 'raw', 'subject': 'twinfs-kmod',
				    'kind': 'opbench', 'step': 'create',
				    'data': 'garbage'}) + '\n')
	data = report.collect(str(rawdir))
	assert any('unparsable' in e['message'] for e in data['errors'])


def test_load_warning():
	data = {'env': {'host_cpus': 2, 'host_load_during_run':
			{'median': 9.5, 'max': 14.0, 'min': 3, 'n': 10}}}
	w = report.load_warning(data)
	assert '9.5 median' in w and '2 CPUs' in w
	data['env']['host_load_during_run']['median'] = 1.2
	assert report.load_warning(data) is None
	assert report.load_warning({'env': {}}) is None


def test_fault_isolation_results_are_shown(rawdir):
	fi = [{'name': 'kernel-crash', 'home': 'kernel', 'fault': 'crash',
	       'serve_again_seconds': 14.2,
	       'serve_again_parts': {'detect': 0.2, 'reboot': 12.0,
				     'module_load': 1.0, 'mount_replay': 1.0},
	       'system': 'kernel tainted 0x80', 'fsynced_survived': '12/12'},
	      {'name': 'fuse-crash', 'home': 'fuse', 'fault': 'crash',
	       'error': 'no observation'}]
	(rawdir / 'fault-isolation.json').write_text(json.dumps(fi))
	(rawdir / 'fault-isolation-run.json').write_text(json.dumps(
		{'ran': False, 'from': '/b/crash/fault-isolation.json',
		 'date': '2026-01-01T00:00:00'}))
	out = rawdir.parent / 'report'
	report.build(str(rawdir), str(out))
	md = (out / 'report.md').read_text()
	assert '| kernel-crash | kernel | 14.20 s |' in md
	assert 'reboot 12.00 s' in md and '12/12' in md
	assert 'no observation' in md
	assert '/b/crash/fault-isolation.json' in md
	md_tables_well_formed(md)


def test_no_fault_isolation_results_said_so(rawdir):
	out = rawdir.parent / 'report'
	report.build(str(rawdir), str(out))
	assert 'has no results in this build' in (out / 'report.md').read_text()


def test_rebuilt_binaries_warning(rawdir):
	env = json.loads((rawdir / 'host-env.json').read_text())
	env['binaries_changed'] = ['fusefs/twinfs-fuse']
	(rawdir / 'host-env.json').write_text(json.dumps(env))
	out = rawdir.parent / 'report'
	rep = report.build(str(rawdir), str(out))
	assert 'rebuilt while the run was going on' in rep['table']
	assert 'fusefs/twinfs-fuse' in (out / 'report.md').read_text()


def test_replay_within_noise_is_flagged():
	def s(med, lo, hi, n=3):
		return {'median': med, 'min': lo, 'max': hi, 'n': n, 'unit': 's'}
	# a replay that stands out of the clean mount's spread
	assert report.replay_cell(s(0.30, 0.28, 0.33), s(0.09, 0.08, 0.10)) \
		== report.fnum(0.21, 's')
	# overlapping ranges, and a negative difference: not resolved
	assert report.replay_cell(s(0.019, 0.015, 0.030),
				  s(0.017, 0.012, 0.025)).endswith(
		'(within the noise)')
	assert report.replay_cell(s(0.019, 0.019, 0.019, 1),
				  s(0.025, 0.025, 0.025, 1)).endswith(
		'(within the noise)')
	assert report.replay_cell(None, s(0.1, 0.1, 0.1)) == '-'
