# twinfs tests/vm: helpers that make broken copies of kernel modules and
# build the tiny test module, for the twinfs-mod and vm/run tests.
# Layer: test helper (stdlib only).  May call make and the kernel's kbuild
# (for oopsmod) and vm/kernel-version; runs on the host or in the guest.
# The broken copies come from docs/labs/tools/modforge.py.
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The module doctoring (strip_signature, set_vermagic, set_release) is
# shared with the students' tool of Lab 4: one implementation.
sys.path.insert(0, os.path.join(ROOT, 'docs', 'labs', 'tools'))
from modforge import set_release, set_vermagic, strip_signature  # noqa: E402,F401


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
