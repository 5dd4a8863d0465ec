# twinfs tests/vm: twinfs-mod against Debian's own modules, inside the guest.
# Layer: tests that run in the guest (in_vm); call twinfs-mod, mount,
# mkfs.minix/mkfs.vfat and setpriv, and read /proc and /sys.
#
# Every test leaves the guest as it found it (mounts and modules undone in
# fixtures), although the guest is thrown away afterwards anyway.
import json
import os
import subprocess
import time

import pytest

import modfiles

pytestmark = pytest.mark.in_vm


class Mod:
	"""twinfs-mod --json, parsed."""

	def __init__(self, path):
		self.path = path

	def __call__(self, *args, check=None):
		r = subprocess.run([self.path, '--json'] + list(args),
				   stdout=subprocess.PIPE,
				   stderr=subprocess.PIPE, text=True)
		r.json = json.loads(r.stdout)
		if check is not None:
			assert (r.returncode == 0) == check, r.stderr
		return r

	def human(self, *args):
		return subprocess.run([self.path] + list(args),
				      stdout=subprocess.PIPE,
				      stderr=subprocess.PIPE, text=True)

	def loaded(self, name):
		return os.path.exists('/sys/module/%s/initstate' % name)

	def refcount(self, name):
		r = self('status', name, check=True)
		return r.json['modules'][0]['refcount']


@pytest.fixture
def mod(twinfs_mod):
	"""twinfs-mod; at the end, unloads whatever the test left loaded."""
	before = set(os.listdir('/sys/module'))
	m = Mod(twinfs_mod)
	yield m
	for name in ('vfat', 'msdos', 'fat', 'minix'):
		if name not in before and m.loaded(name):
			subprocess.run([twinfs_mod, 'unload', name],
				       stdout=subprocess.DEVNULL,
				       stderr=subprocess.DEVNULL)


@pytest.fixture
def mounts():
	"""Mount points to undo at the end, even when the test fails."""
	points = []
	yield points
	for p in reversed(points):
		subprocess.run(['umount', p], stderr=subprocess.DEVNULL)


def make_image(tmp_path, name, mkfs):
	img = tmp_path / name
	with open(img, 'wb') as f:
		f.truncate(4 << 20)
	subprocess.run(mkfs + [str(img)], check=True,
		       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	return img


def mount(img, tmp_path, fstype, mounts):
	mnt = tmp_path / ('mnt-' + fstype)
	mnt.mkdir()
	subprocess.run(['mount', '-t', fstype, '-o', 'loop', str(img),
			str(mnt)], check=True)
	mounts.append(str(mnt))
	return str(mnt)


def umount(mnt, mounts):
	subprocess.run(['umount', mnt], check=True)
	mounts.remove(mnt)


def module_file(mod, name):
	r = mod('info', name, check=True)
	return r.json['modules'][0]['filename']


def test_minix_refcount_and_refused_unload(mod, mounts, tmp_path):
	assert not mod.loaded('minix')
	r = mod('load', 'minix', check=True)
	assert r.json['loaded'] == ['minix']
	assert mod.refcount('minix') == 0

	img = make_image(tmp_path, 'minix.img', ['mkfs.minix'])
	mnt = mount(img, tmp_path, 'minix', mounts)
	assert mod.refcount('minix') == 1

	r = mod('unload', 'minix')
	assert r.returncode == 1
	assert r.json['ok'] is False
	assert r.json['errno'] == 'EBUSY'
	err = r.json['error']
	assert 'cannot unload minix' in err
	assert 'in use' in err and 'refcount 1' in err
	assert mnt in err	# names why: where it is mounted
	assert err in r.stderr
	assert mod.loaded('minix')

	umount(mnt, mounts)
	assert mod.refcount('minix') == 0
	r = mod('unload', 'minix', check=True)
	assert r.json['unloaded'] == ['minix']
	assert not mod.loaded('minix')


def test_unload_wait_waits_until_free(mod, mounts, tmp_path):
	mod('load', 'minix', check=True)
	img = make_image(tmp_path, 'minix.img', ['mkfs.minix'])
	mnt = mount(img, tmp_path, 'minix', mounts)
	p = subprocess.Popen([mod.path, 'unload', '--wait', 'minix'],
			     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			     text=True)
	try:
		time.sleep(1.5)
		assert p.poll() is None, 'unload --wait did not wait'
		assert mod.loaded('minix')
		umount(mnt, mounts)
		out, err = p.communicate(timeout=30)
	finally:
		if p.poll() is None:
			p.kill()
			p.wait()
	assert p.returncode == 0, err
	assert 'waiting for minix' in err
	assert 'unloaded minix' in out
	assert not mod.loaded('minix')


def test_unload_wait_timeout(mod, mounts, tmp_path):
	mod('load', 'minix', check=True)
	img = make_image(tmp_path, 'minix.img', ['mkfs.minix'])
	mount(img, tmp_path, 'minix', mounts)
	t0 = time.monotonic()
	r = mod('unload', '--timeout', '1', 'minix')
	assert r.returncode == 1
	assert r.json['errno'] == 'ETIMEDOUT'
	assert 'Gave up after 1 s' in r.json['error']
	assert time.monotonic() - t0 < 10


def test_vfat_with_deps_and_refused_fat_unload(mod, mounts, tmp_path):
	assert not mod.loaded('fat') and not mod.loaded('vfat')
	# Without --with-deps the kernel misses fat's symbols: say so.
	r = mod('load', 'vfat')
	assert r.returncode == 1
	assert r.json['errno'] == 'ENOENT'
	assert 'needs fat' in r.json['error']
	assert '--with-deps' in r.json['error']
	assert not mod.loaded('vfat')

	r = mod('load', '--with-deps', 'vfat', check=True)
	assert r.json['loaded'] == ['fat', 'vfat']	# fat first

	st = mod('status', 'fat', check=True).json['modules'][0]
	assert st['holders'] == ['vfat']
	assert st['refcount'] == 1
	assert st['state'] == 'live'

	r = mod('unload', 'fat')
	assert r.returncode == 1
	assert r.json['errno'] == 'EBUSY'
	assert 'used by module vfat' in r.json['error']
	assert 'Unload vfat first' in r.json['error']
	assert mod.loaded('fat')

	# And a mounted vfat holds vfat itself.
	img = make_image(tmp_path, 'fat.img', ['mkfs.vfat'])
	mnt = mount(img, tmp_path, 'vfat', mounts)
	assert mod.refcount('vfat') == 1
	r = mod('unload', 'vfat')
	assert r.returncode == 1 and mnt in r.json['error']
	umount(mnt, mounts)

	r = mod('unload', '--with-deps', 'vfat', check=True)
	assert r.json['unloaded'] == ['vfat', 'fat']
	assert not mod.loaded('fat')


def test_load_already_loaded_is_eexist(mod):
	mod('load', 'minix', check=True)
	r = mod('load', 'minix')
	assert r.returncode == 1
	assert r.json['errno'] == 'EEXIST'
	assert 'minix is already loaded' in r.json['error']
	r = mod('load', '--with-deps', 'minix')
	assert r.json['errno'] == 'EEXIST'


def test_vermagic_mismatch_is_explained(mod, tmp_path):
	data = open(module_file(mod, 'minix'), 'rb').read()
	bad = tmp_path / 'minix.ko'
	bad.write_bytes(modfiles.set_vermagic(
		data, '5.10.0-30-amd64 SMP mod_unload modversions '))
	info = mod('info', str(bad), check=True).json['modules'][0]
	assert info['vermagic'].startswith('5.10.0-30-amd64 ')

	r = mod('load', str(bad))
	assert r.returncode == 1
	assert r.json['errno'] == 'ENOEXEC'
	msg = r.json['error']
	assert 'built for kernel 5.10.0-30-amd64, this kernel is %s' % \
		os.uname().release in msg
	assert 'version magic' in msg	# the kernel's own words follow
	assert not mod.loaded('minix')


def test_missing_file_and_unknown_module(mod, tmp_path):
	r = mod('load', str(tmp_path / 'nope.ko'))
	assert r.returncode == 1
	assert r.json['errno'] == 'ENOENT'
	assert 'there is no module file' in r.json['error']
	r = mod('load', 'no_such_module_anywhere')
	assert r.returncode == 1
	assert 'was not found for kernel %s' % os.uname().release in \
		r.json['error']
	r = mod('unload', 'minix')
	assert r.returncode == 1
	assert r.json['error'] == 'minix is not loaded.'
	r = mod('status', 'minix')
	assert r.returncode == 1


def test_load_with_parameters(mod):
	if mod.loaded('loop'):
		mod('unload', 'loop', check=True)
	r = mod('load', 'loop', 'max_part=3', 'no_such_param=1', check=True)
	assert r.json['loaded'] == ['loop']
	with open('/sys/module/loop/parameters/max_part') as f:
		assert f.read().strip() == '3'
	# The kernel ignores an unknown parameter; pass on what it said.
	assert any("unknown parameter 'no_such_param'" in n
		   for n in r.json['kernel_notes'])
	mod('unload', 'loop', check=True)
	r = mod('load', 'loop', 'max_part=abc')
	assert r.returncode == 1
	assert r.json['errno'] == 'EINVAL'
	assert "`abc' invalid for parameter `max_part'" in r.json['error']
	assert not mod.loaded('loop')	# /dev/loop-control reloads it


def test_eperm_for_non_root(mod):
	r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534',
			    '--clear-groups', mod.path, '--json', 'load',
			    'minix'], stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, text=True)
	assert r.returncode == 1
	j = json.loads(r.stdout)
	assert j['errno'] == 'EPERM'
	assert 'needs root' in j['error']
	assert not mod.loaded('minix')


def test_info_like_modinfo(mod):
	j = mod('info', 'vfat', check=True).json['modules'][0]
	assert j['name'] == 'vfat'
	assert j['license'] == 'GPL'
	assert j['depends'] == 'fat'
	assert 'fs-vfat' in j['alias']
	assert j['vermagic'].startswith(os.uname().release + ' ')
	assert j['signed'] is True and j['signer']
	assert j['filename'].endswith('/vfat.ko')

	j = mod('info', 'loop', check=True).json['modules'][0]
	params = {p['name']: p for p in j['parameters']}
	assert params['max_part']['type'] == 'int'
	assert params['max_part']['description'] == \
		'Maximum number of partitions per loop device'
	assert params['max_loop']['description']
	assert params['max_loop']['type'] is None	# module_param_cb

	h = mod.human('info', 'loop')
	assert h.returncode == 0
	assert 'license:' in h.stdout and 'signer:' in h.stdout
	assert 'parm:         max_part (int): Maximum number of ' \
		'partitions' in h.stdout


def test_status_like_lsmod_with_taint(mod, tmp_path):
	unsigned = tmp_path / 'minix.ko'
	unsigned.write_bytes(modfiles.strip_signature(
		open(module_file(mod, 'minix'), 'rb').read()))
	r = mod('load', str(unsigned), check=True)
	assert any(t['flag'] == 'E' for t in r.json['new_taint'])

	j = mod('status', check=True).json
	assert j['kernel']['release'] == os.uname().release
	flags = {t['flag']: t['meaning'] for t in j['kernel']['taint_flags']}
	assert flags.get('E') == 'unsigned module loaded'
	assert j['kernel']['taint'] & (1 << 13)
	mods = {m['name']: m for m in j['modules']}
	assert [t['flag'] for t in mods['minix']['taint']] == ['E']
	assert mods['minix']['state'] == 'live'
	assert mods['minix']['size'] > 0

	h = mod.human('status')
	assert h.returncode == 0
	assert h.stdout.splitlines()[0].split() == [
		'Module', 'Size', 'Refs', 'State', 'Taint', 'Used', 'by']
	assert 'E (unsigned module loaded)' in h.stdout


@pytest.mark.in_vm(append=['module.sig_enforce=1'])
def test_unsigned_refused_under_sig_enforce(mod, tmp_path):
	with open('/sys/module/module/parameters/sig_enforce') as f:
		assert f.read().strip() == 'Y'
	unsigned = tmp_path / 'minix.ko'
	unsigned.write_bytes(modfiles.strip_signature(
		open(module_file(mod, 'minix'), 'rb').read()))
	r = mod('load', str(unsigned))
	assert r.returncode == 1
	assert r.json['errno'] == 'EKEYREJECTED'
	msg = r.json['error']
	assert 'a signature is required' in msg
	assert 'not signed' in msg
	assert 'module.sig_enforce=1' in msg
	# What can be done: Debian's kernel key is not to be had.
	assert 'boot without enforcement' in msg
	assert 'Machine Owner Key (mokutil --import' in msg
	assert 'CONFIG_MODULE_SIG_KEY' in msg
	assert "kernel's key" not in msg
	assert not mod.loaded('minix')
	# Debian's signed original is still fine.
	r = mod('load', 'minix', check=True)
	assert r.json['loaded'] == ['minix']
