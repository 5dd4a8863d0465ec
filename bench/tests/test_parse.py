import json

import pytest

from twb import parse

from conftest import load_records


def snap(t, cpu, ctxt, **kw):
	s = {'t_ns': t, 'cpu': cpu, 'ctxt': ctxt, 'clk_tck': 100}
	s.update(kw)
	return s


def test_first_json_skips_noise():
	text = 'seqread : Saving output of prerun in x.txt\n{"a": {"b": 1}}\n'
	assert parse.first_json(text) == {'a': {'b': 1}}
	with pytest.raises(ValueError):
		parse.first_json('no json here')


def test_json_lines():
	assert parse.json_lines('{"a":1}\n\n junk\n{"b":2}\n') == [{'a': 1},
								    {'b': 2}]


def test_snap_delta_ticks_and_daemon():
	b = snap(0, [100, 0, 50, 1000, 10, 0, 0, 0], 500,
		 daemon={'pid': 7, 'utime': 10, 'stime': 20, 'vcsw': 5,
			 'ivcsw': 1}, fusereq=40)
	a = snap(2_000_000_000, [150, 0, 80, 1100, 20, 5, 5, 0], 900,
		 daemon={'pid': 7, 'utime': 30, 'stime': 25, 'vcsw': 15,
			 'ivcsw': 2}, fusereq=100)
	d = parse.snap_delta(b, a)
	assert d['wall_s'] == 2.0
	# busy = everything but idle and iowait: 50 + 30 + 5 + 5 ticks
	assert d['sys_busy_s'] == pytest.approx(0.90)
	assert d['sys_user_s'] == pytest.approx(0.50)
	assert d['sys_kernel_s'] == pytest.approx(0.40)
	assert d['ctxt'] == 400
	assert d['daemon_user_s'] == pytest.approx(0.20)
	assert d['daemon_sys_s'] == pytest.approx(0.05)
	assert d['daemon_cpu_s'] == pytest.approx(0.25)	# no run_ns: ticks
	assert d['daemon_ctx'] == 11
	assert d['fusereq'] == 60


def test_snap_delta_daemon_run_time_in_ns():
	b = snap(0, [0] * 8, 0, sched_ns=1_000_000,
		 daemon={'pid': 3, 'utime': 0, 'stime': 0, 'run_ns': 0,
			 'vcsw': 0, 'ivcsw': 0})
	a = snap(10, [1] * 8, 0, sched_ns=4_000_000,
		 daemon={'pid': 3, 'utime': 1, 'stime': 1, 'run_ns': 1_500_000,
			 'vcsw': 0, 'ivcsw': 0})
	d = parse.snap_delta(b, a)
	assert d['sys_busy_s'] == pytest.approx(0.06)	# ticks, not sched_ns
	assert d['daemon_cpu_s'] == pytest.approx(0.0015)


def test_snap_delta_other_daemon_or_missing():
	b = snap(0, [0] * 8, 0, daemon={'pid': 1, 'utime': 0, 'stime': 0,
					'vcsw': 0, 'ivcsw': 0})
	a = snap(1, [0] * 8, 0, daemon={'pid': 2, 'utime': 9, 'stime': 9,
					'vcsw': 9, 'ivcsw': 9})
	d = parse.snap_delta(b, a)
	assert d['daemon_cpu_s'] is None and d['daemon_ctx'] is None
	assert d['fusereq'] is None	# no kprobe counter
	assert parse.snap_delta(None, a) is None


def test_opbench_result_from_real_output():
	rec = [r for r in load_records() if r.get('kind') == 'opbench' and
	       r['step'] == 'create'][0]
	raw = json.loads(rec['data'])
	r = parse.opbench_result(rec['data'])
	assert r['ops'] == raw['ops']
	assert r['seconds'] == pytest.approx(raw['total_ns'] / 1e9)
	assert r['lat']['p50'] == pytest.approx(raw['lat_ns']['p50'] / 1e3)
	assert r['lat']['p99'] >= r['lat']['p50']
	assert r['cost']['client_user_s'] == raw['rusage']['utime_s']


def test_samples_from_every_record_kind():
	metrics = {}
	for rec in load_records():
		for s in parse.samples_from_raw(rec):
			assert s['metric'] in parse.METRICS
			assert s['unit'] == parse.METRICS[s['metric']][0]
			assert s['value'] is not None and s['value'] > 0
			metrics.setdefault(rec['subject'], set()).add(s['metric'])
	want = set(parse.DATA + parse.MOUNT + parse.LATENCY +
		   ['create', 'stat_cached', 'stat_uncached', 'readdir',
		    'rename', 'unlink', 'replay_mount', 'replay_clean'])
	assert want <= metrics['twinfs-kmod']
	assert want | {'recover_kill9'} <= metrics['twinfs-fuse-opt']


def test_readdir_value_is_entries_per_second():
	rec = [r for r in load_records() if r.get('step') == 'readdir'][0]
	raw = json.loads(rec['data'])
	(s,) = parse.samples_from_raw(rec)
	assert s['value'] == pytest.approx(raw['entries_per_s'])
	assert s['extra']['entries'] == raw['entries']


def test_time_and_umount_records():
	rec = {'type': 'raw', 'subject': 'x', 'rep': 1, 'kind': 'time',
	       'step': 'mount_cold',
	       'data': '{"tool":"opbench","op":"time","ns":2500000000,"rc":0,'
		       '"each_ns":[2000000000,500000000]}\n',
	       'extra': {'module_unloaded': True}}
	(s,) = parse.samples_from_raw(rec)
	assert s['value'] == 2.5 and s['unit'] == 's' and s['better'] == 'lower'
	assert s['extra']['each_s'] == [2.0, 0.5]
	rec['data'] = rec['data'].replace('"rc":0', '"rc":1')
	assert parse.samples_from_raw(rec) == []	# a failed command
	um = {'type': 'raw', 'subject': 'x', 'kind': 'umount', 'step': 'umount',
	      'data': '{"op":"umount","ns":30000000,"umount_ns":1000000,'
		      '"rc":0}'}
	(s,) = parse.samples_from_raw(um)
	assert s['value'] == pytest.approx(0.03)
	assert s['extra']['umount_s'] == pytest.approx(0.001)


def test_param_is_kept():
	rec = {'type': 'raw', 'subject': 'x', 'kind': 'time', 'param': 16,
	       'step': 'replay_mount', 'data': '{"ns":1,"rc":0}'}
	(s,) = parse.samples_from_raw(rec)
	assert s['param'] == 16


def test_non_raw_records_give_nothing():
	assert parse.samples_from_raw({'type': 'env'}) == []
	assert parse.samples_from_raw({'type': 'error', 'step': 'data'}) == []
