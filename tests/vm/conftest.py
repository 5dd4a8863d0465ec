# twinfs tests/vm: pytest wiring for the tests that boot the guest.
# Layer: test harness; imports vm/pytest_twinfsvm.py (host and guest side)
# and nothing of the filesystem.
#
# Run with Debian's interpreter: pytest-3 tests/vm (or make check).  Tests
# marked in_vm run inside the guest, batched per marker arguments; the
# others run on the host and boot guests through the `guest` fixture.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
	os.path.realpath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'vm'))

from pytest_twinfsvm import *  # noqa: E402,F401,F403
