# twinfs tests/kmod: pytest wiring for the kernel module's tests.
# Layer: test harness; imports vm/pytest_twinfsvm.py (the in_vm marker, the
# guest fixture) like tests/vm/conftest.py, and the helpers of this
# directory.  Run with Debian's interpreter: pytest-3 tests/kmod (or make
# check, scripts/check.d/45-kmod.sh).
#
# Two kinds of tests, two ways into the guest, as few boots as possible:
#
# * Tests marked in_vm (lifecycle, hostile images) run inside the guest;
#   all with the same marker arguments share one boot (the plugin's
#   batching).
# * Tests marked guest_job(NAME) need the host before and after the guest
#   (cross-home images, the concurrency run, the POSIX suite): the
#   session fixture guest_jobs prepares the images of every selected job on
#   the host, boots ONE guest that runs them all (kjobs.py), and hands each
#   test its job's result; the test then checks the images on the host.
import atexit
import json
import os
import shutil
import signal
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'vm'))
sys.path.insert(0, HERE)

import pytest_twinfsvm  # noqa: E402
import twinfsvm  # noqa: E402
from pytest_twinfsvm import *  # noqa: E402,F401,F403
from pytest_twinfsvm import IN_VM  # noqa: E402
import kjobs  # noqa: E402
import kmodutil  # noqa: E402


def _terminated(signum, frame):
	# make check's backstop (timeout(1)) sends SIGTERM: stop as Ctrl-C
	# does, unwinding, so that the vm harness kills its QEMU and removes
	# its files, and the fixtures their images (atexit as a last resort)
	raise KeyboardInterrupt('SIGTERM')


def pytest_configure(config):
	if not IN_VM:
		signal.signal(signal.SIGTERM, _terminated)
	pytest_twinfsvm.pytest_configure(config)
	config.addinivalue_line(
		'markers', 'guest_job(name): the test checks the result of '
		'kjobs.py job NAME, run in the one guest boot of the session')


# -- the batched guest jobs -------------------------------------------------

class Jobs:
	"""The outcome of the guest boot that ran the jobs."""

	def __init__(self, work, jobs, vmres):
		self.work = work
		self.jobs = jobs
		self.vm = vmres

	def path(self, name):
		return os.path.join(self.work, name)

	def result(self, name):
		"""The job's result dict; fails the test when the guest or the
		job did not finish, with what the guest said."""
		vm = self.vm
		if vm.oops or vm.panic or vm.returncode in (
				twinfsvm.EXIT_TIMEOUT, twinfsvm.EXIT_VMFAIL):
			pytest.fail('the guest failed: %s\n%s\n--- kernel ---\n%s'
				    % (vm.summary(), vm.out[-6000:],
				       '\n\n'.join(vm.oops) or
				       ''.join(vm.console.splitlines(True)[-80:])),
				    pytrace=False)
		try:
			with open(self.path(name + '.json')) as f:
				res = json.load(f)
		except FileNotFoundError:
			pytest.fail('job %s left no result; guest: %s\n%s%s' % (
				name, vm.summary(), vm.out[-6000:],
				vm.err[-6000:]), pytrace=False)
		if not res.get('ok'):
			pytest.fail('job %s failed in the guest:\n%s' % (
				name, res.get('error')), pytrace=False)
		assert not res['kmsg_problems'], \
			'the kernel reported problems during %s:\n%s' % (
				name, '\n'.join(res['kmsg']))
		assert not vm.warnings, 'kernel WARNING during the jobs:\n' + \
			'\n\n'.join(vm.warnings)
		return res


@pytest.fixture(scope='session')
def guest_jobs(request, guest):
	"""Prepare and run, in one guest boot, every job a selected test asks
	for with @pytest.mark.guest_job(NAME)."""
	names = set()
	for item in request.session.items:
		for m in item.iter_markers('guest_job'):
			names.add(m.args[0])
	work = tempfile.mkdtemp(prefix='twinfs-kjobs-')
	atexit.register(shutil.rmtree, work, True)
	try:
		disks, jobs = kjobs.prepare(work, names)
		with open(os.path.join(work, 'jobs.json'), 'w') as f:
			json.dump({'jobs': jobs}, f)
		timeout = 60 + sum(kjobs.JOBS[n] for n in jobs)
		res = guest.run([pytest_twinfsvm.PYTHON,
				 os.path.join(HERE, 'kjobs.py'), work],
				rw=[work], disks=disks, timeout=timeout,
				memory='1536M', cwd=ROOT)
		yield Jobs(work, jobs, res)
	finally:
		shutil.rmtree(work, ignore_errors=True)


# -- in the guest ------------------------------------------------------------

@pytest.fixture
def kmsg():
	"""Kernel log records during the test; at the end, none may report
	an oops, WARNING, BUG or the like."""
	if not IN_VM:
		pytest.fail('kmsg is for tests that run in the guest')
	w = kmodutil.KmsgWatch()
	yield w
	try:
		w.assert_clean()
	finally:
		w.close()
