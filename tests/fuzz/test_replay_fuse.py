# twinfs tests/fuzz: the fuzz regression images and the corpus sample
# (tests/images/fuzz/*.fz, tests/images/fuzz/corpus/*.fz) mounted by
# twinfs-fuse on the host, the user-space half of "replay in both homes"
# (docs/fuzzing.md; the kernel half is tests/kmod/test_fuzzimages.py).
#
# For each input: `fzimg decode` makes the raw image (and the pure-Python
# decoder that the guest uses must give the same bytes); then twinfs-fuse
# (profile optimized, in the foreground) mounts it read-only and, on a
# fresh copy, read-write:
#   - a refused mount is a clean exit with "cannot mount IMAGE: Structure
#     needs cleaning" (or "Bad message"), the errno twinfs-ctl's mount of
#     the same image gives, and for read-write the one LIST records;
#   - a mounted image is walked and read (read-only), read, written,
#     renamed and unlinked in (read-write), each step bounded in time in a
#     child process; errors may only be what the damage explains
#     (fzreplay.READ_ERRNOS/WRITE_ERRNOS): an ENOTCONN would mean a dead
#     daemon;
#   - fusermount3 -u, and the daemon exits 0 within its time (1 if the
#     core aborted the journal on damage it met inside a transaction, and
#     it says so); it never dies of a signal.
# Every daemon and mount is undone by tests/fuse's Tracker, even on failure.
#
# Layer: tests (host, root, real FUSE mounts); run by
# scripts/check.d/50-fuzz.sh after tests/fuzz/fuzz.sh check has built
# build/fuzz/fzimg:
#   /usr/bin/python3 -m pytest -q tests/fuzz/test_replay_fuse.py
# Runs fzimg, twinfs-ctl, twinfs-fuse and fusermount3.
import filecmp
import os
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'fuse'))
import fzreplay  # noqa: E402
import twfuse  # noqa: E402

FZIMG = os.path.join(fzreplay.build_dir(), 'fuzz', 'fzimg')
STEP = 60		# seconds any one step may take
CASES = fzreplay.cases()


def require_built():
	missing = [p for p in (FZIMG, twfuse.DAEMON, fzreplay.CTL)
		   if not os.path.exists(p)]
	if missing:
		pytest.fail('not built: %s (tests/fuzz/fuzz.sh build; make '
			    'build)' % ', '.join(missing), pytrace=False)
	if os.geteuid() != 0 or not os.path.exists('/dev/fuse'):
		pytest.fail('needs root and /dev/fuse (real FUSE mounts)',
			    pytrace=False)


@pytest.fixture
def tracker(tmp_path):
	t = twfuse.Tracker(tmp_path)
	yield t
	problems = t.cleanup()
	assert not problems, problems


def fuse_run(tracker, image, mnt, ro, exercise):
	"""twinfs-fuse on image; returns (verdict, tally or None, seconds)."""
	os.makedirs(mnt, exist_ok=True)
	t0 = time.monotonic()
	d = tracker.daemon(image, mnt)
	d.start('ro' if ro else 'rw', foreground=True, check=False)
	if not d.mounted():
		try:
			rc = d.proc.wait(STEP)
		except subprocess.TimeoutExpired:
			raise AssertionError('twinfs-fuse neither mounted nor '
					     'exited:\n' + d.stderr)
		assert rc == 1, 'twinfs-fuse exited %s (a signal?):\n%s' % (
			rc, d.stderr)
		v = fzreplay.errno_of_message(d.stderr)
		assert v, 'twinfs-fuse refused without saying why:\n' + \
			d.stderr
		return v, None, time.monotonic() - t0
	try:
		tally = fzreplay.bounded(lambda: exercise(mnt), STEP,
					 'twinfs-fuse %s' % ('ro' if ro
							     else 'rw'))
	finally:
		assert d.running(), 'twinfs-fuse died (exit %s):\n%s' % (
			d.proc.poll(), d.stderr)
	rc = d.unmount()
	# exit 1 only when the core aborted the journal (an operation met
	# damage inside a transaction): the unmount then fails with EROFS,
	# and says so
	aborted = 'journal aborted' in d.stderr
	assert rc == 0 or (rc == 1 and aborted and not ro), \
		'twinfs-fuse exited %s after the unmount:\n%s' % (rc, d.stderr)
	tally['aborted'] = aborted
	return 'ok', tally, time.monotonic() - t0


def read_only(mnt):
	return fzreplay.walk(mnt)[0]


def read_write(mnt):
	r, found = fzreplay.walk(mnt)
	return fzreplay.merge(r, fzreplay.write_some(mnt, found))


def test_decoders_agree(tmp_path):
	"""fzimg decode and the guest's pure-Python decoder give the same
	image for every input."""
	require_built()
	out = str(tmp_path / 'x.img')
	for c in CASES:
		subprocess.run([FZIMG, 'decode', c.path, out], check=True,
			       stdout=subprocess.DEVNULL, timeout=60)
		with open(out, 'rb') as f, open(c.path, 'rb') as g:
			assert f.read() == fzreplay.decode(g.read()), c.name


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_fuse_replay(case, tracker, tmp_path):
	require_built()
	raw = str(tmp_path / 'raw.img')
	subprocess.run([FZIMG, 'decode', case.path, raw], check=True,
		       stdout=subprocess.DEVNULL, timeout=60)
	core_ro = fzreplay.core_verdict(raw, ro=True)
	core_rw = fzreplay.core_verdict(raw, ro=False, scratch=str(tmp_path))
	if case.mount is not None:
		assert core_rw == case.mount, \
			'%s: twinfs-ctl read-write mount %s, LIST says %s' % (
				case.name, core_rw, case.mount)
	res = {}
	for ro in (True, False):
		how = 'ro' if ro else 'rw'
		img = str(tmp_path / ('%s.img' % how))
		shutil.copyfile(raw, img)
		v, tally, secs = fuse_run(tracker, img, str(tmp_path / how),
					  ro, read_only if ro else read_write)
		res[how] = (v, tally, secs)
		if ro:
			assert filecmp.cmp(raw, img, shallow=False), \
				'%s: the read-only mount changed the image' % \
				case.name
		assert v in ('ok',) + tuple(fzreplay.CORE_ERRNOS), \
			'%s: %s mount refused with %s' % (case.name, how, v)
		want = core_ro if ro else (case.mount or core_rw)
		assert v == want, '%s: twinfs-fuse %s mount: %s, the core ' \
			'(%s) says %s' % (case.name, how, v,
					  'twinfs-ctl' if ro else 'LIST', want)
		bad = tally and fzreplay.problems(tally, tally['aborted'])
		assert not bad, '%s (%s): errors the damage does not ' \
			'explain:\n%s' % (case.name, how, '\n'.join(bad))
	fzreplay.log_result('fuse', case, {
		k: {'mount': v[0], 'tally': v[1]} for k, v in res.items()},
		{k: v[2] for k, v in res.items()})
