# twinfs tests/posix: operations racing on the same directories and files
# from several threads - creates and unlinks in one directory, renames in
# opposite directions between two directories, directories moved into each
# other at the same time (one must fail: no loop, no deadlock), writers on
# disjoint parts of one file, and truncates racing reads.
# Layer: POSIX test suite; system calls only, against any mounted directory
# (see conftest.py).  Each race runs under a deadline: a thread still
# running after it is a hang (lock-order bug) and fails the test.
import errno
import os
import random
import threading

from posixfs import fill, pread_all, pwrite_all, read_file, write_file

DEADLINE = 120		# s for every thread of one race to finish


def race(workers):
	"""Start one thread per callable, wait for all (at most DEADLINE s);
	re-raise the first exception of a worker."""
	errors = []
	barrier = threading.Barrier(len(workers))

	def wrap(fn):
		try:
			barrier.wait()
			fn()
		except BaseException as e:	# reported below
			errors.append(e)

	ts = [threading.Thread(target=wrap, args=(w,), daemon=True)
	      for w in workers]
	for t in ts:
		t.start()
	for t in ts:
		t.join(DEADLINE)
	hung = [t for t in ts if t.is_alive()]
	assert not hung, '%d of %d threads still running after %d s (hang?)' % (
		len(hung), len(ts), DEADLINE)
	if errors:
		raise errors[0]


def test_concurrent_creates_and_unlinks_in_one_directory(fsroot):
	d = fsroot / 'd'
	os.mkdir(d)
	n, per = 8, 300

	def worker(k):
		def run():
			for i in range(per):
				write_file(d / ('w%d-%d' % (k, i)), b'%d' % i)
			for i in range(0, per, 2):
				os.unlink(d / ('w%d-%d' % (k, i)))
			for i in range(per // 3):
				os.mkdir(d / ('dir%d-%d' % (k, i)))
		return run

	race([worker(k) for k in range(n)])
	expect = {'w%d-%d' % (k, i) for k in range(n) for i in range(1, per, 2)}
	expect |= {'dir%d-%d' % (k, i) for k in range(n) for i in range(per // 3)}
	got = os.listdir(d)
	assert len(got) == len(expect)
	assert set(got) == expect
	assert os.stat(d).st_nlink == 2 + n * (per // 3)
	for k in range(n):
		assert read_file(d / ('w%d-1' % k)) == b'1'


def test_concurrent_renames_in_opposite_directions(fsroot):
	"""Files move a->b and b->a at once: each ends in exactly one of the
	two directories, none is lost or duplicated."""
	a, b = fsroot / 'a', fsroot / 'b'
	os.mkdir(a)
	os.mkdir(b)
	n = 200
	for i in range(n):
		write_file(a / ('x%d' % i), b'x%d' % i)
		write_file(b / ('y%d' % i), b'y%d' % i)

	def mover(src, dst, prefix, seed):
		def run():
			rng = random.Random(seed)
			for _ in range(3 * n):
				i = rng.randrange(n)
				for s, t in ((src, dst), (dst, src)):
					try:
						os.rename(s / ('%s%d' % (prefix, i)),
							  t / ('%s%d' % (prefix, i)))
						break
					except FileNotFoundError:
						continue
		return run

	race([mover(a, b, 'x', 1), mover(b, a, 'y', 2), mover(a, b, 'x', 3),
	      mover(b, a, 'y', 4)])
	la, lb = os.listdir(a), os.listdir(b)
	assert len(la) + len(lb) == 2 * n
	assert set(la) | set(lb) == {'x%d' % i for i in range(n)} | \
		{'y%d' % i for i in range(n)}
	assert not set(la) & set(lb)
	for name in la:
		assert read_file(a / name) == name.encode()
	for name in lb:
		assert read_file(b / name) == name.encode()


def test_directories_moved_into_each_other_at_once(fsroot):
	"""rename(d1, d2/x) and rename(d2, d1/y) together: at most one may
	succeed (the other gets EINVAL or ENOENT), the tree stays a tree, and
	nothing deadlocks."""
	for rnd in range(60):
		top = fsroot / ('r%d' % rnd)
		os.makedirs(top / 'd1' / 'in1')
		os.makedirs(top / 'd2' / 'in2')
		results = {}

		def mv(name, src, dst):
			def run():
				try:
					os.rename(src, dst)
					results[name] = 'ok'
				except OSError as e:
					results[name] = errno.errorcode[e.errno]
			return run

		race([mv('1', top / 'd1', top / 'd2' / 'x'),
		      mv('2', top / 'd2', top / 'd1' / 'y')])
		oks = [k for k, v in results.items() if v == 'ok']
		assert len(oks) <= 1, results
		for k, v in results.items():
			assert v in ('ok', 'EINVAL', 'ENOENT'), results
		# walk the whole round: every directory reachable exactly once
		seen = []
		for dirpath, dirnames, _ in os.walk(top):
			seen.append(os.path.basename(dirpath))
			assert len(seen) < 50, 'directory loop: %r' % seen
		names = sorted(seen)
		assert names.count('in1') == 1 and names.count('in2') == 1, names
		assert len(names) == 5, names	# top, two dirs, in1, in2
		assert os.stat(top).st_nlink == 2 + sum(
			1 for n in os.listdir(top) if os.path.isdir(top / n))


def test_disjoint_writers_on_one_file(fsroot):
	p = fsroot / 'f'
	chunk, n = 64 * 1024 + 17, 8
	write_file(p, b'')
	fds = [os.open(p, os.O_RDWR) for _ in range(n)]
	try:
		def writer(k):
			def run():
				data = fill(chunk, seed=k)
				for rep in range(5):
					pwrite_all(fds[k], data, k * chunk)
			return run

		race([writer(k) for k in range(n)])
		os.fsync(fds[0])
	finally:
		for fd in fds:
			os.close(fd)
	data = read_file(p)
	assert len(data) == n * chunk
	for k in range(n):
		assert data[k * chunk:(k + 1) * chunk] == fill(chunk, seed=k), k


def test_truncates_racing_reads_and_writes(fsroot):
	"""Readers see either data or zeros (never garbage), the final state
	after the race is exactly what the last operation left."""
	p = fsroot / 'f'
	size = 256 * 1024
	write_file(p, b'\x55' * size)
	stop = threading.Event()

	def truncater():
		fd = os.open(p, os.O_RDWR)
		try:
			rng = random.Random(5)
			for _ in range(300):
				os.ftruncate(fd, rng.randrange(size))
				os.ftruncate(fd, size)
		finally:
			os.close(fd)
			stop.set()

	def writer():
		fd = os.open(p, os.O_RDWR)
		try:
			rng = random.Random(6)
			while not stop.is_set():
				off = rng.randrange(size - 4096)
				os.pwrite(fd, b'\x55' * 4096, off)
		finally:
			os.close(fd)

	def reader():
		fd = os.open(p, os.O_RDONLY)
		try:
			rng = random.Random(7)
			while not stop.is_set():
				off = rng.randrange(size)
				b = pread_all(fd, 8192, off)
				assert set(b) <= {0, 0x55}, 'garbage at %d' % off
		finally:
			os.close(fd)

	race([truncater, writer, reader, reader])
	data = read_file(p)
	assert len(data) == size
	assert set(data) <= {0, 0x55}
