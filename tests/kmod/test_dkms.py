# twinfs tests/kmod: the module built the way users build it outside meson:
# kmod/dkms.conf and kmod/Makefile.  `make -C kmod dkms-source` lays out
# the DKMS source tree (kmod/ and common/ flat, with dkms.conf); then, if
# dkms is installed, a real `dkms build` in scratch trees (its own
# --dkmstree/--sourcetree/--installtree and signing key, so nothing is
# installed, registered or generated on this machine), else the same make
# command dkms.conf gives, run in a copy of the tree as dkms would.
# Layer: host-side tests; call make, dkms, twinfs-mod info.
import json
import os
import re
import shutil
import subprocess

import pytest

import kmodutil

KMOD = os.path.join(kmodutil.ROOT, 'kmod')


def kernel_version():
	return subprocess.run([os.path.join(kmodutil.ROOT, 'vm',
					    'kernel-version')],
			      stdout=subprocess.PIPE, text=True,
			      check=True).stdout.strip()


def kdir():
	return subprocess.run([os.path.join(kmodutil.ROOT, 'vm',
					    'kernel-version'), '--kdir'],
			      stdout=subprocess.PIPE, text=True,
			      check=True).stdout.strip()


def dkms_conf():
	"""dkms.conf's assignments (it is a bash fragment)."""
	out = {}
	with open(os.path.join(KMOD, 'dkms.conf')) as f:
		for line in f:
			m = re.match(r'^([A-Z_]+(\[\d+\])?)="(.*)"$', line.strip())
			if m:
				out[m.group(1)] = m.group(3)
	return out


def test_dkms_conf_matches_the_build():
	conf = dkms_conf()
	assert conf['PACKAGE_NAME'] == 'twinfs'
	with open(os.path.join(kmodutil.ROOT, 'meson.build')) as f:
		version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
	assert conf['PACKAGE_VERSION'] == version
	for src in ('super.c', 'core_main.c'):
		with open(os.path.join(KMOD, src)) as f:
			assert 'MODULE_VERSION("%s")' % version in f.read(), src
	with open(os.path.join(KMOD, 'Makefile')) as f:
		assert 'VERSION := %s' % version in f.read()
	# the modules kbuild makes, in the order they load
	with open(os.path.join(KMOD, 'Kbuild')) as f:
		objs = re.search(r'obj-m\s*:=\s*(.*)', f.read()).group(1).split()
	assert [conf['BUILT_MODULE_NAME[%d]' % i] for i in range(2)] == \
		[o[:-2] for o in objs] == ['twinfs_core', 'twinfs']
	assert re.match(conf['BUILD_EXCLUSIVE_KERNEL'], kernel_version())
	assert not re.match(conf['BUILD_EXCLUSIVE_KERNEL'], '5.10.0-30-amd64')


@pytest.fixture
def dkms_source(tmp_path):
	"""The DKMS source tree, as `make -C kmod dkms-source` makes it."""
	dest = tmp_path / 'src' / 'twinfs-0.1.0'
	kmodutil.run(['make', '-s', '-C', KMOD, 'dkms-source',
		      'DEST=%s' % dest], check=True)
	names = sorted(os.listdir(dest))
	assert 'dkms.conf' in names and 'Kbuild' in names and \
		'Makefile' in names and 'common' in names
	assert not any(n.endswith(('.o', '.ko', '.cmd')) for n in names)
	return dest


def check_modules(kos):
	"""The two built modules: for this kernel, stacked, the fs alias."""
	mod = kmodutil.tool(kmodutil.MOD)
	info = {}
	for ko in kos:
		r = subprocess.run([mod, '--json', 'info', ko],
				   stdout=subprocess.PIPE, text=True)
		info[os.path.basename(ko)] = json.loads(r.stdout)['modules'][0]
	core, fs = info['twinfs_core.ko'], info['twinfs.ko']
	for m in (core, fs):
		assert m['vermagic'].startswith(kernel_version() + ' ')
		assert m['version'] == '0.1.0'
	assert fs['depends'] == 'twinfs_core'
	assert 'fs-twinfs' in fs['alias']
	return info


def test_dkms_build(dkms_source, tmp_path):
	if not shutil.which('dkms'):
		pytest.skip('dkms is not installed (test_flat_tree_make builds '
			    'the same way)')
	scratch = tmp_path / 'dkms'
	for d in ('tree', 'install', 'key'):
		(scratch / d).mkdir(parents=True)
	env = dict(os.environ,
		   mok_signing_key=str(scratch / 'key' / 'mok.key'),
		   mok_certificate=str(scratch / 'key' / 'mok.pub'))
	common = ['-m', 'twinfs', '-v', '0.1.0', '-k', kernel_version(),
		  '--dkmstree', str(scratch / 'tree'),
		  '--sourcetree', str(dkms_source.parent),
		  '--installtree', str(scratch / 'install'),
		  '--kernelsourcedir', kdir()]
	r = kmodutil.run(['dkms', 'build'] + common, timeout=600, env=env)
	log = scratch / 'tree' / 'twinfs' / '0.1.0' / 'build' / 'make.log'
	assert r.returncode == 0, r.stdout + r.stderr + (
		log.read_text() if log.exists() else '')
	built = scratch / 'tree' / 'twinfs' / '0.1.0' / kernel_version() / \
		'x86_64' / 'module'
	kos = [str(built / 'twinfs_core.ko'), str(built / 'twinfs.ko')]
	info = check_modules(kos)
	# Debian's dkms signs with its own key (here the scratch one)
	if 'Signing module' in r.stdout:
		assert info['twinfs.ko']['signer'] == 'DKMS module signing key'
	st = kmodutil.run(['dkms', 'status'] + common[4:], env=env)
	assert 'twinfs/0.1.0, %s, x86_64: built' % kernel_version() in \
		st.stdout, st.stdout
	# nothing went into the install tree
	assert list((scratch / 'install').iterdir()) == []


def test_flat_tree_make(dkms_source, tmp_path):
	"""What dkms does, by hand: copy the source tree, run dkms.conf's MAKE
	(kernel_source_dir = KDIR) in the copy."""
	if shutil.which('dkms'):
		pytest.skip('test_dkms_build ran the real thing')
	build = tmp_path / 'build'
	shutil.copytree(dkms_source, build)
	make = dkms_conf()['MAKE[0]'].replace('${kernel_source_dir}', kdir())
	r = subprocess.run(make.split(), cwd=build, stdout=subprocess.PIPE,
			   stderr=subprocess.STDOUT, text=True, timeout=600)
	assert r.returncode == 0, r.stdout[-6000:]
	check_modules([str(build / 'twinfs_core.ko'),
		       str(build / 'twinfs.ko')])
