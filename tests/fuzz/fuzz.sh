#!/usr/bin/env bash
# tests/fuzz/fuzz.sh: build and run the libFuzzer targets of twinfs.
#
#   fuzz.sh check       what `make check` runs (scripts/check.d/50-fuzz.sh):
#                       each target for FUZZ_CHECK_TIME s (default 30), two
#                       at a time, from the seeds and the regression images,
#                       failing on any crash, leak, timeout or broken
#                       invariant; then every regression image through every
#                       target, and `fzimg verdict` against tests/images/fuzz/LIST
#   fuzz.sh campaign [TARGET...]
#                       a long campaign (what `make fuzz` runs): each target
#                       for FUZZ_TIME s (default 1800), FUZZ_JOBS (default 2)
#                       at a time, in libFuzzer's fork mode so that a crash
#                       is saved and the campaign goes on; the corpus grows in
#                       build/fuzz/corpus/TARGET, findings land in
#                       build/fuzz/artifacts/TARGET; prints executions per
#                       second, coverage and findings per target
#   fuzz.sh replay FILE...   run inputs through every target, then verdicts
#   fuzz.sh report      the table of the last campaign
#   fuzz.sh coverage    line/branch coverage of common/ and tools/fsck*.c
#                       reached by the corpora (llvm-cov; after a campaign)
#
# Environment: TWINFS_ROOT, TWINFS_BUILD (set by scripts/check.sh; default
# the repository and its build/).  Layer: tests; needs clang and its
# libFuzzer runtime (debian-packages.txt).
set -u
root=${TWINFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TWINFS_BUILD:-$root/build}
out=$build/fuzz
targets_all=(mount ops journal fsck)
imgdir=$root/tests/images/fuzz
# Per input: 10 s at most (a hang is a bug), 2 GiB, inputs up to 64 KiB.
common_opts=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024
	-max_len=65536 -print_final_stats=1)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:malloc_context_size=10}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

die() { echo "fuzz.sh: $*" >&2; exit 1; }

build_all() {
	mkdir -p "$out"
	if ! make -s -C "$root/tests/fuzz" O="$out" -j2 >"$out/build.log" 2>&1; then
		cat "$out/build.log"
		die "building the fuzz targets failed (clang-14 and libclang-rt-14-dev?)"
	fi
	# seeds: regenerated when mkseeds changes
	if [ ! -f "$out/seeds/.stamp" ] || [ "$out/mkseeds" -nt "$out/seeds/.stamp" ]; then
		rm -rf "$out/seeds"
		"$out/mkseeds" "$out/seeds" >"$out/seeds.log" 2>&1 ||
			{ cat "$out/seeds.log"; die "mkseeds failed"; }
		golden_seeds
		touch "$out/seeds/.stamp"
	fi
}

# The golden corrupted images of tests/images (made by its mkimages.py with
# the meson build's tools), as seeds: file data and the stale log zeroed so
# that a 16 MiB image is a ~38 KiB input.  Skipped without the meson build.
golden_seeds() {
	local g=$out/golden f t name
	[ -x "$build/tools/twinfs-ctl" ] && [ -x "$build/tools/mkfs.twinfs" ] || return 0
	rm -rf "$g" && mkdir -p "$g"
	if /usr/bin/python3 "$root/tests/images/mkimages.py" "$build" "$g" >"$out/golden.log" 2>&1; then
		for f in "$g"/*.img; do
			name=golden-$(basename "$f" .img)
			"$out/fzimg" encode --meta "$f" "$g/$name.fz" >>"$out/golden.log" 2>&1 || continue
			[ "$(stat -c %s "$g/$name.fz")" -le 65536 ] || continue
			for t in "${targets_all[@]}"; do cp "$g/$name.fz" "$out/seeds/$t/"; done
		done
	fi
	rm -f "$g"/*.img
}

# The regression images (not LIST).
images() {
	ls "$imgdir"/*.fz 2>/dev/null
}

# summary LOG: "execs exec/s cov ft corpus" from libFuzzer's final report
summary() {
	awk '
		/^stat::number_of_executed_units:/ { execs = $2 }
		/^stat::average_exec_per_sec:/ { eps = $2 }
		/^stat::new_units_added:/ { new = $2 }
		/(DONE|INITED|pulse|NEW|REDUCE) +cov:/ || /: cov: [0-9]+ ft:/ {
			for (i = 1; i <= NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "ft:") ft = $(i + 1)
				if ($i == "corp:") corp = $(i + 1)
				if ($i == "exec/s:") leps = $(i + 1)
			}
			if ($1 ~ /^#[0-9]+/) { n = substr($1, 2); if (n + 0 > execs + 0) lastn = n }
		}
		END {
			if (execs == "") execs = lastn
			if (eps == "") eps = leps
			printf "%s %s %s %s %s\n", execs, eps, cov, ft, corp
		}' "$1"
}

# The seed of the check's runs: fixed (FUZZ_SEED, default 1), so that a
# failure in CI is the same run on a developer's machine; FUZZ_SEED=random
# lets libFuzzer pick one.  Exploration is the campaign's job.
check_seed() {
	case "${FUZZ_SEED:-1}" in
	random) echo 0 ;;
	*) echo "${FUZZ_SEED:-1}" ;;
	esac
}

# A finding, printed so that it can be replayed from a CI log alone:
# small inputs in base64 (`base64 -d >x; tests/fuzz/fuzz.sh replay x`).
show_artifacts() {
	local dir=$1 a
	for a in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
		[ -f "$a" ] || continue
		echo "    input: $a ($(stat -c %s "$a") bytes)"
		if [ "$(stat -c %s "$a")" -le 16384 ]; then
			echo "    gzip + base64 (base64 -d | gunzip >FILE; tests/fuzz/fuzz.sh replay FILE):"
			gzip -9c "$a" | base64 -w 100 | sed 's/^/      /'
		fi
	done
}

run_check_one() {
	local t=$1 dir=$out/check/$t
	rm -rf "$dir" && mkdir -p "$dir/corpus"
	local extra=()
	[ -n "$(images)" ] && { mkdir -p "$dir/images"; cp $(images) "$dir/images/"; extra=("$dir/images"); }
	"$out/fuzz_$t" "${common_opts[@]}" -max_total_time="${FUZZ_CHECK_TIME:-30}" \
		-seed="$(check_seed)" \
		-artifact_prefix="$dir/" "$dir/corpus" "$out/seeds/$t" "${extra[@]}" \
		>"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

check() {
	local fail=0 t pair
	build_all
	echo "fuzz: ${FUZZ_CHECK_TIME:-30} s per target, two at a time, seed $(check_seed)"
	for pair in "mount ops" "journal fsck"; do
		for t in $pair; do run_check_one "$t" & done
		wait
	done
	printf "  %-8s %10s %8s %6s %7s %s\n" target execs exec/s cov ft result
	for t in "${targets_all[@]}"; do
		local rc; rc=$(cat "$out/check/$t/rc")
		read -r execs eps cov ft corp < <(summary "$out/check/$t/log")
		if [ "$rc" = 0 ]; then
			printf "  %-8s %10s %8s %6s %7s ok\n" "$t" "$execs" "$eps" "$cov" "$ft"
		else
			printf "  %-8s %10s %8s %6s %7s FAILED (exit %s)\n" "$t" "$execs" "$eps" "$cov" "$ft" "$rc"
			grep -E "INVARIANT|ERROR:|runtime error|assertion failed|Test unit written" \
				"$out/check/$t/log" | head -8 | sed 's/^/    /'
			echo "    (log: $out/check/$t/log)"
			show_artifacts "$out/check/$t"
			fail=1
		fi
	done
	replay $(images) || fail=1
	return $fail
}

# Every input through every target (each runs it once), then the verdicts.
replay() {
	local fail=0 t f
	[ $# -gt 0 ] || { echo "fuzz: no regression images"; return 0; }
	for t in "${targets_all[@]}"; do
		if ! "$out/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "$@" >"$out/replay-$t.log" 2>&1; then
			echo "fuzz: replay through fuzz_$t FAILED:"
			grep -E "Running:|INVARIANT|ERROR:|runtime error|assertion failed" \
				"$out/replay-$t.log" | tail -6 | sed 's/^/    /'
			fail=1
		fi
	done
	[ $fail = 0 ] && echo "fuzz: $# regression images replayed through ${#targets_all[@]} targets: ok"
	# verdicts against the LIST
	local got want name
	got=$("$out/fzimg" verdict "$@" 2>&1) || { echo "$got"; return 1; }
	while read -r name rest; do
		[ -f "$imgdir/LIST" ] || break
		want=$(awk -v n="$name" '$1 == n { printf "mount=%s fsck_n=%s fsck_y=%s after=%s", $3, $4, $5, $6 }' "$imgdir/LIST")
		[ -n "$want" ] || continue
		if [ "$rest" != "$want" ]; then
			echo "fuzz: $name: expected '$want', got '$rest'"
			fail=1
		fi
	done <<<"$got"
	[ $fail = 0 ] && echo "fuzz: verdicts match tests/images/fuzz/LIST"
	return $fail
}

campaign() {
	local time=${FUZZ_TIME:-1800} jobs=${FUZZ_JOBS:-2} t
	local targets=("$@")
	[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
	build_all
	echo "fuzz campaign: ${targets[*]}: $time s each, $jobs at a time"
	echo "  corpus: $out/corpus/TARGET  findings: $out/artifacts/TARGET"
	local running=0
	for t in "${targets[@]}"; do
		[ -x "$out/fuzz_$t" ] || die "no target $t"
		mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
		(
			cd "$out/artifacts/$t" &&
			"$out/fuzz_$t" "${common_opts[@]}" -max_total_time="$time" \
				-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
				-artifact_prefix="$out/artifacts/$t/" \
				"$out/corpus/$t" "$out/seeds/$t" >"$out/campaign-$t.log" 2>&1
		) &
		running=$((running + 1))
		if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
	done
	wait
	campaign_report "${targets[@]}"
	coverage
}

# Line and branch coverage of common/ and tools/fsck*.c reached by the
# corpora (campaign corpus, seeds, regression images), with llvm-cov.
coverage() {
	local cov=$out/cov t objs=() dirs
	command -v llvm-profdata-14 >/dev/null || { echo "fuzz: coverage needs llvm-14"; return 0; }
	make -s -C "$root/tests/fuzz" O="$out" -j2 cov >"$out/cov-build.log" 2>&1 ||
		{ cat "$out/cov-build.log"; die "building the coverage targets failed"; }
	rm -f "$cov"/*.profraw
	for t in "${targets_all[@]}"; do
		dirs=()
		for d in "$out/corpus/$t" "$out/seeds/$t" "$imgdir"; do
			[ -d "$d" ] && dirs+=("$d")
		done
		LLVM_PROFILE_FILE="$cov/$t.profraw" "$cov/fuzz_$t" -runs=0 \
			-timeout=10 -rss_limit_mb=2048 -max_len=65536 "${dirs[@]}" \
			>"$cov/run-$t.log" 2>&1
		objs+=(-object "$cov/fuzz_$t")
	done
	llvm-profdata-14 merge -sparse "$cov"/*.profraw -o "$cov/all.profdata" || return 1
	echo "coverage of the core and fsck by the corpora (all four targets):"
	llvm-cov-14 report -instr-profile="$cov/all.profdata" "${objs[@]:1}" \
		"$root"/common/*.c "$root"/tools/fsck*.c |
		sed -e "s|$root/||" | awk '{ print "  " $0 }'
	llvm-cov-14 show -format=html -output-dir="$cov/html" \
		-instr-profile="$cov/all.profdata" "${objs[@]:1}" \
		"$root"/common/*.c "$root"/tools/fsck*.c >/dev/null 2>&1 &&
		echo "  (annotated sources: $cov/html/index.html)"
}

campaign_report() {
	local t
	printf "%-8s %12s %8s %6s %6s %7s %8s %s\n" target execs time/s exec/s cov ft corpus findings
	for t in "$@"; do
		local log=$out/campaign-$t.log
		[ -f "$log" ] || continue
		# fork mode: "#N: cov: C ft: F corp: U exec/s E oom/timeout/crash: a/b/c time: T"
		local last; last=$(grep -E "^#[0-9]+: cov:" "$log" | tail -1)
		local n cov ft corp eps crashes
		n=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
		cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")
		ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")
		corp=$(sed -E 's/.* corp: ([0-9]+).*/\1/' <<<"$last")
		# the line's exec/s is the last job's: average over the run instead
		local secs; secs=$(sed -E 's/.* time: ([0-9]+)s.*/\1/' <<<"$last")
		eps=$(( n / (secs > 0 ? secs : 1) ))
		crashes=$(sed -E 's/.* oom\/timeout\/crash: ([0-9\/]+).*/\1/' <<<"$last")
		printf "%-8s %12s %8s %6s %6s %7s %8s oom/timeout/crash %s, %s artifacts\n" "$t" "$n" "$secs" "$eps" "$cov" "$ft" "$corp" \
			"$crashes" "$(ls "$out/artifacts/$t" | grep -cE '^(crash|leak|timeout|oom)-')"
	done
}

case "${1:-}" in
check) check ;;
campaign) shift; campaign "$@" ;;
replay) shift; build_all; replay "$@" ;;
report) shift; campaign_report "${@:-${targets_all[@]}}" ;;
coverage) coverage ;;
build) build_all ;;
*) sed -n '2,22p' "$0"; exit 2 ;;
esac
