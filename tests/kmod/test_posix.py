# twinfs tests/kmod: the POSIX suite (tests/posix, unchanged) on a twinfs
# kernel mount in the guest, `--mount DIR` (its dir: target), including its
# differential random-operation test (test_fsx.py: the same operations on
# the kernel mount and on a tmpfs reference in the guest).  Afterwards the
# image must be fsck.twinfs -n clean on the host.
# Layer: host-side tests (the guest part is kjobs.guest_posix, run in the
# session's one guest boot); reads the suite's JUnit XML; calls fsck.twinfs.
#
# Under emulation (TCG) fsx runs TWINFS_KMOD_FSX_OPS operations (default
# 600, see kjobs.py) instead of the suite's defaults.
import os
import xml.etree.ElementTree as ET

import pytest

import kmodutil

pytestmark = pytest.mark.guest_job('posix')

POSIX = os.path.join(kmodutil.ROOT, 'tests', 'posix')


def outcomes(xml):
	"""{test name: 'passed'|'failed'|'error'|'skipped'} from JUnit XML."""
	out = {}
	for tc in ET.parse(xml).getroot().iter('testcase'):
		name = '%s::%s' % (tc.get('classname'), tc.get('name'))
		kind = 'passed'
		for child in tc:
			if child.tag in ('failure', 'error', 'skipped'):
				kind = {'failure': 'failed'}.get(child.tag,
								 child.tag)
				break
		# a teardown error after a pass is an error
		if out.get(name) not in (None, 'passed'):
			continue
		out[name] = kind
	return out


@pytest.fixture(scope='module')
def posix(guest_jobs):
	if not os.path.isdir(POSIX):
		pytest.skip('tests/posix is not there yet')
	return guest_jobs.result('posix')


def test_posix_suite_on_the_kernel_mount(posix, record_property):
	res = posix
	assert os.path.exists(res['junit']), res['pytest_out'][-8000:]
	got = outcomes(res['junit'])
	counts = {}
	for k in got.values():
		counts[k] = counts.get(k, 0) + 1
	print('tests/posix on the kernel mount: %s' % ', '.join(
		'%d %s' % (v, k) for k, v in sorted(counts.items())))
	for k, v in counts.items():
		record_property('posix_' + k, v)
	bad = sorted(n for n, k in got.items() if k in ('failed', 'error'))
	assert res['pytest_rc'] == 0 and not bad, \
		'%d of %d POSIX tests failed on the kernel mount:\n  %s\n\n%s' % (
			len(bad), len(got), '\n  '.join(bad),
			res['pytest_out'][-30000:])
	assert counts.get('passed', 0) >= 150
	# the differential test ran (not skipped) against the kernel mount
	fsx = [n for n in got if 'test_fsx' in n]
	assert fsx and all(got[n] == 'passed' for n in fsx), fsx


def test_image_clean_after_the_posix_suite(posix, guest_jobs):
	kmodutil.assert_fsck_clean(guest_jobs.path('p.img'))
