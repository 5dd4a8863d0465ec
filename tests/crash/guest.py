#!/usr/bin/python3
# twinfs tests/crash: record workloads on the kernel module, in the guest.
#
# Layer: test harness (Python stdlib), run as root inside the test guest by
# crashrun.py:  vm/run --rw DIR -- python3 tests/crash/guest.py record LIST
# LIST names one prepared workload directory per line (ops.txt, base.img).
#
# For each workload: the base image goes to a loop device, dm-log-writes
# goes on top of it with a second loop device as its log, twinfs.ko mounts
# it, the op script runs with a mark in the log before and after every
# operation, then unmount, the log is converted (dmlog.py) and log.twwlog,
# pos.txt and home ("kernel") are written next to the script.  Everything
# runs in this one process: under TCG a fork costs the better part of a
# second, an ioctl nothing.
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import crashexec  # noqa: E402
import crashlib  # noqa: E402
import dmlog  # noqa: E402

DATA = '/tmp/crash-data.img'
LOGF = '/tmp/crash-log.img'
LOG_SIZE = 256 << 20
DATA_SIZE = 64 << 20
MNT = '/tmp/crash-mnt'
NODE = '/tmp/crash-lw'


def losetup(path):
	return subprocess.run(['losetup', '-f', '--show', path], check=True,
			      stdout=subprocess.PIPE, text=True).stdout.strip()


def record(d, dm_name, data_loop, log_loop):
	ops = crashlib.read_ops(d)
	with open(os.path.join(d, 'base.img'), 'rb') as f:
		base = f.read()
	# the base image into the data device's backing file (the loop driver
	# reads the same page cache), the log device's superblock cleared
	with open(DATA, 'r+b') as f:
		f.write(base)
	with open(LOGF, 'r+b') as f:
		f.write(bytes(4096))
	dm = dmlog.DM(dm_name)
	dm.create(len(base) // 512, '%s %s' % (data_loop, log_loop))
	try:
		dmlog.dev_node(NODE, dm.dev)
		dmlog.mount(NODE, MNT, 'twinfs')
		mounted = True
		try:
			for i, op in enumerate(ops, 1):
				dm.message('mark s%d' % i)
				if op[0] == 'umount':
					bad = crashexec.verify_tree(MNT, ops)
					if bad:
						raise RuntimeError(
							'%s: the mount differs from the model: %s'
							% (d, bad[:5]))
					dmlog.umount(MNT)
					mounted = False
				else:
					crashexec.run_op(MNT, op)
				dm.message('mark e%d' % i)
		finally:
			if mounted:
				dmlog.umount(MNT)
	finally:
		dm.remove()
		dm.close()
	with open(LOGF, 'rb') as f:
		tw, marks, st = dmlog.convert(f, base)
	pos = ['twinfs-crash-pos 1']
	for i in range(1, len(ops) + 1):
		pos.append('p %d %d %d' % (i, marks['s%d' % i],
					   marks['e%d' % i]))
	with open(os.path.join(d, 'log.twwlog'), 'wb') as f:
		f.write(tw)
	with open(os.path.join(d, 'pos.txt'), 'w') as f:
		f.write('\n'.join(pos) + '\n')
	with open(os.path.join(d, 'home'), 'w') as f:
		f.write('kernel\n')
	return st


def main():
	if len(sys.argv) != 3 or sys.argv[1] != 'record':
		sys.exit('usage: guest.py record LIST')
	with open(sys.argv[2]) as f:
		dirs = [l.strip() for l in f if l.strip()]
	os.umask(0)
	t0 = time.monotonic()
	for m in ('dm-log-writes', 'twinfs'):
		subprocess.run(['modprobe', m], check=True)
	for path, size in ((DATA, DATA_SIZE), (LOGF, LOG_SIZE)):
		with open(path, 'wb') as f:
			f.truncate(size)
	data_loop, log_loop = losetup(DATA), losetup(LOGF)
	os.makedirs(MNT, exist_ok=True)
	print('guest: set up in %.1f s' % (time.monotonic() - t0), flush=True)
	tot = {}
	t0 = time.monotonic()
	try:
		for n, d in enumerate(dirs):
			st = record(d, 'crashlw%d' % n, data_loop, log_loop)
			for k, v in st.items():
				tot[k] = tot.get(k, 0) + v
	finally:
		subprocess.run(['losetup', '-d', data_loop, log_loop])
	print('guest: recorded %d workloads in %.1f s: %s' % (
		len(dirs), time.monotonic() - t0,
		', '.join('%s %d' % kv for kv in sorted(tot.items()))),
	      flush=True)


if __name__ == '__main__':
	main()
