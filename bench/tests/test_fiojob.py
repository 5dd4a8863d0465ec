import json

import pytest

from twb import fiojob, profiles

from conftest import load_records


def test_jobfile_semantics():
	p = profiles.get('quick')
	text = fiojob.jobfile(p, '/mnt/x', '/w/ctl.sh')
	assert 'directory=/mnt/x' in text
	for opt in ('direct=0', 'fallocate=none', 'create_serialize=0',
		    'randrepeat=1', 'stonewall', 'ioengine=psync'):
		assert opt + '\n' in text
	jobs = [l[1:-1] for l in text.splitlines() if l.startswith('[') and
		l != '[global]']
	# quick has four clients: two x4 jobs after the one-client ones
	assert jobs == fiojob.JOBS + ['seqwrite_x4', 'randread_x4']
	assert 'exec_prerun=/w/ctl.sh pre seqread cold\n' in text
	assert 'exec_prerun=/w/ctl.sh pre randread cold' in text
	assert 'exec_prerun=/w/ctl.sh pre seqwrite warm' in text
	assert text.count('end_fsync=1') == 3
	assert 'fsync=1\n' in text
	assert 'size=%dM' % p['seq_mib'] in text
	assert 'size=%dk' % (4 * p['fsync_writes']) in text


def test_jobfile_without_cache_to_drop():
	text = fiojob.jobfile(profiles.get('smoke'), '/m', 'c', persistent=False)
	assert ' cold' not in text


def fio_record():
	return [r for r in load_records() if r.get('kind') == 'fio'][0]


def test_parse_real_output():
	rec = fio_record()
	raw = json.loads(rec['data'][rec['data'].index('{'):])
	jobs = {j['jobname']: j for j in raw['jobs']}
	out = {j['name']: j for j in fiojob.parse(rec['data'], rec['snaps'])}
	assert sorted(out) == sorted(fiojob.JOBS)
	sw = jobs['seqwrite']
	secs = sw['job_runtime'] / 1000.0
	assert out['seqwrite']['value'] == pytest.approx(
		sw['write']['io_bytes'] / secs / 1e6)
	rr = jobs['randread']
	assert out['randread']['value'] == pytest.approx(
		rr['read']['total_ios'] / (rr['job_runtime'] / 1000.0))
	assert out['randread']['unit'] == 'IOPS'
	# fsync latency for the small-write job, clat for the others
	assert out['fsyncwrite']['lat']['p50'] == pytest.approx(
		jobs['fsyncwrite']['sync']['lat_ns']['percentile']['50.000000']
		/ 1000.0)
	assert out['seqread']['lat']['p99'] == pytest.approx(
		jobs['seqread']['read']['clat_ns']['percentile']['99.000000']
		/ 1000.0)
	# counters from the hook snapshots
	c = out['seqwrite']['cost']
	assert c['wall_s'] > 0 and c['ctxt'] > 0
	assert c['daemon_cpu_s'] is not None	# a FUSE subject
	assert c['fusereq'] > 0
	assert c['client_sys_s'] == pytest.approx(sw['sys_cpu'] / 100 * secs)


def test_failed_job_has_no_value():
	d = {'jobs': [{'jobname': 'seqwrite', 'error': 5, 'job_runtime': 10,
		       'read': {}, 'write': {'io_bytes': 100, 'total_ios': 1},
		       'usr_cpu': 0, 'sys_cpu': 0, 'ctx': 0},
		      {'jobname': 'other', 'error': 0}]}
	(j,) = fiojob.parse(d)
	assert j['value'] is None and j['error'] == 5
