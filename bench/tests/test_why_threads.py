# bench/tests: bench/why-threads, the measurement behind docs/fuse.md "Why
# one thread", runs on real mounts and prints one sane line per run: a
# small run (200 creates and the 16 MiB random writes, one client, one
# repetition, two loops) must report positive rates, CPU and context
# switches, and more threads for `threads` than for one thread.  Needs
# root, perf, fio and the built daemon ($TWINFS_BUILD or build/); the
# script unmounts and removes its image itself, even when it fails.
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('TWINFS_BUILD') or os.path.join(ROOT, 'build')
SCRIPT = os.path.join(ROOT, 'bench', 'why-threads')

pytestmark = [
	pytest.mark.skipif(os.geteuid() != 0, reason='FUSE mounts: root'),
	pytest.mark.skipif(not os.access(os.path.join(BUILD, 'fusefs',
						      'twinfs-fuse'), os.X_OK),
			   reason='twinfs-fuse is not built'),
	pytest.mark.skipif(not (shutil.which('perf') and shutil.which('fio')),
			   reason='needs perf and fio'),
]


def test_why_threads_measures_each_loop(tmp_path):
	work = tmp_path / 'work'
	r = subprocess.run([SCRIPT, '-b', BUILD, '-n', '200', '-r', '1',
			    '-w', str(work), '-W', 'create randw',
			    '-L', 'single_thread threads'],
			   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   text=True, timeout=300)
	assert r.returncode == 0, r.stderr
	lines = r.stdout.splitlines()
	assert lines[0].split()[:3] == ['workload', 'loop', 'clients']
	rows = {}
	for line in lines[1:]:
		f = line.split()
		wl, loop, clients = f[0], f[1], int(f[2])
		wall, rate, cpu, cs, migr, threads = map(float, f[3:9])
		assert wall > 0 and rate > 0 and cpu > 0 and cs > 0, line
		assert migr >= 0, line
		rows[wl, loop, clients] = threads
	assert len(rows) == 8, r.stdout
	for wl in ('create', 'randw'):
		for c in (1, 4):
			assert rows[wl, 'threads', c] > rows[wl, 'single_thread', c]
	# nothing left behind
	with open('/proc/self/mountinfo') as f:
		assert str(work) not in f.read()
	assert not os.path.exists(work / 'img')
