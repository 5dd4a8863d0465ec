import os
import shlex
import subprocess

from twb import profiles, runner, subjects


def make(tmp_path, where='guest'):
	plan = {'profile': profiles.get('smoke'), 'where': where,
		'device': '/dev/vda', 'build': '/b', 'workdir': str(tmp_path),
		'out': str(tmp_path / 'raw.jsonl'), 'subjects': [], 'reps': 1}
	return runner.Runner(plan)


def test_control_scripts_are_valid_sh(tmp_path):
	r = make(tmp_path)
	for name in subjects.SUBJECTS:
		r.write_ctl(name)
		subprocess.run(['sh', '-n', r.ctl], check=True)
		text = open(r.ctl).read()
		mount = ' '.join(shlex.quote(a) for a in
				 r.fmt(subjects.SUBJECTS[name]['mount']))
		assert mount in text
		assert 'DEV=/dev/vda' in text and '--flush "$DEV"' in text
		if subjects.SUBJECTS[name]['daemon']:
			assert 'findpid' in text
		if not subjects.SUBJECTS[name]['persistent']:
			assert 'remount() { :; }' in text


def test_mount_commands(tmp_path):
	r = make(tmp_path)
	k = subjects.SUBJECTS['twinfs-kmod']
	cold = r.mount_cmds(k, cold=True)
	assert cold[:3] == ['modprobe', 'twinfs', '---']
	assert cold[3:] == ['mount', '-t', 'twinfs', '/dev/vda', r.mnt]
	assert r.mount_cmds(k, cold=False)[0] == 'mount'
	f = subjects.SUBJECTS['twinfs-fuse-opt']
	assert r.mount_cmds(f, cold=True) == [
		'/b/fusefs/twinfs-fuse', '/dev/vda', r.mnt, '-o',
		'profile=optimized']
	# no module loading on the host
	h = make(tmp_path, 'host')
	assert h.mount_cmds(k, cold=True)[0] == 'mount'


def test_emit_and_progress(tmp_path, capsys):
	r = make(tmp_path)
	r.subject, r.rep = 'ext4', 0
	r.raw('time', 'mount_cold', '{"ns":1,"rc":0}')
	r.progress(ev='step', step='x')
	line = open(tmp_path / 'raw.jsonl').read()
	assert '"kind": "time"' in line and '"where": "guest"' in line
	assert capsys.readouterr().out.startswith('@@twb {')


def test_steps_per_subject(tmp_path):
	r = make(tmp_path)
	names = [s for s, _ in r.subject_steps('ext4')]
	assert names == ['mkfs', 'mounts', 'data', 'latency', 'meta', 'umount']
	rec = [s[0] for s in r.recovery_steps('twinfs-fuse-opt')]
	assert rec == ['replay 1 MiB', 'kill -9']
	assert [s[0] for s in r.recovery_steps('twinfs-kmod')] == ['replay 1 MiB']
	assert r.recovery_steps('ext4') == []


def test_subject_availability(tmp_path):
	build = tmp_path / 'build'
	assert 'not built' in subjects.missing('twinfs-fuse-opt', str(build))
	for rel in ('tools/mkfs.twinfs', 'fusefs/twinfs-fuse'):
		p = build / rel
		p.parent.mkdir(parents=True, exist_ok=True)
		p.write_text('')
	assert subjects.missing('twinfs-fuse-opt', str(build)) is None
	# the host kernel loads no modules: what it has built in runs there
	fs = {'ext4', 'tmpfs', 'fuse'}
	assert 'guest only' in subjects.missing('twinfs-kmod', str(build),
						 'host', fs)
	assert 'guest only' in subjects.missing('exfat', str(build), 'host',
						 fs)
	assert subjects.missing('tmpfs', str(build), 'host', fs) is None
	assert 'guest only' in subjects.missing('ext4', str(build), 'host',
						 {'tmpfs'})
	if os.path.exists('/dev/loop-control'):
		assert subjects.missing('ext4', str(build), 'host', fs) is None
	# the ceiling needs its binary, built at bench time
	assert 'passthrough_ll' in subjects.missing('fuse-ceiling', str(build))
