# twinfs vm/: boot the Debian test guest in QEMU and run one command in it.
# Layer: host-side test tooling (Python stdlib only, Debian's python3).  May
# call vm/build, qemu-system-x86_64 and the host filesystem; nothing in the
# project's C code.  Used by vm/run (the command line) and by the pytest
# fixtures in tests/vm/.
#
# The guest (vm/init, vm/stage2) mounts the host's root read-only over 9p,
# the project directory (and any --rw directory) writable at the same path,
# and runs the command as root in the same working directory.  The command's
# stdout and stderr come back on two virtio-serial ports; the kernel console
# (ttyS0) is watched for oopses and panics, and a pvpanic device reports a
# panic through QMP.  After an oops the command gets a grace period to
# finish (oops_grace): a kernel that oopsed holding locks leaves whoever
# needs them in D state for good, so waiting for the timeout helps no one.
# A job directory shared over 9p carries the command in and the exit status
# out.
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(HERE)

# vm/run's own exit codes.  Any other code is the command's.
EXIT_PANIC = 121	# the guest kernel panicked
EXIT_OOPS = 122		# the kernel oopsed (the command finished, or did
			# not within oops_grace seconds of the oops)
EXIT_TIMEOUT = 124	# like timeout(1)
EXIT_VMFAIL = 125	# the VM itself failed (boot, QEMU, usage)

PANIC_RE = re.compile(r'Kernel panic - not syncing')
OOPS_RE = re.compile(r'(\bBUG: |\bOops: |general protection fault|'
		     r'kernel BUG at|Unable to handle kernel|'
		     r'stack-protector: Kernel stack is corrupted)')
WARN_RE = re.compile(r'WARNING: CPU: \d+ PID: \d+')
END_RE = re.compile(r'---\[ end (trace|Kernel panic)')
CUT_RE = re.compile(r'------------\[ cut here \]------------')
TIMESTAMP_RE = re.compile(r'^\[\s*\d+\.\d+\] ?')

# Seconds the command may still run after an oops before the guest is
# killed (0: wait for the command, up to the timeout).
OOPS_GRACE = 10

BASE_CMDLINE = [
	'console=ttyS0', 'panic=-1', 'quiet', 'loglevel=5', 'rdinit=/init',
	# Nothing behind these under QEMU; probing them only costs time.
	'i8042.noaux', 'i8042.nomux', 'i8042.nopnp', 'i8042.dumbkbd',
	'8250.nr_uarts=1', 'nowatchdog', 'tsc=reliable', 'no_timer_check',
	'mitigations=off', 'random.trust_cpu=on',
	# Under TCG these are most of the boot (measured with initcall_debug):
	# crypto self-tests (~0.6 s), IPv6 (0.1 s), ACPI PCI interrupt link
	# setup (0.55 s; the PIRQ table does the same job).  None matters for
	# a filesystem test guest.
	'cryptomgr.notests', 'initcall_blacklist=crypto_kdf108_init',
	'ipv6.disable=1', 'acpi=noirq',
]


class VMError(Exception):
	"""The VM could not be set up (missing guest, bad option)."""


def hw_virt():
	"""True only when the CPU has vmx/svm and /dev/kvm is usable.  The node
	existing alone proves nothing (nested setups create it anyway)."""
	try:
		with open('/proc/cpuinfo') as f:
			flags = set()
			for line in f:
				if line.startswith('flags'):
					flags.update(line.split(':', 1)[1].split())
	except OSError:
		return False
	if not flags & {'vmx', 'svm'}:
		return False
	return os.access('/dev/kvm', os.R_OK | os.W_OK)


def vm_dir():
	"""$TWINFS_VM_DIR, else the vm/ of $TWINFS_BUILD, else build/vm
	(where vm/build puts the guest of a build directory)."""
	if os.environ.get('TWINFS_VM_DIR'):
		return os.environ['TWINFS_VM_DIR']
	return os.path.join(os.environ.get('TWINFS_BUILD') or
			    os.path.join(ROOT, 'build'), 'vm')


def tool_dirs():
	"""The directories of the project's programs in its build tree, for
	the guest's PATH: the live build, not the initramfs's copies (which
	switch_root leaves behind and which would go stale on a rebuild)."""
	build = os.environ.get('TWINFS_BUILD') or os.path.dirname(vm_dir())
	return [os.path.join(build, d)
		for d in ('tools', 'tools/twinfs-mod', 'fusefs')
		if ':' not in build and os.path.isdir(os.path.join(build, d))]


def build_guest(quiet=True, build_dir=None):
	"""Build or refresh the guest (vm/build); returns its directory."""
	cmd = [os.path.join(HERE, 'build'), '--print-dir']
	if quiet:
		cmd.append('--quiet')
	if build_dir:
		cmd += ['--build-dir', build_dir]
	r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
	if r.returncode != 0:
		raise VMError('vm/build failed')
	return r.stdout.strip()


def guest_dir(build=False):
	"""The built guest: build/vm/current, built first if missing."""
	cur = os.path.join(vm_dir(), 'current')
	if build or not os.path.exists(os.path.join(cur, 'initramfs.cpio')):
		return build_guest()
	return os.path.realpath(cur)


class Result:
	"""What one VM run produced."""

	def __init__(self):
		self.returncode = None	# vm/run's exit code (see EXIT_*)
		self.status = None	# the command's own exit status, if any
		self.stdout = b''
		self.stderr = b''
		self.console = ''	# the whole kernel console
		self.panic = False
		self.pvpanic = False	# the pvpanic device said so (QMP)
		self.oops = []		# oops / panic reports, one text each
		# the command had not finished oops_grace seconds after an
		# oops, so the guest was killed (status stays None)
		self.oops_unfinished = False
		self.oops_grace = None
		self.warnings = []	# WARN_ON reports
		self.timed_out = False
		self.boot_failure = None
		self.boot_seconds = None	# host: QEMU start to command start
		self.guest_uptime = None	# guest: uptime at command start
		self.seconds = None		# host: whole run

	@property
	def out(self):
		return self.stdout.decode(errors='replace')

	@property
	def err(self):
		return self.stderr.decode(errors='replace')

	def summary(self):
		if self.timed_out:
			return 'timed out'
		if self.panic:
			return 'kernel panic'
		if self.boot_failure:
			return 'boot failed: ' + self.boot_failure
		if self.oops_unfinished:
			return 'kernel oops (the command did not finish within ' \
				'%g s of it)' % self.oops_grace
		if self.oops:
			return 'kernel oops (command exit status %s)' % self.status
		return 'exit status %s' % self.status

	def as_dict(self):
		return {
			'returncode': self.returncode, 'status': self.status,
			'panic': self.panic, 'pvpanic': self.pvpanic,
			'oops': self.oops,
			'oops_unfinished': self.oops_unfinished,
			'oops_grace': self.oops_grace,
			'warnings': self.warnings, 'timed_out': self.timed_out,
			'boot_failure': self.boot_failure,
			'boot_seconds': self.boot_seconds,
			'guest_uptime': self.guest_uptime,
			'seconds': self.seconds,
		}


class Console:
	"""Reads the kernel console, keeps it, and cuts oops/panic reports
	out of it."""

	def __init__(self, fd, echo=None, echo_boot=True):
		self.fd = fd
		self.echo = echo
		# Without echo_boot, echo starts when the command does (set
		# by VM._wait): an interactive shell need not see the boot.
		self.echoing = echo_boot
		self.lines = []
		self.reports = []	# (kind, [lines])
		self.cur = None
		self.panic = False
		self.oops_at = None	# time.monotonic() of the first oops line
		self.lock = threading.Lock()
		self.thread = threading.Thread(target=self._run, daemon=True)
		self.thread.start()

	def _line(self, raw):
		line = raw.rstrip('\r')
		with self.lock:
			self.lines.append(line)
			text = TIMESTAMP_RE.sub('', line)
			if PANIC_RE.search(text):
				self.panic = True
			kind = None
			if PANIC_RE.search(text):
				kind = 'panic'
			elif OOPS_RE.search(text):
				kind = 'oops'
				if self.oops_at is None:
					self.oops_at = time.monotonic()
			elif WARN_RE.search(text):
				kind = 'warning'
			# WARN() prints its message between "cut here" and
			# "WARNING:", so a report starts at "cut here" and
			# takes its kind from the first marker after it.
			if self.cur is None and (kind or CUT_RE.search(text)):
				self.cur = [kind, []]
				self.reports.append(self.cur)
			elif self.cur is not None and self.cur[0] is None:
				self.cur[0] = kind
			if self.cur is not None:
				self.cur[1].append(text)
				if END_RE.search(text):
					self.cur = None

	def _run(self):
		buf = b''
		while True:
			try:
				data = os.read(self.fd, 65536)
			except OSError:
				data = b''
			if not data:
				break
			if self.echo and self.echoing:
				self.echo(data)
			buf += data
			while b'\n' in buf:
				line, buf = buf.split(b'\n', 1)
				self._line(line.decode(errors='replace'))
		if buf:
			self._line(buf.decode(errors='replace'))
		os.close(self.fd)

	def join(self, timeout=None):
		self.thread.join(timeout)

	def text(self):
		with self.lock:
			return '\n'.join(self.lines) + ('\n' if self.lines else '')


def _pump(fd, sink, keep):
	"""Copy a pipe to a sink (a callable) and/or a list of chunks."""
	def run():
		while True:
			try:
				data = os.read(fd, 65536)
			except OSError:
				break
			if not data:
				break
			if sink:
				sink(data)
			if keep is not None:
				keep.append(data)
		os.close(fd)
	t = threading.Thread(target=run, daemon=True)
	t.start()
	return t


class QMP:
	"""Just enough of QMP to hear GUEST_PANICKED and to quit."""

	def __init__(self, sock):
		self.sock = sock
		self.file = sock.makefile('rwb')
		self.panicked = threading.Event()
		self.events = []
		self.thread = None

	def start(self):
		self.file.readline()	# greeting
		self.file.write(b'{"execute": "qmp_capabilities"}\n')
		self.file.flush()
		self.thread = threading.Thread(target=self._run, daemon=True)
		self.thread.start()

	def _run(self):
		while True:
			try:
				line = self.file.readline()
			except OSError:
				break
			if not line:
				break
			try:
				msg = json.loads(line)
			except ValueError:
				continue
			ev = msg.get('event')
			if ev:
				self.events.append(ev)
			if ev == 'GUEST_PANICKED':
				self.panicked.set()

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass


TMPFS_DIRS = ('/tmp', '/run', '/var/tmp')


def _under(path, dirs):
	return any(path == d or path.startswith(d.rstrip('/') + '/')
		   for d in dirs)


def _die_with_parent():
	"""In the QEMU child: get SIGKILL if vm/run dies, so that no guest
	outlives the run that started it, even one killed with -9."""
	try:
		import ctypes
		libc = ctypes.CDLL(None, use_errno=True)
		libc.prctl(1, signal.SIGKILL)	# PR_SET_PDEATHSIG
	except (OSError, AttributeError):
		pass


def _sh_assign(name, value):
	return '%s=%s\n' % (name, shlex.quote(value))


class VM:
	"""One guest boot that runs one command (or a shell).

	cmd: list of argv words, run as root in cwd (default: the caller's cwd).
	rw: host directories shared writable at the same path (the project
	    directory always is, unless share_project=False).
	disks: image files, attached as virtio disks /dev/vda, /dev/vdb, ...;
	    "path:ro" attaches read-only.
	append: extra kernel command line words (e.g. module.sig_enforce=1).
	out / err: callables receiving the command's output as it comes (bytes).
	oops_grace: seconds the command may still run after a kernel oops
	    before the guest is killed (exit EXIT_OOPS); 0 waits for the
	    command (up to timeout).
	"""

	def __init__(self, cmd=None, *, shell=False, memory='1G', cpus=2,
		     append=(), disks=(), rw=(), env=None, cwd=None,
		     timeout=600, mode='hostfs', accel=None, out=None,
		     err=None, console_echo=None, panic_on_oops=False,
		     oops_grace=OOPS_GRACE, share_project=True, build=False,
		     qemu_extra=(), tcg_thread=None):
		self.cmd = list(cmd or [])
		self.shell = shell
		self.memory = str(memory)
		self.cpus = int(cpus)
		self.append = list(append)
		self.disks = list(disks)
		self.rw = [os.path.abspath(p) for p in rw]
		if share_project and ROOT not in self.rw:
			self.rw.insert(0, ROOT)
		self.env = dict(env or {})
		self.cwd = os.path.abspath(cwd or os.getcwd())
		# The guest's /tmp, /run and /var/tmp are fresh tmpfs: a working
		# directory there would vanish, so share it instead.
		if mode == 'hostfs' and _under(self.cwd, TMPFS_DIRS) and \
		   not _under(self.cwd, self.rw) and os.path.isdir(self.cwd):
			self.rw.append(self.cwd)
		self.timeout = timeout
		self.mode = mode
		self.accel = accel or ('kvm' if hw_virt() else 'tcg')
		# TCG only: 'single' runs every vCPU in one host thread.  With
		# one thread each (QEMU's default, 'multi'), the kernel's
		# cross-CPU code patching (text_poke_bp: ftrace, static calls)
		# livelocked the guest once in about 45 tracer switches:
		# one vCPU looped in the int3 handler and never answered the
		# other's sync IPI (docs/vm.md).
		self.tcg_thread = tcg_thread
		self.out = out
		self.err = err
		self.console_echo = console_echo
		self.panic_on_oops = panic_on_oops
		self.oops_grace = float(oops_grace or 0)
		self.build = build
		self.qemu_extra = list(qemu_extra)
		if not self.shell and not self.cmd:
			raise VMError('no command to run')
		if self.mode not in ('hostfs', 'initramfs'):
			raise VMError('mode must be hostfs or initramfs')
		self.proc = None

	# -- the job directory ---------------------------------------------
	def _write_job(self, job, kdir, kver):
		moddir = os.path.join(kdir, 'image', 'lib', 'modules', kver)
		with open(os.path.join(job, 'job.conf'), 'w') as f:
			f.write(_sh_assign('TW_MODE', self.mode))
			f.write(_sh_assign('TW_MODDIR', moddir))
		with open(os.path.join(job, 'shares'), 'w') as f:
			for i, path in enumerate(self.rw):
				if '\n' in path:
					raise VMError('bad path %r' % path)
				f.write('tw%d rw %s\n' % (i, path))
		env = {}
		for k, v in os.environ.items():
			if k.startswith('TWINFS_') and k != 'TWINFS_IN_VM':
				env[k] = v
		if self.shell:
			env['TERM'] = os.environ.get('TERM', 'linux')
		env.update(self.env)
		with open(os.path.join(job, 'job.sh'), 'w') as f:
			f.write(_sh_assign('TW_CWD', self.cwd))
			f.write(_sh_assign('TW_PATH', ':'.join(tool_dirs())))
			f.write(_sh_assign('TW_SHELL', '1' if self.shell else '0'))
			stty = ''
			if self.shell:
				try:
					sz = os.get_terminal_size(sys.stdin.fileno())
					stty = 'rows %d cols %d' % (sz.lines,
								   sz.columns)
				except OSError:
					pass
			f.write(_sh_assign('TW_STTY', stty))
			for k, v in sorted(env.items()):
				if not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', k):
					raise VMError('bad variable name %r' % k)
				f.write('export ' + _sh_assign(k, v))
			f.write('set -- %s\n' % ' '.join(shlex.quote(a)
							 for a in self.cmd))

	# -- the QEMU command line -----------------------------------------
	def _qemu_args(self, kdir, kver, job, fds):
		# vm/build unpacks the bzImage's payload into an ELF vmlinux that
		# QEMU starts through its PVH entry: under TCG that saves the
		# seconds the kernel's own xz decompressor takes.
		kernel = os.path.join(kdir, 'vmlinux')
		if not os.path.exists(kernel):
			kernel = os.path.join(kdir, 'image', 'boot',
					      'vmlinuz-' + kver)
		initrd = os.path.join(kdir, 'initramfs.cpio')
		for p in (kernel, initrd):
			if not os.path.exists(p):
				raise VMError('%s is missing: run vm/build' % p)
		cmdline = list(BASE_CMDLINE)
		if self.panic_on_oops:
			cmdline.append('oops=panic')
		cmdline += self.append
		a = ['qemu-system-x86_64', '-nodefaults', '-no-user-config',
		     '-display', 'none', '-no-reboot',
		     '-machine', 'pc', '-accel', self.accel + (
			     ',thread=%s' % self.tcg_thread
			     if self.accel == 'tcg' and self.tcg_thread
			     else ''),
		     '-cpu', 'host' if self.accel == 'kvm' else 'max',
		     '-m', self.memory, '-smp', str(self.cpus),
		     '-kernel', kernel, '-initrd', initrd,
		     '-append', ' '.join(cmdline),
		     '-chardev', 'file,id=con,path=/dev/fd/%d' % fds['console'],
		     '-serial', 'chardev:con',
		     '-device', 'pvpanic', '-action', 'panic=none',
		     '-chardev', 'socket,id=qmp,fd=%d' % fds['qmp'],
		     '-mon', 'chardev=qmp,mode=control',
		     '-device', 'virtio-serial-pci,id=vser']
		if self.shell:
			a += ['-chardev', 'stdio,id=tty,signal=off',
			      '-device', 'virtconsole,bus=vser.0,chardev=tty']
		else:
			a += ['-chardev', 'file,id=out,path=/dev/fd/%d' %
			      fds['out'],
			      '-device', 'virtserialport,bus=vser.0,nr=1,'
			      'name=twinfs.out,chardev=out',
			      '-chardev', 'file,id=err,path=/dev/fd/%d' %
			      fds['err'],
			      '-device', 'virtserialport,bus=vser.0,nr=2,'
			      'name=twinfs.err,chardev=err']
		shares = [('twinfsjob', job, False)]
		if self.mode == 'hostfs':
			shares.append(('hostroot', '/', True))
		shares += [('tw%d' % i, p, False) for i, p in enumerate(self.rw)]
		for i, (tag, path, ro) in enumerate(shares):
			if ',' in path:
				raise VMError('QEMU cannot share a path with a '
					      'comma: %s' % path)
			if not os.path.isdir(path):
				raise VMError('not a directory: %s' % path)
			a += ['-fsdev', 'local,id=fs%d,path=%s,security_model=none,'
			      'multidevs=remap%s' % (i, path,
						     ',readonly=on' if ro else ''),
			      '-device', 'virtio-9p-pci,fsdev=fs%d,mount_tag=%s'
			      % (i, tag)]
		for i, d in enumerate(self.disks):
			path, ro = d, False
			if d.endswith(':ro'):
				path, ro = d[:-3], True
			if not os.path.exists(path):
				raise VMError('no such disk image: %s' % path)
			if ',' in path:
				raise VMError('QEMU cannot use a path with a '
					      'comma: %s' % path)
			fmt = 'raw'
			with open(path, 'rb') as f:
				if f.read(4) == b'QFI\xfb':
					fmt = 'qcow2'
			a += ['-drive', 'file=%s,if=none,id=disk%d,format=%s%s' %
			      (os.path.abspath(path), i, fmt,
			       ',readonly=on' if ro else ''),
			      '-device', 'virtio-blk-pci,drive=disk%d' % i]
		return a + self.qemu_extra

	# -- running ----------------------------------------------------------
	def run(self):
		res = Result()
		res.oops_grace = self.oops_grace
		t0 = time.monotonic()
		wall0 = time.time()
		kdir = guest_dir(build=self.build)
		kver = os.path.basename(kdir)
		job = tempfile.mkdtemp(prefix='twinfs-vm-')
		pipes = []
		qmp = None
		try:
			self._write_job(job, kdir, kver)
			con_r, con_w = os.pipe()
			pipes.append(con_w)
			qs_a, qs_b = socket.socketpair()
			fds = {'console': con_w, 'qmp': qs_b.fileno()}
			out_keep, err_keep = [], []
			pumps = []
			if not self.shell:
				out_r, out_w = os.pipe()
				err_r, err_w = os.pipe()
				pipes += [out_w, err_w]
				fds['out'] = out_w
				fds['err'] = err_w
			args = self._qemu_args(kdir, kver, job, fds)
			self.proc = subprocess.Popen(
				args, pass_fds=list(fds.values()),
				stdin=None if self.shell else subprocess.DEVNULL,
				stdout=None if self.shell else subprocess.DEVNULL,
				stderr=subprocess.PIPE,
				start_new_session=not self.shell,
				preexec_fn=_die_with_parent)
			for w in pipes:
				os.close(w)
			pipes = []
			qs_b.close()
			qemu_err = []
			pumps.append(_pump(self.proc.stderr.fileno(), None,
					   qemu_err))
			console = Console(con_r, self.console_echo,
					  echo_boot=not self.shell)
			if not self.shell:
				pumps.append(_pump(out_r, self.out, out_keep))
				pumps.append(_pump(err_r, self.err, err_keep))
			qmp = QMP(qs_a)
			try:
				qmp.start()
			except OSError:
				pass
			self._wait(res, qmp, console, t0,
				   os.path.join(job, 'started'))
			console.join(5)
			for p in pumps:
				p.join(5)
			res.stdout = b''.join(out_keep)
			res.stderr = b''.join(err_keep)
			res.console = console.text()
			res.pvpanic = qmp.panicked.is_set()
			res.panic = res.panic or console.panic or res.pvpanic
			for kind, lines in console.reports:
				text = '\n'.join(lines)
				if kind is None:	# "cut here" alone
					continue
				if kind == 'warning':
					res.warnings.append(text)
				else:
					res.oops.append(text)
			self._status(res, job, wall0)
			qerr = b''.join(qemu_err).decode(errors='replace')
			self._verdict(res, qerr)
		finally:
			for w in pipes:
				os.close(w)
			if qmp:
				qmp.close()
			self.kill()
			shutil.rmtree(job, ignore_errors=True)
		res.seconds = time.monotonic() - t0
		return res

	def _wait(self, res, qmp, console, t0, started):
		deadline = None if not self.timeout else t0 + self.timeout
		panic_at = None
		while True:
			try:
				self.proc.wait(0.05)
				break
			except subprocess.TimeoutExpired:
				pass
			now = time.monotonic()
			if not console.echoing and os.path.exists(started):
				console.echoing = True
			if panic_at is None and (qmp.panicked.is_set() or
						 console.panic):
				panic_at = now
			# The guest reboots right after a panic (panic=-1);
			# if it does not, do not wait for it.
			if panic_at is not None and now - panic_at > 3:
				self.kill()
				break
			# After an oops, give the command oops_grace seconds:
			# what waits for a lock the oopsed task held never
			# wakes up (D state), so do not wait for the timeout.
			if panic_at is None and self.oops_grace and \
			   console.oops_at is not None and \
			   now - console.oops_at > self.oops_grace:
				res.oops_unfinished = True
				self.kill()
				break
			if deadline is not None and now > deadline:
				res.timed_out = True
				self.kill()
				break

	def _status(self, res, job, wall0):
		# stage2 writes "started <uptime>" just before the command; the
		# file's mtime (host clock) dates it from the host's side.
		try:
			p = os.path.join(job, 'started')
			res.boot_seconds = os.stat(p).st_mtime - wall0
			with open(p) as f:
				res.guest_uptime = float(f.read().split()[1])
		except (OSError, IndexError, ValueError):
			pass
		try:
			with open(os.path.join(job, 'status')) as f:
				st = f.read().strip()
		except OSError:
			return
		if st.startswith('boot-failed:'):
			res.boot_failure = st.split(':', 1)[1].strip()
		else:
			try:
				res.status = int(st)
			except ValueError:
				res.boot_failure = 'bad status %r' % st
		if res.status is not None:
			# it finished after all, just as the grace ran out
			res.oops_unfinished = False

	def _verdict(self, res, qemu_err):
		if res.timed_out:
			res.returncode = EXIT_TIMEOUT
		elif res.panic:
			res.returncode = EXIT_PANIC
		elif res.oops_unfinished:
			res.returncode = EXIT_OOPS
		elif res.status is None:
			res.returncode = EXIT_VMFAIL
			if not res.boot_failure:
				res.boot_failure = 'the guest stopped without ' \
					'an exit status'
				if qemu_err.strip():
					res.boot_failure += '; QEMU said: ' + \
						qemu_err.strip()
		elif res.oops:
			res.returncode = EXIT_OOPS
		else:
			res.returncode = res.status

	def kill(self):
		"""Stop QEMU, by its pid, if it is still running."""
		p = self.proc
		if p is None or p.poll() is not None:
			return
		try:
			p.send_signal(signal.SIGKILL)
		except ProcessLookupError:
			pass
		try:
			p.wait(10)
		except subprocess.TimeoutExpired:
			pass
