# twinfs tests/kmod: one image, two homes.  An image written on the host
# (twinfs-ctl, then twinfs-fuse) is read by the kernel module in the guest
# and changed there; an empty image is filled by the module.  Back on the
# host both must be fsck.twinfs -n clean, and twinfs-fuse and twinfs-ctl
# must see exactly what the module saw: contents, modes, owners, times,
# xattrs, symlinks, hard links, device numbers, statfs counts.
# Layer: host-side tests (the guest part is kjobs.guest_crosshome, run in
# the session's one guest boot); calls fsck.twinfs, twinfs-ctl, twinfs-fuse.
import hashlib
import json
import os

import pytest

import kjobs
import kmodutil

pytestmark = pytest.mark.guest_job('crosshome')


@pytest.fixture(scope='module')
def crosshome(guest_jobs):
	return guest_jobs.result('crosshome')


@pytest.fixture(scope='module')
def images(guest_jobs):
	return guest_jobs.path('h.img'), guest_jobs.path('k.img')


def assert_same(a, b, na, nb):
	d = kmodutil.diff_manifests(a, b, na, nb)
	assert d == [], '%d differences:\n  %s' % (len(d), '\n  '.join(d[:60]))


def test_module_reads_the_host_image_as_the_host_wrote_it(crosshome,
							   guest_jobs):
	with open(guest_jobs.path('h-host.json')) as f:
		host = json.load(f)
	# ctl/, fuse/: every kind of object, as the host saw it through FUSE
	assert len(host['manifest']) > 600
	assert_same(host['manifest'], crosshome['h_kernel'], 'fuse', 'kernel')
	assert host['statfs'] == crosshome['h_kernel_statfs']


def test_host_image_clean_after_the_module_changed_it(crosshome, images):
	kmodutil.assert_fsck_clean(images[0])


def test_host_sees_the_module_changes(crosshome, images, guest_jobs):
	man, st = kjobs.host_view(images[0], guest_jobs.work, 'h2')
	assert_same(crosshome['h_after'], man, 'kernel', 'fuse')
	assert crosshome['h_after_statfs'] == st
	# the changes really are there (not two identical stale views)
	assert 'kernel/links/hard' in man
	assert 'fuse/modes-renamed/f4755' in man and 'fuse/modes' not in man
	assert man['fuse/xattrs/file']['xattrs']['user.small'] == \
		b'replaced by kernel'.hex()
	assert 'user.large' not in man['fuse/xattrs/file']['xattrs']
	assert man['fuse/files/size-4097']['size'] == 9 << 20
	assert man['fuse/files/size-4095']['uid'] == 777
	kmodutil.assert_fsck_clean(images[0])


def test_module_image_clean(crosshome, images):
	kmodutil.assert_fsck_clean(images[1])


def test_host_reads_the_module_image_through_fuse(crosshome, images,
						  guest_jobs):
	man, st = kjobs.host_view(images[1], guest_jobs.work, 'k')
	assert len(man) > 600
	assert_same(crosshome['k_kernel'], man, 'kernel', 'fuse')
	assert crosshome['k_kernel_statfs'] == st
	kmodutil.assert_fsck_clean(images[1])


def ctl(image, *args):
	return kmodutil.run([kmodutil.CTL, image, *args], check=True).stdout


def test_host_reads_the_module_image_through_twinfs_ctl(crosshome, images,
							tmp_path):
	"""The core in one process, no kernel and no FUSE: the same answers."""
	img = images[1]
	k = crosshome['k_kernel']
	# contents, byte for byte
	for rel in ('files/size-4097', 'files/indirect', 'links/hard',
		    'deep/' + '/'.join('level-%02d' % i
				       for i in range(24)) + '/bottom'):
		out = tmp_path / 'out'
		ctl(img, 'get', '/' + rel, str(out))
		with open(out, 'rb') as f:
			data = f.read()
		assert hashlib.sha256(data).hexdigest() == k[rel]['sha256'], rel
		out.unlink()
	# modes, owners, links, sizes as twinfs-ctl stat prints them
	s = ctl(img, 'stat', '/modes/f4755')
	assert 'Mode: -rwsr-xr-x (4755)' in s, s
	s = ctl(img, 'stat', '/owners/u65534-g65534')
	assert 'Uid: 65534  Gid: 65534' in s, s
	s = ctl(img, 'stat', '/links/hard')
	assert 'Links: 3' in s and 'Size: 5000' in s, s
	s = ctl(img, 'stat', '/sparse/far')
	assert 'Size: %d' % k['sparse/far']['size'] in s, s
	# symlinks and xattrs
	ls = ctl(img, 'ls', '-l', '/links')
	assert 'short' in ls and 'very-long' in ls, ls
	assert ctl(img, 'getxattr', '/xattrs/file', 'user.small') == 'v\n'
	assert ctl(img, 'getxattr', '/xattrs/file', 'trusted.admin') == \
		'only root sees this\n'
	assert ctl(img, 'cat', '/files/text').startswith('twinfs kernel\n')
	names = [n for n in ctl(img, 'ls', '/bigdir').split('\n')
		 if n not in ('', '.', '..')]
	assert len(names) == k['bigdir']['entries']
	assert 'x' * 255 in names
	# and twinfs-ctl writing to it afterwards leaves it clean
	ctl(img, 'mkdir', '/after-ctl')
	ctl(img, 'put', os.path.join(kjobs.ROOT, 'README.md'), '/after-ctl/r')
	kmodutil.assert_fsck_clean(img)
