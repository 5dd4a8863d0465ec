#!/usr/bin/python3
# twinfs tests/fuzz: choose the corpus sample that the replay in both homes
# mounts (tests/images/fuzz/corpus/, docs/fuzzing.md "Replay in both
# homes").  A campaign's corpus (build/fuzz/corpus/TARGET/) is not in the
# repository; a small sample of it is, so that a clean clone replays the
# same inputs every time.
#
#   fzsample.py [--per-target N] [--max-bytes B] [CORPUS_DIR [OUT_DIR]]
#
# For each target (mount, ops, journal, fsck) the inputs of at most B bytes
# (12 KiB) are sorted by name (libFuzzer names them by their SHA-1, so the
# order is arbitrary but fixed) and grouped by what the core makes of them:
# the read-only mount (twinfs-ctl df) and the read-write one (`fzimg
# verdict`); N inputs (10) are taken from the groups, each its share (4
# that mount read-write, 2 of each group that mounts read-only only, 1 of
# each refused outright: mounted images are where a home does most work),
# the rest round-robin, so that rare outcomes (EBADMSG, refused read-write
# only, ...) are in the sample as well as the common ones.  They are copied as TARGET-SHA1PREFIX.fz and
# OUT_DIR/LIST gets the verdict line of each, in the columns of
# tests/images/fuzz/LIST.  The old sample is replaced.
#
# Layer: test tool (Python stdlib).  Runs build/fuzz/fzimg (fuzz.sh build)
# and build/tools/twinfs-ctl.
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import fzreplay  # noqa: E402

TARGETS = ('mount', 'ops', 'journal', 'fsck')
FZIMG = os.path.join(fzreplay.build_dir(), 'fuzz', 'fzimg')

HEADER = """\
# A sample of the fuzz campaign's corpus (build/fuzz/corpus/TARGET/), chosen
# by tests/fuzz/fzsample.py; replayed by the kernel module in the guest
# (tests/kmod/test_fuzzimages.py) and by twinfs-fuse on the host
# (tests/fuzz/test_replay_fuse.py), see docs/fuzzing.md.  These inputs found
# no bug: they are here because they reach many different structures.
#
# Columns as in ../LIST (`fzimg verdict`): MOUNT is the core's read-write
# mount in user space (ok or its errno), FSCK_N/FSCK_Y/AFTER fsck's exit
# codes.  The text says which group of the sample the input stands for
# (ro=: the read-only mount's verdict, twinfs-ctl df).
#
# NAME                          TARGET  MOUNT    FSCK_N FSCK_Y AFTER  FOUND
"""


def verdicts(paths):
	"""name -> (mount, fsck_n, fsck_y, after) from fzimg verdict."""
	out = {}
	for i in range(0, len(paths), 200):
		r = subprocess.run([FZIMG, 'verdict'] + paths[i:i + 200],
				   stdout=subprocess.PIPE, text=True,
				   check=True)
		for line in r.stdout.splitlines():
			w = line.split()
			out[w[0]] = tuple(x.split('=', 1)[1] for x in w[1:5])
	return out


def weight(key):
	"""A group's share of a target's sample: the mounted images are
	where a home does the most work (4 that mount read-write, 2 of each
	kind that mount read-only only, 1 of each kind refused outright)."""
	ro, rw = key
	return 4 if rw == 'ok' else 2 if ro == 'ok' else 1


def ro_verdict(path, tmp):
	img = os.path.join(tmp, 'ro.img')
	fzreplay.decode_file(path, img)
	try:
		return fzreplay.core_verdict(img, ro=True)
	finally:
		os.unlink(img)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument('--per-target', type=int, default=10)
	ap.add_argument('--max-bytes', type=int, default=12288)
	ap.add_argument('corpus', nargs='?', default=os.path.join(
		fzreplay.build_dir(), 'fuzz', 'corpus'))
	ap.add_argument('out', nargs='?', default=fzreplay.CORPUS)
	a = ap.parse_args()
	picked = []
	with tempfile.TemporaryDirectory(prefix='fzsample-') as tmp:
		for t in TARGETS:
			d = os.path.join(a.corpus, t)
			names = sorted(n for n in os.listdir(d)
				       if os.path.getsize(os.path.join(d, n))
				       <= a.max_bytes)
			paths = [os.path.join(d, n) for n in names]
			v = verdicts(paths)
			groups = {}
			for n, p in zip(names, paths):
				key = (ro_verdict(p, tmp), v[n][0])
				groups.setdefault(key, []).append(n)
			keys = sorted(groups, key=lambda k: (-weight(k), k))
			got = 0
			# first each group's share, then round-robin
			for k in keys:
				for _ in range(weight(k)):
					if groups[k] and got < a.per_target:
						n = groups[k].pop(0)
						picked.append((t, n, k, v[n]))
						got += 1
			while got < a.per_target and any(groups.values()):
				for k in keys:
					if groups[k] and got < a.per_target:
						n = groups[k].pop(0)
						picked.append((t, n, k, v[n]))
						got += 1
			print('%s: %d inputs of at most %d bytes, %d groups: %s' % (
				t, len(names), a.max_bytes, len(keys),
				', '.join('ro=%s rw=%s' % k for k in keys)))
	os.makedirs(a.out, exist_ok=True)
	for n in os.listdir(a.out):
		if n.endswith('.fz'):
			os.unlink(os.path.join(a.out, n))
	lines = []
	for t, n, (ro, rw), (m, fn, fy, af) in picked:
		name = '%s-%s.fz' % (t, n[:12])
		with open(os.path.join(a.corpus, t, n), 'rb') as f:
			data = f.read()
		with open(os.path.join(a.out, name), 'wb') as f:
			f.write(data)
		lines.append('%-29s %-7s %-8s %-6s %-6s %-6s corpus sample, '
			     'group ro=%s rw=%s (%d bytes)\n' % (
				     name, t, m, fn, fy, af, ro, rw, len(data)))
	with open(os.path.join(a.out, 'LIST'), 'w') as f:
		f.write(HEADER)
		f.writelines(sorted(lines))
	print('%d inputs in %s' % (len(picked), a.out))


if __name__ == '__main__':
	main()
