# twinfs vm/: pytest support for running tests inside the test guest.
# Layer: host-side test tooling (stdlib + pytest).  May call vm/twinfsvm.py;
# imported by conftest.py files (tests/vm/conftest.py does
# `from pytest_twinfsvm import *`).
#
# Two ways in:
#
# 1. The `in_vm` marker runs a test body inside the guest:
#
#        @pytest.mark.in_vm
#        def test_loads(twinfs_mod): ...
#
#        @pytest.mark.in_vm(append=['module.sig_enforce=1'])
#        def test_refused(): ...
#
#    On the host, every in_vm test with the same marker arguments runs in
#    one guest boot: the guest runs `python3 -m pytest NODEID...` in the
#    same directory, and each test's outcome (pass, fail with its
#    traceback, skip) is reported on the host as if it had run there.  A
#    guest panic, oops or timeout fails the tests it took down.  Inside the
#    guest (TWINFS_IN_VM=1) the marker does nothing, so the body just runs.
#
# 2. The `guest` fixture boots the guest for one command, or for a whole
#    pytest selection:
#
#        def test_x(guest, tmp_path):
#            r = guest.run('uname -r', rw=[tmp_path])
#            r = guest.pytest(['tests/posix', '--mount', '/mnt'])
#
#    which is what `vm/run -- pytest-3 tests/posix ...` does on the command
#    line.
import json
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import twinfsvm  # noqa: E402

IN_VM = os.environ.get('TWINFS_IN_VM') == '1'
PYTHON = '/usr/bin/python3'	# Debian's, which sees python3-pytest

__all__ = ['pytest_configure', 'pytest_runtest_protocol',
	   'pytest_runtest_logreport', 'guest', 'twinfs_mod', 'IN_VM']


_built = []


def _build_once():
	"""vm/build once per session (it is cheap, but not free)."""
	if not _built:
		twinfsvm.build_guest(quiet=True,
				     build_dir=os.environ.get('TWINFS_BUILD'))
		_built.append(True)


class Guest:
	"""Boots the guest for one command at a time (see twinfsvm.VM)."""

	def __init__(self, timeout=180):
		self.timeout = timeout

	def run(self, cmd, **kw):
		"""cmd: a shell string or an argv list.  Returns a
		twinfsvm.Result; the VM is gone when this returns."""
		if isinstance(cmd, str):
			cmd = ['/bin/sh', '-c', cmd]
		kw.setdefault('timeout', self.timeout)
		return twinfsvm.VM(cmd, **kw).run()

	def pytest(self, args, **kw):
		"""Run a pytest selection in the guest with Debian's python3."""
		cmd = [PYTHON, '-m', 'pytest', '-p', 'no:cacheprovider'] + \
			list(args)
		return self.run(cmd, **kw)


@pytest.fixture(scope='session')
def guest():
	"""The guest, built or refreshed once per session."""
	if IN_VM:
		pytest.fail('the guest fixture is for the host side')
	_build_once()
	return Guest()


@pytest.fixture(scope='session')
def twinfs_mod():
	"""Path of the built twinfs-mod (in $TWINFS_BUILD or build/)."""
	build = os.environ.get('TWINFS_BUILD',
			       os.path.join(twinfsvm.ROOT, 'build'))
	path = os.path.join(build, 'tools', 'twinfs-mod', 'twinfs-mod')
	if not os.access(path, os.X_OK):
		pytest.fail('%s is not built (run make, or set TWINFS_BUILD)'
			    % path)
	return path


def pytest_configure(config):
	config.addinivalue_line(
		'markers', 'in_vm(append=[], memory="1G", cpus=2, timeout=240): '
		'run the test body inside the twinfs test guest')


# -- in the guest: record each test's reports for the host ---------------

def pytest_runtest_logreport(report):
	path = os.environ.get('TWINFS_VM_REPORT')
	if not IN_VM or not path:
		return
	longrepr = None
	if report.outcome == 'skipped' and isinstance(report.longrepr, tuple):
		longrepr = list(report.longrepr)
	elif report.longrepr is not None:
		longrepr = str(report.longrepr)
	rec = {'nodeid': report.nodeid, 'when': report.when,
	       'outcome': report.outcome, 'longrepr': longrepr,
	       'duration': report.duration,
	       'sections': [list(s) for s in report.sections]}
	with open(path, 'a') as f:
		f.write(json.dumps(rec) + '\n')


# -- on the host: run marked tests in the guest, a group per boot --------

_MARK_DEFAULTS = {'append': [], 'memory': '1G', 'cpus': 2, 'timeout': 240}


def _mark_args(item):
	m = item.get_closest_marker('in_vm')
	if m is None:
		return None
	args = dict(_MARK_DEFAULTS)
	for k, v in m.kwargs.items():
		if k not in args:
			raise pytest.UsageError('in_vm: unknown argument %r' % k)
		args[k] = v
	if isinstance(args['append'], str):
		args['append'] = args['append'].split()
	return args


def _key(args):
	return json.dumps(args, sort_keys=True)


class _GroupRun:
	def __init__(self, items, records, result, error):
		self.items = items
		self.records = records	# nodeid -> [record]
		self.result = result
		self.error = error	# why the guest failed, or None


def _run_group(session, args, items):
	tmp = tempfile.mkdtemp(prefix='twinfs-vmtest-')
	report = os.path.join(tmp, 'reports.jsonl')
	try:
		_build_once()
		cmd = [PYTHON, '-m', 'pytest', '-p', 'no:cacheprovider', '-q',
		       '--rootdir', str(session.config.rootpath)]
		cmd += [it.nodeid for it in items]
		res = twinfsvm.VM(cmd, rw=[tmp], append=args['append'],
				  memory=args['memory'], cpus=args['cpus'],
				  timeout=args['timeout'],
				  cwd=str(session.config.rootpath),
				  env={'TWINFS_VM_REPORT': report}).run()
		records = {}
		try:
			with open(report) as f:
				for line in f:
					rec = json.loads(line)
					records.setdefault(rec['nodeid'],
							   []).append(rec)
		except FileNotFoundError:
			pass
		error = None
		if res.returncode in (twinfsvm.EXIT_PANIC,
				      twinfsvm.EXIT_OOPS,
				      twinfsvm.EXIT_TIMEOUT,
				      twinfsvm.EXIT_VMFAIL):
			error = 'guest: ' + res.summary()
		return _GroupRun(items, records, res, error)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)


def _guest_sections(res):
	out = [('guest stdout', res.out[-20000:]),
	       ('guest stderr', res.err[-20000:])]
	if res.oops or res.panic:
		out.append(('guest kernel reports', '\n\n'.join(res.oops)))
	out.append(('guest console (tail)',
		    ''.join(res.console.splitlines(True)[-60:])))
	return out


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
	if IN_VM:
		return None
	args = _mark_args(item)
	if args is None:
		return None
	from _pytest.reports import TestReport

	session = item.session
	cache = session.stash.setdefault(_GROUPS, {})
	key = _key(args)
	if key not in cache:
		group = [it for it in session.items if _mark_args(it) is not None
			 and _key(_mark_args(it)) == key]
		cache[key] = _run_group(session, args, group)
	run = cache[key]
	item.ihook.pytest_runtest_logstart(nodeid=item.nodeid,
					   location=item.location)
	keywords = {k: 1 for k in item.keywords}
	last = run.items[-1] is item

	def report(outcome, longrepr, when, sections, duration):
		rep = TestReport(item.nodeid, item.location, keywords, outcome,
				 longrepr, when, sections, duration)
		item.ihook.pytest_runtest_logreport(report=rep)

	seen = set()
	for rec in run.records.get(item.nodeid, []):
		outcome, longrepr = rec['outcome'], rec['longrepr']
		if outcome == 'skipped' and isinstance(longrepr, list):
			longrepr = tuple(longrepr)
		sections = [tuple(s) for s in rec['sections']]
		# A panic, oops or timeout after the last test finished is
		# still a failure: pin it on the last test's teardown.
		if rec['when'] == 'teardown' and last and run.error and \
		   outcome == 'passed':
			outcome, longrepr = 'failed', run.error
		if outcome == 'failed':
			sections += _guest_sections(run.result)
		report(outcome, longrepr, rec['when'], sections,
		       rec['duration'])
		seen.add(rec['when'])
	# A test the guest never finished: the guest died under it, or it
	# never ran.  Fail it, with the guest's story.
	if 'teardown' not in seen:
		why = run.error or 'the guest did not run this test (%s)' % \
			run.result.summary()
		when = [w for w in ('setup', 'call', 'teardown')
			if w not in seen][0]
		report('failed', why, when, _guest_sections(run.result), 0.0)
	item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid,
					    location=item.location)
	return True


_GROUPS = pytest.StashKey()

