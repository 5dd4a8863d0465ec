# twinfs tests/posix: ownership and permissions - chmod/chown as root and
# as other users (forked children with setresuid/setresgid), access checks
# on open/create/lookup/readdir, the sticky bit, setgid directories, and
# the clearing of setuid/setgid bits on write and chown.
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).  Needs root (to chown and to become other users);
# without it these tests skip.  twinfs-fuse is mounted with allow_other and
# default_permissions, so the kernel's checks apply as for the module.
import errno
import os
import stat

import pytest

from posixfs import (NOBODY, USER2, GROUP2, as_user, raises_errno, read_file,
		     utimensat, UTIME_NOW, write_file)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root')

OTHER = 23456		# a third uid, owner of nothing


def mode(p, follow=True):
	return stat.S_IMODE(os.stat(p, follow_symlinks=follow).st_mode)


def world_dir(d):
	"""Make d writable by everybody (so other users can create)."""
	os.chmod(d, 0o777)


# -- root -------------------------------------------------------------------------

def test_chmod_sets_all_mode_bits(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	for m in (0, 0o777, 0o4755, 0o2755, 0o1755, 0o7777, 0o640, 0o001):
		os.chmod(p, m)
		assert mode(p) == m
	os.mkdir(fsroot / 'd')
	os.chmod(fsroot / 'd', 0o3777)
	assert mode(fsroot / 'd') == 0o3777


def test_chown_as_root(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, GROUP2)
	st = os.stat(p)
	assert (st.st_uid, st.st_gid) == (USER2, GROUP2)
	os.chown(p, -1, 777)
	st = os.stat(p)
	assert (st.st_uid, st.st_gid) == (USER2, 777)
	os.chown(p, 4_000_000_000, -1)		# uids above 2^31 are valid
	assert os.stat(p).st_uid == 4_000_000_000


def test_root_bypasses_rw_permissions(fsroot):
	p = fsroot / 'f'
	write_file(p, b'data')
	os.chmod(p, 0)
	assert read_file(p) == b'data'
	with open(p, 'ab') as f:
		f.write(b'!')
	os.mkdir(fsroot / 'd')
	os.chmod(fsroot / 'd', 0)
	write_file(fsroot / 'd' / 'x', b'')
	assert os.listdir(fsroot / 'd') == ['x']


def test_root_cannot_exec_without_any_x_bit(fsroot):
	p = fsroot / 'f'
	write_file(p, b'#!/bin/sh\nexit 0\n')
	os.chmod(p, 0o644)
	assert not os.access(p, os.X_OK)
	os.chmod(p, 0o744)
	assert os.access(p, os.X_OK)


def test_chown_by_root_clears_setuid_setgid(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chmod(p, 0o6755)
	os.chown(p, USER2, GROUP2)
	assert mode(p) == 0o755
	# setgid without group exec is mandatory locking, not privilege: kept
	os.chmod(p, 0o2745)
	os.chown(p, NOBODY, NOBODY)
	assert mode(p) == 0o2745
	# directories keep both
	os.mkdir(fsroot / 'd')
	os.chmod(fsroot / 'd', 0o6755)
	os.chown(fsroot / 'd', USER2, GROUP2)
	assert mode(fsroot / 'd') == 0o6755


# -- other users --------------------------------------------------------------------

def test_chown_by_non_root_is_eperm(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, GROUP2)
	# not the owner: any chown fails, even to the current owner
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.chown, p,
		     NOBODY, -1)
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.chown, p,
		     USER2, GROUP2)
	# the owner cannot give the file away
	raises_errno(errno.EPERM, as_user, USER2, GROUP2, os.chown, p,
		     NOBODY, -1)
	# nor move it to a group it is not in
	raises_errno(errno.EPERM, as_user, USER2, GROUP2, os.chown, p, -1,
		     NOBODY)
	st = os.stat(p)
	assert (st.st_uid, st.st_gid) == (USER2, GROUP2)


def test_owner_may_chgrp_to_own_groups(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, GROUP2)
	as_user(USER2, GROUP2, os.chown, p, -1, 777, groups=[777])
	assert os.stat(p).st_gid == 777
	as_user(USER2, GROUP2, os.chown, p, USER2, GROUP2)
	assert (os.stat(p).st_uid, os.stat(p).st_gid) == (USER2, GROUP2)


def test_chgrp_by_owner_clears_setuid_setgid(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, GROUP2)
	os.chmod(p, 0o6755)
	as_user(USER2, GROUP2, os.chown, p, -1, 777, groups=[777])
	assert mode(p) == 0o755


def test_chmod_by_non_owner_is_eperm(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chmod(p, 0o666)
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.chmod, p, 0o777)
	assert mode(p) == 0o666
	os.chown(p, USER2, GROUP2)
	as_user(USER2, GROUP2, os.chmod, p, 0o600)
	assert mode(p) == 0o600


def test_chmod_setgid_by_owner_outside_group_is_dropped(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, 777)		# owner not in the file's group
	as_user(USER2, GROUP2, os.chmod, p, 0o2755)
	assert mode(p) == 0o755
	as_user(USER2, GROUP2, os.chmod, p, 0o2755, groups=[777])
	assert mode(p) == 0o2755


def test_open_without_permission_is_eacces(fsroot):
	p = fsroot / 'f'
	write_file(p, b'secret')
	os.chmod(p, 0o640)
	os.chown(p, USER2, GROUP2)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, read_file, p)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.open, p,
		     os.O_WRONLY)
	# the group may read but not write
	assert as_user(NOBODY, GROUP2, read_file, p) == b'secret'
	raises_errno(errno.EACCES, as_user, NOBODY, GROUP2, os.open, p,
		     os.O_WRONLY)
	raises_errno(errno.EACCES, as_user, NOBODY, GROUP2, os.truncate, p, 0)
	# the owner is judged by the owner bits only
	os.chmod(p, 0o066)
	raises_errno(errno.EACCES, as_user, USER2, GROUP2, read_file, p)
	assert read_file(p) == b'secret'


def test_0600_file_of_another_user_is_theirs_alone(fsroot):
	"""Another user (group member or not) can neither read nor write a
	0600 file, nor change its mode or owner, even in a directory
	everybody may write; the owner can."""
	world_dir(fsroot)
	p = fsroot / 'secret'
	as_user(USER2, GROUP2, write_file, p, b'mine', 0o600)
	as_user(USER2, GROUP2, os.chmod, p, 0o600)
	for uid, gid in ((NOBODY, NOBODY), (NOBODY, GROUP2)):
		raises_errno(errno.EACCES, as_user, uid, gid, read_file, p)
		for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND,
			      os.O_WRONLY | os.O_TRUNC):
			raises_errno(errno.EACCES, as_user, uid, gid, os.open,
				     p, flags)
		raises_errno(errno.EACCES, as_user, uid, gid, os.truncate, p, 0)
		raises_errno(errno.EPERM, as_user, uid, gid, os.chmod, p, 0o644)
		raises_errno(errno.EPERM, as_user, uid, gid, os.chown, p, uid,
			     gid)
	st = os.stat(p)
	assert (st.st_uid, st.st_gid, mode(p)) == (USER2, GROUP2, 0o600)
	assert as_user(USER2, GROUP2, read_file, p) == b'mine'


def test_create_in_dir_without_write_or_search_is_eacces(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	os.chmod(d, 0o755)			# owned by root: no w for nobody
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, write_file,
		     d / 'x', b'')
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.mkdir, d / 'y')
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.symlink, 'z',
		     d / 'z')
	os.chmod(d, 0o776)			# w but no x
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, write_file,
		     d / 'x', b'')
	os.chmod(d, 0o773)			# w+x: allowed
	as_user(NOBODY, NOBODY, write_file, d / 'x', b'ok')
	st = os.stat(d / 'x')
	assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
	assert os.listdir(d) == ['x']


def test_unlink_and_rename_need_dir_write(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	write_file(d / 'f', b'')
	os.chmod(d / 'f', 0o666)
	os.chmod(d, 0o755)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.unlink, d / 'f')
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.rename, d / 'f',
		     d / 'g')
	assert os.listdir(d) == ['f']


def test_lookup_needs_search_permission(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	write_file(d / 'f', b'x')
	os.chmod(d / 'f', 0o644)
	os.chmod(d, 0o744)			# r but no x for others
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.stat, d / 'f')
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, read_file, d / 'f')
	# listing names needs only r
	assert as_user(NOBODY, NOBODY, os.listdir, d) == ['f']
	os.chmod(d, 0o711)			# x but no r
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, os.listdir, d)
	assert as_user(NOBODY, NOBODY, read_file, d / 'f') == b'x'


def test_access_reports_permissions(fsroot):
	p = fsroot / 'f'
	write_file(p, b'')
	os.chmod(p, 0o604)
	assert as_user(NOBODY, NOBODY, os.access, p, os.R_OK)
	assert not as_user(NOBODY, NOBODY, os.access, p, os.W_OK)
	assert not as_user(NOBODY, NOBODY, os.access, p, os.X_OK)


def test_sticky_dir_only_owners_may_delete(fsroot):
	d = fsroot / 'sticky'
	os.mkdir(d)
	os.chmod(d, 0o1777)
	as_user(USER2, GROUP2, write_file, d / 'mine', b'')
	as_user(USER2, GROUP2, os.chmod, d / 'mine', 0o666)
	raises_errno((errno.EPERM, errno.EACCES), as_user, NOBODY, NOBODY,
		     os.unlink, d / 'mine')
	raises_errno((errno.EPERM, errno.EACCES), as_user, NOBODY, NOBODY,
		     os.rename, d / 'mine', d / 'stolen')
	assert os.listdir(d) == ['mine']
	# the file's owner may, and so may the directory's owner
	as_user(USER2, GROUP2, os.rename, d / 'mine', d / 'mine2')
	as_user(NOBODY, NOBODY, write_file, d / 'theirs', b'')
	os.chown(d, OTHER, OTHER)
	as_user(OTHER, OTHER, os.unlink, d / 'theirs')
	as_user(USER2, GROUP2, os.unlink, d / 'mine2')
	assert os.listdir(d) == []
	# without the sticky bit anybody with w+x may
	os.chmod(d, 0o777)
	as_user(USER2, GROUP2, write_file, d / 'f', b'')
	as_user(NOBODY, NOBODY, os.unlink, d / 'f')


def test_setgid_dir_inheritance(fsroot):
	d = fsroot / 'sg'
	os.mkdir(d)
	os.chown(d, 0, 4242)
	os.chmod(d, 0o2777)
	# root and other users alike: new entries get the directory's group
	write_file(d / 'rootfile', b'')
	assert os.stat(d / 'rootfile').st_gid == 4242
	as_user(NOBODY, NOBODY, write_file, d / 'userfile', b'')
	st = os.stat(d / 'userfile')
	assert (st.st_uid, st.st_gid) == (NOBODY, 4242)
	as_user(NOBODY, NOBODY, os.mkdir, d / 'sub', 0o755)
	st = os.stat(d / 'sub')
	assert st.st_gid == 4242
	assert st.st_mode & stat.S_ISGID, 'subdirectory lost the setgid bit'
	# and it propagates further down
	as_user(NOBODY, NOBODY, os.mkdir, d / 'sub' / 'deeper')
	st = os.stat(d / 'sub' / 'deeper')
	assert st.st_gid == 4242 and st.st_mode & stat.S_ISGID
	# symlinks and fifos too
	as_user(NOBODY, NOBODY, os.symlink, 'x', d / 'link')
	assert os.lstat(d / 'link').st_gid == 4242


def test_setgid_file_created_outside_its_group_loses_setgid(fsroot):
	"""A non-member creating a setgid, group-executable file in a setgid
	directory gets the directory's group but not the S_ISGID bit."""
	d = fsroot / 'sg'
	os.mkdir(d)
	os.chown(d, 0, 4242)
	os.chmod(d, 0o2777)

	def create():
		old = os.umask(0)
		try:
			fd = os.open(d / 'f', os.O_CREAT | os.O_WRONLY, 0o2775)
			os.close(fd)
		finally:
			os.umask(old)

	as_user(NOBODY, NOBODY, create)
	st = os.stat(d / 'f')
	assert st.st_gid == 4242
	assert not st.st_mode & stat.S_ISGID
	assert stat.S_IMODE(st.st_mode) == 0o775


def test_no_setgid_inheritance_without_setgid_bit(fsroot):
	d = fsroot / 'plain'
	os.mkdir(d)
	os.chown(d, 0, 4242)
	os.chmod(d, 0o777)
	as_user(NOBODY, NOBODY, write_file, d / 'f', b'')
	assert os.stat(d / 'f').st_gid == NOBODY
	as_user(NOBODY, NOBODY, os.mkdir, d / 'sub')
	assert not os.stat(d / 'sub').st_mode & stat.S_ISGID


def test_write_by_non_owner_clears_setuid_setgid(fsroot):
	p = fsroot / 'f'
	write_file(p, b'data')
	os.chown(p, USER2, GROUP2)
	os.chmod(p, 0o6777)

	def append():
		with open(p, 'ab') as f:
			f.write(b'more')

	as_user(NOBODY, NOBODY, append)
	assert mode(p) == 0o777
	assert read_file(p) == b'datamore'


def test_truncate_by_non_owner_clears_setuid(fsroot):
	p = fsroot / 'f'
	write_file(p, b'data')
	os.chown(p, USER2, GROUP2)
	os.chmod(p, 0o4777)
	as_user(NOBODY, NOBODY, os.truncate, p, 1)
	assert mode(p) == 0o777
	assert os.stat(p).st_size == 1


def test_write_by_root_keeps_setuid(fsroot):
	p = fsroot / 'f'
	write_file(p, b'data')
	os.chown(p, USER2, GROUP2)
	os.chmod(p, 0o6755)
	with open(p, 'ab') as f:
		f.write(b'x')
	assert mode(p) == 0o6755


def test_utime_permissions(fsroot):
	"""Setting times to "now" needs write access or ownership; setting
	explicit times needs ownership."""
	p = fsroot / 'f'
	write_file(p, b'')
	os.chown(p, USER2, GROUP2)
	os.chmod(p, 0o666)
	as_user(NOBODY, NOBODY, utimensat, p, UTIME_NOW, UTIME_NOW)
	raises_errno(errno.EPERM, as_user, NOBODY, NOBODY, os.utime, p,
		     ns=(1, 1))
	os.chmod(p, 0o644)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, utimensat, p,
		     None, None)
	as_user(USER2, GROUP2, os.utime, p, ns=(5, 7))
	assert os.stat(p).st_mtime_ns == 7


def test_files_created_by_other_users_are_theirs(fsroot):
	world_dir(fsroot)
	as_user(USER2, GROUP2, write_file, fsroot / 'u2', b'x')
	as_user(NOBODY, NOBODY, os.mkdir, fsroot / 'nb')
	assert (os.stat(fsroot / 'u2').st_uid,
		os.stat(fsroot / 'u2').st_gid) == (USER2, GROUP2)
	assert (os.stat(fsroot / 'nb').st_uid,
		os.stat(fsroot / 'nb').st_gid) == (NOBODY, NOBODY)
	raises_errno(errno.EACCES, as_user, NOBODY, NOBODY, write_file,
		     fsroot / 'u2', b'y')
