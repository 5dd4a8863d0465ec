#!/usr/bin/env bash
# make check step: the POSIX suite (tests/posix) against tmpfs (a sanity
# check of the tests themselves) and twinfs-fuse on fresh images,
# fsck-checked after every test: the optimized profile (one thread) and
# the multithreaded loop that no profile has (fuse-threads), so that both
# session loops stay tested.  Debian's python3 (the first
# python3 on PATH may be a pyenv build without pytest).
#
# TWINFS_POSIX_TARGET overrides the targets (see docs/testing.md); a missing
# twinfs-fuse would only skip its half, so it is an error here.
set -u
: "${TWINFS_ROOT:?}" "${TWINFS_BUILD:?}"
cd "$TWINFS_ROOT"
export TWINFS_POSIX_TARGET=${TWINFS_POSIX_TARGET:-tmpfs,fuse,fuse-threads}
case ",$TWINFS_POSIX_TARGET," in
*,fuse,* | *,fuse-base,* | *,fuse-threads,*)
	if [ ! -x "$TWINFS_BUILD/fusefs/twinfs-fuse" ]; then
		echo "35-posix: $TWINFS_BUILD/fusefs/twinfs-fuse is not built" >&2
		exit 1
	fi ;;
esac
# The suite takes about a minute per target; this is the backstop.
timeout -k 10 600 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-o console_output_style=classic tests/posix
rc=$?
if [ $rc -eq 5 ]; then
	echo "35-posix: pytest collected no tests" >&2
	exit 1
fi
[ $rc -eq 124 ] && echo "35-posix: timed out after 600 s" >&2
exit $rc
