#!/usr/bin/python3
# twinfs tests/crash: the guest side of the fault-isolation experiment
# (fault_isolation.py runs it with vm/run; docs/crash.md).
#
# Layer: test harness (Python stdlib), as root in the test guest.
#
#   fault_guest.py run --home kernel|fuse --fault crash|hang --after N
#                      --dev /dev/vda --other /dev/vdb [--observe S]
#       mounts twinfs on DEV (the module, or twinfs-fuse in this guest) with
#       the core's fault point alloc_block armed to fire after N calls (a
#       NULL dereference or a hang; the same spec, alloc_block:N:crash|hang,
#       for the module's fault parameter and the daemon's -o fault=), an
#       ext4 filesystem on OTHER, and starts
#       three processes: a victim writing and fsyncing 4 KiB files on
#       twinfs (one block allocation each), another user of twinfs that
#       lists, stats and writes a file of its own, and an unrelated writer
#       on ext4.  It reports, as JSON lines on stdout, what each saw
#       from before the fault until OBSERVE seconds after it, whether the
#       system still runs new programs, and then recovers: for FUSE by
#       restarting the daemon (replay) and checking every fsync'd file; the
#       kernel cannot recover without a reboot, so it reboots the guest at
#       once (the host runs "verify" in a fresh guest).
#   fault_guest.py verify --dev /dev/vda --ledger FILE
#       in a fresh guest: load the module, mount (replay), check the files
#       named in FILE ("name seed size" lines), unmount, fsck -n.
#   fault_guest.py victim|other|unrelated DIR
#       the three processes.
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import crashlib  # noqa: E402
import dmlog  # noqa: E402

BUILD = os.path.abspath(os.environ.get('TWINFS_BUILD') or
			os.path.join(ROOT, 'build'))
MNT = '/tmp/fi-twinfs'
OTHER = '/tmp/fi-other'
FILE_SIZE = 4096	# one block: one alloc_block call per file in both homes
T0 = time.monotonic()


def now():
	return round(time.monotonic() - T0, 3)


def emit(kind, **kw):
	print(json.dumps(dict(t=now(), kind=kind, **kw)), flush=True)


def ename(e):
	return errno.errorcode.get(e, str(e))


# ---------------------------------------------------------------------------
# The three processes (each prints one line per event)
# ---------------------------------------------------------------------------

def victim(d):
	i = 0
	while True:
		name = os.path.join(d, 'v%04d' % i)
		try:
			fd = os.open(name, os.O_CREAT | os.O_WRONLY, 0o644)
			os.write(fd, crashlib.pat(i + 1, 0, FILE_SIZE))
			os.fsync(fd)
			os.close(fd)
			print('synced %d %.3f' % (i, time.monotonic()), flush=True)
			i += 1
		except OSError as e:
			print('error %d %s %.3f' % (i, ename(e.errno),
						    time.monotonic()), flush=True)
			time.sleep(0.3)


def other(d):
	"""Another user of the same filesystem: reads (list, stat) and small
	writes into a file of its own, each made durable."""
	n = 0
	while True:
		try:
			names = os.listdir(d)
			for x in names[-3:]:
				os.stat(os.path.join(d, x))
			print('read %d %.3f' % (n, time.monotonic()), flush=True)
			fd = os.open(os.path.join(d, 'other'),
				     os.O_CREAT | os.O_WRONLY, 0o644)
			os.pwrite(fd, b'o' * 512, (n % 8) * 512)
			os.fsync(fd)
			os.close(fd)
			print('wrote %d %.3f' % (n, time.monotonic()), flush=True)
		except OSError as e:
			print('error %d %s %.3f' % (n, ename(e.errno),
						    time.monotonic()), flush=True)
		n += 1
		time.sleep(0.1)


def unrelated(d):
	n = 0
	buf = b'u' * 65536
	while True:
		fd = os.open(os.path.join(d, 'f%d' % (n % 4)),
			     os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
		os.write(fd, buf)
		os.fsync(fd)
		os.close(fd)
		print('beat %d %.3f' % (n, time.monotonic()), flush=True)
		n += 1
		time.sleep(0.1)


class Proc:
	"""One of the three, its lines timestamped as they come."""

	def __init__(self, role, d):
		self.role = role
		self.p = subprocess.Popen([sys.executable, __file__, role, d],
					  stdout=subprocess.PIPE,
					  stderr=subprocess.DEVNULL, text=True)
		self.lines = []		# (time, words)
		self.lock = threading.Lock()
		threading.Thread(target=self._read, daemon=True).start()

	def _read(self):
		for line in self.p.stdout:
			w = line.split()
			if w:
				with self.lock:
					self.lines.append((now(), w))
				# the host keeps the ledger as it grows: a
				# panic leaves no time to send it later
				if w[0] == 'synced':
					emit('synced', i=int(w[1]))

	def snapshot(self):
		with self.lock:
			return list(self.lines)

	def last_ok(self):
		for t, w in reversed(self.snapshot()):
			if w[0] in ('synced', 'wrote', 'beat'):
				return t
		return None

	def state(self):
		"""The kernel's view of the process: R, S, D, Z or gone."""
		if self.p.poll() is not None:
			return 'exited'
		try:
			with open('/proc/%d/stat' % self.p.pid) as f:
				return f.read().rsplit(')', 1)[1].split()[0]
		except OSError:
			return 'gone'

	def summary(self, since, until):
		lines = [(t, w) for t, w in self.snapshot() if since <= t <= until]
		ok = [t for t, w in lines if w[0] in ('synced', 'wrote', 'beat')]
		reads = [t for t, w in lines if w[0] == 'read']
		errs = sorted({w[2] for t, w in lines if w[0] == 'error'})
		rc = self.p.poll()
		last = self.last_ok()
		first = [w[2] for t, w in self.snapshot() if w[0] == 'error']
		out = {'ok': len(ok), 'reads': len(reads), 'errors': errs,
		       'state': self.state(),
		       'last_ok': last,
		       'first_error': first[0] if first else None}
		if rc is not None:
			out['exit'] = ('signal %s' % signal.Signals(-rc).name
				       if rc < 0 else 'status %d' % rc)
		if ok:
			gaps = [b - a for a, b in zip([since] + ok, ok + [until])]
			out['max_gap'] = round(max(gaps), 2)
		else:
			out['max_gap'] = round(until - since, 2)
		# no progress at all for the last this many seconds
		out['stalled'] = round(until - max([since] + ok), 2)
		return out

	def kill(self):
		try:
			self.p.kill()
		except OSError:
			pass


# ---------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------

def mounted(mnt):
	with open('/proc/self/mounts') as f:
		return any(l.split()[1] == mnt for l in f)


def kmsg_reader(found):
	"""Collect kernel messages that matter (oops, hang, fault point)."""
	try:
		fd = os.open('/dev/kmsg', os.O_RDONLY)
		os.lseek(fd, 0, os.SEEK_END)
	except OSError:
		return
	keys = ('fault point', 'BUG:', 'Oops', 'general protection',
		'Kernel panic', 'blocked for more than', 'twinfs')
	while True:
		try:
			rec = os.read(fd, 8192).decode(errors='replace')
		except OSError:
			continue
		msg = rec.split(';', 1)[-1].strip()
		if any(k in msg for k in keys):
			found.append((now(), msg[:160]))


def start_fuse(dev, opts):
	errf = open('/tmp/fi-daemon.err', 'a')
	p = subprocess.Popen([os.path.join(BUILD, 'fusefs', 'twinfs-fuse'),
			      dev, MNT, '-f', '-o', opts],
			     stdout=errf, stderr=errf)
	end = time.monotonic() + 60
	while not mounted(MNT):
		if p.poll() is not None or time.monotonic() > end:
			raise RuntimeError('twinfs-fuse did not mount')
		time.sleep(0.02)
	return p


def ledger(victim):
	return [int(w[1]) for t, w in victim.snapshot() if w[0] == 'synced']


def verify_files(mnt, idx):
	"""Check every fsync'd file; returns the names that are wrong."""
	bad = []
	for i in idx:
		p = os.path.join(mnt, 'v%04d' % i)
		try:
			with open(p, 'rb') as f:
				if f.read() != crashlib.pat(i + 1, 0, FILE_SIZE):
					bad.append('v%04d: contents' % i)
		except OSError as e:
			bad.append('v%04d: %s' % (i, ename(e.errno)))
	return bad


def fsck(dev):
	r = subprocess.run([os.path.join(BUILD, 'tools', 'fsck.twinfs'), '-n',
			    dev], stdout=subprocess.PIPE,
			   stderr=subprocess.STDOUT, text=True)
	return r.returncode, r.stdout.strip().splitlines()[-1:] if r.stdout \
		else []


def run(a):
	os.umask(0o022)
	found = []
	threading.Thread(target=kmsg_reader, args=(found,),
			 daemon=True).start()
	os.makedirs(MNT, exist_ok=True)
	os.makedirs(OTHER, exist_ok=True)
	subprocess.run(['modprobe', 'twinfs' if a.home == 'kernel' else 'fuse'],
		       check=True)
	dmlog.mount(a.other, OTHER, 'ext4')
	action = a.fault
	spec = 'alloc_block:%d:%s' % (a.after, action)	# one spec, both homes
	daemon = None
	if a.home == 'kernel':
		with open('/sys/module/twinfs_core/parameters/fault', 'w') as f:
			f.write(spec)
		dmlog.mount(a.dev, MNT, 'twinfs')
	else:
		daemon = start_fuse(a.dev, 'fault=' + spec)
	emit('mounted', home=a.home, fault=action, after=a.after,
	     daemon=daemon.pid if daemon else None)
	procs = {r: Proc(r, d) for r, d in (('unrelated', OTHER),
					    ('victim', MNT), ('other', MNT))}
	v = procs['victim']
	# wait for the fault: an error, the victim gone, a message, or no
	# progress for 2 s once it has begun
	deadline = time.monotonic() + 120
	t_fault = None
	tick = 0
	while time.monotonic() < deadline:
		time.sleep(0.05)
		if now() - tick >= 0.5:
			tick = now()
			emit('tick', ok={r: p.summary(0, tick)['ok']
					 for r, p in procs.items()})
		snap = v.snapshot()
		# what a watchdog would see, the same in both homes: an
		# error, the victim or the daemon gone, or no progress for 2 s
		# (the kernel's own message about the fault point is kept
		# for the report, not used to notice it)
		if any(w[0] == 'error' for t, w in snap) or \
		   v.p.poll() is not None or \
		   (daemon and daemon.poll() is not None):
			t_fault = now()
			break
		last = v.last_ok()
		if last is not None and now() - last > 2.0:
			t_fault = last
			break
	if t_fault is None:
		emit('no-fault')
		return 1
	t_detect = now()
	fired = [t for t, m in found if 'fault point' in m]
	if fired:
		t_fault = min(t_fault, fired[0])
	emit('fault', at=t_fault, detected=t_detect, synced=len(ledger(v)),
	     messages=[m for t, m in found][:6])
	# observe
	time.sleep(a.observe)
	t_end = now()
	spawn = time.monotonic()
	try:
		subprocess.run(['/bin/true'], timeout=10)
		spawn = round(time.monotonic() - spawn, 3)
	except subprocess.TimeoutExpired:
		spawn = None
	with open('/proc/sys/kernel/tainted') as f:
		taint = int(f.read())
	obs = {r: p.summary(t_fault, t_end) for r, p in procs.items()}
	obs['before'] = {r: p.summary(0, t_fault)['ok']
			 for r, p in procs.items()}
	emit('observed', window=[t_fault, t_end], procs=obs,
	     new_process_seconds=spawn, tainted=taint,
	     daemon=(None if not daemon else
		     'running' if daemon.poll() is None else
		     'died of %s' % signal.Signals(-daemon.returncode).name
		     if daemon.returncode < 0 else
		     'exited %d' % daemon.returncode),
	     messages=[m for t, m in found][:10])
	synced = ledger(v)
	emit('ledger', synced=synced)
	if a.home == 'kernel':
		# the module cannot be made to serve again: reboot, no sync
		emit('needs-reboot')
		sys.stdout.flush()
		time.sleep(0.2)
		with open('/proc/sysrq-trigger', 'w') as f:
			f.write('b')
		time.sleep(30)
		return 1
	# FUSE: take the daemon down if it still runs, restart it
	t_r0 = time.monotonic()
	killed = False
	if daemon.poll() is None:
		daemon.kill()
		killed = True
	daemon.wait()
	for p in procs.values():
		if p.role != 'unrelated':
			p.kill()
	subprocess.run(['fusermount3', '-uz', MNT], stderr=subprocess.DEVNULL)
	t_r1 = time.monotonic()
	daemon = start_fuse(a.dev, 'profile=optimized')
	os.listdir(MNT)
	t_serve = time.monotonic()
	bad = verify_files(MNT, synced)
	emit('recovered', killed_daemon=killed,
	     cleanup_seconds=round(t_r1 - t_r0, 3),
	     restart_seconds=round(t_serve - t_r1, 3),
	     serve_again_seconds=round(t_serve - t_r0, 3),
	     verified=len(synced) - len(bad), lost=bad[:10])
	for p in procs.values():
		p.kill()
	subprocess.run(['fusermount3', '-u', MNT], check=True)
	daemon.wait(timeout=60)
	dmlog.umount(OTHER)
	rc, last = fsck(a.dev)
	emit('fsck', exit=rc, summary=last)
	return 0


def verify(a):
	with open(a.ledger) as f:
		synced = [int(x) for x in f.read().split()]
	os.makedirs(MNT, exist_ok=True)
	t0 = time.monotonic()
	subprocess.run(['modprobe', 'twinfs'], check=True)
	t1 = time.monotonic()
	dmlog.mount(a.dev, MNT, 'twinfs')
	os.listdir(MNT)
	t2 = time.monotonic()
	bad = verify_files(MNT, synced)
	emit('recovered', load_seconds=round(t1 - t0, 3),
	     mount_seconds=round(t2 - t1, 3), verified=len(synced) - len(bad),
	     lost=bad[:10])
	dmlog.umount(MNT)
	rc, last = fsck(a.dev)
	emit('fsck', exit=rc, summary=last)
	return 0


def main():
	if len(sys.argv) == 3 and sys.argv[1] in ('victim', 'other',
						  'unrelated'):
		globals()[sys.argv[1]](sys.argv[2])
		return 0
	import argparse
	ap = argparse.ArgumentParser()
	ap.add_argument('mode', choices=('run', 'verify'))
	ap.add_argument('--home', choices=('kernel', 'fuse'))
	ap.add_argument('--fault', choices=('crash', 'hang'))
	ap.add_argument('--after', type=int, default=40)
	ap.add_argument('--dev', default='/dev/vda')
	ap.add_argument('--other', default='/dev/vdb')
	ap.add_argument('--observe', type=float, default=8)
	ap.add_argument('--ledger')
	a = ap.parse_args()
	return run(a) if a.mode == 'run' else verify(a)


if __name__ == '__main__':
	sys.exit(main())
