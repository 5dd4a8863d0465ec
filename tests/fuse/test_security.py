# twinfs tests/fuse: who may mount twinfs-fuse where.  A user (nobody)
# mounts an image of their own through the set-user-ID fusermount3, as on
# any Debian machine:
#
# * on a directory of their own: it works, with nosuid,nodev forced, and
#   without allow_other nobody else gets in, not even root (EACCES);
# * on a directory they may not write (root's, 0755) or a sticky one they
#   do not own (root's, 1777, as /tmp): refused, nothing mounted;
# * -o allow_other without user_allow_other in /etc/fuse.conf: refused;
#   with it: allowed (the control that the refusal is that rule's).
#
# The host's /etc/fuse.conf and /dev/fuse are not touched: the test runs
# in a private mount namespace (unshare -m) where a fuse.conf of its own
# is bind-mounted over /etc/fuse.conf, and a /dev/fuse node with Debian's
# usual mode 0666 over /dev/fuse (containers often make it 0600, which
# would stop every user mount before any rule above is asked).  All its
# mounts die with the namespace.
# Layer: test harness (Python stdlib + pytest); runs twinfs-fuse,
# fusermount3, setpriv, unshare, mount, mknod (as root, then as nobody).
import os
import shutil
import subprocess
import tempfile

import pytest

import twfuse

NOBODY = 65534
OTHER = 12345

SCRIPT = r'''
set -u
W=$1 F=$2
mount -t tmpfs -o size=1M,mode=755 twinfs-sec "$W/ns" || exit 90
mknod -m 666 "$W/ns/fuse" c 10 229 || exit 91
mount --bind "$W/ns/fuse" /dev/fuse || exit 92
printf '# twinfs test: no user_allow_other\n' > "$W/ns/fuse.conf"
mount --bind "$W/ns/fuse.conf" /etc/fuse.conf || exit 93
as() { u=$1; shift; setpriv --reuid=$u --regid=$u --clear-groups "$@"; }
mounted() { grep -c " $1 fuse.twinfs " /proc/self/mounts; }
result() { echo "RESULT $1 rc=$2 mounted=$3"; }

# own directory: mounted, by fusermount3, with nosuid,nodev
as 65534 timeout 30 "$F" "$W/img" "$W/own" -f & pid=$!
i=0; while [ "$(mounted "$W/own")" = 0 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1)); done
result own 0 "$(mounted "$W/own")"
echo "OPTS $(grep " $W/own fuse.twinfs " /proc/self/mounts | cut -d' ' -f4)"
as 65534 stat -c 'STAT owner %u' "$W/own/."
stat "$W/own/." >/dev/null 2>&1; echo "ROOTSTAT rc=$?"
as 12345 stat "$W/own/." >/dev/null 2>&1; echo "OTHERSTAT rc=$?"
as 65534 fusermount3 -u "$W/own"; echo "UNMOUNT rc=$?"
wait $pid; echo "DAEMON rc=$?"

for d in rootdir sticky; do
	as 65534 timeout 30 "$F" "$W/img" "$W/$d" 2>&1
	result $d $? "$(mounted "$W/$d")"
done
as 65534 timeout 30 "$F" "$W/img" "$W/own" -o allow_other 2>&1
result allow_other $? "$(mounted "$W/own")"

printf 'user_allow_other\n' > "$W/ns/fuse.conf"
as 65534 timeout 30 "$F" "$W/img" "$W/own" -f -o allow_other & pid=$!
i=0; while [ "$(mounted "$W/own")" = 0 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1)); done
result allow_other_allowed 0 "$(mounted "$W/own")"
as 12345 stat "$W/own/." >/dev/null 2>&1; echo "OTHERSTAT2 rc=$?"
as 65534 fusermount3 -u "$W/own"; echo "UNMOUNT2 rc=$?"
wait $pid; echo "DAEMON2 rc=$?"
'''


@pytest.fixture
def world():
	"""A directory everybody can reach (tmp_path is 0700), removed at
	the end."""
	d = tempfile.mkdtemp(prefix='twinfs-sec-')
	os.chmod(d, 0o755)
	yield d
	shutil.rmtree(d, ignore_errors=True)


def test_user_mounts_only_where_fusermount3_allows(world):
	for tool in ('unshare', 'setpriv', 'fusermount3'):
		if not shutil.which(tool):
			pytest.skip('no ' + tool)
	img = twfuse.mkfs(os.path.join(world, 'img'), '16M')
	os.chown(img, NOBODY, NOBODY)
	os.mkdir(os.path.join(world, 'ns'))
	for name, owner, mode in (('own', NOBODY, 0o755),
				  ('rootdir', 0, 0o755),
				  ('sticky', 0, 0o1777)):
		p = os.path.join(world, name)
		os.mkdir(p)
		os.chown(p, owner, owner)
		os.chmod(p, mode)
	with open('/etc/fuse.conf', 'rb') as f:
		conf_before = f.read()
	script = os.path.join(world, 'sec.sh')
	with open(script, 'w') as f:
		f.write(SCRIPT)
	r = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh',
			    script, world, twfuse.DAEMON],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			   text=True, timeout=180)
	out = r.stdout
	print(out)		# (shown when the test fails)
	with open('/etc/fuse.conf', 'rb') as f:
		assert f.read() == conf_before, '/etc/fuse.conf changed'
	assert twfuse.mount_of(os.path.join(world, 'own')) is None
	if r.returncode in (90, 91, 92, 93):
		pytest.skip('cannot set up the mount namespace (step %d):\n%s'
			    % (r.returncode, out))
	res = {}
	for ln in out.splitlines():
		if ln.startswith('RESULT '):
			_, name, rc, m = ln.split()
			res[name] = (int(rc.split('=')[1]), int(m.split('=')[1]))
	lines = {ln.split()[0]: ln for ln in out.splitlines() if ln}
	# own directory: mounted; nosuid,nodev; nobody else may look
	assert res.get('own') == (0, 1), out
	opts = lines['OPTS'].split()[1].split(',')
	assert 'nosuid' in opts and 'nodev' in opts, out
	assert 'user_id=%d' % NOBODY in opts, out
	assert 'allow_other' not in opts, out
	assert lines['STAT'] == 'STAT owner 0', out	# (mkfs's root dir)
	assert lines['ROOTSTAT'] == 'ROOTSTAT rc=1', out
	assert lines['OTHERSTAT'] == 'OTHERSTAT rc=1', out
	assert lines['UNMOUNT'] == 'UNMOUNT rc=0', out
	assert lines['DAEMON'] == 'DAEMON rc=0', out
	# not on a directory the user may not write, nor a sticky one of
	# somebody else's
	assert res.get('rootdir') == (1, 0), out
	assert 'no write access to mountpoint' in out, out
	assert res.get('sticky') == (1, 0), out
	assert 'not owned by user' in out, out
	# allow_other only where fuse.conf says user_allow_other
	assert res.get('allow_other') == (1, 0), out
	assert "only allowed if 'user_allow_other' is set" in out, out
	assert res.get('allow_other_allowed') == (0, 1), out
	assert lines['OTHERSTAT2'] == 'OTHERSTAT2 rc=0', out
	assert lines['UNMOUNT2'] == 'UNMOUNT2 rc=0', out
	assert lines['DAEMON2'] == 'DAEMON2 rc=0', out
	twfuse.assert_clean(img)
