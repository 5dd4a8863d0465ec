# twinfs tests/fuse: fixtures for the daemon-specific tests of twinfs-fuse
# (mounting, profiles, the mount.fuse3 helper, crashes, persistence, bad
# input).  The generic POSIX behaviour is tests/posix's.
# Layer: test harness (Python stdlib + pytest), run as root on the host
# with real FUSE mounts: `/usr/bin/python3 -m pytest tests/fuse`.
#
# Fixtures:
#   tracker   a twfuse.Tracker: every daemon and mount of the test, undone
#             at teardown even when the test failed (unmount, falling back
#             to a lazy unmount; kill what does not exit)
#   image     a fresh 64 MiB image in the test's tmp_path
#   mnt       an empty mountpoint directory in the test's tmp_path
# At the end of the session no twinfs mount and no daemon of ours may be
# left: that is asserted.
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import twfuse  # noqa: E402


def pytest_sessionstart(session):
	missing = [p for p in (twfuse.DAEMON, twfuse.HELPER_NAME, twfuse.MKFS,
			       twfuse.FSCK, twfuse.DUMP) if not os.path.exists(p)]
	if missing:
		pytest.exit('not built (TWINFS_BUILD=%s): %s'
			    % (twfuse.BUILD, ', '.join(missing)), returncode=1)
	if os.geteuid() != 0:
		pytest.exit('tests/fuse needs root (real FUSE mounts)',
			    returncode=1)
	if not os.path.exists('/dev/fuse'):
		pytest.exit('no /dev/fuse', returncode=1)


@pytest.fixture
def tracker(tmp_path):
	t = twfuse.Tracker(tmp_path)
	yield t
	problems = t.cleanup()
	assert not problems, problems


@pytest.fixture
def image(tmp_path):
	return twfuse.mkfs(tmp_path / 'img', '64M')


@pytest.fixture
def mnt(tmp_path):
	d = tmp_path / 'mnt'
	d.mkdir()
	return str(d)


@pytest.fixture(scope='session', autouse=True)
def no_leftovers(tmp_path_factory):
	base = str(tmp_path_factory.getbasetemp())
	yield
	left = [m for m in twfuse.mounts()
		if m[2] == 'fuse.twinfs' and
		(m[0].startswith(base) or m[1].startswith(base))]
	pids = twfuse.daemon_pids(base)
	for m in left:
		twfuse.lazy_unmount(m[1])
	for pid in pids:
		os.kill(pid, 9)
	assert not left and not pids, \
		'left behind: mounts %s, daemons %s' % (left, pids)
