"""The runner: executes a plan on the machine it runs on.

In the guest (bench/twbench starts it through vm/run) it measures every
kernel and FUSE subject on the one virtio disk; on the host it measures
the FUSE subjects on an image file, and the kernel ones (ext4, the ext4
under the FUSE ceiling) on a loop device over that same file, attached
for the run and detached at its end whatever happens.  It writes what the tools printed,
untouched, as JSON lines ("raw" records) to the plan's output file, and
progress lines ("@@twb {...}") to stdout for the display on the host.
Parsing and statistics happen on the host (twb.parse, twb.report).

Each subject gets a small generated control script (ctl.sh) that mounts,
unmounts (waiting for a FUSE daemon to exit), remounts cold and snapshots
counters.  The runner and fio's exec_prerun/exec_postrun hooks both use
it, so "cold cache" means the same thing everywhere: the filesystem is
unmounted (its inodes, dentries and page cache go with its superblock; a
FUSE daemon exits and its block cache with it), the device's cached blocks
are dropped (BLKFLSBUF, or POSIX_FADV_DONTNEED for the host's image file;
for a loop device both: the loop device's and its image file's), and it
is mounted again.  A subject with a filesystem below it (the FUSE
ceiling's ext4) has that one unmounted and remounted too.  The global /proc/sys/vm/drop_caches is used for
the cold mount only: elsewhere it would also evict the harness's own
programs, which the guest reads from the host over 9p, and cost seconds
per remount that have nothing to do with the filesystem measured.

Several clients (the profile's 'clients', the *_x4 workloads): fio's
numjobs clones for data (twb.fiojob), and opbench --clients for creates
(in separate directories and in one shared one) and stat (twb.parse
names them; step "meta_x4").

A plan with 'rotate' (the ablation's) changes the order of the subjects
from one repetition to the next (orders()); every plan records the
order of each repetition ("order" records).

A step that fails or hangs is recorded as an "error" record with what is
needed to reproduce it (commands, output, the kernel log's tail, the
daemon's kernel stacks), the mount is torn down, and the run goes on.
"""

import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time

from . import fiojob, profiles
from .subjects import SUBJECTS, expand

KPROBE = 'twbench_fusereq'
TRACEFS = '/sys/kernel/tracing'


class StepError(Exception):
	def __init__(self, msg, **info):
		Exception.__init__(self, msg)
		self.info = info


def tail(text, n=40):
	if isinstance(text, bytes):
		text = text.decode(errors='replace')
	lines = (text or '').splitlines()
	return '\n'.join(lines[-n:])


class Runner:
	def __init__(self, plan):
		self.plan = plan
		self.p = plan['profile']
		self.where = plan['where']
		# the plan's device: the guest's disk, or the host's image file
		self.image = plan['device']
		self.dev = self.image
		self.loop = None	# host: loop device over self.image
		self.build = plan['build']
		self.work = plan['workdir']
		self.mnt = os.path.join(self.work, 'mnt')
		self.lower = os.path.join(self.work, 'lower')
		self.opb = os.path.join(self.build, 'bench', 'opbench')
		self.replay_tool = os.path.join(self.build, 'bench',
						'twbench-replay')
		self.out = open(plan['out'], 'a')
		self.done = 0
		self.total = 0
		self.subject = None
		self.rep = None
		self.ctl = None
		self.have_kprobe = False
		self.cmd_times = []
		self.last_cmd = None
		# --only: the workloads to measure (None: all of them)
		self.only = profiles.only(self.p['only']) \
			if self.p.get('only') else None

	def wants(self, *workloads):
		"""Whether any of @workloads (profiles.WORKLOADS) is measured
		in this run."""
		return self.only is None or any(w in self.only
						for w in workloads)

	# -- output ---------------------------------------------------------
	def emit(self, rec):
		rec.setdefault('where', self.where)
		self.out.write(json.dumps(rec) + '\n')
		self.out.flush()

	def progress(self, **kw):
		kw.setdefault('where', self.where)
		kw['done'] = self.done
		kw['total'] = self.total
		sys.stdout.write('@@twb ' + json.dumps(kw) + '\n')
		sys.stdout.flush()

	def raw(self, kind, step, data, **kw):
		rec = {'type': 'raw', 'subject': self.subject, 'rep': self.rep,
		       'kind': kind, 'step': step, 'data': data}
		if kind != 'fio' and self.last_cmd:
			rec['cmd'] = self.last_cmd
		rec.update(kw)
		self.emit(rec)

	# -- processes ------------------------------------------------------
	def run(self, argv, timeout=120, check=True, cwd=None, what=None):
		argv = [str(a) for a in argv]
		t0 = time.monotonic()
		try:
			cp = subprocess.run(argv, stdout=subprocess.PIPE,
					    stderr=subprocess.PIPE,
					    stdin=subprocess.DEVNULL,
					    timeout=timeout, cwd=cwd)
		except subprocess.TimeoutExpired as e:
			raise StepError('%s: no answer after %d s' % (
				what or argv[0], timeout), cmd=argv,
				hang=True, stdout=tail(e.stdout),
				stderr=tail(e.stderr))
		except OSError as e:
			raise StepError('%s: %s' % (argv[0], e), cmd=argv)
		self.cmd_times.append(((what or os.path.basename(argv[0]) +
					 ' ' + ' '.join(argv[1:2]))[:40],
				       round(time.monotonic() - t0, 3)))
		out = cp.stdout.decode(errors='replace')
		err = cp.stderr.decode(errors='replace')
		if check and cp.returncode != 0:
			raise StepError('%s failed (exit %d)' % (
				what or ' '.join(argv), cp.returncode),
				cmd=argv, rc=cp.returncode,
				stdout=tail(out), stderr=tail(err))
		return out, err, cp.returncode

	def opbench(self, *args, timeout=None, check=True):
		t = timeout or (2 * self.p['op_deadline_s'] + 60)
		self.last_cmd = [self.opb] + [str(a) for a in args]
		out, err, rc = self.run([self.opb] + list(args), timeout=t,
					check=False, what='opbench ' + args[0])
		if check and rc != 0:
			try:
				obj = json.loads(out.strip().splitlines()[-1])
			except (ValueError, IndexError):
				obj = {}
			raise StepError('opbench %s failed: %s' % (
				args[0], obj.get('error') or tail(err, 5)),
				cmd=[self.opb] + list(args), rc=rc,
				stdout=tail(out), stderr=tail(err))
		return out, err

	def ctl_run(self, *args, timeout=120):
		return self.run(['/bin/sh', self.ctl] + list(args),
				timeout=timeout, what='%s %s' % (
					self.subject, ' '.join(args)))

	# -- the guest's FUSE request counter --------------------------------
	def setup_kprobe(self):
		"""A kprobe on fuse_request_end counts the FUSE requests
		answered (FORGETs have no answer and are not counted).  The
		event is enabled with tracing off: the probe counts its hits
		(kprobe_profile) and records nothing."""
		if self.where != 'guest':
			return
		try:
			self.run(['modprobe', 'fuse'], timeout=60)
			if not os.path.exists(os.path.join(TRACEFS, 'kprobe_events')):
				self.run(['mount', '-t', 'tracefs', 'nodev', TRACEFS],
					 timeout=30)
			# plain write(2)s: Python's append mode seeks, which
			# tracefs refuses with EINVAL
			for name, text, flags in (
				('tracing_on', '0', os.O_TRUNC),
				('kprobe_events', 'p:%s fuse_request_end\n' %
				 KPROBE, os.O_APPEND),
				('events/kprobes/%s/enable' % KPROBE, '1',
				 os.O_TRUNC)):
				fd = os.open(os.path.join(TRACEFS, name),
					     os.O_WRONLY | flags)
				try:
					os.write(fd, text.encode())
				finally:
					os.close(fd)
			self.have_kprobe = True
		except (OSError, StepError) as e:
			self.emit({'type': 'note', 'what': 'kprobe',
				   'message': 'FUSE requests not counted: %s' % e})

	# -- environment ----------------------------------------------------
	def environment(self):
		env = {'where': self.where, 'uname': ' '.join(os.uname()),
		       'kernel': os.uname().release, 'cpus': os.cpu_count()}
		try:
			with open('/proc/cpuinfo') as f:
				for line in f:
					if line.startswith('model name'):
						env['cpu_model'] = line.split(':', 1)[1].strip()
						break
			with open('/proc/meminfo') as f:
				env['mem_total_kb'] = int(f.readline().split()[1])
			with open('/proc/cmdline') as f:
				env['cmdline'] = f.read().strip()
			with open('/sys/devices/system/clocksource/clocksource0/'
				  'current_clocksource') as f:
				env['clocksource'] = f.read().strip()
			with open('/proc/loadavg') as f:
				env['loadavg_start'] = f.read().split()[:3]
		except OSError:
			pass
		env['device'] = self.image
		if self.loop:
			env['loop_device'] = {
				'device': self.loop, 'backing_file': self.image,
				'direct_io': False,
				'used_by': 'kernel filesystems on the host'}
		try:
			fd = os.open(self.image, os.O_RDONLY)
			env['device_bytes'] = os.lseek(fd, 0, os.SEEK_END)
			os.close(fd)
		except OSError:
			pass
		env['fuse_request_counter'] = 'kprobe on fuse_request_end' \
			if self.have_kprobe else None
		return env

	# -- mounting -------------------------------------------------------
	def fmt(self, argv):
		return expand(argv, dev=self.dev, mnt=self.mnt, build=self.build,
			      disk_mib=self.p['disk_mib'], lower=self.lower)

	# -- the host's loop device -------------------------------------------
	def attach_loop(self, subjects):
		"""On the host, a loop device over the image file for the
		subjects that mount a block device (subjects.py 'blockdev').
		Buffered (no direct I/O): like the guest's virtio disk over
		QEMU's cache=writeback, and like twinfs-fuse's pread/pwrite of
		the image, the host's page cache lies under it."""
		if self.where != 'host' or not any(
				SUBJECTS[n].get('blockdev') for n in subjects):
			return
		out, _, _ = self.run(['losetup', '--find', '--show', self.image],
				     timeout=60, what='losetup')
		self.loop = out.strip()

	def detach_loop(self):
		if not self.loop:
			return
		for mnt in (self.mnt, self.lower):
			if self.mounted(mnt):
				subprocess.run(['umount', '-l', mnt],
					       stdout=subprocess.DEVNULL,
					       stderr=subprocess.DEVNULL)
		subprocess.run(['losetup', '-d', self.loop],
			       stdout=subprocess.DEVNULL,
			       stderr=subprocess.DEVNULL)
		self.loop = None

	def device_for(self, name):
		"""The device subject @name is made and mounted on."""
		if self.loop and SUBJECTS[name].get('blockdev'):
			return self.loop
		return self.image

	def write_ctl(self, name):
		s = SUBJECTS[name]
		d = os.path.join(self.work, name)
		os.makedirs(d, exist_ok=True)
		self.sdir = d
		self.pidf = os.path.join(d, 'pid')
		self.snaps = os.path.join(d, 'snaps.jsonl')
		self.hooks = os.path.join(d, 'hooks')
		mount = ' '.join(shlex.quote(a) for a in self.fmt(s['mount']))
		q = shlex.quote
		lines = [
			'#!/bin/sh',
			'# control script of subject %s, generated by '
			'bench/twb/runner.py' % name,
			'OPB=%s MNT=%s PIDF=%s SNAPS=%s LOG=%s' % (
				q(self.opb), q(self.mnt), q(self.pidf),
				q(self.snaps), q(os.path.join(d, 'ctl.log'))),
			'DEV=%s LOWER=%s IMAGE=%s HOOKS=%s' % (
				q(self.dev), q(self.lower), q(self.image),
				q(self.hooks)),
			# a loop device's image file: its pages too
			'drop_image() {',
			'	[ "$DEV" = "$IMAGE" ] && return 0',
			'	[ -f "$IMAGE" ] || return 0',
			'	sync "$IMAGE" && dd if="$IMAGE" iflag=nocache '
			'count=0 status=none',
			'}',
			'mount_fs() {',
		]
		flush = '--flush "$DEV"'
		if s.get('lower'):
			lower = ' '.join(q(a) for a in self.fmt(s['lower']))
			lines.append('	%s >>"$LOG" 2>&1 || return 1' % lower)
			lines.append('	%s >>"$LOG" 2>&1 || { umount "$LOWER"; '
				     'return 1; }' % mount)
			# the filesystem below is unmounted (and the device
			# flushed) after the FUSE daemon has gone
			flush = ''
		else:
			lines.append('	%s >>"$LOG" 2>&1 || return 1' % mount)
		if s['daemon']:
			lines.append('	"$OPB" findpid "$MNT" >"$PIDF" || '
				     '{ echo "no daemon on $MNT" >>"$LOG"; '
				     'return 1; }')
		else:
			lines.append('	: >"$PIDF"')
		lines += [
			'}',
			'umount_fs() {',
			'	pid=; read -r pid <"$PIDF" 2>/dev/null',
			'	"$OPB" umount "$MNT" ${pid:+--pid $pid} --timeout 120 '
			'%s >>"$LOG" 2>&1 || return 1' % flush,
		]
		if s.get('lower'):
			lines.append('	"$OPB" umount "$LOWER" --timeout 120 '
				     '--flush "$DEV" >>"$LOG" 2>&1 || return 1')
		lines += [
			'	drop_image',
			'}',
		]
		if s['persistent']:
			lines.append('remount() { umount_fs && mount_fs; }')
		else:
			lines.append('remount() { :; }	# tmpfs: no cache to drop')
		lines += [
			'pre_hook() {',
			'	if [ "$2" = cold ]; then remount || return 1; fi',
			'	"$OPB" snap "pre:$1" --pid-file "$PIDF" >>"$SNAPS"',
			'}',
			'post_hook() {',
			'	"$OPB" snap "post:$1" --pid-file "$PIDF" >>"$SNAPS"',
			'}',
			# fio runs the hooks of a job with K clients (numjobs) in
			# each of them: under a lock (-o: not inherited by a
			# daemon the remount starts), the first "pre" remounts
			# and snapshots while the others wait, and the K-th
			# "post" snapshots
			'case $1 in',
			'mount) mount_fs ;;',
			'umount) umount_fs ;;',
			'drop-image) drop_image ;;',
			'remount) remount ;;',
			'pre) if [ "${4:-1}" -gt 1 ]; then '
			'exec flock -o "$HOOKS/$2.lock" /bin/sh "$0" pre-once "$2" '
			'"$3"; fi',
			'     pre_hook "$2" "$3" ;;',
			'pre-once) [ -e "$HOOKS/$2.pre" ] && exit 0',
			'     pre_hook "$2" "$3" && : >"$HOOKS/$2.pre" ;;',
			'post) if [ "${3:-1}" -gt 1 ]; then '
			'exec flock -o "$HOOKS/$2.lock" /bin/sh "$0" post-count '
			'"$2" "$3"; fi',
			'     post_hook "$2" ;;',
			# shell builtins only: every program started costs
			# much under TCG
			'post-count) n=0; [ -e "$HOOKS/$2.post" ] && '
			'read -r n <"$HOOKS/$2.post"',
			'     n=$((n + 1)); echo $n >"$HOOKS/$2.post"',
			'     [ $n -lt "$3" ] || post_hook "$2" ;;',
			'*) echo "usage: $0 mount|umount|remount|pre JOB cold|warm '
			'[CLIENTS]|post JOB [CLIENTS]" >&2; exit 2 ;;',
			'esac',
		]
		self.ctl = os.path.join(d, 'ctl.sh')
		with open(self.ctl, 'w') as f:
			f.write('\n'.join(lines) + '\n')
		os.chmod(self.ctl, 0o755)

	def pid(self):
		try:
			with open(self.pidf) as f:
				return int(f.read().strip() or 0)
		except (OSError, ValueError):
			return 0

	def mounted(self, mnt=None):
		mnt = mnt or self.mnt
		with open('/proc/self/mountinfo') as f:
			for line in f:
				if line.split()[4] == mnt:
					return True
		return False

	def mountinfo(self):
		with open('/proc/self/mountinfo') as f:
			for line in f:
				parts = line.split()
				if parts[4] == self.mnt:
					sep = parts.index('-')
					return {'type': parts[sep + 1],
						'source': parts[sep + 2],
						'options': parts[5] + ',' +
						parts[sep + 3]}
		return None

	def teardown(self):
		"""Best effort after a failure: kill the daemon, detach."""
		pid = self.pid()
		if pid > 0:
			try:
				os.kill(pid, signal.SIGKILL)
			except OSError:
				pass
		for mnt in (self.mnt, self.lower):
			for _ in range(3):
				if not self.mounted(mnt):
					break
				subprocess.run(['umount', '-l', mnt],
					       stdout=subprocess.DEVNULL,
					       stderr=subprocess.DEVNULL)
		if pid > 0:
			self.wait_gone(pid, 10)
		try:
			os.unlink(self.pidf)
		except OSError:
			pass

	@staticmethod
	def wait_gone(pid, timeout):
		t0 = time.monotonic()
		while os.path.exists('/proc/%d' % pid):
			if time.monotonic() - t0 > timeout:
				return False
			time.sleep(0.01)
		return True

	def mkfs(self, argv=None):
		s = SUBJECTS[self.subject]
		argv = argv or s['mkfs']
		if argv:
			self.run(self.fmt(argv), timeout=300, what='mkfs')

	def drop_caches(self):
		if self.where == 'guest':
			os.sync()
			with open('/proc/sys/vm/drop_caches', 'w') as f:
				f.write('3')
		else:
			os.sync()
			for dev in {self.dev, self.image}:
				fd = os.open(dev, os.O_RDONLY)
				os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
				os.close(fd)

	def unload(self, s):
		mods = s.get('unload') or s['modules']
		if self.where != 'guest' or not mods:
			return True
		self.run(['modprobe', '-r'] + mods, check=False, timeout=60)
		with open('/proc/modules') as f:
			loaded = {l.split()[0] for l in f}
		return not any(m.replace('-', '_') in loaded for m in mods)

	def kernel_log_tail(self, n=30):
		if self.where != 'guest':
			return None
		try:
			out, _, _ = self.run(['dmesg'], timeout=30, check=False)
			return tail(out, n)
		except StepError:
			return None

	def daemon_stacks(self):
		pid = self.pid()
		if self.where != 'guest' or pid <= 0:
			return None
		stacks = []
		try:
			for t in sorted(os.listdir('/proc/%d/task' % pid)):
				with open('/proc/%d/task/%s/stack' % (pid, t)) as f:
					stacks.append('task %s:\n%s' % (t, f.read()))
		except OSError:
			pass
		return '\n'.join(stacks) or None

	# -- steps ----------------------------------------------------------
	def step(self, name, fn, *args):
		self.progress(ev='step', subject=self.subject, rep=self.rep,
			      step=name)
		self.cmd_times = []
		t0 = time.monotonic()
		try:
			fn(*args)
			ok = True
		except StepError as e:
			ok = False
			info = dict(e.info)
			info['kernel_log'] = self.kernel_log_tail()
			if info.get('hang'):
				info['daemon_stacks'] = self.daemon_stacks()
			try:
				with open(os.path.join(self.sdir, 'ctl.log')) as f:
					info['ctl_log'] = tail(f.read(), 20)
			except OSError:
				pass
			self.emit({'type': 'error', 'subject': self.subject,
				   'rep': self.rep, 'step': name,
				   'message': str(e), 'info': info})
			self.progress(ev='error', subject=self.subject,
				      rep=self.rep, step=name, message=str(e))
			self.teardown()
		self.done += 1
		self.emit({'type': 'step', 'subject': self.subject,
			   'rep': self.rep, 'step': name, 'ok': ok,
			   'seconds': time.monotonic() - t0,
			   'commands': self.cmd_times})
		return ok

	def mount_cmds(self, s, cold, args=()):
		cmds = []
		if cold and self.where == 'guest':
			cmds += [['modprobe', m] for m in s['modules']]
		if s.get('lower'):
			cmds.append(self.fmt(s['lower']))
		cmds.append(self.fmt(s['mount']) + list(args))
		argv = []
		for c in cmds:
			if argv:
				argv.append('---')
			argv += c
		return argv

	def timed_mount(self, step, s, cold=False, param=None, extra=None,
			args=()):
		out, err = self.opbench('time', *self.mount_cmds(s, cold, args),
					timeout=180)
		self.raw('time', step, out, param=param, stderr=tail(err, 10),
			 extra=extra)
		if s['daemon']:
			out, _ = self.opbench('findpid', self.mnt, timeout=30)
			with open(self.pidf, 'w') as f:
				f.write(out.strip() + '\n')
		else:
			open(self.pidf, 'w').close()
		return err

	def timed_umount(self, record=True):
		"""Unmount (timed: until a FUSE daemon has exited), then the
		filesystem below, if any (untimed), and drop the device's
		cached blocks."""
		s = SUBJECTS[self.subject]
		args = ['umount', self.mnt, '--timeout', '120']
		if not s.get('lower'):
			args += ['--flush', self.dev]
		if self.pid() > 0:
			args += ['--pid', str(self.pid())]
		out, _ = self.opbench(*args, timeout=180)
		if record:
			self.raw('umount', 'umount', out)
		if s.get('lower'):
			self.opbench('umount', self.lower, '--timeout', '120',
				     '--flush', self.dev, timeout=180)
		if self.dev != self.image:
			self.run(['/bin/sh', self.ctl, 'drop-image'], timeout=120,
				 what='drop the image file\'s pages')

	def s_mounts(self):
		s = SUBJECTS[self.subject]
		if self.mounted():
			self.ctl_run('umount')
		extra = {}
		if s['home'] == 'kernel' and s['modules'] and \
		   self.where == 'guest':
			extra['module_unloaded'] = self.unload(s)
		self.drop_caches()
		self.timed_mount('mount_cold', s, cold=True, extra=extra)
		self.emit({'type': 'mountinfo', 'subject': self.subject,
			   'rep': self.rep, 'mountinfo': self.mountinfo(),
			   'mount': self.fmt(s['mount']),
			   'lower': self.fmt(s['lower']) if s.get('lower')
			   else None,
			   'device': self.dev,
			   'mkfs': self.fmt(s['mkfs']) if s['mkfs'] else None})
		self.timed_umount(record=False)
		self.timed_mount('mount_warm', s)
		self.timed_umount()

	def s_data(self):
		s = SUBJECTS[self.subject]
		if not self.mounted():
			self.ctl_run('mount')
		try:
			os.unlink(self.snaps)
		except OSError:
			pass
		# the lock and marker files of the hooks of several clients
		shutil.rmtree(self.hooks, ignore_errors=True)
		os.makedirs(self.hooks)
		job = os.path.join(self.sdir, 'data.fio')
		with open(job, 'w') as f:
			f.write(fiojob.jobfile(self.p, self.mnt, self.ctl,
					       s['persistent'], only=[
						       j for j in fiojob.JOBS +
						       fiojob.JOBS_X4
						       if self.wants(j)]))
		res = os.path.join(self.sdir, 'fio.json')
		limit = 5 * self.p['fio_runtime_s'] + 300
		out, err, rc = self.run(['fio', '--output-format=json',
					 '--output=' + res, job], timeout=limit,
					check=False, cwd=self.sdir, what='fio')
		try:
			with open(res) as f:
				data = f.read()
		except OSError:
			data = ''
		snaps = []
		try:
			with open(self.snaps) as f:
				snaps = [json.loads(l) for l in f if l.strip()]
		except (OSError, ValueError):
			pass
		if data.strip():
			with open(job) as f:
				self.raw('fio', 'data', data, snaps=snaps,
					 jobfile=f.read())
		if rc != 0 or not data.strip():
			raise StepError('fio failed (exit %d)' % rc, cmd=[
				'fio', job], rc=rc, stdout=tail(out),
				stderr=tail(err), jobfile=open(job).read())

	def s_latency(self):
		if not self.mounted():
			self.ctl_run('mount')
		f = os.path.join(self.mnt, 'seq.dat')
		if not os.path.exists(f):
			raise StepError('no seq.dat (the fio step failed)')
		self.ctl_run('remount')
		if self.wants('read4k'):
			out, _ = self.opbench('read', f, str(self.p['read_ops']),
					      '--pid-file', self.pidf,
					      '--deadline',
					      str(self.p['op_deadline_s']))
			self.raw('opbench', 'read4k', out)
		if self.wants('getattr'):
			out, _ = self.opbench('getattr', f,
					      str(self.p['getattr_ops']),
					      '--pid-file', self.pidf,
					      '--deadline',
					      str(self.p['op_deadline_s']))
			self.raw('opbench', 'getattr', out)

	def ob(self, step, *args):
		out, _ = self.opbench(*args, '--pid-file', self.pidf,
				      '--deadline', str(self.p['op_deadline_s']))
		self.raw('opbench', step, out)
		return json.loads(out.strip().splitlines()[-1])

	def s_meta(self):
		if not self.mounted():
			self.ctl_run('mount')
		d = os.path.join(self.mnt, 'meta')
		n = self.p['meta_files']
		# every other metadata workload needs create's files
		r = self.ob('create', 'create', d, str(n))
		n = r['ops']
		if self.wants('stat_cached'):
			self.ob('stat_cached', 'stat', d, str(n))
		if self.wants('readdir'):
			self.ctl_run('remount')
			self.ob('readdir', 'readdir', d)
		if self.wants('stat_uncached'):
			self.ctl_run('remount')
			self.ob('stat_uncached', 'stat', d, str(n))
		if self.wants('rename'):
			r = self.ob('rename', 'rename', d, str(n))
			if self.wants('unlink'):
				self.ob('unlink', 'unlink', d, str(r['ops']),
					'--prefix', 'r')

	def s_meta_x4(self):
		"""The metadata workloads with several clients (opbench
		--clients): creates each in its own directory, creates in one
		shared directory, then stat of the shared directory's names,
		cached and after a remount.  The clients share the files of
		the one-client twin (meta_files in all)."""
		if not self.mounted():
			self.ctl_run('mount')
		k = str(fiojob.clients(self.p))
		n = str(self.p['meta_files'])
		if self.wants('create_x4'):
			self.ob('create_x4', 'create',
				os.path.join(self.mnt, 'm4dirs'), n, '--clients', k,
				'--dirs')
		if not self.wants('create_x4_shared', 'stat_cached_x4',
				  'stat_uncached_x4'):
			return
		d = os.path.join(self.mnt, 'm4shared')
		r = self.ob('create_x4_shared', 'create', d, n, '--clients', k)
		n = str(r['ops'])
		if self.wants('stat_cached_x4'):
			self.ob('stat_cached_x4', 'stat', d, n, '--clients', k)
		if self.wants('stat_uncached_x4'):
			self.ctl_run('remount')
			self.ob('stat_uncached_x4', 'stat', d, n, '--clients', k)

	def s_bigdir(self):
		if not self.mounted():
			self.ctl_run('mount')
		d = os.path.join(self.mnt, 'big')
		self.ob('create_big', 'create', d, str(self.p['bigdir_files']))
		self.ctl_run('remount')
		self.ob('readdir_big', 'readdir', d)

	def s_replay(self, mib):
		s = SUBJECTS[self.subject]
		if self.mounted():
			self.ctl_run('umount')
		# one transaction of @mib must fit: the journal's descriptor
		# blocks take 1/512 or so, plus slack
		jblocks = max(1024, int(mib * 256 * 1.1) + 256)
		mkfs = [a for a in s['mkfs'] if a != '{dev}'] + [
			'-J', str(jblocks), '{dev}']
		self.mkfs(mkfs)
		out, _, _ = self.run([self.replay_tool, self.dev, str(mib)],
				     timeout=600, what='twbench-replay')
		made = json.loads(out.strip().splitlines()[-1])
		if s['home'] == 'kernel':
			self.run(['modprobe'] + s['modules'], timeout=60)
		err = self.timed_mount('replay_mount', s, param=mib,
				       args=self.say_replay(s),
				       extra={'log_mib': made['log_mib'],
					      'log_blocks': made['log_blocks']})
		said = [l for l in (err.splitlines() +
				    (self.kernel_log_tail(10) or '').splitlines())
			if 'replayed' in l]
		self.emit({'type': 'replay', 'subject': self.subject,
			   'rep': self.rep, 'mib': mib, 'made': made,
			   'log': said[-1:] if said else []})
		if not said:
			raise StepError('mount after twbench-replay did not '
					'say it replayed the journal',
					stderr=tail(err))
		self.timed_umount(record=False)
		self.timed_mount('replay_clean', s, param=mib)
		self.timed_umount(record=False)

	def say_replay(self, s):
		"""Arguments that make the daemon say it replayed the journal:
		a twinfs-fuse with -v/--verbose says it (journal replay is an
		informational message) only when asked to."""
		if s['daemon'] != 'twinfs-fuse':
			return []
		exe = self.fmt([s['mount'][0]])[0]
		try:
			out, err, _ = self.run([exe, '--help'], timeout=30,
					       check=False)
		except StepError:
			return []
		return ['-v'] if '--verbose' in out + err else []

	def s_kill9(self):
		s = SUBJECTS[self.subject]
		if self.mounted():
			self.ctl_run('umount')
		self.mkfs()
		self.ctl_run('mount')
		path = os.path.join(self.mnt, 'kept')
		with open(path, 'wb') as f:
			f.write(os.urandom(1 << 20))
			f.flush()
			os.fsync(f.fileno())
		# an open transaction: metadata changes not yet committed
		os.mkdir(os.path.join(self.mnt, 'pending'))
		pid = self.pid()
		os.kill(pid, signal.SIGKILL)
		if not self.wait_gone(pid, 30):
			raise StepError('daemon %d survived kill -9' % pid)
		out, err = self.opbench(
			'time', 'umount', '-l', self.mnt, '---',
			*self.fmt(s['mount']), '---', 'stat', '-c', '%s', path,
			timeout=180)
		self.raw('time', 'recover_kill9', out, stderr=tail(err, 10))
		out2, _ = self.opbench('findpid', self.mnt, timeout=30)
		with open(self.pidf, 'w') as f:
			f.write(out2.strip() + '\n')
		if os.path.getsize(path) != 1 << 20:
			raise StepError('fsync\'d file lost after kill -9')
		self.timed_umount(record=False)

	# -- the plan ---------------------------------------------------------
	def subject_steps(self, name):
		steps = [('mkfs', self.mkfs)]
		if self.wants('mount'):
			steps.append(('mounts', self.s_mounts))
		if self.wants(*fiojob.JOBS) or (fiojob.clients(self.p) and
						 self.wants(*fiojob.JOBS_X4)):
			steps.append(('data', self.s_data))
		if self.wants('getattr', 'read4k'):
			steps.append(('latency', self.s_latency))
		if self.wants('create', 'stat_cached', 'readdir',
			      'stat_uncached', 'rename', 'unlink'):
			steps.append(('meta', self.s_meta))
		if fiojob.clients(self.p) and self.wants(
				'create_x4', 'create_x4_shared', 'stat_cached_x4',
				'stat_uncached_x4'):
			steps.append(('meta_x4', self.s_meta_x4))
		if self.p.get('bigdir_files') and self.wants('bigdir') and \
		   'bigdir' not in SUBJECTS[name].get('skip', ()) and (
				self.rep is None or self.rep < self.p.get(
					'bigdir_reps', 1 << 30)):
			steps.append(('bigdir', self.s_bigdir))
		steps.append(('umount', self.s_final_umount))
		return steps

	def s_final_umount(self):
		if self.mounted():
			self.ctl_run('umount')

	def recovery_steps(self, name):
		s = SUBJECTS[name]
		steps = []
		if s['family'] != 'twinfs':
			return steps
		for mib in self.p.get('replay_mib') or []:
			if self.wants('replay'):
				steps.append(('replay %d MiB' % mib,
					      self.s_replay, mib,
					      self.p.get('replay_reps', 1)))
		if s['home'] == 'fuse' and self.wants('kill9'):
			steps.append(('kill -9', self.s_kill9, None,
				      self.p.get('recovery_reps', 1)))
		return steps

	def main(self):
		try:
			self.attach_loop(self.plan['subjects'])
		except StepError as e:
			self.emit({'type': 'error', 'subject': None, 'rep': None,
				   'step': 'losetup', 'message': str(e),
				   'info': e.info})
			self.plan['subjects'] = [
				n for n in self.plan['subjects']
				if not SUBJECTS[n].get('blockdev')]
		try:
			return self.run_plan()
		finally:
			self.detach_loop()

	def run_plan(self):
		os.makedirs(self.mnt, exist_ok=True)
		os.makedirs(self.lower, exist_ok=True)
		subjects = self.plan['subjects']
		reps = self.plan['reps']
		for name in subjects:
			for rep in range(reps):
				self.rep = rep
				self.total += len(self.subject_steps(name))
			self.rep = None
			for st in self.recovery_steps(name):
				self.total += st[3]
		self.setup_kprobe()
		self.emit({'type': 'env', 'env': self.environment(),
			   'plan': self.plan})
		self.progress(ev='start', subjects=subjects, reps=reps)
		for missing_name, why in self.plan.get('missing', {}).items():
			self.emit({'type': 'missing', 'subject': missing_name,
				   'reason': why})
		# repetitions outermost: each subject's samples are spread over
		# the whole run, so a slow phase of the host hits all alike;
		# with 'rotate' (the ablation) the order changes too
		rep_orders = orders(subjects, reps) if \
			self.plan.get('rotate') else [subjects] * reps
		for rep in range(reps):
			order = rep_orders[rep]
			self.emit({'type': 'order', 'rep': rep,
				   'subjects': order})
			for name in order:
				self.subject, self.rep = name, rep
				self.dev = self.device_for(name)
				self.write_ctl(name)
				for step, fn in self.subject_steps(name):
					if not self.step(step, fn) and step == 'mkfs':
						self.done += len(self.subject_steps(
							name)) - 1
						break
		for name in subjects:
			self.subject = name
			self.dev = self.device_for(name)
			self.write_ctl(name)
			for step, fn, arg, n in self.recovery_steps(name):
				for rep in range(n):
					self.rep = rep
					if arg is None:
						self.step(step, fn)
					else:
						self.step(step, fn, arg)
		self.subject = None
		with open('/proc/loadavg') as f:
			load = f.read().split()[:3]
		self.emit({'type': 'end', 'loadavg_end': load})
		self.progress(ev='end')
		return 0


def orders(subjects, reps, tries=300):
	"""The order of @subjects in each of @reps repetitions (a list of
	lists) for a plan with 'rotate' (the ablation, whose variants differ
	by a few per cent on a shared host): the first is @subjects as
	given; each later one puts every subject into a part of the run
	(first, middle, last ...: as many parts as repetitions, at most one
	per subject) it has not been in yet, and after a subject it has not
	followed yet, as far as possible.  So a slow phase of the host, or
	what one subject leaves behind for the next (dirty pages, a daemon
	still finishing), does not always hit the same subject.  Chosen
	among @tries seeded random candidates: the same orders every run."""
	subjects = list(subjects)
	n = len(subjects)
	if not n:
		return [[] for _ in range(reps)]
	parts = max(1, min(reps, n))
	size = [n // parts + (1 if b < n % parts else 0) for b in range(parts)]
	part_of = [b for b in range(parts) for _ in range(size[b])]
	used = {x: [] for x in subjects}
	pairs = {}

	def cost(o):
		return (sum(used[x].count(part_of[j]) for j, x in enumerate(o)),
			sum(pairs.get(p, 0) for p in zip(o, o[1:])))
	out = []
	for r in range(reps):
		best = subjects
		if r:
			rng = random.Random(r)
			cands = []
			for _ in range(tries):
				room = list(size)
				fill = [[] for _ in range(parts)]
				for x in rng.sample(subjects, n):
					free = [b for b in range(parts)
						if room[b] and b not in used[x]] or \
						[b for b in range(parts) if room[b]]
					b = rng.choice(free)
					room[b] -= 1
					fill[b].append(x)
				for f in fill:
					rng.shuffle(f)
				cands.append([x for f in fill for x in f])
			best = min(cands, key=cost)
		for j, x in enumerate(best):
			used[x].append(part_of[j])
		for p in zip(best, best[1:]):
			pairs[p] = pairs.get(p, 0) + 1
		out.append(list(best))
	return out


def main(plan_path):
	with open(plan_path) as f:
		plan = json.load(f)
	return Runner(plan).main()
