#!/usr/bin/env bash
# make check step: lint the manual pages that man/meson.build built into
# $TWINFS_BUILD/man: `mandoc -Tlint -W warning` (mandoc's warnings and
# errors; its style notes depend on which other pages this machine has)
# and `man --warnings -l` (groff's warnings, as man-db renders the page
# for a reader) must print nothing.  That the pages agree with each
# program's --help is tests/tools/test_man.py's business (20-tools).
# Run by scripts/check.sh, which sets TWINFS_ROOT and TWINFS_BUILD; alone,
# the repository root and its build/ are the defaults.
# Needs mandoc and man-db (debian-packages.txt).  Exits non-zero if a page
# is missing or has a warning.
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TWINFS_BUILD:-$root/build}
for tool in mandoc man; do
	if ! command -v "$tool" >/dev/null; then
		echo "22-man: $tool is missing (make deps installs it)" >&2
		exit 1
	fi
done
shopt -s nullglob
sources=("$root"/man/*.in)
if [ ${#sources[@]} -eq 0 ]; then
	echo "22-man: no pages in $root/man" >&2
	exit 1
fi
fail=0
for src in "${sources[@]}"; do
	page=$build/man/$(basename "$src" .in)
	if [ ! -f "$page" ]; then
		echo "22-man: $page is not built" >&2
		fail=1
		continue
	fi
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	out+=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		echo "22-man: $(basename "$page"):"
		echo "$out"
		fail=1
	else
		echo "22-man: $(basename "$page") ok"
	fi
done
exit $fail
