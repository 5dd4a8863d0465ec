#!/usr/bin/env bash
# make check step: the course (docs/labs).  tests/labs/labrun.py runs every
# step of every lab, on the host or in the guest as the lab marks it, and
# checks each "You should see" against what the step really printed, so a
# lab whose output changes fails the build.  Each lab boots the guest once
# or a few times; the README's guest session is run the same way.
set -u
: "${TWINFS_ROOT:?}" "${TWINFS_BUILD:?}"
cd "$TWINFS_ROOT"
labs=(docs/labs/[0-9]*.md README.md)
if [ ! -e "${labs[0]}" ]; then
	echo "55-labs: no labs in docs/labs" >&2
	exit 1
fi
# Backstop for the whole step; each boot has its own timeout (labrun).
timeout -k 10 1200 /usr/bin/python3 tests/labs/labrun.py \
	--build "$TWINFS_BUILD" --timeout 300 "${labs[@]}"
rc=$?
[ $rc -eq 124 ] && echo "55-labs: timed out after 1200 s" >&2
exit $rc
