# twinfs tests/vm: vm/run itself: boot, exit status, streams, shares, disks,
# timeouts, that panics and oopses are caught and told apart, and that a
# command stuck after an oops ends the run after a grace, not at the timeout.
# Layer: host-side tests; boot guests through vm/run and vm/twinfsvm.py.
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

import modfiles
import twinfsvm

ROOT = twinfsvm.ROOT
VM_RUN = os.path.join(ROOT, 'vm', 'run')


def vm_run(args, timeout=120, **kw):
	"""vm/run as a person would call it; the guest dies with it."""
	t0 = time.monotonic()
	r = subprocess.run([VM_RUN] + args, stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, text=True, timeout=timeout,
			   **kw)
	r.seconds = time.monotonic() - t0
	return r


@pytest.fixture(scope='module')
def oopsmod(guest, tmp_path_factory):
	return modfiles.build_oopsmod(str(tmp_path_factory.mktemp('oopsmod')))


def test_uname_prints_guest_kernel(guest):
	kver = subprocess.run([os.path.join(ROOT, 'vm', 'kernel-version')],
			      stdout=subprocess.PIPE, text=True,
			      check=True).stdout.strip()
	r = vm_run(['--', 'uname', '-r'])
	assert r.returncode == 0, r.stderr
	assert r.stdout.strip() == kver
	assert kver != os.uname().release or not os.path.exists('/proc/modules')


def host_busy():
	"""Fraction of all host CPUs busy over one second, with no guest
	running: other people's compilers slow a TCG guest down."""
	def snap():
		with open('/proc/stat') as f:
			v = [int(x) for x in f.readline().split()[1:]]
		return sum(v), v[3] + v[4]
	t1, i1 = snap()
	time.sleep(1)
	t2, i2 = snap()
	return 1 - (i2 - i1) / max(t2 - t1, 1)


def test_boots_to_command_within_5s(guest):
	"""The 5 s budget holds on a quiet host; on a busy one (measured just
	before) the test still fails past 10 s."""
	times = []
	accel = 'kvm' if twinfsvm.hw_virt() else 'tcg'
	for _ in range(3):	# the best of three
		busy = host_busy()
		r = guest.run(['true'])
		assert r.returncode == 0, r.summary()
		times.append((round(r.boot_seconds, 2), round(busy, 2)))
		if r.boot_seconds < 5:
			break
	print('boot to command (%s), (seconds, host busy): %s' % (accel,
								  times))
	best, busy = min(times)
	assert best < (5.0 if busy < 0.25 else 10.0), times


def test_status_streams_cwd_env_and_shares(guest, tmp_path):
	"""Exit status, stdout/stderr apart, the working directory, the
	environment, a --rw share, the project share and the read-only root,
	in one boot."""
	probe = os.path.join(ROOT, 'build', '.vm-write-probe')
	try:
		r = guest.run(['sh', '-c', 'pwd; echo "$GREETING"; id -u; '
			       'cat /proc/sys/kernel/hostname; '
			       'test -x /usr/bin/python3 && echo py; '
			       'touch /usr/twinfs-probe 2>/dev/null || echo ro; '
			       'touch "$PROBE" && echo rw; '
			       'grep -c " /tmp tmpfs" /proc/mounts; '
			       'echo oops >&2; '
			       'echo from-guest > made-in-guest; exit 7'],
			      cwd=str(tmp_path), rw=[str(tmp_path)],
			      env={'GREETING': 'hello world', 'PROBE': probe})
		assert r.returncode == 7
		assert r.status == 7
		assert r.out.splitlines() == [
			str(tmp_path), 'hello world', '0', 'twinfs-vm', 'py',
			'ro', 'rw', '1']
		assert r.err == 'oops\n'
		assert (tmp_path / 'made-in-guest').read_text() == \
			'from-guest\n'
		assert os.path.exists(probe)
	finally:
		if os.path.exists(probe):
			os.unlink(probe)


def test_virtio_disk_images_persist_across_boots(guest, tmp_path):
	img = tmp_path / 'minix.img'
	raw = tmp_path / 'raw.img'
	with open(img, 'wb') as f:
		f.truncate(4 << 20)
	subprocess.run(['mkfs.minix', str(img)], check=True,
		       stdout=subprocess.DEVNULL)
	raw.write_bytes(b'raw disk from the host\n' + b'\0' * 4096)
	r = guest.run('mkdir /tmp/m && mount -t minix /dev/vda /tmp/m && '
		      'echo kept > /tmp/m/file && umount /tmp/m && '
		      'head -n 1 /dev/vdb',
		      disks=[str(img), str(raw) + ':ro'])
	assert r.returncode == 0, r.err + r.console
	assert r.out == 'raw disk from the host\n'
	r = guest.run('mkdir /tmp/m && mount -t minix -o ro /dev/vda /tmp/m '
		      '&& cat /tmp/m/file && umount /tmp/m',
		      disks=[str(img) + ':ro'])
	assert r.returncode == 0, r.err
	assert r.out == 'kept\n'


def test_panic_is_detected_and_reported(guest, tmp_path):
	verdict = tmp_path / 'verdict.json'
	t0 = time.monotonic()
	r = vm_run(['-t', '120', '--result-json', str(verdict), '--',
		    'sh', '-c', 'echo c > /proc/sysrq-trigger; sleep 60'])
	took = time.monotonic() - t0
	assert r.returncode == twinfsvm.EXIT_PANIC, r.stderr
	assert 'KERNEL PANIC' in r.stderr
	assert 'sysrq triggered crash' in r.stderr
	assert 'Call Trace' in r.stderr
	v = json.loads(verdict.read_text())
	assert v['panic'] and v['pvpanic']	# QEMU's pvpanic device saw it
	assert v['returncode'] == twinfsvm.EXIT_PANIC
	assert v['status'] is None
	# Boot plus a few seconds, nowhere near the 60 s sleep or the timeout.
	assert took < 25, took


def test_warning_then_oops_reported_with_its_own_code(guest, oopsmod,
						       tmp_path):
	"""A WARN() is reported but changes nothing; an oops gets exit 122
	and its text, even though the command went on and finished."""
	verdict = tmp_path / 'verdict.json'
	r = vm_run(['--rw', os.path.dirname(oopsmod), '--result-json',
		    str(verdict), '--', 'sh', '-c',
		    'insmod %s crash=warn && rmmod oopsmod && '
		    'echo warned-and-loaded; insmod %s crash=oops; '
		    'echo "insmod: $?"' % (oopsmod, oopsmod)])
	assert r.returncode == twinfsvm.EXIT_OOPS, r.stderr
	assert 'warned-and-loaded' in r.stdout
	assert 'insmod: 137' in r.stdout	# killed by the oops
	assert 'KERNEL OOPS' in r.stderr
	assert 'BUG: kernel NULL pointer dereference' in r.stderr
	assert 'oopsmod_init' in r.stderr
	assert 'kernel warning in the guest' in r.stderr
	v = json.loads(verdict.read_text())
	assert not v['panic']
	assert v['status'] == 0		# the command itself finished
	assert any('oopsmod_init' in t for t in v['oops'])
	assert any('oopsmod: warning requested' in w for w in v['warnings'])


def test_oops_with_panic_on_oops_is_a_panic(guest, oopsmod):
	r = guest.run(['insmod', oopsmod, 'crash=oops'], panic_on_oops=True,
		      rw=[os.path.dirname(oopsmod)])
	assert r.returncode == twinfsvm.EXIT_PANIC, r.summary()
	assert r.panic and r.pvpanic


def test_command_stuck_after_oops_ends_after_the_grace(guest, oopsmod,
							tmp_path):
	"""After an oops, a command that cannot finish (a second insmod
	waits for ever for the module whose init died in the oops) is not
	waited for until the timeout: vm/run kills the guest --oops-grace
	seconds after the oops, exit 122, and says why."""
	verdict = tmp_path / 'verdict.json'
	grace, timeout = 5, 240
	r = vm_run(['-t', str(timeout), '--oops-grace', str(grace), '--rw',
		    os.path.dirname(oopsmod), '--result-json', str(verdict),
		    '--', 'sh', '-c',
		    'insmod %s crash=oops; echo "insmod: $?"; insmod %s; '
		    'echo never' % (oopsmod, oopsmod)], timeout=timeout + 60)
	assert r.returncode == twinfsvm.EXIT_OOPS, r.stderr
	assert 'insmod: 137' in r.stdout	# the oops happened
	assert 'never' not in r.stdout		# the second insmod hung
	assert 'the command did not finish within 5 s of it' in r.stderr
	assert 'did not finish after the oops' in r.stderr
	assert 'D state' in r.stderr
	assert 'oopsmod_init' in r.stderr	# the oops text
	v = json.loads(verdict.read_text())
	assert v['returncode'] == twinfsvm.EXIT_OOPS
	assert v['oops_unfinished'] is True and v['oops_grace'] == grace
	assert v['status'] is None and not v['timed_out'] and not v['panic']
	assert any('oopsmod_init' in t for t in v['oops'])
	# the oops comes right after the command starts: the run ended a
	# grace after that, plus the kill (generous on a loaded host), far
	# from the timeout
	assert v['boot_seconds'] + grace <= r.seconds, (v, r.seconds)
	assert r.seconds < v['boot_seconds'] + grace + 30, (v, r.seconds)
	assert r.seconds < timeout / 2


def test_oops_grace_0_waits_for_the_command(guest, oopsmod, tmp_path):
	"""--oops-grace 0: the command runs on after the oops for longer
	than the default grace, finishes, and gets the usual exit 122."""
	verdict = tmp_path / 'verdict.json'
	late = twinfsvm.OOPS_GRACE + 3
	r = vm_run(['--oops-grace', '0', '--rw', os.path.dirname(oopsmod),
		    '--result-json', str(verdict), '--', 'sh', '-c',
		    'insmod %s crash=oops; sleep %d; echo finished' % (
			    oopsmod, late)])
	assert r.returncode == twinfsvm.EXIT_OOPS, r.stderr
	assert 'finished' in r.stdout
	assert 'the command exited 0 (exit 122)' in r.stderr
	assert 'did not finish' not in r.stderr
	v = json.loads(verdict.read_text())
	assert v['status'] == 0 and v['oops_unfinished'] is False
	assert r.seconds > v['boot_seconds'] + late


def qemu_processes_mentioning(text):
	found = []
	for pid in os.listdir('/proc'):
		if not pid.isdigit():
			continue
		try:
			with open('/proc/%s/cmdline' % pid, 'rb') as f:
				cmd = f.read()
		except OSError:
			continue
		if b'qemu-system' in cmd and text.encode() in cmd:
			found.append(int(pid))
	return found


def test_timeout_kills_the_guest(guest, tmp_path):
	t0 = time.monotonic()
	r = vm_run(['-t', '5', '--rw', str(tmp_path), '--', 'sleep', '300'])
	assert r.returncode == twinfsvm.EXIT_TIMEOUT
	assert 'timed out after 5 s' in r.stderr
	assert time.monotonic() - t0 < 20
	assert qemu_processes_mentioning(str(tmp_path)) == []


def test_kernel_command_line_memory_and_cpus(guest):
	r = guest.run('cat /proc/cmdline; nproc; '
		      "awk '/MemTotal/ {print $2}' /proc/meminfo; "
		      'cat /sys/module/module/parameters/sig_enforce',
		      append=['module.sig_enforce=1', 'twinfs.test=42'],
		      memory='768M', cpus=1)
	assert r.returncode == 0, r.err
	lines = r.out.splitlines()
	assert 'twinfs.test=42' in lines[0].split()
	assert lines[1] == '1'
	assert 600 * 1024 < int(lines[2]) <= 768 * 1024
	assert lines[3] == 'Y'


def test_initramfs_alone_has_busybox_kmod_and_modules(guest):
	r = guest.run('cd /; ls /bin/busybox /bin/kmod; '
		      'modprobe minix && grep -w minix /proc/filesystems; '
		      'test -s /lib/modules/$(uname -r)/modules.dep && echo dep',
		      mode='initramfs')
	assert r.returncode == 0, r.err + r.console
	assert 'minix' in r.out and 'dep' in r.out


def test_shell_is_interactive(guest):
	"""vm/run --shell on a terminal: type commands, get their output and
	the shell's exit status back."""
	pid, fd = pty.fork()
	if pid == 0:
		os.execv(sys.executable, [sys.executable, VM_RUN, '--shell'])
	out = b''
	try:
		deadline = time.monotonic() + 90
		sent = False
		while time.monotonic() < deadline:
			r, _, _ = select.select([fd], [], [], 0.5)
			if r:
				try:
					data = os.read(fd, 4096)
				except OSError:
					break
				if not data:
					break
				out += data
			if not sent and b'twinfs-vm' in out and b'# ' in out:
				os.write(fd, b'echo answer-$((6*7)); exit 3\r')
				sent = True
		_, status = os.waitpid(pid, 0)
		pid = 0
	finally:
		if pid:
			os.kill(pid, 9)
			os.waitpid(pid, 0)
		os.close(fd)
	assert b'answer-42' in out, out
	assert os.waitstatus_to_exitcode(status) == 3
