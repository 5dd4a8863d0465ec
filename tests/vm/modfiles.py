# twinfs tests/vm: helpers that make broken copies of kernel modules and
# build the tiny test module, for the twinfs-mod and vm/run tests.
# Layer: test helper (stdlib only).  May call make and the kernel's kbuild
# (for oopsmod) and vm/kernel-version; runs on the host or in the guest.
import os
import shutil
import struct
import subprocess

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SIG_MAGIC = b'~Module signature appended~\n'


def strip_signature(data):
	"""The module without its appended PKCS#7 signature.

	The tail is: signature, struct module_signature (12 bytes, sig_len
	big-endian in the last 4), then the magic string."""
	if not data.endswith(SIG_MAGIC):
		return data
	info = data[-len(SIG_MAGIC) - 12:-len(SIG_MAGIC)]
	sig_len = struct.unpack('>I', info[8:12])[0]
	return data[:len(data) - len(SIG_MAGIC) - 12 - sig_len]


def set_vermagic(data, vermagic):
	"""Rewrite the module's vermagic= in place (no longer than it was;
	the rest is padded with NULs, which the kernel skips).  Strips the
	signature, which the edit would break anyway."""
	data = strip_signature(data)
	start = data.index(b'vermagic=')
	end = data.index(b'\0', start)
	new = b'vermagic=' + vermagic.encode()
	if len(new) > end - start:
		raise ValueError('new vermagic is longer than the old one')
	return data[:start] + new + b'\0' * (end - start - len(new)) + \
		data[end:]


def build_oopsmod(dest):
	"""Build tests/vm/oopsmod against the guest kernel's headers into
	dest; returns the path of oopsmod.ko."""
	kdir = subprocess.run([os.path.join(ROOT, 'vm', 'kernel-version'),
			       '--kdir'], stdout=subprocess.PIPE, text=True,
			      check=True).stdout.strip()
	src = os.path.join(dest, 'oopsmod')
	shutil.copytree(os.path.join(HERE, 'oopsmod'), src)
	r = subprocess.run(['make', '-s', '-C', kdir, 'M=' + src, 'modules'],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			   text=True)
	ko = os.path.join(src, 'oopsmod.ko')
	if r.returncode != 0 or not os.path.exists(ko):
		raise RuntimeError('building oopsmod failed:\n' + r.stdout)
	return ko
