# twinfs tests/crash: the workload generators (crashgen.py) and the model
# (crashlib.py), checked without a filesystem.
#
# Layer: test harness (Python stdlib; pytest-3 collects it, and
# `crashrun.py --suite check` runs every test_* here first, see run_all()).
# Knows crashlib.py and crashgen.py only.
#
#   pytest-3 tests/crash/test_crashlib.py
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import crashgen  # noqa: E402
import crashlib  # noqa: E402


def digest(x):
	return hashlib.sha256(repr(x).encode()).hexdigest()[:16]


# random_workload(seed) as it was before the operations of NEW_KINDS came
# (commit 0836ae9), for the seeds `make check` records and a few more:
# (seed, sha256 of repr(ops) truncated, number of ops)
OLD_RANDOM = [
	(0, '71b4fdeb2bbdc674', 41), (1, '15569d9217d0b093', 41),
	(2, '0fad00bad9272b68', 203), (3, '078dfd6d544e96c6', 41),
	(5, 'c5a3a6756b6036b1', 43), (6, '7cd66226b615977a', 203),
	(26, '6220acdffca89c5a', 204), (47, 'ba1691e0dc09ba99', 42),
	(1000, '5825e6d23c409341', 42), (1001, '70c6f3c3723e0bef', 43),
	(2000, 'a15a5b0a5037e19a', 41), (2001, 'e50abc569d168647', 42),
	(3000, '3d64a933dacf3f80', 43), (3001, '1abdbb488604f592', 41),
]
# ace_workloads(1) and (2) before NEW_KINDS: count and digest
OLD_ACE1 = (93, '8ffc6de9a4d5b29b')
OLD_ACE2 = (7632, 'dada25a2c42b9d9f')


def test_old_random_workloads_unchanged():
	"""Without NEW_KINDS a seed gives the workload it always gave; with
	them, the same up to the first new operation (they draw from a
	random stream of their own)."""
	for seed, dig, n in OLD_RANDOM:
		old = crashgen.random_workload(seed, kinds=())
		assert (digest(old), len(old)) == (dig, n), seed
		new = crashgen.random_workload(seed)
		first = next((i for i, o in enumerate(new)
			      if crashlib.op_kind(o)), len(new))
		assert new[:first] == old[:first], seed


def test_old_ace_space_unchanged():
	"""Without NEW_KINDS the bounded space is what it was, enumerated
	directly or filtered from the whole space (ace_space(), which
	crashrun.py samples)."""
	a1 = list(crashgen.ace_workloads(1, kinds=()))
	assert (len(a1), digest(a1)) == OLD_ACE1
	assert crashgen.ace_space(1, ()) == a1
	for k in set(crashlib.HOME_KINDS.values()):
		assert crashgen.ace_space(1, k) == \
			list(crashgen.ace_workloads(1, k))
	a2 = crashgen.ace_space(2, ())
	assert (len(a2), digest(a2)) == OLD_ACE2


def test_fuse_gets_no_tmpfile():
	"""The FUSE home has no O_TMPFILE: no generator gives it one, while
	the core's and the kernel's workloads have them."""
	fk = crashlib.HOME_KINDS['fuse']
	assert 'tmpfile' not in fk
	assert 'tmpfile' in crashlib.HOME_KINDS['core']
	assert 'tmpfile' in crashlib.HOME_KINDS['kernel']
	kinds = set()
	for seed in range(60):
		ops = crashgen.random_workload(seed, kinds=fk, new_rate=0.5)
		assert not {o[0] for o in ops} & {'tmpfile', 'hlink'}, seed
		kinds |= crashlib.workload_kinds(ops)
	assert kinds == set(fk)
	for n, ops in crashgen.ace_workloads(1, fk):
		assert 'tmpfile' not in crashlib.workload_kinds(ops), n
	full = set()
	for seed in range(60):
		full |= crashlib.workload_kinds(crashgen.random_workload(
			seed, new_rate=0.5))
	assert full == set(crashlib.NEW_KINDS)


def test_acl_value_format():
	"""Linux's posix_acl_xattr format: le32 version 2, then le16 tag,
	le16 perm, le32 id per entry; unnamed entries carry -1."""
	v = crashlib.acl_value(crashlib.acl_parse('u::rw-,u:1000:r--,g::r--,'
						  'm::rw-,o::---'))
	assert v.hex() == ('02000000' + '0100' '0600' 'ffffffff' +
			   '0200' '0400' 'e8030000' + '0400' '0400' 'ffffffff' +
			   '1000' '0600' 'ffffffff' + '2000' '0000' 'ffffffff')
	for text in ('u::rwx,g::r-x,o::r-x', 'u::---,u:1:rwx,g::-w-,g:7:--x,'
		     'm::r--,o::rw-'):
		ents = crashlib.acl_parse(text)
		assert crashlib.acl_text(ents) == text
		assert crashlib.acl_entries(crashlib.acl_value(ents)) == ents


def test_acl_model():
	"""What becomes of the mode and the xattrs: common/acl.c's rules."""
	m = crashlib.Model()
	for op in (('create', 'f', 0o644), ('mkdir', 'd', 0o755)):
		m.apply(op)
	# with a mask: kept; the group bits are the mask's
	m.apply(('setacl', 'f', 'access', 'u::rw-,u:1000:r--,g::r--,m::-wx,'
		 'o::---'))
	f = m.get('f')
	assert f.mode == 0o630 and crashlib.ACL_ACCESS in f.xattrs
	# the mode says it all: not kept, a stored one goes
	m.apply(('setacl', 'f', 'access', 'u::r--,g::rw-,o::--x'))
	assert f.mode == 0o461 and crashlib.ACL_ACCESS not in f.xattrs
	# a default ACL is inherited: the access ACL masked by the mode,
	# a directory's default ACL copied
	dflt = 'u::rwx,g::r-x,g:1000:rwx,m::rwx,o::r--'
	m.apply(('setacl', 'd', 'default', dflt))
	m.apply(('create', 'd/g', 0o640))
	g = m.get('d/g')
	assert g.mode == 0o640
	assert crashlib.acl_text(crashlib.acl_entries(
		g.xattrs[crashlib.ACL_ACCESS])) == \
		'u::rw-,g::r-x,g:1000:rwx,m::r--,o::---'
	assert crashlib.ACL_DEFAULT not in g.xattrs
	m.apply(('mkdir', 'd/e', 0o755))
	e = m.get('d/e')
	assert e.mode == 0o754
	assert e.xattrs[crashlib.ACL_DEFAULT] == \
		crashlib.acl_value(crashlib.acl_parse(dflt))
	# a minimal default ACL: the mode is masked, no access ACL
	m.apply(('setacl', 'd/e', 'default', 'u::rw-,g::r--,o::---'))
	m.apply(('tmpfile', 'd/e', 0o666, 'h0'))
	t = m.objs[m.held['h0']]
	assert t.mode == 0o640 and crashlib.ACL_ACCESS not in t.xattrs
	assert not m.valid(('setacl', 'd/g', 'default', dflt))
	assert m.valid(('rmacl', 'd', 'default'))
	assert not m.valid(('rmacl', 'f', 'access'))


def test_whiteout_and_tmpfile_model():
	m = crashlib.Model()
	for op in (('mkdir', 'a', 0o755), ('create', 'a/x', 0o644),
		   ('rename', 'a', 'b', 'whiteout')):
		m.apply(op)
	w = m.get('a')
	assert w.type == 'c' and w.mode == 0 and m.get('b/x') is not None
	assert sorted(m.paths) == ['', 'a', 'b', 'b/x']
	assert not m.valid(('setxattr', 'a', 'user.x', 8, 1))
	assert m.valid(('unlink', 'a'))
	m.apply(('tmpfile', 'b', 0o600, 'h1'))
	m.apply(('hwrite', 'h1', 0, 100, 5))
	assert any(l.split()[3] == ':h1' for l in m.dump())
	m.apply(('hlink', 'h1', 'b/t', 'proc'))
	assert not m.objs[m.held['h1']].linkable
	m.apply(('unlink', 'b/t'))
	# linked once, it cannot be linked again (I_LINKABLE is gone)
	assert not m.valid(('hlink', 'h1', 'b/u', 'fd'))
	m.apply(('release', 'h1'))
	assert not m.held and all(':' not in l for l in m.dump())


def test_workloads_write():
	"""Every generated workload goes through write_workload() (the model
	accepts each op) and reads back as written."""
	import tempfile
	d = tempfile.mkdtemp(prefix='twinfs-crashlib-')
	try:
		for seed in range(40):
			ops = crashgen.random_workload(seed, new_rate=0.4)
			crashlib.write_workload(d, 'w', ops)
			assert crashlib.read_ops(d) == ops
		for name, ops in crashgen.ace_workloads(1):
			crashlib.write_workload(d, name, ops)
			assert crashlib.read_ops(d) == ops
	finally:
		for n in os.listdir(d):
			os.unlink(os.path.join(d, n))
		os.rmdir(d)


def run_all():
	"""Every test here, for crashrun.py (no pytest needed)."""
	for name, fn in sorted(globals().items()):
		if name.startswith('test_') and callable(fn):
			fn()
