# twinfs tests/kmod: work done in ONE guest boot for the host-side tests
# that need the host before and after the guest (cross-home images, the
# concurrency run, the POSIX suite on the kernel mount).
# Layer: test helper (Python stdlib only).  Host side: prepare() makes the
# images with the project's tools and twinfs-fuse.  Guest side (run as
# `python3 tests/kmod/kjobs.py WORKDIR`): each job mounts its disk with the
# kernel module, does its work, unmounts, and writes WORKDIR/NAME.json; the
# host-side tests then check the images with fsck.twinfs, twinfs-ctl and
# twinfs-fuse.
#
# Jobs (the conftest's guest_jobs fixture runs those the selected tests
# name with @pytest.mark.guest_job(NAME)):
#
#   crosshome  disk h: written on the host (twinfs-ctl, then twinfs-fuse);
#              the module reads it (manifest), then changes it.  disk k:
#              empty; the module writes a whole tree on it.
#   stress     disk s: several processes hammer one kernel mount, under
#              memory pressure; then mounted again and checked.
#   posix      disk p: tests/posix runs unchanged on the kernel mount
#              (--mount DIR), fsx differential test included; its make_fs
#              filesystems are loop-mounted images (TWINFS_POSIX_MKFS).
#   exhaust    disk e: a directory at its link limit, made on the host
#              (exhaust.py); the module must say EMLINK.
import json
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import exhaust  # noqa: E402
import kmodutil  # noqa: E402
import stress  # noqa: E402
import trees  # noqa: E402

ROOT = kmodutil.ROOT

# Per-job settings (environment overrides for a slower or faster machine)
STRESS_SECONDS = int(os.environ.get('TWINFS_KMOD_STRESS_SECONDS', '25'))
STRESS_WORKERS = int(os.environ.get('TWINFS_KMOD_STRESS_WORKERS', '4'))
# The fsx differential test under emulation: fewer operations than on the
# host (TCG runs the guest ~20x slower); set TWINFS_FSX_OPS to change it.
POSIX_FSX_OPS = os.environ.get('TWINFS_KMOD_FSX_OPS', '600')

# name -> (guest time budget in seconds)
JOBS = {'crosshome': 240, 'stress': STRESS_SECONDS + 240, 'posix': 1500,
	'exhaust': 120}
ORDER = ['crosshome', 'stress', 'exhaust', 'posix']

CTL_SCRIPT = """\
mkdir /ctl
put {src}/common/journal.c /ctl/journal.c
put {src}/docs/architecture.md /ctl/architecture.md
mkdir /ctl/sub
put {src}/common/dir.c /ctl/sub/dir.c
symlink ../journal.c /ctl/sub/link-up
symlink {longtarget} /ctl/longlink
ln /ctl/journal.c /ctl/journal-hardlink
setxattr /ctl/journal.c user.written-by twinfs-ctl
chmod 0640 /ctl/architecture.md
put /dev/null /ctl/sparse
put /dev/null /ctl/far
write /ctl/sparse 0 head
write /ctl/sparse 7340032 tail-at-7MiB
write /ctl/far 4294967296 at-4GiB
truncate /ctl/sub/dir.c 5000
mv /ctl/sub/dir.c /ctl/sub/dir-renamed.c
"""


# -- host side -------------------------------------------------------------

def prepare(work, names):
	"""Make the images of the named jobs in work/; returns (disks, jobs)
	where jobs maps a job's name to its settings for the guest."""
	disks, jobs = [], {}

	def disk(path):
		disks.append(path)
		return '/dev/vd' + chr(ord('a') + len(disks) - 1)

	if 'crosshome' in names:
		h = os.path.join(work, 'h.img')
		k = os.path.join(work, 'k.img')
		host_write_h(h, work)
		kmodutil.mkfs(k, '256M', '-L', 'kernel-made')
		jobs['crosshome'] = {'h': disk(h), 'k': disk(k)}
	if 'stress' in names:
		s = os.path.join(work, 's.img')
		kmodutil.mkfs(s, '512M', '-N', '32768')
		jobs['stress'] = {'s': disk(s), 'seconds': STRESS_SECONDS,
				  'workers': STRESS_WORKERS}
	if 'posix' in names:
		p = os.path.join(work, 'p.img')
		# the 100000-entry directory test wants 512M, 131072 inodes
		kmodutil.mkfs(p, '1G', '-N', '200000')
		jobs['posix'] = {'p': disk(p), 'fsx_ops': POSIX_FSX_OPS}
	if 'exhaust' in names:
		e = os.path.join(work, 'e.img')
		exhaust.prepare(e)
		jobs['exhaust'] = {'e': disk(e)}
	return disks, jobs


def host_write_h(image, work):
	"""The host-written image: twinfs-ctl first (the core in one process,
	no kernel at all), then twinfs-fuse.  Its manifest through FUSE is
	saved as work/h-host.json."""
	kmodutil.mkfs(image, '256M', '-L', 'host-made')
	script = CTL_SCRIPT.format(src=ROOT, longtarget='/long' * 60)
	r = subprocess.run([kmodutil.tool(kmodutil.CTL), image, '-'],
			   input=script, text=True, stdout=subprocess.PIPE,
			   stderr=subprocess.STDOUT, timeout=120)
	assert r.returncode == 0, 'twinfs-ctl: ' + r.stdout
	kmodutil.assert_fsck_clean(image)
	mnt = os.path.join(work, 'fuse-h')
	with kmodutil.FuseMount(image, mnt) as m:
		os.mkdir(os.path.join(m, 'fuse'))
		trees.populate(os.path.join(m, 'fuse'), 'fuse')
	kmodutil.assert_fsck_clean(image)
	with kmodutil.FuseMount(image, mnt) as m:
		man = kmodutil.manifest(m)
		st = kmodutil.statfs_summary(m)
	with open(os.path.join(work, 'h-host.json'), 'w') as f:
		json.dump({'manifest': man, 'statfs': st}, f)


def host_view(image, work, name):
	"""An image's manifest and statfs through twinfs-fuse on the host."""
	mnt = os.path.join(work, 'fuse-' + name)
	with kmodutil.FuseMount(image, mnt) as m:
		return kmodutil.manifest(m), kmodutil.statfs_summary(m)


# -- guest side ------------------------------------------------------------

class Mounted:
	"""mount -t twinfs DEV MNT, undone at the end."""

	def __init__(self, dev, mnt, opts=None):
		self.dev, self.mnt, self.opts = dev, mnt, opts

	def __enter__(self):
		os.makedirs(self.mnt, exist_ok=True)
		cmd = ['mount', '-t', 'twinfs', self.dev, self.mnt]
		if self.opts:
			cmd += ['-o', self.opts]
		kmodutil.run(cmd, check=True, timeout=60)
		return self.mnt

	def __exit__(self, *exc):
		t0 = time.monotonic()
		r = kmodutil.run(['umount', self.mnt], timeout=300)
		if r.returncode != 0:
			if exc[0] is None:
				raise AssertionError('umount %s: %s' % (
					self.mnt, r.stderr))
			kmodutil.run(['umount', '-l', self.mnt])
		self.seconds = time.monotonic() - t0
		return False


def guest_crosshome(job, work, res):
	h, k = job['h'], job['k']
	with Mounted(h, '/tmp/kjobs/h') as m:
		res['h_kernel'] = kmodutil.manifest(m)
		res['h_kernel_statfs'] = kmodutil.statfs_summary(m)
		trees.modify(os.path.join(m, 'fuse'), 'kernel')
		os.mkdir(os.path.join(m, 'kernel'))
		trees.populate(os.path.join(m, 'kernel'), 'kernel')
		os.sync()
		res['h_after'] = kmodutil.manifest(m)
		res['h_after_statfs'] = kmodutil.statfs_summary(m)
	with Mounted(k, '/tmp/kjobs/k') as m:
		trees.populate(m, 'kernel')
		res['k_kernel'] = kmodutil.manifest(m)
		res['k_kernel_statfs'] = kmodutil.statfs_summary(m)


def guest_stress(job, work, res):
	# under memory pressure, with the watchdog (a worker stuck for 120 s
	# is reported with its kernel stack); then unmounted and mounted
	# again: every private file as the model says
	with Mounted(job['s'], '/tmp/kjobs/s') as m:
		res['report'] = stress.run(m, job['workers'], job['seconds'],
					   stuck=120, pressure=True)
		t0 = time.monotonic()
		os.sync()
		res['sync_seconds'] = round(time.monotonic() - t0, 2)
	with Mounted(job['s'], '/tmp/kjobs/s') as m:
		res['remount_problems'] = stress.verify(m, res['report'])


def guest_posix(job, work, res):
	env = dict(os.environ, TWINFS_FSX_OPS=str(job['fsx_ops']),
		   TWINFS_POSIX_MKFS='kernel')
	env.pop('TWINFS_VM_REPORT', None)
	xml = os.path.join(work, 'posix.xml')
	with Mounted(job['p'], '/tmp/kjobs/p') as m:
		r = subprocess.run(
			[sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
			 '-q', '-rfEs', '-o', 'console_output_style=classic',
			 '--durations=15', '--junitxml=' + xml,
			 os.path.join(ROOT, 'tests', 'posix'), '--mount', m],
			cwd=ROOT, env=env, stdout=subprocess.PIPE,
			stderr=subprocess.STDOUT, text=True)
		res['pytest_rc'] = r.returncode
		res['pytest_out'] = r.stdout[-60000:]
		res['junit'] = xml


def guest_exhaust(job, work, res):
	with Mounted(job['e'], '/tmp/kjobs/e') as m:
		res['checks'] = exhaust.guest(m)


GUEST_JOBS = {'crosshome': guest_crosshome, 'stress': guest_stress,
	      'posix': guest_posix, 'exhaust': guest_exhaust}


def guest_one(work, name):
	with open(os.path.join(work, 'jobs.json')) as f:
		job = json.load(f)['jobs'][name]
	res = {'name': name, 'ok': False}
	watch = kmodutil.KmsgWatch()
	t0 = time.monotonic()
	try:
		GUEST_JOBS[name](job, work, res)
		res['ok'] = True
	except BaseException:
		res['error'] = traceback.format_exc()
	res['seconds'] = round(time.monotonic() - t0, 1)
	res['kmsg_problems'] = watch.problems()
	res['kmsg'] = watch.lines[-400:]
	with open(os.path.join(work, name + '.json'), 'w') as f:
		json.dump(res, f)


def guest_main(work):
	"""Every job of work/jobs.json in turn, each in its own process with
	its own time budget: a job that hangs is reported, the rest run."""
	with open(os.path.join(work, 'jobs.json')) as f:
		jobs = json.load(f)['jobs']
	names = [n for n in ORDER if n in jobs]
	rc = 0
	for name in names:
		print('kjobs: %s' % name, flush=True)
		try:
			r = subprocess.run([sys.executable, __file__, work,
					    '--one', name], timeout=JOBS[name])
			if r.returncode != 0:
				rc = 1
		except subprocess.TimeoutExpired:
			with open(os.path.join(work, name + '.json'), 'w') as f:
				json.dump({'name': name, 'ok': False,
					   'error': 'no result after %d s: hung'
					   % JOBS[name]}, f)
			rc = 1
		print('kjobs: %s done' % name, flush=True)
	return rc


if __name__ == '__main__':
	if len(sys.argv) == 4 and sys.argv[2] == '--one':
		guest_one(sys.argv[1], sys.argv[3])
	elif len(sys.argv) == 2:
		sys.exit(guest_main(sys.argv[1]))
	else:
		print('usage: kjobs.py WORKDIR [--one JOB]', file=sys.stderr)
		sys.exit(2)
