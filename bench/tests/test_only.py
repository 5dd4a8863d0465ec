# bench/tests: bench/twbench --only, a run limited to some workloads
# (what is selected, what comes along, what the runner then does).
import os
import subprocess
import sys

import pytest

from twb import fiojob, profiles, report, runner

HERE = os.path.dirname(os.path.realpath(__file__))
TWBENCH = os.path.join(os.path.dirname(HERE), 'twbench')


def make(tmp_path, only=None, name='quick'):
	p = profiles.get(name, only=only)
	plan = {'profile': p, 'where': 'guest', 'device': '/dev/vda',
		'build': '/b', 'workdir': str(tmp_path),
		'out': str(tmp_path / 'raw.jsonl'), 'subjects': [], 'reps': 1}
	return runner.Runner(plan)


def test_dependencies_come_along_in_a_fixed_order():
	assert profiles.only(['unlink']) == ['create', 'rename', 'unlink']
	assert profiles.only(['stat_uncached', 'getattr']) == [
		'seqwrite', 'getattr', 'create', 'stat_uncached']
	assert profiles.only(['create', 'create']) == ['create']
	assert profiles.only(['kill9', 'mount']) == ['mount', 'kill9']
	# every name's needs are names too, and come before it
	for name in profiles.WORKLOADS:
		got = profiles.only([name])
		assert name in got
		for need in profiles.WORKLOADS[name]:
			assert got.index(need) < got.index(name)


def test_unknown_or_no_workload():
	with pytest.raises(ValueError, match='unknown workload .stat.'):
		profiles.only(['stat'])
	with pytest.raises(ValueError, match='no workload'):
		profiles.only([])


def test_default_profiles_measure_everything(tmp_path):
	for name in profiles.PROFILES:
		assert 'only' not in profiles.get(name)
	r = make(tmp_path)
	assert r.only is None
	assert all(r.wants(w) for w in profiles.WORKLOADS)
	assert [s for s, _ in r.subject_steps('twinfs-kmod')] == [
		'mkfs', 'mounts', 'data', 'latency', 'meta', 'meta_x4',
		'umount']
	assert [s[0] for s in r.recovery_steps('twinfs-fuse-base')] == [
		'replay 4 MiB', 'kill -9']


def test_steps_follow_the_selection(tmp_path):
	r = make(tmp_path, only=['create', 'stat_cached'])
	assert [s for s, _ in r.subject_steps('twinfs-fuse-opt')] == [
		'mkfs', 'meta', 'umount']
	assert r.recovery_steps('twinfs-fuse-opt') == []
	r = make(tmp_path, only=profiles.only(['getattr', 'kill9', 'mount']))
	assert [s for s, _ in r.subject_steps('twinfs-fuse-base')] == [
		'mkfs', 'mounts', 'data', 'latency', 'umount']
	assert [s[0] for s in r.recovery_steps('twinfs-fuse-base')] == [
		'kill -9']
	assert r.recovery_steps('twinfs-kmod') == []
	r = make(tmp_path, only=['replay'])
	assert [s[0] for s in r.recovery_steps('twinfs-kmod')] == [
		'replay 4 MiB']
	# the big directory only where the profile makes one
	assert 'bigdir' not in [s for s, _ in make(
		tmp_path, only=['bigdir']).subject_steps('ext4')]
	assert [s for s, _ in make(tmp_path, only=['bigdir'], name='full')
		.subject_steps('ext4')] == ['mkfs', 'bigdir', 'umount']


def test_runner_expands_a_plan_it_is_given(tmp_path):
	"""A plan written by hand with only ["unlink"] still creates and
	renames first."""
	r = make(tmp_path, only=['unlink'])
	assert r.only == ['create', 'rename', 'unlink']


def jobs_of(text):
	return [l[1:-1] for l in text.splitlines()
		if l.startswith('[') and l != '[global]']


def test_jobfile_keeps_the_selected_jobs():
	p = profiles.get('quick')
	assert jobs_of(fiojob.jobfile(p, '/m', 'c')) == fiojob.JOBS + \
		p['x4_data']
	text = fiojob.jobfile(p, '/m', 'c', only=['fsyncwrite', 'seqwrite'])
	assert jobs_of(text) == ['seqwrite', 'fsyncwrite']
	assert 'exec_prerun=c pre seqread' not in text
	assert 'directory=/m\n' in text and 'stonewall\n' in text


class Calls:
	"""Stands in for opbench and the control script: records what the
	runner asks for."""

	def __init__(self, r):
		self.log = []
		r.mounted = lambda: True
		r.ctl_run = lambda *a, **kw: self.log.append(' '.join(a))
		r.ob = self.ob
		r.opbench = self.opbench
		r.raw = lambda kind, step, data, **kw: self.log.append(
			'raw ' + step)

	def ob(self, step, *args):
		self.log.append(step)
		return {'ops': 5}

	def opbench(self, *args, **kw):
		self.log.append('opbench ' + args[0])
		return '{}', ''


def test_meta_sequence(tmp_path):
	r = make(tmp_path)
	c = Calls(r)
	r.s_meta()
	assert c.log == ['create', 'stat_cached', 'remount', 'readdir',
			 'remount', 'stat_uncached', 'rename', 'unlink']
	r = make(tmp_path, only=['stat_uncached'])
	c = Calls(r)
	r.s_meta()
	assert c.log == ['create', 'remount', 'stat_uncached']
	r = make(tmp_path, only=['stat_cached', 'unlink'])
	c = Calls(r)
	r.s_meta()
	assert c.log == ['create', 'stat_cached', 'rename', 'unlink']


def test_latency_sequence(tmp_path):
	r = make(tmp_path)
	r.mnt, r.pidf = str(tmp_path), str(tmp_path / 'pid')
	(tmp_path / 'seq.dat').write_bytes(b'x')
	c = Calls(r)
	r.s_latency()
	assert c.log == ['remount', 'opbench read', 'raw read4k',
			 'opbench getattr', 'raw getattr']
	r = make(tmp_path, only=['getattr'])
	r.mnt, r.pidf = str(tmp_path), str(tmp_path / 'pid')
	c = Calls(r)
	r.s_latency()
	assert c.log == ['remount', 'opbench getattr', 'raw getattr']


def test_report_names_the_selection():
	data = {'env': {'profile': profiles.get('smoke', only=['create'])},
		'vm': None, 'guest_env': None}
	assert report.env_line(data).endswith(', only create')
	data['env']['profile'] = profiles.get('smoke')
	assert 'only' not in report.env_line(data)


def test_command_line_refuses_unknown_workloads():
	cp = subprocess.run([sys.executable, TWBENCH, '--only', 'create,bogus'],
			    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			    text=True)
	assert cp.returncode == 2
	assert "unknown workload 'bogus'" in cp.stderr
	assert 'stat_uncached' in cp.stderr
	cp = subprocess.run([sys.executable, TWBENCH, '--help'],
			    stdout=subprocess.PIPE, text=True)
	assert '--only WORKLOAD,...' in cp.stdout
