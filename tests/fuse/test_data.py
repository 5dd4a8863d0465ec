# twinfs tests/fuse: the data path of twinfs-fuse (docs/fuse.md, "The data
# path"): whole blocks of file data move between the image and the
# request's or reply's buffer without the daemon's block cache, partial
# blocks go through it, and the two must agree.  In both profiles and
# with the multithreaded loop (twfuse.THREADS), and
# with each way of caching the image below (image_cache=page, drop,
# direct) and with reads spliced from the image (-o splice):
#
#   - partial-block writes (dirty buffers in the daemon), then whole-block
#     writes over them, then reads: at once, after the kernel's caches are
#     dropped, and after a remount;
#   - a file whose blocks were written in pieces is truncated and removed,
#     and a new file written in whole blocks takes its blocks (the image
#     is nearly full, so it must): it reads back right, also after a
#     remount, and fsck finds the image clean;
#   - O_DIRECT and buffered reads and writes of one file, interleaved, each
#     checked against a model;
#   - several threads write generations of their own regions of one file
#     (some writes in two pieces, cut inside a block) while others read it
#     with O_DIRECT (so that every read reaches the daemon): every block
#     read holds its region's records, none older than the generation
#     complete when the read began; and one thread
#     truncates and rewrites a second file while readers check that what
#     they see is zeros or a whole generation;
#   - the daemon's counters: whole blocks went beside its block cache, in
#     runs, and the cache did not fill with file data.
#
# Layer: test harness (Python stdlib + pytest); runs the built daemon and
# tools.
import mmap
import os
import random
import struct
import subprocess
import threading

import pytest

import twfuse

BS = 4096
PROFILES = twfuse.PROFILES + [twfuse.THREADS]
# how the daemon reads and caches the image: each image_cache, and splice
# (replies spliced from the image's ranges, tw_read_runs())
CACHES = ['page', 'drop', 'direct', 'splice']


def start(tracker, image, mnt, profile, cache):
	opt = 'splice' if cache == 'splice' else 'image_cache=' + cache
	return tracker.daemon(image, mnt).start('profile=' + profile, opt)


def drop_caches():
	"""The kernel's caches: FUSE's page cache of the files and the page
	cache of the image below the daemon."""
	os.sync()
	with open('/proc/sys/vm/drop_caches', 'w') as f:
		f.write('3\n')


def aligned(n):
	"""A page-aligned writable buffer of @n bytes (for O_DIRECT)."""
	return mmap.mmap(-1, n)


def read_all(path):
	with open(path, 'rb') as f:
		return f.read()


def read_direct(path, size):
	fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
	try:
		buf = aligned(max(BS, (size + BS - 1) // BS * BS))
		n = os.preadv(fd, [buf], 0)
		return bytes(buf[:n])
	finally:
		os.close(fd)


def pattern(seed, n):
	return random.Random(seed).randbytes(n)


@pytest.mark.parametrize('cache', CACHES)
@pytest.mark.parametrize('profile', PROFILES)
def test_partial_then_whole_blocks(tracker, image, mnt, profile, cache):
	d = start(tracker, image, mnt, profile, cache)
	path = os.path.join(mnt, 'f')
	model = bytearray(pattern(1, 64 * BS))
	with open(path, 'wb') as f:
		f.write(model)
		os.fsync(f.fileno())
	fd = os.open(path, os.O_RDWR)
	try:
		# partial writes: the daemon keeps these blocks dirty in its
		# block cache (until a commit)
		rng = random.Random(2)
		for _ in range(40):
			off = rng.randrange(0, 64 * BS - 200)
			if off % BS == 0:
				off += 1
			data = rng.randbytes(rng.randrange(1, 200))
			assert os.pwrite(fd, data, off) == len(data)
			model[off:off + len(data)] = data
		# whole blocks over them, in runs, some through O_DIRECT
		dfd = os.open(path, os.O_RDWR | os.O_DIRECT)
		try:
			for i, (first, n) in enumerate([(0, 8), (10, 1), (20, 30),
							(55, 9)]):
				data = pattern(10 + i, n * BS)
				if i % 2:
					buf = aligned(n * BS)
					buf[:] = data
					assert os.pwritev(dfd, [buf], first * BS) \
						== n * BS
				else:
					assert os.pwrite(fd, data, first * BS) \
						== n * BS
				model[first * BS:(first + n) * BS] = data
		finally:
			os.close(dfd)
		assert read_direct(path, len(model)) == model
		assert read_all(path) == model
		os.fsync(fd)	# the commit writes the daemon's dirty buffers
	finally:
		os.close(fd)
	assert read_direct(path, len(model)) == model
	drop_caches()
	assert read_all(path) == model
	d.unmount()
	twfuse.assert_clean(image)
	start(tracker, image, mnt, profile, cache)
	assert read_all(path) == model


@pytest.mark.parametrize('cache', ['page', 'direct', 'splice'])
@pytest.mark.parametrize('profile', PROFILES)
def test_freed_blocks_reused(tracker, tmp_path, mnt, profile, cache):
	image = twfuse.mkfs(tmp_path / 'img', '16M')
	d = start(tracker, image, mnt, profile, cache)
	a, b = os.path.join(mnt, 'a'), os.path.join(mnt, 'b')
	# a: every block written in two pieces (dirty buffers), past the
	# direct blocks (an indirect block too)
	fd = os.open(a, os.O_WRONLY | os.O_CREAT, 0o644)
	old = pattern(20, 200 * BS)
	for i in range(200):
		os.pwrite(fd, old[i * BS:i * BS + 1000], i * BS)
		os.pwrite(fd, old[i * BS + 1000:(i + 1) * BS], i * BS + 1000)
	os.close(fd)
	# fill the rest of the image, so that b can only get a's blocks
	filler = os.path.join(mnt, 'filler')
	with open(filler, 'wb') as f:
		try:
			while True:
				f.write(b'\xee' * (64 * 1024))
				f.flush()
		except OSError:
			pass
	with open(filler, 'rb+') as f:
		os.fsync(f.fileno())
	free_before = os.statvfs(mnt).f_bfree
	os.truncate(a, 0)
	os.unlink(a)
	fd = os.open(mnt, os.O_RDONLY)
	os.fsync(fd)
	os.close(fd)
	assert twfuse.wait_until(
		lambda: os.statvfs(mnt).f_bfree >= free_before + 200, 10)
	new = pattern(21, 200 * BS)
	with open(b, 'wb') as f:
		f.write(new)	# whole blocks (1 MiB or 128 KiB requests)
		os.fsync(f.fileno())
	assert read_direct(b, len(new)) == new
	drop_caches()
	assert read_all(b) == new
	d.unmount()
	twfuse.assert_clean(image)
	start(tracker, image, mnt, profile, cache)
	assert read_all(b) == new
	# and freed again, reused as metadata (directories); the kernel's
	# FORGET frees the inode, then a commit makes its blocks reusable
	free_before = os.statvfs(mnt).f_bfree
	os.unlink(b)
	assert twfuse.wait_until(
		lambda: os.statvfs(mnt).f_bfree >= free_before + 200, 10)
	fd = os.open(mnt, os.O_RDONLY)
	os.fsync(fd)
	os.close(fd)
	for i in range(60):
		os.mkdir(os.path.join(mnt, 'd%d' % i))
		with open(os.path.join(mnt, 'd%d' % i, 'x'), 'wb') as f:
			f.write(b'%d' % i)
	tracker.daemons[-1].unmount()
	twfuse.assert_clean(image)
	start(tracker, image, mnt, profile, cache)
	for i in range(60):
		assert read_all(os.path.join(mnt, 'd%d' % i, 'x')) == b'%d' % i


@pytest.mark.parametrize('cache', CACHES)
@pytest.mark.parametrize('profile', PROFILES)
def test_direct_and_buffered_mixed(tracker, image, mnt, profile, cache):
	d = start(tracker, image, mnt, profile, cache)
	path = os.path.join(mnt, 'mix')
	size = 96 * BS
	model = bytearray(size)
	fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
	dfd = os.open(path, os.O_RDWR | os.O_DIRECT)
	rng = random.Random(3)
	try:
		os.ftruncate(fd, size)
		for step in range(300):
			kind = rng.randrange(4)
			if kind == 0:	# O_DIRECT write, whole blocks
				first = rng.randrange(96)
				n = rng.randrange(1, 97 - first)
				buf = aligned(n * BS)
				buf[:] = rng.randbytes(n * BS)
				assert os.pwritev(dfd, [buf], first * BS) == n * BS
				model[first * BS:(first + n) * BS] = buf[:]
			elif kind == 1:	# buffered write, anywhere
				off = rng.randrange(size - 1)
				n = rng.randrange(1, min(size - off, 5 * BS) + 1)
				data = rng.randbytes(n)
				assert os.pwrite(fd, data, off) == n
				model[off:off + n] = data
			elif kind == 2:	# O_DIRECT read
				first = rng.randrange(96)
				n = rng.randrange(1, 97 - first)
				buf = aligned(n * BS)
				assert os.preadv(dfd, [buf], first * BS) == n * BS
				assert buf[:] == model[first * BS:(first + n) * BS], \
					'step %d: direct read %d+%d' % (step, first, n)
			else:		# buffered read
				off = rng.randrange(size - 1)
				n = rng.randrange(1, size - off + 1)
				got = os.pread(fd, n, off)
				assert got == model[off:off + n], \
					'step %d: buffered read %d+%d' % (step, off, n)
			if step % 100 == 99:
				os.fsync(fd)
				drop_caches()
	finally:
		os.close(dfd)
		os.close(fd)
	d.unmount()
	twfuse.assert_clean(image)
	start(tracker, image, mnt, profile, cache)
	assert read_all(path) == model


# ---- concurrent readers and writers ----

REGIONS = 4
RBLOCKS = 32	# blocks per region
ROUNDS = 40


def gen_block(region, gen, blk):
	"""Block @blk as generation @gen of @region writes it."""
	return struct.pack('<QQQ', region, gen, blk) * (BS // 24) + \
		b'\0' * (BS % 24)


def block_gen(data, blk):
	"""(region, generation) of a block, or None if it is no whole
	generation of block @blk."""
	region, gen, b = struct.unpack_from('<QQQ', data)
	if b != blk or data != gen_block(region, gen, blk):
		return None
	return region, gen


def block_gens(data, blk):
	"""(region, oldest generation) of a block whose 24-byte records may
	come from different generations (a write in pieces cut between two
	records is half done), or None if any record is not one of block
	@blk's."""
	if data[BS - BS % 24:] != b'\0' * (BS % 24):
		return None
	recs = [struct.unpack_from('<QQQ', data, i) for i in range(0, BS - 23, 24)]
	region = recs[0][0]
	if any(r[0] != region or r[2] != blk for r in recs):
		return None
	return region, min(r[1] for r in recs)


def run_threads(fns, timeout=300):
	errors = []

	def wrap(fn):
		try:
			fn()
		except BaseException as e:	# noqa: B902 - reported below
			errors.append(repr(e))
	ts = [threading.Thread(target=wrap, args=(fn,)) for fn in fns]
	for t in ts:
		t.start()
	for t in ts:
		t.join(timeout)
		assert not t.is_alive(), 'a thread hangs'
	assert not errors, errors


@pytest.mark.parametrize('cache', ['page', 'direct', 'splice'])
@pytest.mark.parametrize('profile', PROFILES)
def test_concurrent_readers_writers(tracker, image, mnt, profile, cache):
	d = start(tracker, image, mnt, profile, cache)
	path = os.path.join(mnt, 'shared')
	total = REGIONS * RBLOCKS
	with open(path, 'wb') as f:
		for blk in range(total):
			f.write(gen_block(blk // RBLOCKS, 0, blk))
		os.fsync(f.fileno())
	done = [0] * REGIONS	# generations complete, per region
	stop = threading.Event()
	reads = [0]

	def writer(region):
		rng = random.Random(region)
		fd = os.open(path, os.O_WRONLY)
		try:
			for gen in range(1, ROUNDS + 1):
				b = 0
				while b < RBLOCKS:
					n = rng.randrange(1, RBLOCKS - b + 1)
					first = region * RBLOCKS + b
					data = b''.join(gen_block(region, gen, x)
							for x in range(first,
								       first + n))
					if rng.randrange(3) == 0:
						# in two pieces: a partial
						# block in between, cut
						# between two records
						cut = rng.randrange(n) * BS + \
							24 * rng.randrange(1, 170)
						os.pwrite(fd, data[:cut],
							  first * BS)
						os.pwrite(fd, data[cut:],
							  first * BS + cut)
					else:
						os.pwrite(fd, data, first * BS)
					b += n
				done[region] = gen
				if rng.randrange(10) == 0:
					os.fsync(fd)
		finally:
			os.close(fd)

	def reader(seed):
		rng = random.Random(100 + seed)
		fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
		buf = aligned(total * BS)
		try:
			while not stop.is_set():
				first = rng.randrange(total)
				n = rng.randrange(1, total - first + 1)
				floor = list(done)
				with memoryview(buf)[:n * BS] as view:
					got = os.preadv(fd, [view], first * BS)
				assert got == n * BS
				for i in range(n):
					blk = first + i
					region = blk // RBLOCKS
					g = block_gens(buf[i * BS:(i + 1) * BS],
						       blk)
					assert g is not None and g[0] == region, \
						'block %d: not its region\'s' % blk
					# a write in pieces may be half done: its
					# records are older or newer, never older
					# than what was complete
					assert g[1] >= floor[region], \
						'block %d: generation %d, %d complete ' \
						'before the read' % (blk, g[1],
								     floor[region])
				reads[0] += 1
		finally:
			os.close(fd)
			buf.close()

	writers = [lambda r=r: writer(r) for r in range(REGIONS)]

	def writers_then_stop():
		try:
			run_threads(writers)
		finally:
			stop.set()
	run_threads([writers_then_stop] + [lambda s=s: reader(s)
					    for s in range(3)])
	assert reads[0] > 10
	want = b''.join(gen_block(blk // RBLOCKS, ROUNDS, blk)
			for blk in range(total))
	assert read_direct(path, total * BS) == want
	d.unmount()
	twfuse.assert_clean(image)
	start(tracker, image, mnt, profile, cache)
	assert read_all(path) == want


@pytest.mark.parametrize('cache', ['direct', 'splice'])
@pytest.mark.parametrize('profile', PROFILES)
def test_readers_against_truncate(tracker, image, mnt, profile, cache):
	d = start(tracker, image, mnt, profile, cache)
	path = os.path.join(mnt, 't')
	nblk = 64
	with open(path, 'wb') as f:
		f.write(b''.join(gen_block(0, 0, b) for b in range(nblk)))
	stop = threading.Event()
	seen = {'data': 0, 'zero': 0}

	def churn():
		try:
			fd = os.open(path, os.O_WRONLY)
			for gen in range(1, 60):
				os.ftruncate(fd, (gen * 7 % nblk) * BS)
				os.pwrite(fd, b''.join(gen_block(0, gen, b)
						       for b in range(nblk)), 0)
			os.close(fd)
		finally:
			stop.set()

	def reader(seed):
		fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
		buf = aligned(nblk * BS)
		try:
			while not stop.is_set():
				n = os.preadv(fd, [buf], 0)
				assert n % BS == 0
				for i in range(n // BS):
					blk = buf[i * BS:(i + 1) * BS]
					if blk == bytes(BS):
						seen['zero'] += 1
						continue
					g = block_gen(blk, i)
					assert g is not None and g[0] == 0, \
						'block %d is neither zeros nor ' \
						'a whole generation' % i
					seen['data'] += 1
		finally:
			os.close(fd)
			buf.close()
	run_threads([churn] + [lambda s=s: reader(s) for s in range(2)])
	assert seen['data'] > 0
	assert read_all(path) == b''.join(gen_block(0, 59, b)
					  for b in range(nblk))
	d.unmount()
	twfuse.assert_clean(image)


def stat_field(line, pattern):
	"""The numbers of @pattern (a regex with groups) in a stats line."""
	import re
	m = re.search(pattern, line)
	assert m, line
	return [int(g) for g in m.groups()]


@pytest.mark.parametrize('profile', PROFILES)
def test_data_beside_block_cache(tracker, image, mnt, profile):
	"""Whole blocks of file data go between the image and the request or
	reply without the daemon's block cache (its counters, SIGUSR1)."""
	d = tracker.daemon(image, mnt).start('profile=' + profile,
					     foreground=True)
	path = os.path.join(mnt, 'big')
	data = pattern(30, 8 << 20)
	with open(path, 'wb') as f:
		f.write(data)
		os.fsync(f.fileno())
	drop_caches()
	assert read_all(path) == data
	line = d.stats()
	cached, = stat_field(line, r'(\d+) cached')
	reads, rblocks, writes, wblocks = stat_field(
		line, r'file data beside the cache (\d+) reads \((\d+) '
		r'blocks\), (\d+) writes \((\d+) blocks\)')
	assert wblocks >= 2048 and rblocks >= 2048, line
	# runs, not blocks: a request's blocks in few calls
	assert writes <= wblocks // 16 and reads <= rblocks // 16, line
	# the block cache holds metadata, not the 2048 blocks of data
	assert cached < 512, line
	d.unmount()
	twfuse.assert_clean(image)


def test_image_cache_option(tracker, image, mnt):
	"""image_cache= is in the banner and refuses unknown values."""
	d = tracker.daemon(image, mnt).start('image_cache=direct',
					     args=['-v'])
	assert 'image_cache=direct' in d.stderr
	with open(os.path.join(mnt, 'x'), 'wb') as f:
		f.write(b'y' * 10000)
	d.unmount()
	r = subprocess.run([twfuse.DAEMON, image, mnt, '-o',
			    'image_cache=sometimes'], capture_output=True,
			   text=True, timeout=30)
	assert r.returncode == 2
	assert "bad value for image_cache: 'sometimes'" in r.stderr
