# twinfs tests/fuse: a writer process for the crash tests.
# Layer: test harness (Python stdlib only); touches only the file it is
# given.  Run as: writer.py FILE CHUNK SYNC_EVERY [MAX_CHUNKS]
#
# Appends CHUNK-byte chunks (chunk i is filled with the byte i % 251) to
# FILE and fsyncs after every SYNC_EVERY chunks, printing "synced N" (N
# bytes are durable) after each fsync.  At the first error it prints
# "error OP ERRNO", then tries write, fsync, close and a stat of the
# file's directory once each, printing "after OP ok|ERRNO", and exits 0.
import errno
import os
import sys


def name(e):
	return errno.errorcode.get(e.errno, str(e.errno))


def pattern(i, chunk):
	return bytes([i % 251]) * chunk


def main():
	path, chunk, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	limit = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 30
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	print('ready', flush=True)
	i, op = 0, 'write'
	try:
		while i < limit:
			op = 'write'
			os.write(fd, pattern(i, chunk))
			i += 1
			if i % every == 0:
				op = 'fsync'
				os.fsync(fd)
				print('synced %d' % (i * chunk), flush=True)
	except OSError as e:
		print('error %s %s' % (op, name(e)), flush=True)
	for op, fn in (('write', lambda: os.write(fd, b'z')),
		       ('fsync', lambda: os.fsync(fd)),
		       ('close', lambda: os.close(fd)),
		       ('stat', lambda: os.stat(os.path.dirname(path)))):
		try:
			fn()
			print('after %s ok' % op, flush=True)
		except OSError as e:
			print('after %s %s' % (op, name(e)), flush=True)


if __name__ == '__main__':
	main()
