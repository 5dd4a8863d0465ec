#!/usr/bin/env bash
# make check step: the test guest (vm/) and twinfs-mod, in Debian's kernel.
# Builds or refreshes the guest (cached in build/vm, so a second run only
# checks it), then runs tests/vm with Debian's pytest.  Tests marked in_vm
# run inside the guest; the others boot guests from the host.
set -u
: "${TWINFS_ROOT:?}" "${TWINFS_BUILD:?}"
cd "$TWINFS_ROOT"
vm/build --quiet --build-dir "$TWINFS_BUILD" || exit 1
# A hung guest must not hang make check: vm/run has its own timeouts, and
# this is the backstop for the whole step.
timeout -k 10 600 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-o console_output_style=classic tests/vm
rc=$?
if [ $rc -eq 5 ]; then
	echo "40-vm: pytest collected no tests" >&2
	exit 1
fi
[ $rc -eq 124 ] && echo "40-vm: timed out after 600 s" >&2
exit $rc
