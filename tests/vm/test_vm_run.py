# twinfs tests/vm: vm/run itself: boot, exit status, streams, shares, disks,
# timeouts, and that panics and oopses are caught and told apart.
# Layer: host-side tests; boot guests through vm/run and vm/twinfsvm.py.
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


def test_boots_to_command_within_5s(guest):
	times = []
	for _ in range(3):	# the best of three, in case the host is busy
		r = guest.run(['true'])
		assert r.returncode == 0, r.summary()
		times.append(r.boot_seconds)
		if r.boot_seconds < 5:
			break
	accel = 'kvm' if twinfsvm.hw_virt() else 'tcg'
	print('boot to command (%s): %s s' % (accel, times))
	assert min(times) < 5.0, times


def test_status_streams_cwd_env_and_rw_share(guest, tmp_path):
	r = guest.run(['sh', '-c', 'pwd; echo "$GREETING"; echo oops >&2; '
		       'echo from-guest > made-in-guest; exit 7'],
		      cwd=str(tmp_path), rw=[str(tmp_path)],
		      env={'GREETING': 'hello world'})
	assert r.returncode == 7
	assert r.status == 7
	assert r.out.splitlines() == [str(tmp_path), 'hello world']
	assert r.err == 'oops\n'
	assert (tmp_path / 'made-in-guest').read_text() == 'from-guest\n'


def test_guest_sees_host_root_read_only_and_project_writable(guest):
	probe = os.path.join(ROOT, 'build', '.vm-write-probe')
	try:
		r = guest.run('id -u; test -x /usr/bin/python3 && echo py; '
			      'touch /usr/twinfs-probe 2>/dev/null || echo ro; '
			      'touch %s && echo rw; '
			      'cat /proc/sys/kernel/hostname; '
			      'grep -c " /tmp tmpfs" /proc/mounts' % probe,
			      cwd=ROOT)
		assert r.returncode == 0, r.err
		assert r.out.split() == ['0', 'py', 'ro', 'rw', 'twinfs-vm',
					 '1']
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


def test_panic_is_detected_and_reported(guest):
	t0 = time.monotonic()
	r = vm_run(['-t', '120', '--', 'sh', '-c',
		    'echo c > /proc/sysrq-trigger; sleep 60'])
	took = time.monotonic() - t0
	assert r.returncode == twinfsvm.EXIT_PANIC, r.stderr
	assert 'KERNEL PANIC' in r.stderr
	assert 'sysrq triggered crash' in r.stderr
	assert 'Call Trace' in r.stderr
	# Boot plus a few seconds, nowhere near the 60 s sleep or the timeout.
	assert took < 20, took


def test_panic_seen_by_pvpanic(guest):
	res = guest.run('echo c > /proc/sysrq-trigger; sleep 60')
	assert res.returncode == twinfsvm.EXIT_PANIC
	assert res.panic
	assert any('sysrq triggered crash' in t for t in res.oops)


def test_oops_is_reported_with_its_own_code(guest, oopsmod, tmp_path):
	r = guest.run(['insmod', oopsmod, 'crash=oops'],
		      rw=[os.path.dirname(oopsmod)])
	assert r.returncode == twinfsvm.EXIT_OOPS, r.summary() + r.console
	assert not r.panic
	assert r.status != 0	# insmod died with the oops
	text = '\n'.join(r.oops)
	assert 'BUG: kernel NULL pointer dereference' in text
	assert 'oopsmod_init' in text
	cli = vm_run(['--rw', os.path.dirname(oopsmod), '--', 'insmod',
		      oopsmod, 'crash=oops'])
	assert cli.returncode == twinfsvm.EXIT_OOPS
	assert 'KERNEL OOPS' in cli.stderr
	assert 'oopsmod_init' in cli.stderr


def test_oops_with_panic_on_oops_is_a_panic(guest, oopsmod):
	r = guest.run(['insmod', oopsmod, 'crash=oops'], panic_on_oops=True,
		      rw=[os.path.dirname(oopsmod)])
	assert r.returncode == twinfsvm.EXIT_PANIC, r.summary()
	assert r.panic


def test_warning_is_reported_but_not_fatal(guest, oopsmod):
	r = guest.run(['insmod', oopsmod, 'crash=warn'],
		      rw=[os.path.dirname(oopsmod)])
	assert r.returncode == 0, r.summary() + r.console
	assert any('oopsmod: warning requested' in w for w in r.warnings)


def test_timeout_kills_the_guest(guest):
	vm = twinfsvm.VM(['sleep', '300'], timeout=8)
	t0 = time.monotonic()
	r = vm.run()
	assert r.returncode == twinfsvm.EXIT_TIMEOUT
	assert r.timed_out
	assert time.monotonic() - t0 < 20
	assert vm.proc.poll() is not None	# QEMU is gone
	cli = vm_run(['-t', '6', '--', 'sleep', '300'])
	assert cli.returncode == twinfsvm.EXIT_TIMEOUT
	assert 'timed out' in cli.stderr


def test_kernel_command_line_option(guest):
	r = guest.run('cat /proc/cmdline; '
		      'cat /sys/module/module/parameters/sig_enforce',
		      append=['module.sig_enforce=1', 'twinfs.test=42'])
	assert r.returncode == 0
	assert 'twinfs.test=42' in r.out
	assert r.out.split()[-1] == 'Y'


def test_memory_and_cpus_options(guest):
	r = guest.run("nproc; awk '/MemTotal/ {print $2}' /proc/meminfo",
		      memory='768M', cpus=1)
	assert r.returncode == 0, r.err
	cpus, mem_kb = r.out.split()
	assert cpus == '1'
	assert 600 * 1024 < int(mem_kb) <= 768 * 1024


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
