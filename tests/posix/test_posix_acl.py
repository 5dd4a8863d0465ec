# twinfs tests/posix: POSIX ACLs - system.posix_acl_access and
# system.posix_acl_default through getfacl/setfacl (Debian's acl package)
# and raw xattrs in Linux's representation; enforcement for other users
# (a named user or group grants, the mask restricts), inheritance of
# default ACLs by files and directories, chmod rewriting the mask, an
# equivalent ACL collapsing into the mode, the umask applied only without
# a default ACL, S_ISGID cleared for a caller outside the group, malformed
# values refused, persistence across a remount.  Where a target has no
# ACLs the tests skip with that reason.
# Layer: POSIX test suite; system calls and the acl tools only, against
# any mounted directory.
import errno
import os
import shutil
import stat
import struct
import subprocess

import pytest

from posixfs import NOBODY, USER2, GROUP2, as_user, raises_errno, write_file

ACC = 'system.posix_acl_access'
DEF = 'system.posix_acl_default'
NOTSUP = (errno.ENOTSUP, errno.EOPNOTSUPP)

# Linux's xattr representation (include/uapi/linux/posix_acl_xattr.h)
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
NOID = 0xffffffff


def encode(*entries, version=2):
	"""An ACL value: (tag, perm[, id]) entries after a version header."""
	out = struct.pack('<I', version)
	for e in entries:
		tag, perm = e[0], e[1]
		out += struct.pack('<HHI', tag, perm, e[2] if len(e) > 2 else NOID)
	return out


def decode(value):
	"""[(tag, perm, id)] of an ACL value."""
	assert struct.unpack_from('<I', value)[0] == 2
	return [struct.unpack_from('<HHI', value, off)
		for off in range(4, len(value), 8)]


@pytest.fixture
def root(fsroot):
	"""fsroot, searchable by everyone, on a target with POSIX ACLs."""
	os.chmod(fsroot, 0o755)
	try:
		os.setxattr(fsroot, ACC, encode((USER_OBJ, 7), (GROUP_OBJ, 5),
						 (OTHER, 5)))
	except OSError as e:
		if e.errno in NOTSUP:
			pytest.skip('the target has no POSIX ACLs')
		raise
	return fsroot


def need_tools():
	if not (shutil.which('getfacl') and shutil.which('setfacl')):
		pytest.skip('getfacl/setfacl not installed (Debian package acl)')


def setfacl(*args):
	need_tools()
	r = subprocess.run(['setfacl'] + [str(a) for a in args],
			   capture_output=True, text=True)
	assert r.returncode == 0, r.stderr
	return r


def getfacl(path, effective=False):
	"""getfacl's entries for path, numeric, without the header; with
	effective, the #effective comments too."""
	need_tools()
	args = ['getfacl', '-cn'] + ([] if effective else ['-E']) + [str(path)]
	r = subprocess.run(args, capture_output=True, text=True)
	assert r.returncode == 0, r.stderr
	return [line.replace('\t', ' ') for line in r.stdout.splitlines()
		if line]


def mode(path):
	return stat.S_IMODE(os.stat(path).st_mode)


def can_open(path, flags):
	try:
		os.close(os.open(path, flags))
		return True
	except PermissionError:
		return False


# -- storage ------------------------------------------------------------------

def test_raw_roundtrip(root):
	f = root / 'f'
	write_file(f, b'x', 0o600)
	value = encode((USER_OBJ, 6), (USER, 4, USER2), (GROUP_OBJ, 4),
		       (MASK, 6), (OTHER, 0))
	os.setxattr(f, ACC, value)
	assert os.getxattr(f, ACC) == value
	assert ACC in os.listxattr(f)
	# the group bits of the mode come from the mask
	assert mode(f) == 0o660
	os.removexattr(f, ACC)
	raises_errno(errno.ENODATA, os.getxattr, f, ACC)
	assert mode(f) == 0o660


def test_equivalent_acl_collapses_into_mode(root):
	f = root / 'f'
	write_file(f, b'', 0o600)
	os.setxattr(f, ACC, encode((USER_OBJ, 7), (GROUP_OBJ, 5), (OTHER, 4)))
	raises_errno(errno.ENODATA, os.getxattr, f, ACC)
	assert ACC not in os.listxattr(f)
	assert mode(f) == 0o754
	setfacl('-m', 'u:%d:rw' % USER2, f)
	assert os.getxattr(f, ACC)
	setfacl('-b', f)
	raises_errno(errno.ENODATA, os.getxattr, f, ACC)
	assert getfacl(f) == ['user::rwx', 'group::r-x', 'other::r--']


def test_malformed_values(root):
	f = root / 'f'
	write_file(f, b'', 0o644)
	good = encode((USER_OBJ, 6), (GROUP_OBJ, 4), (OTHER, 4))
	bad = [
		good[:-1],					# torn entry
		good[:3],					# torn header
		encode((USER_OBJ, 6), (USER, 4, USER2), (GROUP_OBJ, 4),
		       (OTHER, 4)),				# named, no mask
		encode((GROUP_OBJ, 4), (USER_OBJ, 6), (OTHER, 4)),  # order
		encode((USER_OBJ, 6), (USER_OBJ, 6), (GROUP_OBJ, 4),
		       (OTHER, 4)),				# two owners
		encode((USER_OBJ, 6), (GROUP_OBJ, 4)),		# no other
		encode((USER_OBJ, 0o10), (GROUP_OBJ, 4), (OTHER, 4)),  # perm
		encode((USER_OBJ, 6), (0x40, 4), (GROUP_OBJ, 4),
		       (OTHER, 4)),				# unknown tag
	]
	for v in bad:
		raises_errno(errno.EINVAL, os.setxattr, f, ACC, v)
		raises_errno(errno.ENODATA, os.getxattr, f, ACC)
	assert mode(f) == 0o644
	# a default ACL belongs to directories only
	raises_errno(errno.EACCES, os.setxattr, f, DEF, good)
	d = root / 'd'
	os.mkdir(d)
	for v in bad:
		raises_errno(errno.EINVAL, os.setxattr, d, DEF, v)
	os.setxattr(d, DEF, good)
	assert os.getxattr(d, DEF) == good


# -- enforcement -----------------------------------------------------------

def test_named_user_grants_and_mask_restricts(root):
	f = root / 'f'
	write_file(f, b'secret', 0o600)
	assert not as_user(USER2, GROUP2, can_open, f, os.O_RDONLY)
	setfacl('-m', 'u:%d:rw' % USER2, f)
	assert as_user(USER2, GROUP2, can_open, f, os.O_RDWR)
	assert not as_user(NOBODY, NOBODY, can_open, f, os.O_RDONLY)
	# the mask limits the named entry
	setfacl('-m', 'm::r', f)
	assert as_user(USER2, GROUP2, can_open, f, os.O_RDONLY)
	assert not as_user(USER2, GROUP2, can_open, f, os.O_WRONLY)
	assert mode(f) == 0o640
	setfacl('-m', 'm::-', f)
	assert not as_user(USER2, GROUP2, can_open, f, os.O_RDONLY)


def test_named_group_grants(root):
	f = root / 'f'
	write_file(f, b'', 0o600)
	setfacl('-m', 'g:%d:rw' % GROUP2, f)
	assert as_user(NOBODY, NOBODY, can_open, f, os.O_RDWR,
		       groups=[GROUP2])
	assert not as_user(NOBODY, NOBODY, can_open, f, os.O_RDONLY)
	# a named directory entry grants search and creation
	d = root / 'd'
	os.mkdir(d, 0o700)
	setfacl('-m', 'g:%d:rwx' % GROUP2, d)
	as_user(NOBODY, NOBODY, write_file, d / 'mine', b'1', groups=[GROUP2])
	assert os.stat(d / 'mine').st_uid == NOBODY
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.listdir, d)


def test_chmod_updates_mask(root):
	f = root / 'f'
	write_file(f, b'', 0o600)
	setfacl('-m', 'u:%d:rwx' % USER2, f)
	assert mode(f) == 0o670
	os.chmod(f, 0o640)
	acl = getfacl(f, effective=True)
	assert 'mask::r--' in acl
	assert 'user:%d:rwx #effective:r--' % USER2 in acl
	assert as_user(USER2, GROUP2, can_open, f, os.O_RDONLY)
	assert not as_user(USER2, GROUP2, can_open, f, os.O_WRONLY)
	# the owner and other entries follow too
	os.chmod(f, 0o407)
	acl = getfacl(f)
	assert acl == ['user::r--', 'user:%d:rwx' % USER2, 'group::---',
		       'mask::---', 'other::rwx']


# -- inheritance ---------------------------------------------------------------

def test_default_acl_inherited(root):
	d = root / 'd'
	os.mkdir(d, 0o755)
	setfacl('-d', '-m', 'u:%d:rwx,g::r-x,o::---' % USER2, d)
	dacl = getfacl(d)
	assert 'default:user:%d:rwx' % USER2 in dacl
	old = os.umask(0o077)
	try:
		write_file(d / 'f', b'', 0o666)
		os.mkdir(d / 'sub', 0o777)
	finally:
		os.umask(old)
	# the umask is not applied: the default ACL decides
	assert mode(d / 'f') == 0o660
	assert getfacl(d / 'f') == ['user::rw-', 'user:%d:rwx' % USER2,
				    'group::r-x', 'mask::rw-', 'other::---']
	raises_errno(errno.ENODATA, os.getxattr, d / 'f', DEF)
	assert mode(d / 'sub') == 0o770
	sub = getfacl(d / 'sub')
	assert 'user:%d:rwx' % USER2 in sub
	assert [x for x in sub if x.startswith('default:')] == \
		[x for x in dacl if x.startswith('default:')]
	# what it grants works: USER2 writes the file, creates in sub
	assert as_user(USER2, GROUP2, can_open, d / 'f', os.O_WRONLY)
	as_user(USER2, GROUP2, write_file, d / 'sub' / 'g', b'', 0o644)
	g = d / 'sub' / 'g'
	assert 'user:%d:rwx' % USER2 in getfacl(g)
	assert mode(g) == 0o640
	# symlinks inherit nothing
	os.symlink('f', d / 'l')
	assert os.lstat(d / 'l').st_mode & 0o777 == 0o777


def test_umask_without_default_acl(root):
	d = root / 'd'
	os.mkdir(d, 0o777)
	old = os.umask(0o027)
	try:
		write_file(d / 'f', b'', 0o666)
		os.mkdir(d / 'sub', 0o777)
		os.mknod(d / 'fifo', 0o666 | stat.S_IFIFO)
	finally:
		os.umask(old)
	assert mode(d / 'f') == 0o640
	assert mode(d / 'sub') == 0o750
	assert mode(d / 'fifo') == 0o640
	for p in ('f', 'sub', 'fifo'):
		raises_errno(errno.ENODATA, os.getxattr, d / p, ACC)
	# a minimal default ACL: no access ACL, but no umask either
	setfacl('-d', '-m', 'u::rwx,g::rwx,o::r-x', d)
	old = os.umask(0o077)
	try:
		write_file(d / 'h', b'', 0o666)
	finally:
		os.umask(old)
	assert mode(d / 'h') == 0o664
	raises_errno(errno.ENODATA, os.getxattr, d / 'h', ACC)


def test_setgid_cleared_outside_group(root):
	"""posix_acl_update_mode(): a caller who is not in the file's group
	(and has no CAP_FSETID) loses S_ISGID by setting an access ACL."""
	f = root / 'f'
	write_file(f, b'', 0o600)
	os.chown(f, USER2, 0)
	os.chmod(f, 0o2770)
	value = encode((USER_OBJ, 7), (USER, 4, NOBODY), (GROUP_OBJ, 7),
		       (MASK, 7), (OTHER, 0))
	as_user(USER2, GROUP2, os.setxattr, f, ACC, value)
	assert mode(f) == 0o770
	# root keeps it
	os.chmod(f, 0o2770)
	os.setxattr(f, ACC, value)
	assert mode(f) == 0o2770
	# and only the owner may set one
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.setxattr, f,
		     ACC, value)


# -- persistence --------------------------------------------------------------

def test_acls_survive_remount(fs, root):
	if not fs.can_remount:
		pytest.skip('%s: the suite cannot remount this target' % fs.kind)
	d = root / 'd'
	os.mkdir(d, 0o750)
	write_file(d / 'f', b'data', 0o600)
	setfacl('-m', 'u:%d:r' % USER2, d / 'f')
	setfacl('-m', 'u:%d:rx' % USER2, d)
	setfacl('-d', '-m', 'g:%d:rw' % GROUP2, d)
	before = {p: getfacl(d / p) for p in ('', 'f')}
	fs.remount()
	assert {p: getfacl(d / p) for p in ('', 'f')} == before
	assert as_user(USER2, GROUP2, can_open, d / 'f', os.O_RDONLY)
	assert not as_user(USER2, GROUP2, can_open, d / 'f', os.O_WRONLY)
	write_file(d / 'new', b'', 0o666)
	assert 'group:%d:rw-' % GROUP2 in getfacl(d / 'new')
