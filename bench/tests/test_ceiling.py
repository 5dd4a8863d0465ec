# bench/tests: the FUSE ceiling (libfuse's passthrough_ll, compiled at
# bench time) and the host's kernel references: it builds, it mounts over
# kernel ext4 on a loop device, the runner's loop device goes away even
# when the run fails, and the report shows twinfs-fuse against the
# ceiling and fuse2fs with issue 12's targets.  The mounting tests need
# root, /dev/fuse and loop devices; each cleans up in a finally.
import gzip
import os
import shutil
import subprocess

import pytest

from twb import ceiling, fusecost, parse, profiles, report, runner, subjects

ROOT_ONLY = pytest.mark.skipif(
	os.geteuid() != 0 or not os.path.exists('/dev/fuse') or
	not os.path.exists('/dev/loop-control') or
	'ext4' not in subjects.host_filesystems(),
	reason='needs root, /dev/fuse, loop devices and ext4')


def sample(subject, metric, value):
	unit, better, _ = parse.METRICS[metric]
	return {'subject': subject, 'where': 'host', 'rep': 0,
		'metric': metric, 'value': value, 'unit': unit,
		'better': better}


# -- building ---------------------------------------------------------------

def test_ceiling_builds_from_the_package(tmp_path):
	info = ceiling.build(str(tmp_path))
	if not os.path.exists(os.path.join(ceiling.EXAMPLES, ceiling.SOURCE)) \
	   and not os.path.exists(os.path.join(ceiling.EXAMPLES,
					       ceiling.SOURCE + '.gz')):
		# the package does not ship it here: say so, build nothing
		assert info['binary'] is None
		assert info['why'].startswith('not measured:')
		pytest.skip(info['why'])
	assert info['why'] is None, info
	assert info['binary'] == str(tmp_path / ceiling.BINARY)
	out = subprocess.run([info['binary'], '--help'],
			     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			     text=True).stdout
	assert 'cache=always' in out and 'source=' in out
	# nothing of it is in the project's sources
	here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
	for dirpath, _, files in os.walk(here):
		assert ceiling.SOURCE not in files, dirpath


def test_compressed_examples_are_built_too(tmp_path):
	src = os.path.join(ceiling.EXAMPLES, ceiling.SOURCE)
	if not os.path.exists(src):
		pytest.skip('no %s here' % src)
	ex = tmp_path / 'examples'
	ex.mkdir()
	for name in [ceiling.SOURCE] + ceiling.HEADERS:
		with open(os.path.join(ceiling.EXAMPLES, name), 'rb') as f, \
		     gzip.open(ex / (name + '.gz'), 'wb') as g:
			shutil.copyfileobj(f, g)
	info = ceiling.build(str(tmp_path / 'b'), examples=str(ex))
	assert info['why'] is None and os.access(info['binary'], os.X_OK)


def test_missing_example_is_not_measured_and_says_why(tmp_path):
	# a binary of an earlier run must not be measured in its place
	stale = tmp_path / ceiling.BINARY
	stale.parent.mkdir(parents=True)
	stale.write_text('')
	info = ceiling.build(str(tmp_path), examples=str(tmp_path / 'none'))
	assert info['binary'] is None
	assert info['why'].startswith('not measured:')
	assert 'libfuse3-dev' in info['why']
	assert not stale.exists()
	assert 'not measured' in subjects.missing('fuse-ceiling',
						  str(tmp_path), 'host')


# -- profiles and commands -----------------------------------------------------

def test_profiles_have_the_ceiling_and_references():
	q = profiles.get('quick')
	assert 'fuse-ceiling' in q['guest_subjects']
	for name in ('fuse-ceiling', 'ext4', 'tmpfs', 'fuse2fs',
		     'twinfs-fuse-opt', 'twinfs-fuse-base'):
		assert name in q['host_subjects']
	assert {'fuse-ceiling', 'ext4'} <= set(
		profiles.get('smoke')['host_subjects'])


def test_ceiling_mounts_its_ext4_first(tmp_path):
	plan = {'profile': profiles.get('smoke'), 'where': 'guest',
		'device': '/dev/vda', 'build': '/b', 'workdir': str(tmp_path),
		'out': str(tmp_path / 'raw.jsonl'), 'subjects': [], 'reps': 1}
	r = runner.Runner(plan)
	s = subjects.SUBJECTS['fuse-ceiling']
	cmds = r.mount_cmds(s, cold=True)
	assert cmds[:3] == ['modprobe', 'ext4', '---']
	i = cmds.index('---', 3)
	assert cmds[3:i] == ['mount', '-t', 'ext4', '/dev/vda', r.lower]
	# open files up to the hard limit: a descriptor per inode it knows
	assert cmds[i + 1:i + 4] == ['sh', '-c', ceiling.RAISE_NOFILE]
	assert cmds[i + 4] == '/b/' + ceiling.BINARY
	assert 'source=%s,%s' % (r.lower, ceiling.OPTIONS) in cmds
	assert cmds[-1] == r.mnt
	r.subject = 'fuse-ceiling'
	r.write_ctl('fuse-ceiling')
	subprocess.run(['sh', '-n', r.ctl], check=True)
	text = open(r.ctl).read()
	# the FUSE mount goes first, then the ext4 below, flushed
	um = text[text.index('umount_fs()'):]
	assert um.index('"$MNT"') < um.index('"$LOWER" --timeout 120 '
					     '--flush "$DEV"')


# -- mounting, as root -------------------------------------------------------

def _mounted(path):
	with open('/proc/self/mountinfo') as f:
		return any(l.split()[4] == path for l in f)


def _loops_of(img):
	out = subprocess.run(['losetup', '-n', '-O', 'NAME', '-j', str(img)],
			     stdout=subprocess.PIPE, text=True).stdout
	return out.split()


@pytest.fixture
def image(tmp_path):
	"""A 64 MiB image file; whatever a test leaves on it (mounts under
	tmp_path, loop devices) is removed afterwards, even on failure."""
	img = tmp_path / 'disk.img'
	with open(img, 'wb') as f:
		f.truncate(64 << 20)
	yield img
	for d in ('mnt', 'lower'):
		p = str(tmp_path / d)
		for _ in range(3):
			if not _mounted(p):
				break
			subprocess.run(['umount', '-l', p])
	for dev in _loops_of(img):
		subprocess.run(['losetup', '-d', dev])
	assert not _loops_of(img)


@ROOT_ONLY
def test_ceiling_mounts_over_ext4_on_a_loop_device(tmp_path, image):
	info = ceiling.build(str(tmp_path / 'b'))
	if info['why']:
		pytest.skip(info['why'])
	lower, mnt = tmp_path / 'lower', tmp_path / 'mnt'
	lower.mkdir()
	mnt.mkdir()
	loop = subprocess.run(['losetup', '--find', '--show', str(image)],
			      stdout=subprocess.PIPE, text=True,
			      check=True).stdout.strip()
	subprocess.run(subjects.expand(subjects.MKFS_EXT4, dev=loop),
		       check=True)
	subprocess.run(['mount', '-t', 'ext4', loop, str(lower)], check=True)
	subprocess.run([info['binary'], '-o', 'source=%s,%s' % (
		lower, ceiling.OPTIONS), str(mnt)], check=True)
	assert _mounted(str(mnt))
	with open(mnt / 'f', 'wb') as f:
		f.write(b'x' * 10000)
		os.fsync(f.fileno())
	assert (lower / 'f').stat().st_size == 10000
	subprocess.run(['umount', str(mnt)], check=True)
	subprocess.run(['umount', str(lower)], check=True)


@ROOT_ONLY
def test_runner_detaches_its_loop_device_when_the_run_fails(tmp_path,
								image):
	(tmp_path / 'w').mkdir()
	plan = {'profile': profiles.get('smoke'), 'where': 'host',
		'device': str(image), 'build': '/b',
		'workdir': str(tmp_path / 'w'), 'out': str(tmp_path / 'raw'),
		'subjects': ['ext4', 'twinfs-fuse-opt'], 'reps': 1}
	r = runner.Runner(plan)
	seen = []

	def boom():
		seen.append(_loops_of(image))
		assert r.device_for('ext4') == r.loop
		assert r.device_for('twinfs-fuse-opt') == str(image)
		raise RuntimeError('the run failed')
	r.run_plan = boom
	with pytest.raises(RuntimeError):
		r.main()
	assert len(seen[0]) == 1 and seen[0][0].startswith('/dev/loop')
	assert not _loops_of(image)


# -- the report ---------------------------------------------------------------

def test_report_against_the_ceiling_and_fuse2fs():
	h = '@host'
	agg = report.aggregate([
		sample('twinfs-fuse-opt' + h, 'seqwrite', 95),
		sample('fuse-ceiling' + h, 'seqwrite', 100),
		sample('ext4' + h, 'seqwrite', 400),
		sample('fuse2fs' + h, 'seqwrite', 50),
		sample('twinfs-fuse-opt' + h, 'seqread', 50),
		sample('fuse-ceiling' + h, 'seqread', 100),
		sample('twinfs-fuse-opt' + h, 'create', 1000),
		sample('fuse2fs' + h, 'create', 400),
	])
	cols, rows = fusecost.table(agg, h, report.ROWS, report.speed_ratio)
	titles = [c[2] for c in cols]
	assert titles == ['opt/ceiling', 'opt/fuse2fs', 'fuse2fs/ceiling',
			  'ceiling/ext4']
	sw = dict(zip(titles, rows[0][2]))
	assert rows[0][0] == 'seqwrite'
	assert sw['opt/ceiling'] == pytest.approx(0.95)
	assert sw['ceiling/ext4'] == pytest.approx(0.25)
	assert sw['opt/fuse2fs'] == pytest.approx(1.9)
	t = {x['id']: x for x in report.evaluate_targets(agg)}
	t4 = {i['metric']: i for i in t['T4']['items']}
	assert t4['seqwrite']['status'] == 'met'
	assert t4['seqread']['status'] == 'missed'
	assert 'passthrough_ll' in t4['seqread']['why']
	assert (t['T5']['met'], t['T5']['missed']) == (1, 0)	# 2.5x
	assert (t['T6']['met'], t['T6']['missed']) == (1, 0)	# 1.9x
	assert 'tw-fuse-base on the host' in report.target_counts(t['T7'])
	md = '\n'.join(fusecost.markdown(agg, report.ROWS,
					 report.speed_ratio, report.fratio,
					 report.md_table))
	assert '## What FUSE costs, and what the daemon costs' in md
	assert '- ceiling/ext4: what FUSE itself costs' in md
	assert 'In the guest' not in md		# host only
	term = '\n'.join(fusecost.terminal(agg, report.ROWS,
					   report.speed_ratio, report.fratio,
					   report.text_table))
	assert 'natively on the host' in term and 'opt/ceiling' in term


def test_no_big_directory_on_the_ceiling(tmp_path):
	plan = {'profile': profiles.get('full'), 'where': 'guest',
		'device': '/dev/vda', 'build': '/b', 'workdir': str(tmp_path),
		'out': str(tmp_path / 'raw.jsonl'), 'subjects': [], 'reps': 1}
	r = runner.Runner(plan)
	r.rep = 0
	assert 'bigdir' in [s for s, _ in r.subject_steps('ext4')]
	assert 'bigdir' not in [s for s, _ in r.subject_steps('fuse-ceiling')]
